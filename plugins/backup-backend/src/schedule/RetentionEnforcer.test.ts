import { mockServices } from '@backstage/backend-test-utils';
import { ConflictError, NotFoundError } from '@backstage/errors';
import type { BackupSummary } from '@ferry/plugin-backup-common';
import type { ApplicationTarget } from '../mapping/types';
import { summary } from './__testUtils__/fakes';
import { RetentionEnforcer } from './RetentionEnforcer';

const target = (name: string): ApplicationTarget => ({
  entityRef: `component:default/${name}`,
  appId: `component.default.${name}`,
  cluster: 'sandbox',
  namespace: name,
  application: { helmReleases: [name], labelSelectors: [], wholeNamespace: false },
});

function setup(index: BackupSummary[], options: { refuse?: string[]; gone?: string[] } = {}) {
  const deleted: string[] = [];
  const logger = mockServices.logger.mock();
  const enforcer = new RetentionEnforcer({
    backups: {
      deleteBackup: async ({ target: app, id }) => {
        if (options.refuse?.includes(id)) throw new ConflictError(`cannot delete backup ${id} now: locked`);
        if (options.gone?.includes(id)) throw new NotFoundError(`no backup ${id} of ${app.entityRef}`);
        deleted.push(`${app.appId}/${id}`);
      },
    },
    index: { allBackups: async () => index },
    logger,
  });
  return { enforcer, deleted, logger };
}

describe('RetentionEnforcer', () => {
  it("deletes each application's scheduled backups beyond keepLast, oldest first, and logs them", async () => {
    const shop = [1, 2, 3, 4].map(minute => summary({ entity: 'shop', minute }));
    const manual = summary({ entity: 'shop', minute: 0, manual: true });
    const cart = [1, 2].map(minute => summary({ entity: 'cart', minute }));
    const { enforcer, deleted, logger } = setup([manual, ...shop, ...cart]);
    const report = await enforcer.enforce({
      targets: [target('shop'), target('cart')],
      policies: [{ name: 'nightly', keepLast: 2 }],
    });
    expect(deleted).toEqual([`component.default.shop/${shop[0].id}`, `component.default.shop/${shop[1].id}`]);
    expect(report.deleted.map(d => d.backupId)).toEqual([shop[0].id, shop[1].id]);
    expect(logger.info).toHaveBeenCalledWith(
      `Retention deleted backup ${shop[0].id} of component:default/shop (policy nightly, keepLast 2, Completed)`,
    );
  });

  it('leaves an application with a running backup for the next pass', async () => {
    const shop = [1, 2, 3].map(minute => summary({ entity: 'shop', minute }));
    const running = summary({ entity: 'shop', minute: 4, phase: 'Running' });
    const { enforcer, deleted } = setup([...shop, running]);
    const report = await enforcer.enforce({ targets: [target('shop')], policies: [{ name: 'nightly', keepLast: 1 }] });
    expect(deleted).toEqual([]);
    expect(report.busy).toEqual(['component:default/shop']);
  });

  it('logs a deletion that fails and goes on with the others', async () => {
    const shop = [1, 2, 3].map(minute => summary({ entity: 'shop', minute }));
    const { enforcer, deleted, logger } = setup(shop, { refuse: [shop[0].id] });
    const report = await enforcer.enforce({ targets: [target('shop')], policies: [{ name: 'nightly', keepLast: 1 }] });
    expect(deleted).toEqual([`component.default.shop/${shop[1].id}`]);
    expect(report.failed).toEqual([
      expect.objectContaining({ backupId: shop[0].id, error: `cannot delete backup ${shop[0].id} now: locked` }),
    ]);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringMatching(/^Retention could not delete backup/));
  });

  it('takes a backup deleted meanwhile as done', async () => {
    const shop = [1, 2].map(minute => summary({ entity: 'shop', minute }));
    const { enforcer, logger } = setup(shop, { gone: [shop[0].id] });
    const report = await enforcer.enforce({ targets: [target('shop')], policies: [{ name: 'nightly', keepLast: 1 }] });
    expect(report).toEqual({ deleted: [], failed: [], busy: [] });
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('applies each policy to its own backups only', async () => {
    const nightly = [1, 2].map(minute => summary({ entity: 'shop', minute }));
    const weekly = [3, 4].map(minute => summary({ entity: 'shop', minute, policy: 'weekly' }));
    const { enforcer, deleted } = setup([...nightly, ...weekly]);
    await enforcer.enforce({
      targets: [target('shop')],
      policies: [{ name: 'nightly', keepLast: 1 }, { name: 'weekly', keepLast: 5 }, { name: 'none' }],
    });
    expect(deleted).toEqual([`component.default.shop/${nightly[0].id}`]);
  });
});
