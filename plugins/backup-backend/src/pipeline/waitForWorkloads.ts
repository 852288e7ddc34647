import type { RestoredObject } from '@ferry/plugin-backup-common';
import { KubeClients, sleep } from './KubeClients';

interface Workload {
  metadata?: { generation?: number };
  spec?: { replicas?: number };
  status?: { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number };
}

/**
 * Waits (bounded) until the restored Deployments and StatefulSets have all their replicas ready
 * (DESIGN §4 step 5). Returns the workloads that are not ready at the deadline, with their
 * counts in words.
 */
export async function waitForWorkloads(options: {
  kube: KubeClients;
  workloads: RestoredObject[];
  timeoutMs: number;
}): Promise<Array<{ workload: RestoredObject; reason: string }>> {
  const deadline = Date.now() + options.timeoutMs;
  let pending = options.workloads.filter(w => w.kind === 'Deployment' || w.kind === 'StatefulSet');
  let reasons = new Map<RestoredObject, string>();
  for (;;) {
    const next: RestoredObject[] = [];
    reasons = new Map();
    for (const workload of pending) {
      const plural = workload.kind === 'Deployment' ? 'deployments' : 'statefulsets';
      const path = `/apis/apps/v1/namespaces/${workload.namespace}/${plural}/${workload.name}`;
      const live = await options.kube.json.get<Workload>(path).catch(() => undefined);
      const wanted = live?.spec?.replicas ?? 1;
      const ready = live?.status?.readyReplicas ?? 0;
      const observed = (live?.status?.observedGeneration ?? 0) >= (live?.metadata?.generation ?? 0);
      if (!live || !observed || ready < wanted) {
        next.push(workload);
        reasons.set(workload, live ? `${ready}/${wanted} replicas ready` : 'not found');
      }
    }
    pending = next;
    if (pending.length === 0 || Date.now() > deadline) break;
    await sleep(1000);
  }
  const seconds = Math.round(options.timeoutMs / 1000);
  return pending.map(workload => ({
    workload,
    reason: `not ready within ${seconds} s: ${reasons.get(workload)}`,
  }));
}
