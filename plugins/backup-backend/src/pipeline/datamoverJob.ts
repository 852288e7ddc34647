import {
  type V1EnvVar,
  type V1Job,
  type V1Pod,
  type V1Volume,
  type V1VolumeMount,
} from '@kubernetes/client-node';
import type { DatamoverConfig } from '../config/FerryConfig';
import { followDatamoverLog, parseJsonLine, watchJobPods } from './jobWatch';
import { createIfAbsent, KubeClients, sleep } from './KubeClients';
import { OperationOwner, ownerReferencesIn } from './OwnerRef';
import { waitForJobClaims } from './claimBinding';

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

/**
 * When a datamover Job's steps happened (ISO times): what Ferry saw (`jobCreatedAt`: once its
 * claim was bound; `doneAt`: when it saw the end), what the pod says (seconds only), and what
 * the datamover process reported (milliseconds: its start, its data pass).
 */
export interface JobTimings {
  jobCreatedAt: string;
  podCreatedAt?: string;
  podScheduledAt?: string;
  containerStartedAt?: string;
  containerFinishedAt?: string;
  processStartedAt?: string;
  dataStartedAt?: string;
  dataFinishedAt?: string;
  doneAt: string;
}

export type JobOutcome =
  | { ok: true; result: DatamoverResult; timings: JobTimings }
  | { ok: false; reason: string; timings?: JobTimings };

/** Polls at least this often; a watch of the Job's pods wakes the wait at once on a change. */
const POLL_MS = 1000;

/**
 * Runs (or, after a crash, re-attaches to) a datamover Job until it ends: created once its
 * claims are bound (`waitForJobClaims`). Progress is read from the pod's log (JSON lines), the
 * outcome from its termination message.
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
  const claims = await waitForJobClaims({ kube, job, diagnose: options.diagnose });
  if (claims.problem) return { ok: false, reason: claims.problem };
  const jobCreatedAt = new Date().toISOString();
  await createIfAbsent(() => kube.batch.createNamespacedJob({ namespace, body: job }));
  const deadline = Date.now() + options.timeoutMs;
  let lastProgressRead = 0;
  const podChanges = watchJobPods(kube, namespace, name);
  let log: ReturnType<typeof followDatamoverLog> | undefined;
  try {
    for (;;) {
      const current = await kube.batch.readNamespacedJob({ namespace, name });
      const pod = await findJobPod(kube, namespace, name);
      const finished = current.status?.conditions?.find(
        c => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
      );
      // The container has ended: its termination message is final, whatever the Job says yet
      // (the job controller marks the Job a moment later).
      const container = pod?.status?.containerStatuses?.find(s => s.name === 'datamover')?.state;
      if (finished || (current.status?.succeeded ?? 0) > 0 || container?.terminated) {
        // the Job's verdict first, else the container's exit code (else succeeded: count > 0)
        let succeeded = true;
        if (finished) succeeded = finished.type !== 'Failed';
        else if (container?.terminated) succeeded = container.terminated.exitCode === 0;
        return outcomeOf({ pod, succeeded, jobMessage: finished?.message, jobCreatedAt });
      }
      // The datamover's last line is its result, printed once everything is stored: seen in
      // the followed log, it ends the wait before the kubelet reports the container's end.
      const final = log?.final();
      if (final) return outcomeOfLine({ line: final, pod, jobCreatedAt });
      if (pod && container?.running && !log) log = followDatamoverLog(kube, namespace, pod.metadata!.name!);
      const progress = log?.progress();
      if (progress && options.onProgress) await options.onProgress(progress);
      else if (pod && options.onProgress && !log && Date.now() - lastProgressRead > 1500) {
        lastProgressRead = Date.now();
        const read = await readLastProgress(kube, namespace, pod);
        if (read) await options.onProgress(read);
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
      await Promise.race([sleep(POLL_MS), podChanges.next(), log?.changed() ?? new Promise(() => undefined)]);
    }
  } finally {
    podChanges.stop();
    log?.stop();
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

/** The outcome from the datamover's final line (a result or an error) seen in its log. */
function outcomeOfLine(options: { line: Record<string, unknown>; pod?: V1Pod; jobCreatedAt: string }): JobOutcome {
  const timings = jobTimings({ pod: options.pod, result: options.line, jobCreatedAt: options.jobCreatedAt });
  if (options.line.type === 'result') return { ok: true, result: options.line as DatamoverResult, timings };
  const error = options.line as unknown as DatamoverError;
  return { ok: false, reason: `${error.code}: ${error.message}${error.hint ? ` (${error.hint})` : ''}`, timings };
}

function outcomeOf(options: { pod?: V1Pod; succeeded: boolean; jobMessage?: string; jobCreatedAt: string }): JobOutcome {
  const terminated = options.pod?.status?.containerStatuses?.find(s => s.name === 'datamover')
    ?.state?.terminated;
  const message = parseJsonLine(terminated?.message ?? '');
  const timings = jobTimings({ pod: options.pod, result: message, jobCreatedAt: options.jobCreatedAt });
  if (options.succeeded && message?.type === 'result') {
    return { ok: true, result: message as DatamoverResult, timings };
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

/** The Job's times from its pod and the datamover's result (see JobTimings). */
export function jobTimings(o: { pod?: V1Pod; result?: Record<string, unknown>; jobCreatedAt: string }): JobTimings {
  const iso = (t: unknown): string | undefined => {
    if (t instanceof Date) return t.toISOString();
    return typeof t === 'string' ? t : undefined;
  };
  const status = o.pod?.status;
  const terminated = status?.containerStatuses?.find(s => s.name === 'datamover')?.state?.terminated;
  const scheduled = status?.conditions?.find(c => c.type === 'PodScheduled' && c.status === 'True');
  const own = (o.result?.timings ?? {}) as { processStartedAt?: string; startedAt?: string; finishedAt?: string };
  const timings: JobTimings = {
    jobCreatedAt: o.jobCreatedAt,
    podCreatedAt: iso(o.pod?.metadata?.creationTimestamp),
    podScheduledAt: iso(scheduled?.lastTransitionTime),
    containerStartedAt: iso(terminated?.startedAt),
    containerFinishedAt: iso(terminated?.finishedAt),
    processStartedAt: own.processStartedAt,
    dataStartedAt: own.startedAt,
    dataFinishedAt: own.finishedAt,
    doneAt: new Date().toISOString(),
  };
  for (const key of Object.keys(timings) as Array<keyof JobTimings>) if (timings[key] === undefined) delete timings[key];
  return timings;
}
