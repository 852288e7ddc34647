import {
  coreServices,
  createServiceFactory,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { mockServices, startTestBackend } from '@backstage/backend-test-utils';
import type { Entity } from '@backstage/catalog-model';
import type { JsonObject } from '@backstage/types';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { Sandbox, startSandbox, StartSandboxOptions } from '@ferry/sandbox';
import fs from 'node:fs';
import path from 'node:path';
import { backupPlugin } from '../../plugin';
import { backendToken } from './ferryChart';

const repoRoot = path.resolve(__dirname, '../../../../..');

/**
 * A sandbox for Ferry's e2e tests on a real node (upstream kubelet, containerd and runc, the CSI
 * driver on loop devices with the upstream provisioner and snapshotter): Ferry's CRDs installed,
 * and an OCI registry that holds the datamover image and the demo app's images (built here), so
 * that datamover Jobs and the demo app run as real containers and backups copy the images (no
 * internet). Needs root, as CI runs.
 */
export function startE2eSandbox(options: Partial<StartSandboxOptions> = {}): Promise<Sandbox> {
  return startSandbox({
    ephemeral: true,
    crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
    registry: true,
    node: 'real',
    ...options,
  });
}

/** The demo application's catalog entity (test/fixtures/charts/demo installed as release demo). */
export const demoEntity: Entity = {
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: {
    name: 'shop',
    namespace: 'default',
    annotations: {
      'ferry.io/helm-release': 'demo',
      'ferry.io/namespace': 'demo',
      'ferry.io/cluster': 'sandbox',
    },
  },
  spec: { type: 'service', owner: 'group:default/team-shop', lifecycle: 'production' },
};

/**
 * One cluster entry of the Kubernetes plugin's config for a sandbox, with a service-account token:
 * the Helm chart's backend account (charts/ferry installed into the sandbox, its least-privilege
 * RBAC, so a missing permission fails a test; see ./ferryChart.ts), or cluster-admin's with
 * FERRY_E2E_BACKEND_IDENTITY=cluster-admin (for telling an RBAC gap from a bug while debugging).
 */
export async function sandboxCluster(sandbox: Sandbox, name = 'sandbox') {
  const token = await backendToken(sandbox);
  const cluster = sandbox.kubeConfig.getCurrentCluster()!;
  const caData = cluster.caData ?? fs.readFileSync(cluster.caFile!).toString('base64');
  return {
    name,
    url: sandbox.apiServerUrl,
    authProvider: 'serviceAccount',
    authMetadata: { serviceAccountToken: token },
    caData,
  };
}

/** The Kubernetes plugin's config of the sandbox cluster (named `sandbox`) and any others. */
export async function sandboxClusterConfig(
  sandbox: Sandbox,
  extraClusters: Array<Record<string, unknown>> = [],
) {
  return {
    clusterLocatorMethods: [
      { type: 'config', clusters: [await sandboxCluster(sandbox), ...extraClusters] },
    ],
  };
}

/**
 * What Ferry needs to work on a real-node sandbox: the datamover image from the sandbox registry
 * (datamover Jobs are real containers), and that registry, which listens on the node bridge's
 * address rather than loopback, reached over plain HTTP (image backup and restore). The
 * filesystem target needs nothing: datamover pods mount the node's folder at the same path
 * (hostPath), and the node is this machine.
 */
export function realNodeFerryConfig(sandbox: Sandbox): Record<string, unknown> {
  if (sandbox.node !== 'real') return {};
  return {
    datamover: { image: sandbox.images!.datamover },
    images: { insecureRegistries: [sandbox.registry!.host] },
  };
}

/**
 * The `ferry:` configuration of an e2e backend: the filesystem target `local` at `repositoryDir`,
 * datamover parallelism 2, what the real node needs, and `more` merged over it.
 */
export function e2eFerryConfig(sandbox: Sandbox, repositoryDir: string, more: Record<string, unknown> = {}): JsonObject {
  const base = { targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }], datamover: { parallelism: 2 } };
  return mergeConfig(mergeConfig(base, realNodeFerryConfig(sandbox)), more) as JsonObject;
}

/** Merges configuration objects key by key (objects merged, anything else replaced). */
function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = merged[key];
    const bothObjects = [current, value].every(v => typeof v === 'object' && v !== null && !Array.isArray(v));
    merged[key] = bothObjects ? mergeConfig(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return merged;
}

/** A Backstage backend with Ferry's plugin against the sandbox, storing into `repositoryDir`. */
export async function startFerryBackend(options: {
  sandbox: Sandbox;
  repositoryDir: string;
  entities?: Entity[];
  permissions?: AuthorizeResult.ALLOW | AuthorizeResult.DENY | PermissionsService;
  extraClusters?: Array<Record<string, unknown>>;
  /** False: no cluster at all (what a backend sees of the targets alone). */
  withCluster?: boolean;
  /** More `ferry:` configuration (merged over the targets and datamover settings). */
  ferry?: Record<string, unknown>;
}) {
  const permissions = options.permissions ?? AuthorizeResult.ALLOW;
  return startTestBackend({
    features: [
      backupPlugin,
      catalogServiceMock.factory({ entities: options.entities ?? [demoEntity] }),
      typeof permissions === 'object'
        ? createServiceFactory({
            service: coreServices.permissions,
            deps: {},
            factory: () => permissions,
          })
        : mockServices.permissions.factory({ result: permissions }),
      // FERRY_TEST_LOG=info shows the controllers' logs while debugging a test.
      mockServices.rootLogger.factory({
        level: (process.env.FERRY_TEST_LOG as 'info' | undefined) ?? 'warn',
      }),
      mockServices.rootConfig.factory({
        data: {
          kubernetes:
            options.withCluster === false
              ? { clusterLocatorMethods: [{ type: 'config', clusters: [] }] }
              : ((await sandboxClusterConfig(options.sandbox, options.extraClusters)) as JsonObject),
          ferry: e2eFerryConfig(options.sandbox, options.repositoryDir, options.ferry),
        },
      }),
    ],
  });
}
