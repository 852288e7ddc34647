import type { V1Pod } from '@kubernetes/client-node';
import { binaryPath } from '../binaries';
import type { Sandbox } from '../sandbox';
import { execFileAsync } from './harness';

// Pods of the real node for the sandbox's tests (jest only).

/** A pod of the datamover image (Debian with a shell) that sleeps until deleted; no grace period. */
export function sleeperPod(sandbox: Sandbox, name: string, script = 'exec sleep 3600'): V1Pod {
  return {
    metadata: { name },
    spec: {
      terminationGracePeriodSeconds: 0,
      restartPolicy: 'Never',
      containers: [{ name: 'main', image: sandbox.images.datamover, command: ['sh', '-c', script] }],
    },
  };
}

/** Pods of a namespace whose containers crictl lists running on the node (the runtime's view, not the API's). */
export async function runningContainers(sandbox: Sandbox, namespace: string): Promise<string[]> {
  const { stdout } = await execFileAsync(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint, 'ps', '-o', 'json']);
  const containers = (JSON.parse(stdout) as {
    containers: Array<{ state: string; labels: Record<string, string> }>;
  }).containers;
  return containers
    .filter(c => c.state === 'CONTAINER_RUNNING' && c.labels['io.kubernetes.pod.namespace'] === namespace)
    .map(c => c.labels['io.kubernetes.pod.name'])
    .sort();
}
