/** Nanoseconds per unit, as Go's `time.ParseDuration` knows them (µ: U+00B5, μ: U+03BC). */
const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** The largest duration Go represents (int64 nanoseconds, about 292 years). */
const MAX_NANOSECONDS = 2 ** 63 - 1;

/**
 * Parses a duration exactly as Go's `time.ParseDuration` does (what Velero reads its
 * `…hook.backup.velero.io/timeout` annotations with): an optional sign, then one or more decimal
 * numbers with an optional fraction, each with a unit among `ns`, `us` (`µs`, `μs`), `ms`, `s`,
 * `m`, `h`, e.g. `300ms`, `1.5h`, `2h45m`; `0` alone needs no unit. Returns milliseconds; throws
 * with the problem when the text is not such a duration.
 *
 * Written by hand: the npm duration parsers accept other syntaxes (`parse-duration`: "1 hour",
 * `@icholy/duration`: days and weeks, no `ns`/`us`), which would accept values Velero rejects.
 */
export function parseGoDuration(text: string): number {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`'${text}' is not a duration`);
  let nanoseconds = 0;
  while (rest !== '') {
    const part = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [number, whole, fraction] = part;
    if (!/\d/.test(number)) throw new Error(`'${text}' is not a duration (expected a number at '${rest}')`);
    rest = rest.slice(number.length);
    const unit = /^[^\d.]*/.exec(rest)![0];
    if (unit === '') throw new Error(`'${text}' has a number without a unit (ns, us, ms, s, m, h)`);
    const scale = UNITS[unit];
    if (scale === undefined) throw new Error(`'${text}' has an unknown unit '${unit}' (ns, us, ms, s, m, h)`);
    rest = rest.slice(unit.length);
    nanoseconds += Number(whole || '0') * scale + (fraction ? Number(`0.${fraction}`) * scale : 0);
    if (nanoseconds > MAX_NANOSECONDS) throw new Error(`'${text}' is out of range (at most about 292 years)`);
  }
  const milliseconds = nanoseconds / 1e6;
  return negative ? -milliseconds : milliseconds;
}
