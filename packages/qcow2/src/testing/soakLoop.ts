/** The options every soak takes, parsed from its command line. */
export interface SoakOptions {
  /** Minutes to run (10 by default). */
  minutes: number;
  /** Rounds to run at most (no limit by default). */
  rounds: number;
  /** The first seed (from the clock by default). */
  firstSeed: number;
  /** Largest volume in MiB. */
  maxMiB: number;
  /** Values of the soak's own options, by name. */
  extra: Record<string, string | undefined>;
}

/**
 * Parses `--minutes M --rounds N --seed S --max-mib X` and the soak's own `extra` options
 * (each followed by a value); any other argument is an error naming it.
 */
export function parseSoakArgs(
  args: string[],
  defaults: { maxMiB: number; extra?: string[] },
): SoakOptions {
  const counts = ['--minutes', '--rounds', '--seed', '--max-mib'];
  const known = [...counts, ...(defaults.extra ?? [])];
  const values: Record<string, string | undefined> = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!known.includes(args[i]))
      throw new Error(`unknown option "${args[i]}": use ${known.join(', ')}`);
    if (i + 1 >= args.length) throw new Error(`${args[i]} needs a value`);
    values[args[i]] = args[i + 1];
  }
  const count = (name: string): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < 0)
      throw new Error(`${name} needs a non-negative integer, got "${text}"`);
    return value;
  };
  return {
    minutes: count('--minutes') ?? 10,
    rounds: count('--rounds') ?? Infinity,
    firstSeed: count('--seed') ?? Date.now() % 1_000_000,
    maxMiB: count('--max-mib') ?? defaults.maxMiB,
    extra: Object.fromEntries(
      (defaults.extra ?? []).map(name => [name, values[name]]),
    ),
  };
}

/**
 * Runs seeded rounds one after another, seeds S, S+1, …, until the time or the number of
 * rounds is up, printing each round's line. The first round that throws stops the loop: its
 * error is printed with the seed that reproduces it (`--seed <that> --rounds 1`). Ends with one
 * summary line. Returns false when a round failed.
 */
export async function soakLoop(options: {
  soak: SoakOptions;
  /** What the rounds run on, for the summary ("a filesystem target"). */
  on: string;
  /** One round; throws on a difference. */
  round: (seed: number) => Promise<{ checks: number; line: string }>;
}): Promise<boolean> {
  const { soak } = options;
  const deadline = Date.now() + soak.minutes * 60_000;
  const started = Date.now();
  let done = 0;
  let checks = 0;
  for (
    let seed = soak.firstSeed;
    done < soak.rounds && Date.now() < deadline;
    seed++
  ) {
    const t0 = Date.now();
    try {
      const result = await options.round(seed);
      checks += result.checks;
      done++;
      const seconds = ((Date.now() - t0) / 1000).toFixed(1);
      process.stdout.write(`${result.line}, ${seconds} s\n`);
    } catch (error) {
      process.stdout.write(
        `DIFFERENCE at seed ${seed} on ${
          options.on
        } (rerun: --seed ${seed} --rounds 1): ${
          error instanceof Error ? error.stack : String(error)
        }\n${done} rounds passed before it\n`,
      );
      return false;
    }
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const seeds =
    done > 0
      ? `seeds ${soak.firstSeed}–${soak.firstSeed + done - 1}`
      : 'no seed';
  process.stdout.write(
    `${done} rounds on ${options.on} (${seeds}), ${checks} checks, 0 differences, ${seconds} s\n`,
  );
  return true;
}
