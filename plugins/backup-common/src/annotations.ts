import type { Entity } from '@backstage/catalog-model';

/** Ferry's own entity annotations (DESIGN §2). */
export const FERRY_ANNOTATION_CLUSTER = 'ferry.io/cluster';
export const FERRY_ANNOTATION_HELM_RELEASE = 'ferry.io/helm-release';
export const FERRY_ANNOTATION_LABEL_SELECTOR = 'ferry.io/label-selector';
export const FERRY_ANNOTATION_NAMESPACE = 'ferry.io/namespace';
export const FERRY_ANNOTATION_POLICY = 'ferry.io/policy';

/** The Kubernetes plugin's annotations, which Ferry reuses. */
export const KUBERNETES_ANNOTATION_ID = 'backstage.io/kubernetes-id';
export const KUBERNETES_ANNOTATION_LABEL_SELECTOR =
  'backstage.io/kubernetes-label-selector';
export const KUBERNETES_ANNOTATION_NAMESPACE = 'backstage.io/kubernetes-namespace';

/** Annotations that each, alone, tell Ferry what to back up. */
export const APPLICATION_ANNOTATIONS = [
  FERRY_ANNOTATION_HELM_RELEASE,
  FERRY_ANNOTATION_LABEL_SELECTOR,
  FERRY_ANNOTATION_NAMESPACE,
  KUBERNETES_ANNOTATION_ID,
  KUBERNETES_ANNOTATION_LABEL_SELECTOR,
  KUBERNETES_ANNOTATION_NAMESPACE,
] as const;

/** True when the entity carries enough annotations for Ferry to find its resources. */
export function isBackupAvailable(entity: Entity): boolean {
  const annotations = entity.metadata.annotations ?? {};
  return APPLICATION_ANNOTATIONS.some(name => Boolean(annotations[name]));
}
