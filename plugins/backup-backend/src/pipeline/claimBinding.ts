import type { V1Job } from '@kubernetes/client-node';
import type { KubeClients } from './KubeClients';
import { sleep } from './KubeClients';
import { watchChanges } from './watchChanges';

/** How often binding is looked at again when no watch wakes the wait. */
const BIND_POLL_MS = 200;
/** How often `diagnose` runs while a claim is not bound (it lists events). */
const DIAGNOSE_EVERY_MS = 1000;
/**
 * How long a datamover Job waits for its claim to bind before it is created anyway (its pod
 * then waits as it always did; the Job's own wait diagnoses a claim that never binds).
 */
const JOB_CLAIM_BIND_WAIT_MS = 120_000;

/**
 * Waits (bounded) until the claims are Bound, woken by a watch of their namespace's claims
 * (polling as the fallback). `diagnose`, when given, is asked now and then for an unrecoverable
 * state (a ProvisioningFailed event), which ends the wait. Returns the claims still unbound.
 */
export async function waitForClaimsBound(options: {
  kube: KubeClients;
  namespace: string;
  claims: string[];
  timeoutMs: number;
  diagnose?: () => Promise<string | undefined>;
}): Promise<{ unbound: string[]; problem?: string }> {
  const { kube, namespace } = options;
  const deadline = Date.now() + options.timeoutMs;
  let unbound = options.claims;
  if (unbound.length === 0) return { unbound };
  const query: Record<string, string> = unbound.length === 1 ? { fieldSelector: `metadata.name=${unbound[0]}` } : {};
  const changes = watchChanges(kube, { path: `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, query });
  let diagnosed = 0;
  try {
    for (;;) {
      const changed = changes.next();
      const next: string[] = [];
      for (const name of unbound) {
        const claim = await kube.core.readNamespacedPersistentVolumeClaim({ namespace, name }).catch(() => undefined);
        if (claim?.status?.phase !== 'Bound') next.push(name);
      }
      unbound = next;
      if (unbound.length === 0 || Date.now() > deadline) return { unbound };
      if (options.diagnose && Date.now() - diagnosed >= DIAGNOSE_EVERY_MS) {
        diagnosed = Date.now();
        const problem = await options.diagnose();
        if (problem) return { unbound, problem };
      }
      await Promise.race([sleep(BIND_POLL_MS), changed]);
    }
  } finally {
    changes.stop();
  }
}

/**
 * Before a datamover Job is created: waits until the claims its pod mounts are Bound, where
 * their class binds them without a pod (volumeBindingMode Immediate). The PV controller writes a
 * claim's volume name and its Bound phase in two updates; a pod scheduled in between finds its
 * claim "not bound" in the kubelet, which then retries the pod only after its back-off of 10 to
 * 15 s (seen in bench:e2e: "PVC is not bound" in the kubelet's log as the pod arrived, the next
 * try 13.6 s later, 1 Job in 6 to 12 operations). A claim of a WaitForFirstConsumer class binds
 * only for a pod: not waited for.
 */
export async function waitForJobClaims(options: {
  kube: KubeClients;
  job: V1Job;
  diagnose?: () => Promise<string | undefined>;
}): Promise<{ problem?: string }> {
  const { kube, job } = options;
  const namespace = job.metadata!.namespace!;
  const names = (job.spec?.template.spec?.volumes ?? []).flatMap(v =>
    v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
  );
  const claims: string[] = [];
  for (const name of names) {
    if (await bindsWithoutPod(kube, namespace, name)) claims.push(name);
  }
  const { problem } = await waitForClaimsBound({
    kube,
    namespace,
    claims,
    timeoutMs: JOB_CLAIM_BIND_WAIT_MS,
    diagnose: options.diagnose,
  });
  return { problem };
}

/** Whether the claim is still to bind, and its class binds it without a pod (Immediate). */
async function bindsWithoutPod(kube: KubeClients, namespace: string, name: string): Promise<boolean> {
  const claim = await kube.core.readNamespacedPersistentVolumeClaim({ namespace, name }).catch(() => undefined);
  if (!claim || claim.status?.phase === 'Bound') return false;
  const className = claim.spec?.storageClassName;
  if (!className) return false;
  const storageClass = await kube.json
    .get<{ volumeBindingMode?: string }>(`/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(className)}`)
    .catch(() => undefined);
  return storageClass !== undefined && storageClass.volumeBindingMode !== 'WaitForFirstConsumer';
}
