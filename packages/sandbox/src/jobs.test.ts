import { BatchV1Api, CoreV1Api, Log, V1Job } from '@kubernetes/client-node';
import { Writable } from 'node:stream';
import { Sandbox } from './sandbox';
import { claim, createNamespace, execFileAsync, useSharedSandbox, waitBound } from './testing/harness';
import { runningContainers } from './testing/pods';
import { waitFor } from './waitFor';

// Jobs of the datamover image on the real node, as Ferry runs them: the real job controller,
// the kubelet and containerd run them; env from Secrets, Secret files, a Block claim as a device
// and a Filesystem claim reach the container where the pod spec says; the termination message,
// the exit code and the log come back through the API server; a deleted Job's container stops.
const context = useSharedSandbox();
const ns = 'jobs';
// A sleep duration unique to this run, so the `ps` check does not see other people's processes.
const uniqueSleep = 10_000 + Math.floor(Math.random() * 80_000);
let sandbox: Sandbox;
let core: CoreV1Api;
let batch: BatchV1Api;
beforeAll(async () => {
  ({ sandbox, core, batch } = context);
  await createNamespace(core, ns);
  await core.createNamespacedSecret({
    namespace: ns,
    body: { metadata: { name: 'creds' }, stringData: { token: 'secret-token-value', 'config.json': '{"a":1}' } },
  });
  await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('disk', { volumeMode: 'Block' }) });
  await core.createNamespacedPersistentVolumeClaim({ namespace: ns, body: claim('out') });
  await waitBound(core, ns, 'disk');
  await waitBound(core, ns, 'out');
  await sandbox.writeVolume({ namespace: ns, claim: 'disk', data: Buffer.from('DEVICE-BYTES') });
}, 60_000);

function job(name: string, script: string): V1Job {
  return {
    metadata: { name },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'mover',
              image: sandbox.images.datamover,
              command: ['sh', '-c', script],
              env: [
                { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
                { name: 'GREETING', value: 'hello $(TOKEN)' },
              ],
              volumeMounts: [
                { name: 'creds', mountPath: '/etc/ferry', readOnly: true },
                { name: 'out', mountPath: '/ferry/out', subPath: name },
              ],
              volumeDevices: [{ name: 'disk', devicePath: '/dev/ferry-src' }],
            },
          ],
          volumes: [
            { name: 'creds', secret: { secretName: 'creds' } },
            { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } },
            { name: 'out', persistentVolumeClaim: { claimName: 'out' } },
          ],
        },
      },
    },
  };
}

