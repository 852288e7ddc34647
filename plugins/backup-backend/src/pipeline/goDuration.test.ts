import { parseGoDuration } from './goDuration';

/** Expected values printed by Go 1.26's time.ParseDuration for the same inputs (the oracle). */
const accepted: Array<[string, number]> = [
  ['0', 0],
  ['0s', 0],
  ['30s', 30_000],
  ['1.5h', 5_400_000],
  ['2h45m', 9_900_000],
  ['300ms', 300],
  ['1us', 0.001],
  ['1µs', 0.001],
  ['1μs', 0.001],
  ['10ns', 0.00001],
  ['-5s', -5000],
  ['+5s', 5000],
  ['.5s', 500],
  ['1.s', 1000],
  ['1m30s', 90_000],
  ['2562047h', 2562047 * 3_600_000],
];

const refused: Array<[string, RegExp]> = [
  ['', /is not a duration/],
  ['-', /is not a duration/],
  ['s', /expected a number/],
  ['.', /expected a number/],
  ['1', /without a unit/],
  ['00', /without a unit/],
  ['1d', /unknown unit 'd'/],
  ['30 s', /unknown unit ' s'/],
  ['1h-5m', /unknown unit 'h-'/],
  ['1e3s', /unknown unit 'e'/],
  ['soon', /expected a number/],
  ['2562048h', /out of range/],
];

describe('parseGoDuration', () => {
  it.each(accepted)('reads %p as Go does', (text, ms) => {
    expect(parseGoDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each(refused)('refuses %p as Go does', (text, problem) => {
    expect(() => parseGoDuration(text)).toThrow(problem);
  });
});
