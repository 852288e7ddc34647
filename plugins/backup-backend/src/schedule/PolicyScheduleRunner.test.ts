import { mockServices } from '@backstage/backend-test-utils';
import { InputError } from '@backstage/errors';
import type { BackupDetail, BackupSummary } from '@ferry/plugin-backup-common';
import { ferryConfigSchema } from '../config/FerryConfig';
import type { ApplicationTarget } from '../mapping/types';
import { appEntity, summary } from './__testUtils__/fakes';
import { PolicyScheduleRunner } from './PolicyScheduleRunner';

const ferryConfig = ferryConfigSchema.parse({
  targets: [{ name: 'local', type: 'filesystem', path: '/tmp/x' }],
  policies: [{ name: 'nightly', schedule: '0 2 * * *', keepLast: 2, filter: { 'spec.lifecycle': 'production' } }],
});
const policy = ferryConfig.policies[0];

/** A backup service that finishes every backup at once, failing to start those named in `refuse`. */
function fakeBackups(options: { refuse?: string[]; index: BackupSummary[] }) {
  let minute = 30;
  return {
    created: [] as Array<{ target: ApplicationTarget; schedule?: string; type?: string; policy?: string }>,
    async createBackup(request: { target: ApplicationTarget; request: { type?: string; policy?: string }; schedule?: string }) {
      if (options.refuse?.includes(request.target.entityRef)) {
        throw new InputError(`target: no target named 'gone'`);
      }
      this.created.push({ target: request.target, schedule: request.schedule, ...request.request });
      const created = summary({ entity: request.target.entityRef.split('/')[1], minute: minute++, phase: 'Running' });
      options.index.push(created);
      return created;
    },
    async getBackup(request: { entityRef: string; id: string }): Promise<BackupDetail> {
      const row = options.index.find(b => b.id === request.id)!;
      row.phase = 'Completed';
      return { ...row } as BackupDetail;
    },
  };
}

function setup(options: { refuse?: string[]; existing?: BackupSummary[] } = {}) {
  const index = [...(options.existing ?? [])];
  const backups = fakeBackups({ refuse: options.refuse, index });
  const retention = { enforce: jest.fn(async () => ({ deleted: [], failed: [], busy: [] })) };
  const logger = mockServices.logger.mock();
  const runner = new PolicyScheduleRunner({
    listEntities: async () => [appEntity('shop'), appEntity('cart'), appEntity('lab', { lifecycle: 'experimental' })],
    clusterNames: () => ['sandbox'],
    ferryConfig,
    backups,
    index: { allBackups: async () => index },
    retention,
    logger,
    pollIntervalMs: 1,
  });
  return { runner, backups, retention, logger };
}

describe('PolicyScheduleRunner', () => {
  it('starts an Auto backup labelled with the policy for each entity of the policy, then applies keepLast', async () => {
    const { runner, backups, retention } = setup();
    const report = await runner.run({ policy });
    expect(backups.created.map(c => [c.target.entityRef, c.schedule, c.type, c.policy])).toEqual([
      ['component:default/shop', 'nightly', 'auto', 'nightly'],
      ['component:default/cart', 'nightly', 'auto', 'nightly'],
    ]);
    expect(report.finished.map(f => f.phase)).toEqual(['Completed', 'Completed']);
    expect(report.unfinished).toEqual([]);
    expect(retention.enforce).toHaveBeenCalledWith(
      expect.objectContaining({
        policies: [policy],
        targets: [expect.objectContaining({ entityRef: 'component:default/shop' }), expect.objectContaining({ entityRef: 'component:default/cart' })],
      }),
    );
  });

  it('logs an entity whose backup fails to start and still runs the others', async () => {
    const { runner, backups, logger } = setup({ refuse: ['component:default/shop'] });
    const report = await runner.run({ policy });
    expect(backups.created.map(c => c.target.entityRef)).toEqual(['component:default/cart']);
    expect(report.failed).toEqual([{ entityRef: 'component:default/shop', reason: "target: no target named 'gone'" }]);
    expect(logger.warn).toHaveBeenCalledWith(
      "Scheduled backup of component:default/shop for policy nightly not started: target: no target named 'gone'",
    );
  });

  it('skips an entity that already has a running backup, with a log line', async () => {
    const running = summary({ entity: 'shop', minute: 1, phase: 'Running', manual: true });
    const { runner, backups, logger } = setup({ existing: [running] });
    const report = await runner.run({ policy });
    expect(backups.created.map(c => c.target.entityRef)).toEqual(['component:default/cart']);
    expect(report.skipped).toEqual([{ entityRef: 'component:default/shop', runningBackupId: running.id }]);
    expect(logger.info).toHaveBeenCalledWith(
      `Skipping scheduled backup of component:default/shop for policy nightly: backup ${running.id} is still Running`,
    );
  });

  it('does not apply retention to a policy without keepLast, nor after an abort', async () => {
    const { runner, retention } = setup();
    await runner.run({ policy: { ...policy, keepLast: undefined } });
    const aborted = new AbortController();
    aborted.abort();
    await runner.run({ policy, signal: aborted.signal });
    expect(retention.enforce).not.toHaveBeenCalled();
  });
});