async function jobPod(name: string) {
  const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}` });
  expect(pods.items).toHaveLength(1);
  return pods.items[0];
}

async function waitJobCondition(name: string, type: 'Complete' | 'Failed') {
  return waitFor(
    async () => {
      const current = await batch.readNamespacedJob({ name, namespace: ns });
      return current.status?.conditions?.find(c => c.type === type && c.status === 'True');
    },
    { description: `job ${name} to be ${type}`, timeoutMs: 120_000, intervalMs: 500 },
  );
}

describe('Jobs of the datamover image on the real node', () => {
  it('completes a Job with env, Secret files, a Block claim as a device and a Filesystem claim, with its termination message and log', async () => {
    const script = [
      'set -e',
      'echo "greeting=$GREETING"',
      'echo "file=$(cat /etc/ferry/config.json)"',
      'echo "device=$(head -c 12 /dev/ferry-src) $(test -b /dev/ferry-src && echo is-a-block-device)"',
      'test -s /var/run/secrets/kubernetes.io/serviceaccount/token',
      'echo "$GREETING" > /ferry/out/result.txt',
      'printf "{\\"bytes\\":12}" > /dev/termination-log',
    ].join('\n');
    await batch.createNamespacedJob({ namespace: ns, body: job('ok', script) });
    await waitJobCondition('ok', 'Complete');
    const pod = await jobPod('ok');
    expect(pod.status?.phase).toBe('Succeeded');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).toBe(0);
    expect(terminated?.message).toBe('{"bytes":12}');
    const expected = 'greeting=hello secret-token-value\nfile={"a":1}\ndevice=DEVICE-BYTES is-a-block-device\n';
    expect(sandbox.readPodLog({ namespace: ns, pod: pod.metadata!.name! })).toBe(expected);
    expect(await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns, container: 'mover' })).toBe(expected);

    // What it wrote is on the claim's file system: another Job reads it there.
    const reader = job('reader-all', 'cat /data/ok/result.txt');
    reader.spec!.template.spec!.containers[0].volumeMounts = [{ name: 'out', mountPath: '/data' }];
    await batch.createNamespacedJob({ namespace: ns, body: reader });
    await waitJobCondition('reader-all', 'Complete');
    const readerPod = await jobPod('reader-all');
    expect(await core.readNamespacedPodLog({ name: readerPod.metadata!.name!, namespace: ns })).toBe('hello secret-token-value\n');
  }, 180_000);

  it('fails a Job whose command exits non-zero, with exit code and termination message', async () => {
    await batch.createNamespacedJob({
      namespace: ns,
      body: job('broken', 'echo "about to fail"; printf "no such backup" > /dev/termination-log; exit 3'),
    });
    await waitJobCondition('broken', 'Failed');
    const pod = await jobPod('broken');
    expect(pod.status?.phase).toBe('Failed');
    const terminated = pod.status?.containerStatuses?.[0].state?.terminated;
    expect(terminated?.exitCode).toBe(3);
    expect(terminated?.reason).toBe('Error');
    expect(terminated?.message).toBe('no such backup');
  }, 150_000);

  it('follows the log of a running container through the apiserver until it ends', async () => {
    const chatty = job('chatty', 'for i in 1 2 3; do echo "{\\"progress\\":$i}"; sleep 1; done');
    await batch.createNamespacedJob({ namespace: ns, body: chatty });
    const pod = await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=chatty' });
        return pods.items.find(p => p.status?.containerStatuses?.[0]?.state?.running);
      },
      { description: 'the chatty pod to run', timeoutMs: 90_000, intervalMs: 100 },
    );
    let text = '';
    await new Promise<void>((resolve, reject) => {
      const sink = new Writable({
        write(chunk, _encoding, done) {
          text += chunk.toString();
          done();
        },
      });
      sink.on('finish', () => resolve());
      new Log(sandbox.kubeConfig).log(ns, pod.metadata!.name!, 'mover', sink, { follow: true }).catch(reject);
    });
    expect(text).toBe('{"progress":1}\n{"progress":2}\n{"progress":3}\n');
  }, 120_000);

  it('stops the container of a deleted Job', async () => {
    await batch.createNamespacedJob({ namespace: ns, body: job('sleeper', `echo started; exec sleep ${uniqueSleep}`) });
    const pod = await waitFor(
      async () => {
        const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=sleeper' });
        return pods.items.find(p => p.status?.containerStatuses?.[0]?.state?.running);
      },
      { description: 'the sleeper pod to run', timeoutMs: 90_000 },
    );
    await waitFor(async () => (await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace: ns })).includes('started'), {
      description: 'the sleeper log to say started',
    });
    expect(await runningContainers(sandbox, ns)).toContain(pod.metadata!.name!);
    expect((await execFileAsync('ps', ['-eo', 'args'])).stdout).toContain(`sleep ${uniqueSleep}`);
    await batch.deleteNamespacedJob({ name: 'sleeper', namespace: ns, propagationPolicy: 'Foreground' });
    await waitFor(async () => (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=sleeper' })).items.length === 0, {
      description: 'the sleeper pod to be gone',
      timeoutMs: 60_000,
    });
    // The kubelet kills the container once it sees the pod gone (grace period 0).
    await waitFor(async () => !(await runningContainers(sandbox, ns)).includes(pod.metadata!.name!), {
      description: 'crictl to list the sleeper container no more',
      timeoutMs: 60_000,
    });
    await waitFor(async () => !(await execFileAsync('ps', ['-eo', 'args'])).stdout.includes(`sleep ${uniqueSleep}`), {
      description: `the process sleep ${uniqueSleep} to end`,
    });
  }, 180_000);
});
