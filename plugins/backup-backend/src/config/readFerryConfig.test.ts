import { ConfigReader } from '@backstage/config';
import { readFerryConfig } from './readFerryConfig';

describe('readFerryConfig', () => {
  it('applies defaults to an empty section', () => {
    const config = readFerryConfig(new ConfigReader({}));
    expect(config.targets).toEqual([]);
    expect(config.datamover.parallelism).toBe(4);
    expect(config.datamover.image).toBe('ferry.io/datamover:dev');
  });

  it('reads filesystem and s3 targets', () => {
    const config = readFerryConfig(
      new ConfigReader({
        ferry: {
          targets: [
            { name: 'local', type: 'filesystem', path: '.ferry/repository' },
            { name: 'offsite', type: 's3', bucket: 'backups', endpoint: 'http://127.0.0.1:9000' },
          ],
          policies: [{ name: 'daily', target: 'offsite', schedule: '0 2 * * *' }],
        },
      }),
    );
    expect(config.targets.map(t => t.type)).toEqual(['filesystem', 's3']);
    expect(config.policies[0].fullEvery).toBe(10);
  });

  it('names the offending field', () => {
    expect(() =>
      readFerryConfig(
        new ConfigReader({ ferry: { targets: [{ name: 'nfs', type: 'filesystem' }] } }),
      ),
    ).toThrow(/ferry\.targets\[0\]\.path: Required/);
    expect(() =>
      readFerryConfig(
        new ConfigReader({
          ferry: {
            targets: [{ name: 'local', type: 'filesystem', path: '/x' }],
            policies: [{ name: 'daily', target: 'elsewhere' }],
          },
        }),
      ),
    ).toThrow(/ferry\.policies\[0\]\.target: names no configured target \('elsewhere'\)/);
  });
});
