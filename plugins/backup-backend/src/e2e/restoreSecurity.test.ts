import { mockCredentials } from '@backstage/backend-test-utils';
import type { PermissionsService } from '@backstage/backend-plugin-api';
import type { Entity } from '@backstage/catalog-model';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { binaryPath, installDemoApp, Sandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { KubeClients } from '../pipeline/KubeClients';
import { bindRestorer, impersonating, RESTORER_USER, ensureRestorerRole, unbindRestorer } from '../access/RestoreIdentity';
import { namespaceContents } from './__testUtils__/namespaceContents';
import { demoEntity, startE2eSandbox, startFerryBackend } from './__testUtils__/sandboxBackend';
import { waitForOperation } from './__testUtils__/waitForOperation';

const run = promisify(execFile);
jest.setTimeout(600_000);

/**
 * Issue 18's reproductions and the rules of "Who may restore what, where" (README), tried as an
 * attacker would, against the real API server: every refusal writes nothing.
 */
const OWNER = 'user:default/shop-owner';
const OTHER = 'user:default/blog-owner';
const ADMIN = 'user:default/platform';
const owns: Record<string, string> = { [OWNER]: 'component:default/shop', [OTHER]: 'component:default/blog' };

/** The demo policy's rules: owners act on their entity; the platform team may do everything. */
const policy: PermissionsService = {
  authorize: async (requests, options) => {
    const user = (options.credentials.principal as { userEntityRef?: string }).userEntityRef ?? '';
    const admin = user === ADMIN || user === 'user:default/mock';
    return requests.map(r => {
      const resourceRef = (r as { resourceRef?: string }).resourceRef;
      const allowed = admin || (resourceRef !== undefined && owns[user] === resourceRef);
      return { result: allowed ? AuthorizeResult.ALLOW : AuthorizeResult.DENY };
    }) as never;
  },
  authorizeConditional: async requests => requests.map(() => ({ result: AuthorizeResult.DENY })) as never,
};

const blogEntity: Entity = {
  ...demoEntity,
  metadata: { name: 'blog', namespace: 'default', annotations: { 'ferry.io/namespace': 'blog', 'ferry.io/cluster': 'sandbox' } },
  spec: { ...demoEntity.spec, owner: 'group:default/team-blog' },
};

const shop = '/api/backup/entities/component/default/shop';
const blog = '/api/backup/entities/component/default/blog';
const as = (user: string) => mockCredentials.user.header(user);

let sandbox: Sandbox;
let repositoryDir: string;
let backend: Awaited<ReturnType<typeof startFerryBackend>>;
let core: CoreV1Api;
let backupId: string;

const kubectl = (...args: string[]) => run(binaryPath('kubectl'), ['--kubeconfig', sandbox.kubeconfigPath, ...args]);
const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

beforeAll(async () => {
  sandbox = await startE2eSandbox();
  // The chart as it comes (4 claims, PostgreSQL's); no rows needed: this suite checks who may do what.
  await installDemoApp(sandbox, { rawVolumes: false, rows: 0 });
  core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
  for (const name of ['blog', 'thirdparty']) await core.createNamespace({ body: { metadata: { name } } });
  repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-e2e-security-'));
  backend = await startFerryBackend({ sandbox, repositoryDir, entities: [demoEntity, blogEntity], permissions: policy });
  const created = await request(backend.server).post(`${shop}/backups`).set('Authorization', as(OWNER)).send({ type: 'full' });
  if (created.status !== 201) throw new Error(`the owner's backup was refused: ${JSON.stringify(created.body)}`);
  const backup = await waitForOperation({ server: backend.server, kind: 'backups', id: created.body.id });
  if (backup.phase !== 'Completed') throw new Error(`the owner's backup ended ${backup.phase}: ${backup.message}`);
  backupId = backup.id;
});

afterAll(async () => {
  await backend?.stop();
  await sandbox?.stop();
  if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
});

describe('restore security on the real API server', () => {
  it('refuses reproduction 1: a namespace map into kube-system, and writes nothing there', async () => {
    const before = await namespaceContents(sandbox.kubeConfig, 'kube-system');
    const response = await request(backend.server)
      .post(`${shop}/restores`)
      .set('Authorization', as(OWNER))
      .send({ backupId, scope: 'metadata-only', transforms: { namespaceMap: { demo: 'kube-system' } } });
    expect(response.status).toBe(403);
    expect(response.body.error.message).toBe(
      'transforms.namespaceMap.demo: restoring into namespace kube-system needs the backup.restore.anywhere permission',
    );
    expect(await namespaceContents(sandbox.kubeConfig, 'kube-system')).toEqual(before);
  });

  it('refuses reproduction 2: a patch that turns a ConfigMap into a ClusterRoleBinding, and creates none', async () => {
    const operations = [
      { op: 'replace', path: '/kind', value: 'ClusterRoleBinding' },
      { op: 'replace', path: '/apiVersion', value: 'rbac.authorization.k8s.io/v1' },
      { op: 'remove', path: '/data' },
      { op: 'add', path: '/roleRef', value: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' } },
      { op: 'add', path: '/subjects', value: [{ kind: 'ServiceAccount', name: 'default', namespace: 'demo' }] },
    ];
    for (const user of [OWNER, ADMIN]) {
      const response = await request(backend.server)
        .post(`${shop}/restores`)
        .set('Authorization', as(user))
        .send({ backupId, scope: 'metadata-only', existing: 'patch', transforms: { patches: [{ target: { kind: 'ConfigMap', name: 'demo-config' }, operations }] } });
      expect({ user, status: response.status }).toEqual({ user, status: 400 });
      expect(response.body.error.message).toMatch(/^transforms\.patches\.0\.operations\.0: 'replace \/kind' may not change an object's apiVersion, kind, name or namespace/);
    }
    const rbac = sandbox.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const bindings = await rbac.listClusterRoleBinding();
    expect(bindings.items.map(b => b.metadata?.name)).not.toContain('demo-config');
  });

  it('refuses reproduction 3: a Restore in another namespace naming Shop\'s backup fails with the reason, copying no Secret', async () => {
    const manifest = path.join(repositoryDir, 'thirdparty-restore.yaml');
    await fs.writeFile(
      manifest,
      [
        'apiVersion: ferry.io/v1alpha1',
        'kind: Restore',
        'metadata: {name: steal, namespace: thirdparty}',
        'spec:',
        `  backupId: ${backupId}`,
        '  appId: component.default.shop',
        '  target: local',
        '  sourceNamespace: thirdparty',
      ].join('\n'),
    );
    await kubectl('apply', '-f', manifest);
    const custom = sandbox.kubeConfig.makeApiClient(CustomObjectsApi);
    let status: { phase?: string; message?: string } = {};
    for (let i = 0; i < 120 && !['Completed', 'Failed', 'PartiallyFailed'].includes(status.phase ?? ''); i++) {
      await sleep(500);
      const restore = (await custom.getNamespacedCustomObject({
        group: 'ferry.io', version: 'v1alpha1', plural: 'restores', namespace: 'thirdparty', name: 'steal',
      })) as { status?: typeof status };
      status = restore.status ?? {};
    }
    expect(status.phase).toBe('Failed');
    expect(status.message).toMatch(/^spec\.backupId: backup \S+ of component\.default\.shop was taken in namespace demo of cluster sandbox; a Restore in namespace thirdparty may only restore backups taken in thirdparty/);
    const contents = await namespaceContents(sandbox.kubeConfig, 'thirdparty');
    expect(contents.filter(c => !c.startsWith('Restore/') && !c.startsWith('ConfigMap/kube-root-ca.crt') && !c.startsWith('ServiceAccount/default'))).toEqual([]);
  });

  it('refuses a Backup in another namespace that claims Shop\'s entity', async () => {
    const manifest = path.join(repositoryDir, 'thirdparty-backup.yaml');
    await fs.writeFile(
      manifest,
      [
        'apiVersion: ferry.io/v1alpha1',
        'kind: Backup',
        'metadata:',
        '  name: pose',
        '  namespace: thirdparty',
        '  annotations: {ferry.io/entity-ref: "component:default/shop", ferry.io/app-id: component.default.shop}',
        'spec: {application: {wholeNamespace: true}, target: local}',
      ].join('\n'),
    );
    await kubectl('apply', '-f', manifest);
    let table = '';
    for (let i = 0; i < 120 && !/Failed|Completed/.test(table); i++) {
      await sleep(500);
      table = (await kubectl('get', 'backup', '-n', 'thirdparty', 'pose', '-o', 'jsonpath={.status.phase} {.status.message}')).stdout;
    }
    expect(table).toMatch(/^Failed annotation ferry\.io\/entity-ref: a Backup in namespace thirdparty may only back up thirdparty/);
    const repository = await fs.readdir(path.join(repositoryDir, 'apps', 'component.default.shop', 'backups'));
    expect(repository).toEqual([backupId]);
  });

  it('answers every restore input that chooses a namespace, kind or name according to who asks', async () => {
    type Row = { input: string; body: object; path?: string; owner: number; other: number; admin: number };
    const patch = (target: object, operations: object[]) => ({ transforms: { patches: [{ target, operations }] } });
    const rows: Row[] = [
      { input: 'nothing (own namespace)', body: {}, owner: 200, other: 403, admin: 200 },
      { input: 'namespace', body: { namespace: 'kube-system' }, owner: 403, other: 403, admin: 200 },
      { input: 'namespace (a new one)', body: { namespace: 'demo-copy' }, owner: 403, other: 403, admin: 200 },
      { input: 'cluster', body: { cluster: 'elsewhere' }, owner: 403, other: 403, admin: 400 },
      { input: 'transforms.namespaceMap', body: { transforms: { namespaceMap: { demo: 'kube-system' } } }, owner: 403, other: 403, admin: 200 },
      { input: 'transforms.namespaceMap (identity)', body: { transforms: { namespaceMap: { demo: 'demo' } } }, owner: 200, other: 403, admin: 200 },
      { input: 'patch /kind', body: patch({ kind: 'ConfigMap' }, [{ op: 'replace', path: '/kind', value: 'Secret' }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch /apiVersion', body: patch({ kind: 'Deployment' }, [{ op: 'replace', path: '/apiVersion', value: 'apps/v1beta1' }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch /metadata/namespace', body: patch({ kind: 'ConfigMap' }, [{ op: 'replace', path: '/metadata/namespace', value: 'kube-system' }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch /metadata/name', body: patch({ kind: 'ConfigMap' }, [{ op: 'replace', path: '/metadata/name', value: 'coredns' }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch move from /metadata/name', body: patch({ kind: 'ConfigMap' }, [{ op: 'move', from: '/metadata/name', path: '/data/n' }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch the whole object', body: patch({ kind: 'ConfigMap' }, [{ op: 'replace', path: '', value: {} }]), owner: 400, other: 403, admin: 400 },
      { input: 'patch hostNetwork', body: patch({ kind: 'Deployment' }, [{ op: 'add', path: '/spec/template/spec/hostNetwork', value: true }]), owner: 403, other: 403, admin: 200 },
      { input: 'patch serviceAccountName', body: patch({ kind: 'Deployment' }, [{ op: 'add', path: '/spec/template/spec/serviceAccountName', value: 'admin' }]), owner: 403, other: 403, admin: 200 },
      { input: 'patch image', body: patch({ kind: 'Deployment' }, [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'nginx:1' }]), owner: 200, other: 403, admin: 200 },
      { input: 'patch ConfigMap data', body: patch({ kind: 'ConfigMap', name: 'demo-config' }, [{ op: 'add', path: '/data/x', value: 'y' }]), owner: 200, other: 403, admin: 200 },
      { input: 'imageRestore.authSecret of Ferry\'s namespace with a repository', body: { imageRestore: { registry: 'registry.local:5000', repository: 'platform/base', authSecret: 'platform-push' } }, owner: 403, other: 403, admin: 200 },
      { input: 'imageRestore.authSecret of Ferry\'s namespace, overriding tags', body: { imageRestore: { registry: 'registry.local:5000', authSecret: 'platform-push', overrideImageIfExist: true } }, owner: 403, other: 403, admin: 200 },
      { input: 'imageRestore.authSecret of Ferry\'s namespace, default repository', body: { imageRestore: { registry: 'registry.local:5000', authSecret: 'platform-push' } }, owner: 200, other: 403, admin: 200 },
      { input: 'backupId of Shop through Blog\'s route', path: blog, body: {}, owner: 403, other: 404, admin: 404 },
    ];
    await core.createNamespacedSecret({
      namespace: 'ferry-system',
      body: {
        metadata: { name: 'platform-push' },
        type: 'kubernetes.io/dockerconfigjson',
        stringData: { '.dockerconfigjson': JSON.stringify({ auths: { 'registry.local:5000': { auth: Buffer.from('p:q').toString('base64') } } }) },
      },
    });
    const before = await Promise.all(['demo', 'kube-system', 'ferry-system'].map(n => namespaceContents(sandbox.kubeConfig, n)));
    const results: string[] = [];
    const expected: string[] = [];
    for (const row of rows) {
      for (const [role, user] of [['owner', OWNER], ['other', OTHER], ['admin', ADMIN]] as const) {
        const response = await request(backend.server)
          .post(`${row.path ?? shop}/restores`)
          .set('Authorization', as(user))
          .send({ backupId, dryRun: true, ...row.body });
        results.push(`${row.input} × ${role}: ${response.status}`);
        expected.push(`${row.input} × ${role}: ${row[role]}`);
      }
    }
    expect(results).toEqual(expected);
    // Dry runs, allowed or not, write nothing.
    expect(await Promise.all(['demo', 'kube-system', 'ferry-system'].map(n => namespaceContents(sandbox.kubeConfig, n)))).toEqual(before);
  });

  it('applies restored objects through an identity whose rights end at the authorised namespaces', async () => {
    const kube = new KubeClients('sandbox', sandbox.kubeConfig);
    const restorer = impersonating(kube, RESTORER_USER);
    const owner = { apiVersion: 'ferry.io/v1alpha1', kind: 'Restore', name: 'probe', namespace: 'ferry-system', uid: '00000000-0000-0000-0000-000000000000', labels: { 'ferry.io/restore': 'probe' } };
    const configMap = (namespace: string) => restorer.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'probe' } } });
    await ensureRestorerRole(kube);
    await expect(configMap('blog')).rejects.toMatchObject({ code: 403 });
    await bindRestorer({ kube, restorer, namespace: 'blog', restoreId: 'probe', owner });
    await expect(configMap('blog')).resolves.toBeDefined();
    await expect(configMap('kube-system')).rejects.toMatchObject({ code: 403 });
    await expect(restorer.core.createNamespace({ body: { metadata: { name: 'probe' } } })).rejects.toMatchObject({ code: 403 });
    await unbindRestorer({ kube, namespaces: ['blog'], restoreId: 'probe' });
    for (let i = 0; i < 50; i++) {
      const denied = await restorer.core.readNamespacedConfigMap({ namespace: 'blog', name: 'probe' }).then(() => false, () => true);
      if (denied) break;
      await sleep(200);
    }
    await expect(restorer.core.readNamespacedConfigMap({ namespace: 'blog', name: 'probe' })).rejects.toMatchObject({ code: 403 });
  });

  it('runs an owner\'s restore into its own namespace as a Restore there, and leaves no binding behind', async () => {
    await core.deleteNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });
    const created = await request(backend.server)
      .post(`${shop}/restores`)
      .set('Authorization', as(OWNER))
      .send({ backupId, scope: 'metadata-only', readyTimeoutSeconds: 0 });
    expect(created.status).toBe(201);
    const restore = await waitForOperation({ server: backend.server, kind: 'restores', id: created.body.id });
    expect(restore.phase).toBe('Completed');
    expect(restore.resourceName).toMatch(/^demo\//);
    const outcome = restore.objects.find((o: { kind: string; name: string }) => o.kind === 'ConfigMap' && o.name === 'demo-config');
    expect(outcome.outcome).toBe('Created');
    const rbac = sandbox.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const left = await rbac.listNamespacedRoleBinding({ namespace: 'demo', labelSelector: 'ferry.io/restore' });
    expect(left.items).toEqual([]);
  });
});
