import type {
  V1EnvVar,
  V1Job,
  V1Pod,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { DatamoverConfig } from '../config/FerryConfig';
import { createIfAbsent, KubeClients, sleep } from './KubeClients';
import { OperationOwner, ownerReferencesIn } from './OwnerRef';

export const DEVICE_PATH = '/dev/ferry-volume';

/** How a datamover pod reaches the target: environment plus any volumes (e.g. a credentials Secret). */
export interface TargetAccess {
  env: V1EnvVar[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
}

/** The datamover's JSON lines (packages/datamover README). */
export interface DatamoverProgress {
  type: 'progress';
  phase: string;
  bytesRead?: number;
  bytesWritten?: number;
  bytesTotal?: number;
}
export interface DatamoverError {
  type: 'error';
  code: string;
  exitCode: number;
  message: string;
  hint?: string;
}
export type DatamoverResult = { type: 'result' } & Record<string, unknown>;

/**
 * A datamover Job: one container, the target's access, and a volume as a block device (volume
 * commands) or none (image commands).
 */
export function buildDatamoverJob(options: {
  name: string;
  namespace: string;
  owner: OperationOwner;
  config: DatamoverConfig;
  command: string[];
  env: V1EnvVar[];
  /** The claim to attach at DEVICE_PATH. */
  device?: { claimName: string; readOnly: boolean };
  target: TargetAccess;
}): V1Job {
  const device = options.device;
  const labels = { ...options.owner.labels, 'ferry.io/role': 'datamover' };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: options.name,
      namespace: options.namespace,
      labels,
      ownerReferences: ownerReferencesIn(options.owner, options.namespace),
    },
    spec: {
      backoffLimit: 0,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: options.config.serviceAccountName,
          // The datamover needs no Kubernetes API: no token in its pods.
          automountServiceAccountToken: false,
          nodeSelector: options.config.nodeSelector,
          containers: [
            {
              name: 'datamover',
              image: options.config.image,
              command: ['ferry-datamover', ...options.command],
              env: [...options.env, ...options.target.env],
              resources: options.config.resources,
              volumeDevices: device ? [{ name: 'volume', devicePath: DEVICE_PATH }] : undefined,
              volumeMounts: options.target.mounts,
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [
            ...(device
              ? [{ name: 'volume', persistentVolumeClaim: { claimName: device.claimName, readOnly: device.readOnly } }]
              : []),
            ...options.target.volumes,
          ],
        },
      },
    },
  };
}

export type JobOutcome =
  | { ok: true; result: DatamoverResult }
  | { ok: false; reason: string };

/**
 * Runs (or, after a crash, re-attaches to) a datamover Job until it ends. Progress is read from
 * the pod's log (JSON lines), the outcome from its termination message.
 */
export async function runDatamoverJob(options: {
  kube: KubeClients;
  job: V1Job;
  timeoutMs: number;
  onProgress?: (progress: DatamoverProgress) => Promise<void> | void;
  /** Checked while waiting: an unrecoverable state of the exposed claim, in words. */
  diagnose?: () => Promise<string | undefined>;
}): Promise<JobOutcome> {
  const { kube, job } = options;
  const namespace = job.metadata!.namespace!;
  const name = job.metadata!.name!;
  await createIfAbsent(() => kube.batch.createNamespacedJob({ namespace, body: job }));
  const deadline = Date.now() + options.timeoutMs;
  let lastProgressRead = 0;
  for (;;) {
    const current = await kube.batch.readNamespacedJob({ namespace, name });
    const pod = await findJobPod(kube, namespace, name);
    const finished = current.status?.conditions?.find(
      c => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
    );
    if (finished || (current.status?.succeeded ?? 0) > 0) {
      return outcomeOf({ pod, succeeded: finished?.type !== 'Failed', jobMessage: finished?.message });
    }
    if (pod && options.onProgress && Date.now() - lastProgressRead > 1500) {
      lastProgressRead = Date.now();
      const progress = await readLastProgress(kube, namespace, pod);
      if (progress) await options.onProgress(progress);
    }
    if (!pod?.status?.phase || pod.status.phase === 'Pending') {
      const problem = await options.diagnose?.();
      if (problem) return { ok: false, reason: problem };
    }
    if (Date.now() > deadline) {
      return {
        ok: false,
        reason: `datamover job ${name} did not finish within ${Math.round(options.timeoutMs / 1000)} s (pod ${pod?.metadata?.name ?? 'not created'}, phase ${pod?.status?.phase ?? 'none'})`,
      };
    }
    await sleep(1000);
  }
}

async function findJobPod(kube: KubeClients, namespace: string, jobName: string) {
  const pods = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: `job-name=${jobName}`,
  });
  // The newest pod is the one that counts (backoffLimit is 0, so there is normally one).
  return pods.items.sort((a, b) =>
    String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')),
  )[0];
}

async function readLastProgress(
  kube: KubeClients,
  namespace: string,
  pod: V1Pod,
): Promise<DatamoverProgress | undefined> {
  try {
    const log = await kube.core.readNamespacedPodLog({
      namespace,
      name: pod.metadata!.name!,
      container: 'datamover',
      tailLines: 5,
    });
    const lines = String(log).trim().split('\n').reverse();
    for (const line of lines) {
      const parsed = parseJsonLine(line);
      if (parsed?.type === 'progress') return parsed as unknown as DatamoverProgress;
    }
  } catch {
    // no log yet, or the log endpoint is unavailable: progress is best effort
  }
  return undefined;
}

function outcomeOf(options: { pod?: V1Pod; succeeded: boolean; jobMessage?: string }): JobOutcome {
  const terminated = options.pod?.status?.containerStatuses?.find(s => s.name === 'datamover')
    ?.state?.terminated;
  const message = parseJsonLine(terminated?.message ?? '');
  if (options.succeeded && message?.type === 'result') {
    return { ok: true, result: message as DatamoverResult };
  }
  if (message?.type === 'error') {
    const error = message as unknown as DatamoverError;
    return { ok: false, reason: `${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ''}` };
  }
  if (options.succeeded) {
    return { ok: false, reason: 'datamover finished without a result in its termination message' };
  }
  const exit = terminated?.exitCode !== undefined ? ` with exit code ${terminated.exitCode}` : '';
  return {
    ok: false,
    reason: `datamover failed${exit}: ${terminated?.message?.trim() || options.jobMessage || 'no message'}`,
  };
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    return JSON.parse(trimmed) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
