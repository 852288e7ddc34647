/**
 * What a restore may do (DESIGN §8): where it may write and whether it may widen privileges.
 * A user's grants come from Backstage permissions; a Restore resource's from where it lives.
 */
export interface RestoreGrants {
  /** The namespaces (of the target cluster) a restore may write into: `any`, or these. */
  namespaces: 'any' | readonly string[];
  /** Cluster-scoped objects, patches of privileged fields, Ferry's registry Secrets at will. */
  privileged: boolean;
  /** Why writing into another namespace is refused (the end of a sentence). */
  namespaceRule: string;
  /** Why a privileged change is refused (the end of a sentence). */
  privilegeRule: string;
}

/**
 * A Backstage user's grants for a restore of an entity whose application lives in `namespace`:
 * that namespace, or any with `backup.restore.anywhere`; privileged changes with
 * `backup.restore.privileged`.
 */
export function userGrants(options: { namespace: string; anywhere: boolean; privileged: boolean }): RestoreGrants {
  return {
    namespaces: options.anywhere ? 'any' : [options.namespace],
    privileged: options.privileged,
    namespaceRule: 'needs the backup.restore.anywhere permission',
    privilegeRule: 'needs the backup.restore.privileged permission',
  };
}

/**
 * The grants of a Restore resource (DESIGN §8): one in Ferry's own namespace acts for the
 * platform (the API puts restores there only after checking the user's permissions, and only
 * platform operators may create resources there); one elsewhere carries only the power of its
 * own namespace.
 */
export function resourceGrants(options: { resourceNamespace: string; ferryNamespace: string }): RestoreGrants {
  if (options.resourceNamespace === options.ferryNamespace) {
    return { namespaces: 'any', privileged: true, namespaceRule: '', privilegeRule: '' };
  }
  const home = options.resourceNamespace;
  return {
    namespaces: [home],
    privileged: false,
    namespaceRule: `is not allowed to a Restore in namespace ${home}: it may only restore into ${home} (platform operators create Restores in ${options.ferryNamespace})`,
    privilegeRule: `is not allowed to a Restore in namespace ${home} (platform operators create Restores in ${options.ferryNamespace})`,
  };
}

export function mayWriteInto(grants: RestoreGrants, namespace: string): boolean {
  return grants.namespaces === 'any' || grants.namespaces.includes(namespace);
}
