import type { RestoredObject } from '@ferry/plugin-backup-common';
import { KubeClients, sleep } from './KubeClients';
import { watchChanges } from './watchChanges';

/** How often readiness is looked at again when no watch wakes the wait. */
const WORKLOAD_POLL_MS = 1000;

interface Workload {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number };
}

/**
 * Waits (bounded) until the restored Deployments and StatefulSets have all their replicas ready
 * (DESIGN §4 step 5), woken by watches of their collections (polling as the fallback). Returns
 * the workloads that are not ready at the deadline, with their counts in words.
 */
export async function waitForWorkloads(options: {
  kube: KubeClients;
  workloads: RestoredObject[];
  timeoutMs: number;
}): Promise<Array<{ workload: RestoredObject; reason: string }>> {
  const deadline = Date.now() + options.timeoutMs;
  let pending = options.workloads.filter(w => w.kind === 'Deployment' || w.kind === 'StatefulSet');
  const reasons = new Map<RestoredObject, string>();
  const collections = new Set(pending.map(collectionOf));
  const changes = watchChanges(options.kube, ...[...collections].map(path => ({ path })));
  try {
    for (;;) {
      const changed = changes.next();
      const next: RestoredObject[] = [];
      reasons.clear();
      for (const workload of pending) {
        const reason = await notReadyReason(options.kube, workload);
        if (reason) {
          next.push(workload);
          reasons.set(workload, reason);
        }
      }
      pending = next;
      if (pending.length === 0 || Date.now() > deadline) break;
      await Promise.race([sleep(WORKLOAD_POLL_MS), changed]);
    }
  } finally {
    changes.stop();
  }
  const seconds = Math.round(options.timeoutMs / 1000);
  return pending.map(workload => ({
    workload,
    reason: `not ready within ${seconds} s: ${reasons.get(workload)}`,
  }));
}

/** Why a workload is not ready yet (its replica counts, or not found), or undefined when it is. */
async function notReadyReason(kube: KubeClients, workload: RestoredObject): Promise<string | undefined> {
  const live = await kube.json.get<Workload>(`${collectionOf(workload)}/${workload.name}`).catch(() => undefined);
  if (!live) return 'not found';
  const wanted = live.spec?.replicas ?? 1;
  const ready = live.status?.readyReplicas ?? 0;
  const observed = (live.status?.observedGeneration ?? 0) >= (live.metadata?.generation ?? 0);
  return observed && ready >= wanted ? undefined : `${ready}/${wanted} replicas ready`;
}

/** The collection a workload is watched in: its kind's, in its namespace. */
function collectionOf(workload: RestoredObject): string {
  const plural = workload.kind === 'Deployment' ? 'deployments' : 'statefulsets';
  return `/apis/apps/v1/namespaces/${workload.namespace}/${plural}`;
}
