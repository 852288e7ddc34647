import type { KubernetesObject } from '@kubernetes/client-node';

const DROPPED_METADATA = [
  'uid',
  'resourceVersion',
  'managedFields',
  'creationTimestamp',
  'generation',
  'selfLink',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  // Owner uids do not survive a restore: a stale one makes the garbage collector delete the
  // restored object. Objects whose controller is in the backup are left out instead.
  'ownerReferences',
] as const;

const DROPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];
const DROPPED_ANNOTATION_PREFIXES_PVC = [
  'pv.kubernetes.io/',
  'volume.beta.kubernetes.io/',
  'volume.kubernetes.io/',
];
/** Labels the job controller adds to a Job's selector and template; re-added on creation. */
const JOB_CONTROLLER_LABELS = [
  'controller-uid',
  'batch.kubernetes.io/controller-uid',
  'job-name',
  'batch.kubernetes.io/job-name',
];

type Json = Record<string, unknown>;

function asRecord(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function removeKeys(record: Json | undefined, keys: (key: string) => boolean): void {
  if (!record) return;
  for (const key of Object.keys(record)) {
    if (keys(key)) delete record[key];
  }
}

/**
 * A copy of a live object as it should be stored: what the API server generates or the cluster
 * assigns is removed, so that applying the YAML re-creates the object (DESIGN §3 step 2).
 * - always: `status`, metadata uid/resourceVersion/managedFields/creationTimestamp/generation/
 *   selfLink/deletion*, ownerReferences, the kubectl last-applied annotation;
 * - Service: `spec.clusterIP`/`clusterIPs` unless headless (`None`);
 * - PersistentVolumeClaim: `spec.volumeName` and the binder's `pv.kubernetes.io/*`,
 *   `volume.beta.kubernetes.io/*`, `volume.kubernetes.io/*` annotations;
 * - Job: the generated selector and controller-uid labels (unless `manualSelector`).
 */
export function cleanObject<T extends KubernetesObject>(object: T): T {
  const copy = structuredClone(object) as T & Json;
  delete copy.status;
  const metadata = asRecord(copy.metadata);
  if (metadata) {
    for (const key of DROPPED_METADATA) delete metadata[key];
    const annotations = asRecord(metadata.annotations);
    removeKeys(annotations, key => DROPPED_ANNOTATIONS.includes(key));
    if (copy.kind === 'PersistentVolumeClaim') {
      removeKeys(annotations, key => DROPPED_ANNOTATION_PREFIXES_PVC.some(prefix => key.startsWith(prefix)));
    }
    if (annotations && Object.keys(annotations).length === 0) delete metadata.annotations;
  }
  const spec = asRecord(copy.spec);
  if (spec && copy.kind === 'Service' && (copy.apiVersion ?? 'v1') === 'v1') {
    if (spec.clusterIP !== 'None') {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
  }
  if (spec && copy.kind === 'PersistentVolumeClaim') {
    delete spec.volumeName;
  }
  if (spec && copy.kind === 'Job' && copy.apiVersion === 'batch/v1' && spec.manualSelector !== true) {
    delete spec.selector;
    const template = asRecord(asRecord(spec.template)?.metadata);
    removeKeys(asRecord(template?.labels), key => JOB_CONTROLLER_LABELS.includes(key));
  }
  return copy;
}
