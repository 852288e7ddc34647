import { ConfigReader } from '@backstage/config';
import { readFerryConfig } from '../config/readFerryConfig';
import { cronProblem, nextRunOf } from './cronSchedule';

describe('cronSchedule', () => {
  it('accepts what Backstage scheduler accepts', () => {
    expect(cronProblem('0 2 * * *')).toBeUndefined();
    expect(cronProblem('*/15 * * * *')).toBeUndefined();
    expect(cronProblem('30 0 2 * * 1-5')).toBeUndefined();
  });

  it('says why an expression is not a schedule', () => {
    expect(cronProblem('')).toMatch(/^is empty/);
    expect(cronProblem('every night')).toMatch(/^'every night' is not a valid cron expression/);
    expect(cronProblem('61 * * * *')).toMatch(/not a valid cron expression/);
  });

  it('computes the next run after a given time', () => {
    expect(nextRunOf('*/15 * * * *', new Date('2026-01-01T10:07:00Z'))).toBe('2026-01-01T10:15:00.000Z');
    expect(nextRunOf('not cron')).toBeUndefined();
    expect(Date.parse(nextRunOf('* * * * *')!)).toBeGreaterThan(Date.now());
  });

  it('refuses to start with an invalid schedule, naming the field', () => {
    const read = (schedule: string) =>
      readFerryConfig(
        new ConfigReader({
          ferry: {
            targets: [{ name: 'local', type: 'filesystem', path: '/x' }],
            policies: [{ name: 'ok', schedule: '0 2 * * *' }, { name: 'bad', schedule }],
          },
        }),
      );
    expect(() => read('every day at 2')).toThrow(
      /^invalid ferry configuration: ferry\.policies\[1\]\.schedule: 'every day at 2' is not a valid cron expression/,
    );
    expect(read('0 3 * * *').policies[1].schedule).toBe('0 3 * * *');
  });
});
