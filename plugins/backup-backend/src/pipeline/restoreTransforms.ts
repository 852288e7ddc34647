import type { KubernetesObject } from '@kubernetes/client-node';
import { applyPatch, JsonPatchError, Operation, validate } from 'fast-json-patch';
import type { RestoreSpec, RestoreTransforms } from '../controller/RestoreResource';
import {
  HELM_RELEASE_NAMESPACE_ANNOTATION,
  isHelmReleaseSecret,
  rewriteHelmReleaseSecret,
} from './helmReleaseRewrite';
import { matchesLabelSelector } from './matchLabelSelector';

type Json = Record<string, unknown>;

/** A transform that cannot be applied: the message names the transform and the object. */
export class TransformError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransformError';
  }
}

/**
 * Checks the transforms of a request without any object: every JSON patch is well formed
 * (RFC 6902) and every label selector parses. Returns problems naming the field, e.g.
 * `transforms.patches.0.operations.1: …`.
 */
export function transformProblems(transforms: RestoreTransforms | undefined): string[] {
  const problems: string[] = [];
  for (const [index, patch] of (transforms?.patches ?? []).entries()) {
    const error = validate(patch.operations as Operation[]);
    if (error) {
      problems.push(
        `transforms.patches.${index}.operations.${error.index ?? 0}: ${describePatchError(error)}`,
      );
    }
    if (patch.target.labelSelector !== undefined) {
      try {
        matchesLabelSelector(patch.target.labelSelector, {});
      } catch (e) {
        problems.push(`transforms.patches.${index}.target.labelSelector: ${(e as Error).message}`);
      }
    }
  }
  return problems;
}

/**
 * The backed-up objects as they will be applied (DESIGN §4 step 4), in this order: namespace
 * mapping (the backup's namespace goes to the restore's, plus `namespaceMap`), storage class
 * mapping (claims and StatefulSet claim templates), omitted labels and annotations, JSON patches
 * on the objects they select; Helm release Secrets moved to another namespace are rewritten, and
 * Helm's `meta.helm.sh/release-namespace` ownership annotation mapped, so Helm finds and owns the
 * release there. Inputs are not modified.
 */
export function transformObjects(options: {
  objects: KubernetesObject[];
  sourceNamespace: string;
  namespace: string;
  spec: Pick<RestoreSpec, 'omitLabels' | 'omitAnnotations' | 'transforms'>;
}): KubernetesObject[] {
  const { spec } = options;
  const namespaces = namespaceMapping({ ...options, namespaceMap: spec.transforms?.namespaceMap });
  const classes = spec.transforms?.storageClassMap ?? {};
  return options.objects.map(original => {
    let object = structuredClone(original) as KubernetesObject & Json;
    const metadata = (object.metadata ??= {});
    const from = metadata.namespace;
    if (from !== undefined && namespaces[from]) metadata.namespace = namespaces[from];
    mapSubjectNamespaces(object, namespaces);
    mapStorageClasses(object, classes);
    const helmNamespace = metadata.annotations?.[HELM_RELEASE_NAMESPACE_ANNOTATION];
    if (helmNamespace && namespaces[helmNamespace]) {
      metadata.annotations![HELM_RELEASE_NAMESPACE_ANNOTATION] = namespaces[helmNamespace];
    }
    for (const label of spec.omitLabels ?? []) delete metadata.labels?.[label];
    for (const annotation of spec.omitAnnotations ?? []) delete metadata.annotations?.[annotation];
    object = applyPatches(object, spec.transforms?.patches ?? []);
    if (isHelmReleaseSecret(object) && from !== object.metadata?.namespace && object.metadata?.namespace) {
      object = rewriteHelmReleaseSecret(object, object.metadata.namespace, namespaces);
    }
    return object;
  });
}

/**
 * Where objects of each backed-up namespace go: the backup's namespace to the restore's, then
 * `namespaceMap` (which may override it).
 */
export function namespaceMapping(options: {
  sourceNamespace: string;
  namespace: string;
  namespaceMap?: Record<string, string>;
}): Record<string, string> {
  return { [options.sourceNamespace]: options.namespace, ...options.namespaceMap };
}

/** Storage class of a claim after the mapping (undefined: the cluster's default class). */
export function mapStorageClass(
  storageClass: string | undefined,
  storageClassMap: Record<string, string> | undefined,
): string | undefined {
  return storageClass !== undefined ? storageClassMap?.[storageClass] ?? storageClass : undefined;
}

function mapSubjectNamespaces(object: Json, namespaces: Record<string, string>) {
  if (object.kind !== 'RoleBinding' && object.kind !== 'ClusterRoleBinding') return;
  for (const subject of (object.subjects ?? []) as Array<{ namespace?: string }>) {
    if (subject.namespace && namespaces[subject.namespace]) {
      subject.namespace = namespaces[subject.namespace];
    }
  }
}

function mapStorageClasses(object: Json, classes: Record<string, string>) {
  const spec = object.spec as Json | undefined;
  if (!spec) return;
  const map = (claimSpec: Json | undefined) => {
    const name = claimSpec?.storageClassName;
    if (claimSpec && typeof name === 'string' && classes[name]) claimSpec.storageClassName = classes[name];
  };
  if (object.kind === 'PersistentVolumeClaim') map(spec);
  if (object.kind === 'StatefulSet') {
    for (const template of (spec.volumeClaimTemplates ?? []) as Array<{ spec?: Json }>) {
      map(template.spec);
    }
  }
}

function applyPatches(
  object: KubernetesObject & Json,
  patches: NonNullable<RestoreTransforms['patches']>,
): KubernetesObject & Json {
  let current = object;
  for (const [index, patch] of patches.entries()) {
    const { kind, name, labelSelector } = patch.target;
    if (current.kind !== kind) continue;
    if (name !== undefined && current.metadata?.name !== name) continue;
    if (labelSelector !== undefined && !matchesLabelSelector(labelSelector, current.metadata?.labels)) continue;
    try {
      current = applyPatch(current, patch.operations as Operation[], true, false).newDocument;
    } catch (error) {
      throw new TransformError(
        `transforms.patches.${index} cannot be applied to ${current.kind} ${current.metadata?.name}: ${describePatchError(error)}`,
      );
    }
  }
  return current;
}

function describePatchError(error: unknown): string {
  if (error instanceof JsonPatchError) {
    const reason = error.name.replace(/_/g, ' ').toLowerCase();
    return `${reason} (${error.message.split('\n')[0]})`;
  }
  return String(error);
}
