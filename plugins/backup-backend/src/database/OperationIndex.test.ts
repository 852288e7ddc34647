import { TestDatabases } from '@backstage/backend-test-utils';
import { mockServices } from '@backstage/backend-test-utils';
import { LocalPostgres, localPostgresTestDatabase, startLocalPostgres } from './__testUtils__/localPostgres';
import { openDatabase } from './migrate';
import { OperationIndex } from './OperationIndex';

/**
 * SQLite, and a real PostgreSQL as production Backstage runs (Debian's postgresql on 127.0.0.1,
 * started here unless BACKSTAGE_TEST_DATABASE_POSTGRES<major>_CONNECTION_STRING names one). The
 * placeholder lets TestDatabases list the id now; its engine reads the variable only at the first
 * init(), after beforeAll has put the real server's address there.
 */
const postgresDatabase = localPostgresTestDatabase();
const externalPostgres = Boolean(process.env[postgresDatabase.variable]);
if (!externalPostgres) process.env[postgresDatabase.variable] = 'postgresql://starting-in-beforeAll';
const databases = TestDatabases.create({ ids: ['SQLITE_3', postgresDatabase.id], disableDocker: true });
let postgres: LocalPostgres | undefined;

beforeAll(async () => {
  if (!externalPostgres) {
    postgres = await startLocalPostgres();
    process.env[postgresDatabase.variable] = postgres.connectionString;
  }
}, 120_000);

// After TestDatabases' own afterAll (registered first, so run first), which drops its databases.
afterAll(async () => {
  await postgres?.stop();
}, 60_000);

describe('OperationIndex', () => {
  it('runs on both SQLite and a real PostgreSQL server', async () => {
    expect(databases.eachSupportedId()).toEqual([['SQLITE_3'], [postgresDatabase.id]]);
    const knex = await databases.init(postgresDatabase.id);
    const { rows } = await knex.raw('select version() as version');
    expect(rows[0].version).toMatch(/^PostgreSQL \d+/);
    // Ferry's migrations ran there: the index's tables exist.
    await openDatabase(mockServices.database({ knex }));
    const tables = await knex('information_schema.tables').where({ table_schema: 'public' }).pluck('table_name');
    expect(tables).toEqual(expect.arrayContaining(['ferry_backups', 'ferry_restores']));
  });

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
