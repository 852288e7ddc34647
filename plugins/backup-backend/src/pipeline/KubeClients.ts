import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';

import { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';

/** Request options that send a patch as a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The API clients of one cluster that the controllers use. */
export class KubeClients {
  /** Plain JSON access: objects exactly as the API server returns and accepts them. */
  readonly json: KubernetesJsonClient;
  readonly core: CoreV1Api;
  readonly batch: BatchV1Api;
  readonly custom: CustomObjectsApi;

  constructor(readonly cluster: string, readonly kubeConfig: KubeConfig) {
    this.json = new KubernetesJsonClient(kubeConfig);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }
}

/** The HTTP status of a client-node API error, if it has one. */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(error: unknown): boolean {
  return statusCodeOf(error) === 404;
}

export function isConflict(error: unknown): boolean {
  return statusCodeOf(error) === 409;
}

/** Creates an object unless it already exists (idempotent steps after a crash). */
export async function createIfAbsent<T>(create: () => Promise<T>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
}

/** Deletes an object, treating "already gone" as success. */
export async function deleteIfPresent(remove: () => Promise<unknown>): Promise<void> {
  try {
    await remove();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}
