import { parseSoakArgs, soakLoop } from './soakLoop';

describe('parseSoakArgs', () => {
  it('reads the common options and the soak’s own, with defaults', () => {
    expect(
      parseSoakArgs(['--rounds', '3', '--seed', '7', '--target', 's3'], {
        maxMiB: 48,
        extra: ['--target'],
      }),
    ).toEqual({
      minutes: 10,
      rounds: 3,
      firstSeed: 7,
      maxMiB: 48,
      extra: { '--target': 's3' },
    });
    expect(parseSoakArgs([], { maxMiB: 80 }).rounds).toBe(Infinity);
  });

  it('refuses unknown options, missing values and bad numbers, naming the option', () => {
    expect(() => parseSoakArgs(['--round', '3'], { maxMiB: 80 })).toThrow(
      'unknown option "--round"',
    );
    expect(() => parseSoakArgs(['--seed'], { maxMiB: 80 })).toThrow(
      '--seed needs a value',
    );
    expect(() => parseSoakArgs(['--minutes', '-1'], { maxMiB: 80 })).toThrow(
      '--minutes needs a non-negative integer, got "-1"',
    );
  });
});

describe('soakLoop', () => {
  const soak = {
    minutes: 1,
    rounds: 5,
    firstSeed: 10,
    maxMiB: 1,
    extra: {},
  };
  let output: string;
  beforeEach(() => {
    output = '';
    jest.spyOn(process.stdout, 'write').mockImplementation(text => {
      output += String(text);
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  /** Runs the loop with rounds of `checks` checks each, the one of seed `failAt` failing. */
  const loop = async (o: { checks: number; failAt?: number }) => {
    const seeds: number[] = [];
    const passed = await soakLoop({
      soak,
      on: 'a test',
      round: async seed => {
        seeds.push(seed);
        if (seed === o.failAt) throw new Error('bytes differ');
        return { checks: o.checks, line: `seed ${seed}` };
      },
    });
    return { passed, seeds };
  };

  it('runs the rounds with consecutive seeds and sums their checks', async () => {
    const { passed, seeds } = await loop({ checks: 2 });
    expect(passed).toBe(true);
    expect(seeds).toEqual([10, 11, 12, 13, 14]);
    expect(output).toContain(
      '5 rounds on a test (seeds 10–14), 10 checks, 0 differences',
    );
  });

  it('stops at the first failing round and names its seed', async () => {
    const { passed, seeds } = await loop({ checks: 1, failAt: 12 });
    expect(passed).toBe(false);
    expect(seeds).toEqual([10, 11, 12]);
    expect(output).toContain('DIFFERENCE at seed 12');
    expect(output).toContain('--seed 12 --rounds 1');
    expect(output).toContain('bytes differ');
    expect(output).toContain('2 rounds passed before it');
    expect(output).not.toContain('0 differences');
  });
});
