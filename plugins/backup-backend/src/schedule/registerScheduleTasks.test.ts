import type {
  SchedulerServiceTaskInvocationDefinition,
  SchedulerServiceTaskScheduleDefinition,
} from '@backstage/backend-plugin-api';
import { mockServices } from '@backstage/backend-test-utils';
import { ferryConfigSchema } from '../config/FerryConfig';
import { appEntity } from './__testUtils__/fakes';
import { registerScheduleTasks } from './registerScheduleTasks';

function setup(policies: unknown[]) {
  const tasks: Array<SchedulerServiceTaskInvocationDefinition & SchedulerServiceTaskScheduleDefinition> = [];
  const scheduler = mockServices.scheduler.mock({
    scheduleTask: async task => {
      tasks.push(task);
    },
  });
  const runner = { run: jest.fn(async () => ({}) as never) };
  const retention = { enforce: jest.fn(async () => ({ deleted: [], failed: [], busy: [] })) };
  const logger = mockServices.logger.mock();
  const ferryConfig = ferryConfigSchema.parse({
    targets: [{ name: 'local', type: 'filesystem', path: '/tmp/x' }],
    policies,
  });
  const register = () =>
    registerScheduleTasks({
      scheduler,
      ferryConfig,
      runner,
      retention,
      listEntities: async () => [appEntity('shop')],
      clusterNames: () => ['sandbox'],
      logger,
    });
  return { tasks, runner, retention, logger, register, ferryConfig };
}

describe('registerScheduleTasks', () => {
  it('registers a global cron task per scheduled policy and one retention pass', async () => {
    const { tasks, runner, retention, register, ferryConfig } = setup([
      { name: 'nightly', schedule: '0 2 * * *', keepLast: 7 },
      { name: 'manual' },
    ]);
    await register();
    expect(tasks.map(t => [t.id, t.frequency, t.scope])).toEqual([
      ['ferry-policy-nightly', { cron: '0 2 * * *' }, 'global'],
      ['ferry-retention', { minutes: 15 }, 'global'],
    ]);
    const signal = new AbortController().signal;
    await tasks[0].fn(signal);
    expect(runner.run).toHaveBeenCalledWith({ policy: ferryConfig.policies[0], signal });
    await tasks[1].fn(signal);
    expect(retention.enforce).toHaveBeenCalledWith({
      targets: [expect.objectContaining({ entityRef: 'component:default/shop', appId: 'component.default.shop' })],
      policies: [ferryConfig.policies[0]],
      signal,
    });
  });

  it('registers nothing without schedules or keepLast, and warns about keepLast without schedule', async () => {
    const empty = setup([{ name: 'manual' }]);
    await empty.register();
    expect(empty.tasks).toEqual([]);
    const unscheduled = setup([{ name: 'kept', keepLast: 3 }]);
    await unscheduled.register();
    expect(unscheduled.tasks.map(t => t.id)).toEqual(['ferry-retention']);
    expect(unscheduled.logger.warn).toHaveBeenCalledWith(expect.stringMatching(/^Policy kept has keepLast 3 but no schedule/));
  });
});
