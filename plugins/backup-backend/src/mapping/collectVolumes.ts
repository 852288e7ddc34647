import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { PlannedVolume } from '@ferry/plugin-backup-common';
import { isKubernetesNotFound, kubernetesStatusCode } from '../kubernetes/describeKubernetesError';
import type { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';
import { quantityToBytes } from './quantity';

const DEFAULT_CLASS_ANNOTATION = 'snapshot.storage.kubernetes.io/is-default-class';

interface SnapshotClass {
  metadata: { name: string; annotations?: Record<string, string> };
  driver: string;
}

/**
 * The claims of StatefulSets in the set: `<template>-<statefulset>-<ordinal>` for ordinals
 * `0..replicas-1` (from `spec.ordinals.start` when set) that exist in the namespace.
 */
export function statefulSetClaims(
  statefulSets: readonly KubernetesObject[],
  existing: ReadonlyMap<string, V1PersistentVolumeClaim>,
): V1PersistentVolumeClaim[] {
  const claims: V1PersistentVolumeClaim[] = [];
  for (const statefulSet of statefulSets) {
    const spec = (statefulSet as { spec?: { replicas?: number; ordinals?: { start?: number }; volumeClaimTemplates?: Array<{ metadata?: { name?: string } }> } }).spec;
    const start = spec?.ordinals?.start ?? 0;
    const replicas = spec?.replicas ?? 1;
    for (const template of spec?.volumeClaimTemplates ?? []) {
      for (let ordinal = start; ordinal < start + replicas; ordinal++) {
        const claim = existing.get(`${template.metadata?.name}-${statefulSet.metadata?.name}-${ordinal}`);
        if (claim) claims.push(claim);
      }
    }
  }
  return claims;
}

/** Reads an object, or undefined when it does not exist or may not be read. */
async function readOptional<T>(client: KubernetesJsonClient, path: string): Promise<T | undefined> {
  try {
    return await client.get<T>(path);
  } catch (error) {
    const status = kubernetesStatusCode(error);
    if (status === 404 || status === 403) return undefined;
    throw error;
  }
}

async function listSnapshotClasses(client: KubernetesJsonClient): Promise<SnapshotClass[] | undefined> {
  try {
    const list = await client.get<{ items?: SnapshotClass[] }>(
      '/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses',
    );
    return list.items ?? [];
  } catch (error) {
    if (isKubernetesNotFound(error)) return undefined;
    throw error;
  }
}

/** The driver's default class (annotated), else its only class, else the first by name. */
export function chooseSnapshotClass(classes: readonly SnapshotClass[], driver: string): string | undefined {
  const candidates = classes
    .filter(c => c.driver === driver)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const preferred = candidates.find(c => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  return (preferred ?? candidates[0])?.metadata.name;
}

export interface CollectedVolumes {
  /** Claims whose data can be snapshotted. */
  claims: V1PersistentVolumeClaim[];
  volumes: PlannedVolume[];
  warnings: string[];
}

/**
 * Storage facts of each claim (class, mode, size, CSI driver, snapshot class). Claims that are
 * not bound, not CSI, or whose driver has no VolumeSnapshotClass get a warning and are left out
 * of `claims` (their YAML is still stored; their data is not).
 */
export async function collectVolumes(options: {
  client: KubernetesJsonClient;
  claims: readonly V1PersistentVolumeClaim[];
}): Promise<CollectedVolumes> {
  const { client } = options;
  const result: CollectedVolumes = { claims: [], volumes: [], warnings: [] };
  if (options.claims.length === 0) return result;
  const snapshotClasses = await listSnapshotClasses(client);
  if (!snapshotClasses) {
    result.warnings.push('the cluster serves no snapshot.storage.k8s.io/v1 api: no volume data can be backed up');
  }
  const storageClasses = new Map<string, Promise<{ provisioner?: string } | undefined>>();
  for (const claim of [...options.claims].sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))) {
    const name = claim.metadata!.name!;
    const storageClass = claim.spec?.storageClassName ?? undefined;
    const volumeMode = claim.spec?.volumeMode === 'Block' ? 'Block' : 'Filesystem';
    const size = claim.status?.capacity?.storage ?? claim.spec?.resources?.requests?.storage;
    let sizeBytes = 0;
    try {
      sizeBytes = size ? quantityToBytes(size) : 0;
    } catch {
      result.warnings.push(`claim ${name} has an unreadable size '${size}'`);
    }
    const volume: PlannedVolume = { pvc: name, volumeMode, sizeBytes, ...(storageClass ? { storageClass } : {}) };
    result.volumes.push(volume);
    if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) {
      result.warnings.push(
        `claim ${name} is not bound (phase ${claim.status?.phase ?? 'unknown'}): its data is not backed up`,
      );
      continue;
    }
    const pv = await readOptional<{ spec?: { csi?: { driver?: string } } }>(
      client,
      `/api/v1/persistentvolumes/${encodeURIComponent(claim.spec.volumeName)}`,
    );
    let driver = pv?.spec?.csi?.driver;
    if (!driver && storageClass && !pv) {
      if (!storageClasses.has(storageClass)) {
        storageClasses.set(
          storageClass,
          readOptional(client, `/apis/storage.k8s.io/v1/storageclasses/${encodeURIComponent(storageClass)}`),
        );
      }
      driver = (await storageClasses.get(storageClass))?.provisioner;
    }
    if (!driver) {
      result.warnings.push(`claim ${name} is not a csi volume: its data is not backed up (only csi volumes can be snapshotted)`);
      continue;
    }
    volume.csiDriver = driver;
    const snapshotClass = snapshotClasses ? chooseSnapshotClass(snapshotClasses, driver) : undefined;
    if (!snapshotClass) {
      if (snapshotClasses) {
        result.warnings.push(`claim ${name}: csi driver ${driver} has no VolumeSnapshotClass, its data is not backed up`);
      }
      continue;
    }
    volume.volumeSnapshotClass = snapshotClass;
    result.claims.push(claim);
  }
  return result;
}
