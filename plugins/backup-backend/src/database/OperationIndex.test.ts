import { TestDatabases } from '@backstage/backend-test-utils';
import { mockServices } from '@backstage/backend-test-utils';
import { openDatabase } from './migrate';
import { OperationIndex } from './OperationIndex';

const databases = TestDatabases.create({ ids: ['SQLITE_3'] });

describe('OperationIndex', () => {
  it.each(databases.eachSupportedId())('lists backups newest first, paged (%p)', async id => {
    const knex = await databases.init(id);
    const index = new OperationIndex(
      await openDatabase(mockServices.database({ knex })),
    );
    for (const [n, createdAt] of ['2026-11-01', '2026-11-03', '2026-11-02'].entries()) {
      await index.upsertBackup({
        id: `b${n}`,
        entityRef: 'component:default/shop',
        cluster: 'sandbox',
        namespace: 'shop',
        target: 'local',
        kind: n === 0 ? 'full' : 'incremental',
        phase: 'Completed',
        trigger: { type: 'user', userEntityRef: 'user:default/ann' },
        createdAt: `${createdAt}T00:00:00Z`,
        logicalBytes: 2 ** 33,
      });
    }
    const first = await index.listBackups({
      entityRef: 'component:default/shop',
      page: { limit: 2, offset: 0 },
    });
    expect(first.totalCount).toBe(3);
    expect(first.items.map(b => b.id)).toEqual(['b1', 'b2']);
    expect(first.items[0].logicalBytes).toBe(2 ** 33);
    expect(first.items[0].trigger).toEqual({ type: 'user', userEntityRef: 'user:default/ann' });
    const second = await index.listBackups({
      entityRef: 'component:default/shop',
      page: { limit: 2, offset: 2 },
    });
    expect(second.items.map(b => b.id)).toEqual(['b0']);
    const other = await index.listBackups({
      entityRef: 'component:default/other',
      page: { limit: 2, offset: 0 },
    });
    expect(other).toEqual({ items: [], totalCount: 0 });
    expect(await index.entityOfBackup('b2')).toBe('component:default/shop');
    expect(await index.entityOfBackup('nope')).toBeUndefined();
  });

  it.each(databases.eachSupportedId())('upserts restores with their resource and status (%p)', async id => {
    const knex = await databases.init(id);
    const index = new OperationIndex(await openDatabase(mockServices.database({ knex })));
    const summary = {
      id: '20261125T000000000Z-abcdef',
      entityRef: 'component:default/shop',
      backupId: '20261124T000000000Z-123456',
      cluster: 'sandbox',
      namespace: 'shop-restored',
      phase: 'Running' as const,
      trigger: { type: 'kubernetes' as const },
      createdAt: '2026-11-25T00:00:00Z',
    };
    await index.upsertRestore(summary, { resourceName: 'shop-restored/r1', detail: { step: 'Volumes' } });
    await index.upsertRestore({ ...summary, phase: 'Completed', completedAt: '2026-11-25T00:01:00Z' }, { detail: { step: 'Completed' } });
    const got = await index.getRestore({ entityRef: summary.entityRef, id: summary.id });
    expect(got).toEqual({
      summary: { ...summary, phase: 'Completed', completedAt: '2026-11-25T00:01:00Z' },
      resourceName: 'shop-restored/r1',
      detail: { step: 'Completed' },
    });
    expect(await index.getRestore({ entityRef: 'component:default/other', id: summary.id })).toBeUndefined();
    const listed = await index.listRestores({ entityRef: summary.entityRef, page: { limit: 5, offset: 0 } });
    expect(listed.items.map(r => r.phase)).toEqual(['Completed']);
  });
});
