import { NotAllowedError } from '@backstage/errors';
import type { Manifest } from '@ferry/repository';
import type { BackupResource } from '../controller/BackupResource';
import type { RestoreResource } from '../controller/RestoreResource';
import type { ApplicationTarget } from '../mapping/types';
import { checkBackupScope, restoreScope } from './operationScope';

const shop: ApplicationTarget = {
  entityRef: 'component:default/shop',
  appId: 'component.default.shop',
  cluster: 'sandbox',
  namespace: 'demo',
  application: { helmReleases: ['demo'], labelSelectors: [], wholeNamespace: false },
};
const resolveEntity = async (ref: string) => (ref === shop.entityRef ? shop : undefined);

const backup = (namespace: string, annotations: Record<string, string> = {}): BackupResource => ({
  apiVersion: 'ferry.io/v1alpha1',
  kind: 'Backup',
  metadata: { name: 'b', namespace, annotations },
  spec: { application: { wholeNamespace: true }, target: 'local' },
});

describe('checkBackupScope', () => {
  const check = (b: BackupResource) => checkBackupScope({ backup: b, cluster: 'sandbox', ferryNamespace: 'ferry-system', resolveEntity });

  it('lets a Backup file under the entity whose application lives in its namespace', async () => {
    await expect(check(backup('demo', { 'ferry.io/entity-ref': shop.entityRef, 'ferry.io/app-id': shop.appId }))).resolves.toBeUndefined();
    await expect(check(backup('thirdparty'))).resolves.toBeUndefined();
    await expect(check(backup('thirdparty', { 'ferry.io/app-id': 'sandbox.thirdparty' }))).resolves.toBeUndefined();
  });

  it('refuses a Backup that claims another namespace\'s entity or application id', async () => {
    await expect(check(backup('thirdparty', { 'ferry.io/entity-ref': shop.entityRef }))).rejects.toThrow(
      new NotAllowedError(
        'annotation ferry.io/entity-ref: a Backup in namespace thirdparty may only back up thirdparty, and the application of component:default/shop is in namespace demo of cluster sandbox',
      ),
    );
    await expect(check(backup('thirdparty', { 'ferry.io/app-id': shop.appId }))).rejects.toThrow(/files its backups under sandbox\.thirdparty/);
    await expect(check(backup('demo', { 'ferry.io/entity-ref': shop.entityRef, 'ferry.io/app-id': 'component.default.other' }))).rejects.toThrow(
      /files its backups under component\.default\.shop, not component\.default\.other/,
    );
    await expect(check(backup('demo', { 'ferry.io/entity-ref': 'component:default/nobody' }))).rejects.toThrow(
      /is not a catalog entity whose application Ferry backs up/,
    );
  });

  it('lets Ferry\'s own namespace act for the platform', async () => {
    await expect(check(backup('ferry-system', { 'ferry.io/app-id': shop.appId }))).resolves.toBeUndefined();
  });
});

describe('restoreScope', () => {
  const manifest = (metadata: Record<string, unknown>) => ({ metadata }) as unknown as Manifest;
  const restore = (namespace: string, spec: Partial<RestoreResource['spec']> = {}): RestoreResource => ({
    apiVersion: 'ferry.io/v1alpha1',
    kind: 'Restore',
    metadata: { name: 'r', namespace },
    spec: { backupId: 'b1', appId: shop.appId, target: 'local', sourceNamespace: 'demo', ...spec },
  });
  const scope = (r: RestoreResource, metadata: Record<string, unknown> = { namespace: 'demo', cluster: 'sandbox' }) =>
    restoreScope({ restore: r, manifest: manifest(metadata), cluster: 'sandbox', ferryNamespace: 'ferry-system' });

  it('gives a Restore the power of its own namespace only', () => {
    const own = scope(restore('demo'));
    expect(own.grants.namespaces).toEqual(['demo']);
    expect(own.grants.privileged).toBe(false);
    expect(own.secretNamespaces).toEqual(['demo']);
  });

  it('refuses another namespace\'s backup (the reported hole), whatever the spec says', () => {
    expect(() => scope(restore('thirdparty', { sourceNamespace: 'thirdparty' }))).toThrow(
      /^spec\.backupId: backup b1 of component\.default\.shop was taken in namespace demo of cluster sandbox; a Restore in namespace thirdparty may only restore backups taken in thirdparty/,
    );
    expect(() => scope(restore('demo'), { namespace: 'demo', cluster: 'other' })).toThrow(/of cluster other/);
    expect(() => scope(restore('demo'), {})).toThrow(/taken in namespace \(unrecorded\)/);
  });

  it('refuses a spec.namespace other than its own', () => {
    expect(() => scope(restore('demo', { namespace: 'kube-system' }))).toThrow(
      /^spec\.namespace: a Restore in namespace demo may only restore into demo, not kube-system/,
    );
  });

  it('lets a Restore in Ferry\'s namespace act for the platform, trusting the manifest over the spec', () => {
    const platform = scope(restore('ferry-system', { namespace: 'anywhere', sourceNamespace: 'spoofed' }));
    expect(platform.grants.namespaces).toBe('any');
    expect(platform.grants.privileged).toBe(true);
    expect(platform.sourceNamespace).toBe('demo');
    expect(platform.secretNamespaces).toEqual(['anywhere', 'ferry-system']);
  });
});
