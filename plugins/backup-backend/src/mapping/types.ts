import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type {
  ApplicationSpec,
  PlannedResource,
  PlannedVolume,
} from '@ferry/plugin-backup-common';

/** Where an entity's application runs and what it is made of (DESIGN §2), before any API call. */
export interface ApplicationTarget {
  entityRef: string;
  /** Repository application id derived from the entity ref, e.g. `component.default.shop`. */
  appId: string;
  /** A cluster name from `kubernetes.clusterLocatorMethods`. */
  cluster: string;
  namespace: string;
  application: ApplicationSpec;
  /** Policy named by `ferry.io/policy` or matched by filter; undefined when none applies. */
  policy?: string;
}

/** The live application read from a cluster: what a backup of it stores. */
export interface ApplicationSnapshot {
  namespace: string;
  /**
   * Every object to store as YAML, already cleaned (no status, uid, resourceVersion,
   * managedFields, ...; objects owned by a controller in the set left out), Helm release
   * Secrets included. Sorted deterministically.
   */
  objects: KubernetesObject[];
  /** Bound claims whose volumes are backed up (including StatefulSet claim-template claims). */
  claims: V1PersistentVolumeClaim[];
  /** Container images of the workloads, de-duplicated, as written in the pod templates. */
  images: string[];
  /** What the plan shows. */
  resources: PlannedResource[];
  volumes: PlannedVolume[];
  warnings: string[];
}
