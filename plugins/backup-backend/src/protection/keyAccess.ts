import type { V1EnvVar } from '@kubernetes/client-node';
import type { TargetAccess } from '../pipeline/datamoverJob';
import { createIfAbsent, type KubeClients } from '../pipeline/KubeClients';
import { type OperationOwner, ownerReferencesIn } from '../pipeline/OwnerRef';
import type { TargetKeys } from './TargetKeys';

/** Where datamover pods find the repository keys (a mounted Secret, one file per key). */
export const KEY_DIR = '/run/secrets/ferry-key';

/**
 * Adds an encrypted target's keys to a datamover pod's access: the backend, which read them
 * from the key Secret in Ferry's namespace, copies every key (the current one and the older
 * ones still read) into a temporary Secret in the Job's namespace, labelled and owned like the
 * operation's other temporaries (so the cleanup and the garbage collector remove it), mounted
 * read-only as files. The pod spec holds only the folder, the current key's name and the
 * Secret's name for messages. The trade-off, as for S3 credentials: while the Job runs, whoever
 * may read Secrets in the application's namespace may read the keys. The Job cannot run in
 * Ferry's namespace instead, because a pod mounts claims (the exposed snapshot, the restore
 * target) only in its own namespace.
 */
export async function withKeyAccess(o: {
  access: TargetAccess;
  kube: KubeClients;
  namespace: string;
  keys: TargetKeys | undefined;
  target: string;
  secretName: string;
  owner: OperationOwner;
}): Promise<TargetAccess> {
  const keyring = await o.keys?.keyring(o.target);
  const ref = o.keys?.secretOf(o.target);
  if (!keyring || !ref) return o.access;
  const data = Object.fromEntries(keyring.list().map(k => [k.name, k.secret.toString('base64')]));
  await createIfAbsent(() =>
    o.kube.core.createNamespacedSecret({
      namespace: o.namespace,
      body: {
        metadata: {
          name: o.secretName,
          namespace: o.namespace,
          labels: o.owner.labels,
          ownerReferences: ownerReferencesIn(o.owner, o.namespace),
        },
        type: 'Opaque',
        data,
      },
    }),
  );
  const env: V1EnvVar[] = [
    { name: 'FERRY_ENCRYPTION_KEY_DIR', value: KEY_DIR },
    { name: 'FERRY_ENCRYPTION_KEY', value: keyring.current.name },
    { name: 'FERRY_ENCRYPTION_KEY_SOURCE', value: ref.description },
  ];
  if (o.keys!.readUnencrypted(o.target)) env.push({ name: 'FERRY_READ_UNENCRYPTED', value: 'true' });
  return {
    env: [...o.access.env, ...env],
    volumes: [...o.access.volumes, { name: 'encryption-key', secret: { secretName: o.secretName } }],
    mounts: [...o.access.mounts, { name: 'encryption-key', mountPath: KEY_DIR, readOnly: true }],
  };
}
