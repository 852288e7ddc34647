/**
 * `GET /entities/:kind/:namespace/:name/restore-options` (permission `backup.restore` on the
 * entity): where the signed-in user may restore the entity's backups, so that a restore form can
 * offer exactly that before anything is submitted. The backend checks every restore again.
 */
export interface RestoreOptions {
  /** The cluster of the entity's application: a restore's default target. */
  cluster: string;
  /** The namespace of the entity's application: a restore's default target. */
  namespace: string;
  /**
   * The clusters this user may restore into: the entity's own, or, with `anywhere`, every
   * cluster Ferry is configured with.
   */
  clusters: string[];
  /** `backup.restore.anywhere`: any namespace (and any of `clusters`); else only `namespace`. */
  anywhere: boolean;
  /**
   * `backup.restore.privileged`: patches beyond the fields a service owner may change,
   * cluster-scoped objects, Ferry's registry Secrets at will.
   */
  privileged: boolean;
}
