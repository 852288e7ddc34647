import { ApiextensionsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { binaryPath, Sandbox, startSandbox } from '@ferry/sandbox';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { discoverResourceTypes } from '../kubernetes/discoverResourceTypes';
import { KubernetesJsonClient } from '../kubernetes/KubernetesJsonClient';
import { impersonating, RESTORER_ROLE, RESTORER_USER } from '../access/RestoreIdentity';
import { KubeClients } from '../pipeline/KubeClients';
import { FerryChart, ferryChartDir, helm, installFerryChart, kubeConfigWithToken, waitForImageCache } from './__testUtils__/ferryChart';

const run = promisify(execFile);
jest.setTimeout(300_000);

/**
 * charts/ferry as adopters install it: lint and template clean, then `helm install` into a real
 * API server (with RBAC) and what the backend's service account may and may not do, asked of the
 * authorizer (SelfSubjectAccessReview with the chart's token, `kubectl auth can-i --as`) and
 * tried for real (bindings, impersonation, escalation).
 */
const repoRoot = path.resolve(__dirname, '../../../..');
const SA = 'system:serviceaccount:ferry-system:ferry-backend';

type Check = { verb: string; resource: string; group?: string; subresource?: string; namespace?: string; name?: string };
const describeCheck = (c: Check) =>
  `${c.verb} ${c.group ? `${c.group}/` : ''}${c.resource}${c.subresource ? `/${c.subresource}` : ''}` +
  `${c.name ? ` ${c.name}` : ''}${c.namespace ? ` in ${c.namespace}` : ' (cluster)'}`;

/** What the backend must be able to do (README: the rights Ferry needs, per step). */
const allowed: Check[] = [
  // reads of application objects, any namespace
  ...['configmaps', 'secrets', 'services', 'serviceaccounts', 'persistentvolumeclaims', 'pods'].flatMap(resource =>
    ['get', 'list'].map(verb => ({ verb, resource, namespace: 'shop' })),
  ),
  ...['deployments', 'statefulsets', 'daemonsets', 'replicasets'].map(resource => ({ verb: 'get', group: 'apps', resource, namespace: 'shop' })),
  { verb: 'get', group: 'batch', resource: 'jobs', namespace: 'shop' },
  { verb: 'get', resource: 'namespaces', name: 'shop' },
  { verb: 'get', resource: 'persistentvolumes', name: 'pvc-1' },
  { verb: 'get', group: 'storage.k8s.io', resource: 'storageclasses', name: 'standard' },
  { verb: 'list', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotclasses' },
  { verb: 'list', group: 'groupsnapshot.storage.k8s.io', resource: 'volumegroupsnapshots', namespace: 'shop' },
  { verb: 'list', resource: 'events', namespace: 'shop' },
  // temporaries
  { verb: 'create', resource: 'persistentvolumeclaims', namespace: 'shop' },
  { verb: 'delete', resource: 'persistentvolumeclaims', namespace: 'shop' },
  { verb: 'create', resource: 'secrets', namespace: 'shop' },
  { verb: 'delete', resource: 'secrets', namespace: 'shop' },
  { verb: 'create', group: 'batch', resource: 'jobs', namespace: 'shop' },
  { verb: 'delete', group: 'batch', resource: 'jobs', namespace: 'shop' },
  { verb: 'delete', resource: 'pods', namespace: 'shop' },
  { verb: 'watch', resource: 'pods', namespace: 'shop' },
  { verb: 'watch', resource: 'persistentvolumeclaims', namespace: 'shop' },
  { verb: 'watch', group: 'apps', resource: 'deployments', namespace: 'shop' },
  { verb: 'watch', group: 'apps', resource: 'statefulsets', namespace: 'shop' },
  { verb: 'watch', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshots', namespace: 'shop' },
  { verb: 'create', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshots', namespace: 'shop' },
  { verb: 'delete', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshots', namespace: 'shop' },
  { verb: 'patch', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents', name: 'snapcontent-1' },
  { verb: 'create', resource: 'namespaces' },
  // hooks and datamover logs
  { verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'shop' },
  { verb: 'get', resource: 'pods', subresource: 'log', namespace: 'shop' },
  // Ferry's resources
  ...['get', 'list', 'watch', 'create'].flatMap(verb =>
    ['backups', 'restores'].map(resource => ({ verb, group: 'ferry.io', resource, namespace: 'shop' })),
  ),
  { verb: 'delete', group: 'ferry.io', resource: 'backups', namespace: 'shop' },
  { verb: 'patch', group: 'ferry.io', resource: 'backups', subresource: 'status', namespace: 'shop' },
  { verb: 'patch', group: 'ferry.io', resource: 'restores', subresource: 'status', namespace: 'ferry-system' },
  // leader election, only Ferry's leases
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'ferry-backup-controller' },
  { verb: 'get', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'ferry-restore-controller' },
  // the restorer identity
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'shop' },
  { verb: 'delete', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'shop' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: RESTORER_ROLE },
  { verb: 'get', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: RESTORER_ROLE },
  { verb: 'impersonate', resource: 'users', name: RESTORER_USER },
];

/** What it must not be able to do: nothing beyond its needs, no way to more rights. */
const denied: Check[] = [
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: RESTORER_ROLE },
  { verb: 'update', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: RESTORER_ROLE },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'cluster-admin' },
  { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', name: 'admin' },
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'roles', namespace: 'shop' },
  { verb: 'patch', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', namespace: 'shop' },
  { verb: 'impersonate', resource: 'users', name: 'system:admin' },
  { verb: 'impersonate', resource: 'groups', name: 'system:masters' },
  { verb: 'impersonate', resource: 'serviceaccounts', namespace: 'kube-system', name: 'default' },
  { verb: 'get', resource: 'nodes', subresource: 'proxy', name: 'ferry-sandbox-node' },
  { verb: 'get', resource: 'nodes', name: 'ferry-sandbox-node' },
  { verb: 'get', resource: 'pods', subresource: 'proxy', namespace: 'shop' },
  { verb: 'get', resource: 'services', subresource: 'proxy', namespace: 'shop' },
  { verb: 'create', resource: 'pods', subresource: 'attach', namespace: 'shop' },
  { verb: 'create', resource: 'pods', subresource: 'portforward', namespace: 'shop' },
  { verb: 'create', resource: 'pods', namespace: 'shop' },
  { verb: 'create', group: 'apps', resource: 'deployments', namespace: 'shop' },
  { verb: 'patch', group: 'apps', resource: 'deployments', namespace: 'shop' },
  { verb: 'update', resource: 'secrets', namespace: 'shop' },
  { verb: 'patch', resource: 'secrets', namespace: 'kube-system' },
  { verb: 'delete', resource: 'configmaps', namespace: 'shop' },
  { verb: 'create', resource: 'serviceaccounts', namespace: 'shop' },
  { verb: 'create', resource: 'serviceaccounts', subresource: 'token', namespace: 'kube-system', name: 'default' },
  { verb: 'delete', resource: 'namespaces', name: 'shop' },
  { verb: 'patch', resource: 'namespaces', name: 'shop' },
  { verb: 'create', resource: 'persistentvolumes' },
  { verb: 'delete', resource: 'persistentvolumes', name: 'pvc-1' },
  { verb: 'patch', resource: 'persistentvolumeclaims', namespace: 'shop' },
  { verb: 'list', resource: 'nodes' },
  { verb: 'delete', group: 'snapshot.storage.k8s.io', resource: 'volumesnapshotcontents', name: 'snapcontent-1' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'kube-controller-manager' },
  { verb: 'delete', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system', name: 'ferry-backup-controller' },
  { verb: 'create', group: 'coordination.k8s.io', resource: 'leases', namespace: 'shop' },
  { verb: 'patch', group: 'ferry.io', resource: 'backups', namespace: 'shop' },
  { verb: 'update', group: 'ferry.io', resource: 'restores', namespace: 'shop' },
  { verb: 'delete', group: 'ferry.io', resource: 'restores', namespace: 'shop' },
  { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  { verb: 'create', group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations' },
  { verb: 'create', group: 'certificates.k8s.io', resource: 'certificatesigningrequests' },
  { verb: 'update', group: 'certificates.k8s.io', resource: 'certificatesigningrequests', subresource: 'approval', name: 'any' },
];

async function canI(kubeConfig: KubeConfig, check: Check): Promise<boolean> {
  const client = new KubernetesJsonClient(kubeConfig);
  const review = await client.post<{ status?: { allowed?: boolean } }>('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { group: check.group ?? '', ...check } },
  });
  return review.status?.allowed === true;
}

/** The HTTP status of a request made with a KubernetesJsonClient (201/200, or the API's refusal). */
async function statusOf(request: Promise<unknown>): Promise<number> {
  try {
    await request;
    return 200;
  } catch (error) {
    return (error as { code?: number; statusCode?: number }).code ?? (error as { statusCode?: number }).statusCode ?? -1;
  }
}

describe('charts/ferry, statically', () => {
  it('passes helm lint --strict, and helm template renders it (no cluster-admin, no aggregation, no * verb outside ferry-restorer)', async () => {
    const lint = await run(binaryPath('helm'), ['lint', ferryChartDir, '--strict', '--namespace', 'ferry-system']);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);

    const { stdout } = await run(binaryPath('helm'), ['template', 'ferry', ferryChartDir, '--namespace', 'ferry-system', '--include-crds']);
    const objects = parseAllDocuments(stdout).map(d => d.toJS()).filter(Boolean);
    const kinds = objects.map(o => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds).toEqual([
      'ClusterRole/ferry-backend',
      'ClusterRole/ferry-restorer',
      'ClusterRoleBinding/ferry-backend',
      'CustomResourceDefinition/backups.ferry.io',
      'CustomResourceDefinition/restores.ferry.io',
      'DaemonSet/ferry-datamover-image',
      'Role/ferry-backend-leases',
      'RoleBinding/ferry-backend-leases',
      'Secret/ferry-backend-token',
      'ServiceAccount/ferry-backend',
      'ServiceAccount/ferry-datamover',
    ]);
    expect(objects.filter(o => JSON.stringify(o.metadata.labels ?? {}).includes('aggregate-to') || o.aggregationRule)).toEqual([]);
    const roleRefs = objects.filter(o => o.roleRef).map(o => `${o.roleRef.kind}/${o.roleRef.name}`);
    expect(roleRefs.sort()).toEqual(['ClusterRole/ferry-backend', 'Role/ferry-backend-leases']);
    const backendRules = objects.find(o => o.kind === 'ClusterRole' && o.metadata.name === 'ferry-backend').rules;
    for (const rule of backendRules) {
      expect(rule.verbs).not.toContain('*');
      expect(rule.resources).not.toContain('*');
      expect(rule.apiGroups).not.toContain('*');
    }
    // Ferry's CRDs are readable by the backend only through its own role: never aggregated.
    const restorer = objects.find(o => o.kind === 'ClusterRole' && o.metadata.name === 'ferry-restorer');
    expect(restorer.rules).toEqual([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
    const datamover = objects.find(o => o.kind === 'ServiceAccount' && o.metadata.name === 'ferry-datamover');
    expect(datamover.automountServiceAccountToken).toBe(false);
    expect(objects.filter(o => JSON.stringify(o).includes('"ferry-datamover"') && /Binding$/.test(o.kind))).toEqual([]);
  });

  it('ships the CRDs of plugins/backup-backend/crds unchanged (scripts/sync-chart-crds.sh --check)', async () => {
    await expect(run('bash', [path.join(repoRoot, 'scripts/sync-chart-crds.sh'), '--check'])).resolves.toBeDefined();
  });

  it('renders the optional VolumeSnapshotClass, extra rules and the datamover image from values', async () => {
    const { stdout } = await run(binaryPath('helm'), [
      'template', 'ferry', ferryChartDir, '--namespace', 'ferry-system',
      '--set', 'volumeSnapshotClass.create=true', '--set', 'volumeSnapshotClass.driver=ebs.csi.aws.com',
      '--set', 'volumeSnapshotClass.default=true',
      '--set', 'backend.rbac.extraRules[0].apiGroups[0]=postgresql.cnpg.io',
      '--set', 'backend.rbac.extraRules[0].resources[0]=clusters',
      '--set', 'backend.rbac.extraRules[0].verbs={get,list}',
      '--set', 'datamover.image=registry.example.com/ferry/datamover@sha256:0123',
    ]);
    const objects = parseAllDocuments(stdout).map(d => d.toJS()).filter(Boolean);
    const snapshotClass = objects.find(o => o.kind === 'VolumeSnapshotClass');
    expect(snapshotClass).toMatchObject({
      driver: 'ebs.csi.aws.com',
      deletionPolicy: 'Delete',
      metadata: { name: 'ferry', annotations: { 'snapshot.storage.kubernetes.io/is-default-class': 'true' } },
    });
    const backendRole = objects.find(o => o.kind === 'ClusterRole' && o.metadata.name === 'ferry-backend');
    expect(backendRole.rules).toContainEqual({ apiGroups: ['postgresql.cnpg.io'], resources: ['clusters'], verbs: ['get', 'list'] });
    const datamover = objects.find(o => o.kind === 'ServiceAccount' && o.metadata.name === 'ferry-datamover');
    expect(datamover.metadata.annotations['ferry.io/datamover-image']).toBe('registry.example.com/ferry/datamover@sha256:0123');
    await expect(
      run(binaryPath('helm'), ['template', 'ferry', ferryChartDir, '--set', 'volumeSnapshotClass.create=true']),
    ).rejects.toThrow(/volumeSnapshotClass.driver is required/);
    // the image cache: one idle container per node, the datamover image, nobody, no token
    const cache = objects.find(o => o.kind === 'DaemonSet' && o.metadata.name === 'ferry-datamover-image');
    expect(cache.spec.template.spec).toMatchObject({
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 65534 },
      containers: [{ image: 'registry.example.com/ferry/datamover@sha256:0123', command: ['sleep', 'infinity'], securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } }],
    });
    expect(cache.spec.template.spec.volumes).toBeUndefined();
    const withoutCache = await run(binaryPath('helm'), ['template', 'ferry', ferryChartDir, '--set', 'datamover.imageCache.enabled=false']);
    expect(parseAllDocuments(withoutCache.stdout).map(d => d.toJS()?.kind)).not.toContain('DaemonSet');
  });
});

describe('charts/ferry installed into a sandbox', () => {
  let sandbox: Sandbox;
  let chart: FerryChart;
  let backend: KubeConfig;
  let admin: KubernetesJsonClient;

  beforeAll(async () => {
    // No crdDirs: the chart brings Ferry's CRDs. A real node: its storage stack serves the
    // upstream snapshot CRDs (group snapshots included), which the backend must be able to list.
    sandbox = await startSandbox({ ephemeral: true, node: 'real' });
    chart = await installFerryChart(sandbox);
    backend = kubeConfigWithToken(sandbox, chart.token, 'ferry-backend');
    admin = new KubernetesJsonClient(sandbox.kubeConfig);
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    for (const name of ['shop', 'other']) await core.createNamespace({ body: { metadata: { name } } });
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('installs the CRDs, the namespace, the service accounts and a token that authenticates as the backend', async () => {
    const crds = sandbox.kubeConfig.makeApiClient(ApiextensionsV1Api);
    for (const name of ['backups.ferry.io', 'restores.ferry.io']) {
      const crd = await crds.readCustomResourceDefinition({ name });
      expect(crd.status?.conditions?.find(c => c.type === 'Established')?.status).toBe('True');
    }
    const review = await new KubernetesJsonClient(backend).post<{ status: { userInfo: { username: string } } }>(
      '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    );
    expect(review.status.userInfo.username).toBe(SA);
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const datamover = await core.readNamespacedServiceAccount({ namespace: 'ferry-system', name: 'ferry-datamover' });
    expect(datamover.automountServiceAccountToken).toBe(false);
    expect(await helm(sandbox, ['status', 'ferry', '--namespace', 'ferry-system'])).toContain('STATUS: deployed');
  });

  it('keeps the datamover image on the node: the image cache runs it there, and containerd holds it', async () => {
    const pod = await waitForImageCache(sandbox, chart.namespace);
    expect({ node: pod.spec?.nodeName, image: pod.spec?.containers[0].image, user: pod.spec?.securityContext?.runAsUser }).toEqual({
      node: sandbox.nodeName,
      image: sandbox.images.datamover,
      user: 65534,
    });
    const { stdout } = await run(binaryPath('crictl'), ['--runtime-endpoint', sandbox.criEndpoint, 'images', '-o', 'json']);
    const tags = (JSON.parse(stdout) as { images: Array<{ repoTags?: string[] }> }).images.flatMap(i => i.repoTags ?? []);
    expect(tags).toContain(sandbox.images.datamover);
  });

  it('lets the backend do everything its steps need', async () => {
    const refused = [];
    for (const check of allowed) if (!(await canI(backend, check))) refused.push(describeCheck(check));
    expect(refused).toEqual([]);
  });

  it('refuses the backend everything beyond them', async () => {
    const granted = [];
    for (const check of denied) if (await canI(backend, check)) granted.push(describeCheck(check));
    expect(granted).toEqual([]);
  });

  it('answers kubectl auth can-i --as the same way (what the README tells adopters to run)', async () => {
    const kubectl = (...args: string[]) =>
      run(binaryPath('kubectl'), ['--kubeconfig', sandbox.kubeconfigPath, 'auth', 'can-i', ...args, `--as=${SA}`]).then(
        ({ stdout }) => stdout.trim(),
        error => (error as { stdout?: string }).stdout?.trim(),
      );
    expect(await kubectl('create', 'jobs.batch', '-n', 'shop')).toBe('yes');
    expect(await kubectl('impersonate', `users/${RESTORER_USER}`)).toBe('yes');
    expect(await kubectl('create', 'clusterrolebindings')).toBe('no');
    expect(await kubectl('get', 'nodes/proxy')).toBe('no');
    expect(await kubectl('bind', 'clusterroles/cluster-admin')).toBe('no');
  });

  it('can list every namespaced type a whole-namespace backup reads in this cluster', async () => {
    const types = await discoverResourceTypes(admin);
    expect(types.namespaced.length).toBeGreaterThan(15);
    const refused = [];
    for (const type of types.namespaced) {
      const check = { verb: 'list', group: type.group, resource: type.resource, namespace: 'shop' };
      if (!(await canI(backend, check))) refused.push(describeCheck(check));
    }
    expect(refused).toEqual([]);
  });

  it('cannot make itself more powerful: a ClusterRoleBinding, or a RoleBinding to admin, is refused', async () => {
    const client = new KubernetesJsonClient(backend);
    const subjects = [{ kind: 'ServiceAccount', name: 'ferry-backend', namespace: 'ferry-system' }];
    expect(
      await statusOf(
        client.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
          metadata: { name: 'ferry-backend-escalated' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects,
        }),
      ),
    ).toBe(403);
    expect(
      await statusOf(
        client.post('/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings', {
          metadata: { name: 'ferry-backend-admin' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
          subjects,
        }),
      ),
    ).toBe(403);
    expect(await statusOf(client.post('/api/v1/namespaces/shop/pods', {
      metadata: { name: 'not-a-datamover' },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    }))).toBe(403);
    expect(await statusOf(client.get('/api/v1/nodes'))).toBe(403);
    // Nothing was written.
    expect(await statusOf(admin.get('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ferry-backend-escalated'))).toBe(404);
    expect(await statusOf(admin.get('/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/ferry-backend-admin'))).toBe(404);
  });

  it("binds ferry-restorer per namespace and writes through the impersonated ferry:restorer only there", async () => {
    const asBackend = new KubernetesJsonClient(backend);
    const asRestorer = impersonating(new KubeClients('sandbox', backend), RESTORER_USER).json;
    const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });

    // Without a binding the restorer has no rights at all.
    expect(await statusOf(asRestorer.post('/api/v1/namespaces/shop/configmaps', configMap('before')))).toBe(403);

    const binding = {
      metadata: { name: 'ferry-restorer-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: RESTORER_ROLE },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: RESTORER_USER }],
    };
    expect(await statusOf(asBackend.post('/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings', binding))).toBe(200);
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
      status = await statusOf(asRestorer.post('/api/v1/namespaces/shop/configmaps', configMap('restored')));
      if (status !== 200) await new Promise(resolve => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
    expect(await statusOf(admin.get('/api/v1/namespaces/shop/configmaps/restored'))).toBe(200);
    // Only there: another namespace, and cluster-scoped objects, stay out of reach.
    expect(await statusOf(asRestorer.post('/api/v1/namespaces/other/configmaps', configMap('restored')))).toBe(403);
    expect(
      await statusOf(
        asRestorer.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
          metadata: { name: 'ferry-restorer-escape' },
          rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
        }),
      ),
    ).toBe(403);
    expect(await statusOf(admin.get('/api/v1/namespaces/other/configmaps/restored'))).toBe(404);

    // The backend removes the binding at the end of a restore; the rights go with it.
    expect(await statusOf(asBackend.delete('/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/ferry-restorer-test'))).toBe(200);
    status = 200;
    for (let attempt = 0; attempt < 50 && status !== 403; attempt++) {
      status = await statusOf(asRestorer.post('/api/v1/namespaces/shop/configmaps', configMap(`after-${attempt}`)));
      if (status !== 403) await new Promise(resolve => setTimeout(resolve, 200));
    }
    expect(status).toBe(403);
  });
});
