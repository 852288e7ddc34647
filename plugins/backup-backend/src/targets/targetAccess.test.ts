import type { V1Secret } from '@kubernetes/client-node';
import type { KubeClients } from '../pipeline/KubeClients';
import type { OperationOwner } from '../pipeline/OwnerRef';
import { prepareTargetAccess } from './targetAccess';

function fakeKube() {
  const created: Array<{ namespace: string; body: V1Secret }> = [];
  const kube = {
    core: {
      createNamespacedSecret: async (request: { namespace: string; body: V1Secret }) => {
        created.push(request);
        return request.body;
      },
    },
  } as unknown as KubeClients;
  return { kube, created };
}

const owner: OperationOwner = {
  apiVersion: 'ferry.io/v1alpha1',
  kind: 'Restore',
  name: 'ferry-restore-x',
  namespace: 'ferry-system',
  uid: 'uid-1',
  labels: { 'app.kubernetes.io/managed-by': 'ferry', 'ferry.io/restore': 'x' },
};

const s3 = {
  name: 'offsite',
  type: 's3' as const,
  bucket: 'ferry',
  region: 'eu-west-1',
  forcePathStyle: true,
  endpoint: 'http://minio:9000',
  credentials: { accessKeyId: 'AKIA-EXAMPLE', secretAccessKey: 'wJalr-EXAMPLE-KEY' },
};

describe('prepareTargetAccess', () => {
  it("mounts a filesystem target at its path, the node's folder or an NFS export, with no Secret", async () => {
    const { kube } = fakeKube();
    const nfs = await prepareTargetAccess({
      kube,
      namespace: 'shop',
      target: { name: 'nfs', type: 'filesystem', path: '/mnt/backups', volume: { nfs: { server: 'nfs.lab', path: '/exports/ferry' } } },
      secretName: 's',
      owner,
    });
    expect(nfs.volumes).toEqual([{ name: 'target', nfs: { server: 'nfs.lab', path: '/exports/ferry' } }]);
    expect(nfs.mounts).toEqual([{ name: 'target', mountPath: '/mnt/backups' }]);
  });

  it('passes a filesystem target as its path, with no Secret', async () => {
    const { kube, created } = fakeKube();
    const access = await prepareTargetAccess({
      kube,
      namespace: 'shop',
      target: { name: 'local', type: 'filesystem', path: '/mnt/backups' },
      secretName: 's',
      owner,
    });
    expect(access.env).toEqual([
      { name: 'FERRY_TARGET_TYPE', value: 'filesystem' },
      { name: 'FERRY_TARGET_PATH', value: '/mnt/backups' },
    ]);
    expect(access.volumes).toEqual([{ name: 'target', hostPath: { path: '/mnt/backups', type: 'DirectoryOrCreate' } }]);
    expect(access.mounts).toEqual([{ name: 'target', mountPath: '/mnt/backups' }]);
    expect(created).toEqual([]);
  });

  it('mounts S3 credentials from a temporary Secret, never in the environment', async () => {
    const { kube, created } = fakeKube();
    const access = await prepareTargetAccess({ kube, namespace: 'ferry-system', target: s3, secretName: 'creds', owner });
    expect(created).toHaveLength(1);
    expect(created[0].body.stringData).toEqual({ accessKeyId: 'AKIA-EXAMPLE', secretAccessKey: 'wJalr-EXAMPLE-KEY' });
    expect(created[0].body.metadata?.labels).toEqual(owner.labels);
    expect(created[0].body.metadata?.ownerReferences?.map(r => r.uid)).toEqual(['uid-1']);
    expect(JSON.stringify(access)).not.toMatch(/AKIA-EXAMPLE|wJalr-EXAMPLE-KEY/);
    expect(access.env).toEqual(expect.arrayContaining([{ name: 'FERRY_S3_CREDENTIALS_DIR', value: '/run/secrets/ferry-s3' }]));
    expect(access.volumes).toEqual([{ name: 's3-credentials', secret: { secretName: 'creds' } }]);
  });

  it('sets no owner reference across namespaces (the garbage collector would delete the Secret)', async () => {
    const { kube, created } = fakeKube();
    await prepareTargetAccess({ kube, namespace: 'shop-restored', target: s3, secretName: 'creds', owner });
    expect(created[0].body.metadata?.ownerReferences).toEqual([]);
    expect(created[0].body.metadata?.labels).toEqual(owner.labels);
  });
});
