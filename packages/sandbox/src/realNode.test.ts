import { BatchV1Api, CoreV1Api, Exec, V1Pod, V1Status } from '@kubernetes/client-node';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { binaryPath, sandboxVersions } from './binaries';
import { cgroupMounts, cgroupTreePids } from './node/cgroups';
import { mountsUnder } from './node/cleanup';
import { linkExists } from './node/network';
import { readNodeRecords } from './node/slots';
import { Sandbox, startSandbox } from './sandbox';
import { execFileAsync, useSharedSandbox } from './testing/harness';
import { waitFor } from './waitFor';

// The real node (startSandbox({ node: 'real' })): upstream kubelet, containerd, runc, CNI, the
// pause and datamover images built here. Real components only; needs root (as CI runs).

const context = useSharedSandbox(() => ({ node: 'real' }));
let sandbox: Sandbox;
let core: CoreV1Api;
beforeAll(() => {
  ({ sandbox, core } = context);
});

const namespace = 'default';

async function waitPhase(api: CoreV1Api, name: string, phases: string[], timeoutMs = 90_000): Promise<V1Pod> {
  return waitFor(
    async () => {
      const pod = await api.readNamespacedPod({ name, namespace });
      return phases.includes(pod.status?.phase ?? '') ? pod : undefined;
    },
    { description: `pod ${name} to be ${phases.join(' or ')}`, timeoutMs, intervalMs: 250 },
  );
}

function shellPod(name: string, image: string, script: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 0,
      restartPolicy: 'Never',
      containers: [{ name: 'shell', image, command: ['sh', '-c', script] }],
    },
  };
}

async function exec(target: Sandbox, pod: string, command: string[], input?: string) {
  let stdout = '';
  let stderr = '';
  const collect = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(target.kubeConfig)
      .exec(
        namespace,
        pod,
        'shell',
        command,
        collect(text => (stdout += text)),
        collect(text => (stderr += text)),
        input === undefined ? null : Readable.from([input]),
        false,
        resolve,
      )
      .catch(reject);
  });
  return { stdout, stderr, status };
}

describe('a real node', () => {
  it('registers a Ready node run by the pinned kubelet on containerd, at the host address', async () => {
    const node = await core.readNode({ name: sandbox.nodeName });
    expect(node.status?.conditions?.find(c => c.type === 'Ready')?.status).toBe('True');
    expect(node.status?.nodeInfo?.kubeletVersion).toBe(sandboxVersions().kubernetes);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
    expect(node.status?.addresses).toContainEqual({ type: 'InternalIP', address: sandbox.hostAddress });
    expect(sandbox.node).toBe('real');
    expect(sandbox.hostAddress).toMatch(/^10\.234\.\d+\.1$/);
    // The S3 server and the registry are reached at the host address (from pods and from here).
    expect(sandbox.s3!.endpoint).toMatch(new RegExp(`^http://${sandbox.hostAddress.replace(/\./g, '\\.')}:\\d+$`));
    expect(sandbox.registry!.host.startsWith(`${sandbox.hostAddress}:`)).toBe(true);
    expect((await fetch(`${sandbox.s3!.endpoint}/health`)).status).toBe(200);
  });

  it('runs a Job of the datamover image, pulled by containerd from the sandbox registry, to its termination message', async () => {
    const images = sandbox.images!;
    const batch = sandbox.kubeConfig.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'datamover-check' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [
                {
                  name: 'datamover',
                  image: images.datamover,
                  // The image's entrypoint (ferry-datamover) checks that the pause image is in the registry.
                  args: ['image', 'check', '--images', images.pause, '--insecure-registries', sandbox.registry!.host],
                },
              ],
            },
          },
        },
      },
    });
    await waitFor(
      async () => {
        const job = await batch.readNamespacedJob({ name: 'datamover-check', namespace });
        if (job.status?.conditions?.some(c => c.type === 'Failed' && c.status === 'True')) throw new Error('job failed');
        return job.status?.conditions?.some(c => c.type === 'Complete' && c.status === 'True');
      },
      { description: 'job datamover-check to complete', timeoutMs: 90_000, intervalMs: 250 },
    );
    const [pod] = (await core.listNamespacedPod({ namespace, labelSelector: 'job-name=datamover-check' })).items;
    const status = pod.status!.containerStatuses![0];
    expect(status.state?.terminated?.exitCode).toBe(0);
    expect(status.imageID).toBe(`${images.datamover.replace(/:dev$/, '')}@${images.datamoverDigest}`);
    expect(JSON.parse(status.state!.terminated!.message!)).toMatchObject({
      type: 'result',
      operation: 'image-check',
      reachable: 1,
      unreachable: 0,
      images: [{ reference: images.pause, reachable: true }],
    });
  }, 120_000);

  it('serves logs and exec of a real container through the apiserver, and crictl lists it', async () => {
    await core.createNamespacedPod({
      namespace,
      body: shellPod('shell', sandbox.images!.datamover, 'echo "started in $(cat /etc/debian_version)"; exec sleep 3600'),
    });
    await waitPhase(core, 'shell', ['Running']);
    const log = await waitFor(
      async () => {
        const text = await core.readNamespacedPodLog({ name: 'shell', namespace });
        return text.includes('started') ? text : undefined;
      },
      { description: 'the log of pod shell' },
    );
    expect(log).toMatch(/^started in 12\.\d+\n$/);
    expect(sandbox.readPodLog({ namespace, pod: 'shell' })).toBe(log);

    const ok = await exec(sandbox, 'shell', ['sh', '-c', 'read line; echo "got $line"; node --version; echo oops >&2']);
    expect(ok.stdout).toBe(`got \n${process.version}\n`);
    const withInput = await exec(sandbox, 'shell', ['sh', '-c', 'read line; echo "got $line"; exit 3'], 'abc\n');
    expect(withInput.stdout).toBe('got abc\n');
    expect(withInput.status.status).toBe('Failure');
    expect(withInput.status.details?.causes).toContainEqual({ reason: 'ExitCode', message: '3' });
    expect(ok.stderr).toBe('oops\n');

    const { stdout } = await execFileAsync(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint!, 'ps', '-o', 'json']);
    const containers = (JSON.parse(stdout) as { containers: Array<{ metadata: { name: string }; labels: Record<string, string>; state: string }> }).containers;
    expect(containers).toContainEqual(
      expect.objectContaining({
        metadata: expect.objectContaining({ name: 'shell' }),
        state: 'CONTAINER_RUNNING',
        labels: expect.objectContaining({ 'io.kubernetes.pod.name': 'shell', 'io.kubernetes.pod.namespace': namespace }),
      }),
    );
  }, 120_000);

  it('lets pods reach the S3 server at the host address, and nothing outside the node network', async () => {
    const script = [
      `fetch(${JSON.stringify(`${sandbox.s3!.endpoint}/health`)}).then(r => console.log('s3', r.status))`,
      ".then(() => fetch('http://198.51.100.1/', { signal: AbortSignal.timeout(5000) }))",
      ".then(r => console.log('outside', r.status), e => console.log('outside', e.cause?.code ?? e.name))",
    ].join('');
    const { stdout } = await exec(sandbox, 'shell', ['node', '-e', script]);
    expect(stdout).toBe('s3 200\noutside ENETUNREACH\n');
  }, 30_000);
});

