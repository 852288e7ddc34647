/* eslint-disable no-console */
// A sandbox in a process of its own, for crash tests (run by src/crash.test.ts as
// `node --require @backstage/cli/config/nodeTransform.cjs src/testing/sandboxChild.ts <dataDir>`):
// starts a real-node sandbox in <dataDir>, runs a pod with a Filesystem claim mounted and a Block
// claim as a device, prints one JSON line `{"ready":true}` and waits to be killed.
import { CoreV1Api } from '@kubernetes/client-node';
import { startSandbox } from '../sandbox';
import { waitFor } from '../waitFor';

async function main() {
  const dataDir = process.argv[2];
  if (!dataDir) throw new Error('usage: sandboxChild.ts <dataDir>');
  const sandbox = await startSandbox({ dataDir });
  const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  const claim = (name: string, volumeMode: 'Filesystem' | 'Block') => ({
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'ferry-sandbox', volumeMode, resources: { requests: { storage: '8Mi' } } },
  });
  await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('files', 'Filesystem') });
  await core.createNamespacedPersistentVolumeClaim({ namespace: 'default', body: claim('device', 'Block') });
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name: 'holder' },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [
          {
            name: 'main',
            image: sandbox.images.datamover,
            command: ['sh', '-c', 'echo held > /data/held && exec sleep 3600'],
            volumeMounts: [{ name: 'files', mountPath: '/data' }],
            volumeDevices: [{ name: 'device', devicePath: '/dev/held' }],
          },
        ],
        volumes: [
          { name: 'files', persistentVolumeClaim: { claimName: 'files' } },
          { name: 'device', persistentVolumeClaim: { claimName: 'device' } },
        ],
      },
    },
  });
  await waitFor(
    async () => (await core.readNamespacedPod({ namespace: 'default', name: 'holder' })).status?.containerStatuses?.[0]?.ready,
    { description: 'pod holder to run', timeoutMs: 120_000, intervalMs: 250 },
  );
  console.log(JSON.stringify({ ready: true }));
  setInterval(() => undefined, 1 << 30);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