describe('two real nodes side by side', () => {
  it('gets its own network, cgroup and folders, and stop() leaves nothing of it while the first runs on', async () => {
    const second = await startSandbox({ ephemeral: true, node: 'real', s3: false });
    let stopped = false;
    try {
      const record = readNodeRecords().find(r => r.dataDir === second.dataDir)!;
      const first = readNodeRecords().find(r => r.dataDir === sandbox.dataDir)!;
      expect(record).toBeDefined();
      expect(second.hostAddress).not.toBe(sandbox.hostAddress);
      expect(record.network.bridge).not.toBe(first.network.bridge);
      expect(record.cgroup).not.toBe(first.cgroup);
      const secondCore = second.kubeConfig.makeApiClient(CoreV1Api);
      await secondCore.createNamespacedPod({ namespace, body: shellPod('shell', second.images!.datamover, 'exec sleep 3600') });
      const running = await waitPhase(secondCore, 'shell', ['Running']);
      expect(running.status?.podIP?.startsWith(second.hostAddress.replace(/\.1$/, '.'))).toBe(true);
      expect((await exec(second, 'shell', ['cat', '/etc/hostname'])).stdout).toBe('shell\n');

      // What the second node holds now, to check after stop().
      const pids = cgroupTreePids(record.cgroup);
      const mounts = mountsUnder(second.dataDir);
      expect(pids.length).toBeGreaterThanOrEqual(4); // kubelet, containerd, a shim, pause, sleep
      expect(mounts.some(m => m.includes('/netns/'))).toBe(true);
      expect(linkExists(record.network.bridge)).toBe(true);

      await second.stop();
      stopped = true;
      const alive = pids.filter(pid => fs.existsSync(`/proc/${pid}`));
      expect(alive).toEqual([]);
      expect(mountsUnder(second.dataDir)).toEqual([]);
      expect(linkExists(record.network.bridge)).toBe(false);
      expect(cgroupMounts().filter(m => fs.existsSync(path.join(m.mountPoint, record.cgroup)))).toEqual([]);
      expect(fs.existsSync(second.dataDir)).toBe(false);
      expect(readNodeRecords().some(r => r.dataDir === second.dataDir)).toBe(false);

      // The first node runs on.
      expect((await exec(sandbox, 'shell', ['echo', 'still here'])).stdout).toBe('still here\n');
      expect(linkExists(first.network.bridge)).toBe(true);
    } finally {
      if (!stopped) await second.stop();
    }
  }, 180_000);
});
