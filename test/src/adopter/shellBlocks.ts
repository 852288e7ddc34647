import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';

export type Env = Record<string, string>;

/** Variables bash sets itself: never carried from one block to the next. */
const shellOwn = new Set(['PWD', 'OLDPWD', 'SHLVL', '_']);

/**
 * Runs a script with bash (`set -euo pipefail`: a failing command or an unset variable fails it)
 * in `cwd`, output appended to `log`. Resolves with the environment the script ended with (the
 * variables it exported), rejects naming the script and the end of its output.
 */
export async function runBash(options: { name: string; script: string; cwd: string; env: Env; log: string }): Promise<Env> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-adopter-sh-'));
  try {
    const envOut = join(dir, 'env');
    const script = join(dir, 'script.sh');
    await writeFile(script, `set -euo pipefail\n${options.script}\nenv -0 > '${envOut}'\n`);
    await appendFile(options.log, `\n$ # ${options.name} (in ${options.cwd})\n${options.script}\n`);
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('bash', [script], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
      const collect = (chunk: Buffer) => {
        output.push(chunk.toString());
        void appendFile(options.log, chunk);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      const tail = output.join('').split('\n').slice(-25).join('\n');
      throw new Error(`${options.name} failed (bash exit code ${code}); its last output:\n${tail}`);
    }
    const env: Env = {};
    for (const entry of (await readFile(envOut, 'utf8')).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0 && !shellOwn.has(entry.slice(0, eq))) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const parseJson = (text: string): { ok: true; value: unknown } | { ok: false } => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
};

/** Equal text, or equal JSON (the backend pretty-prints in development; the README writes it on one line). */
export function sameAnswer(actual: string, expected: string): boolean {
  if (actual === expected) return true;
  const [a, e] = [parseJson(actual), parseJson(expected)];
  return a.ok && e.ok && isDeepStrictEqual(a.value, e.value);
}

export type CheckLine = { line: number; command: string; expected?: string };

/**
 * The commands of a check block: one per line, comment lines dropped; a comment after a command
 * (two or more spaces, then `# `) is the answer the README promises, compared with its output.
 */
export function checkLines(code: string): CheckLine[] {
  return code
    .split('\n')
    .map((text, i) => ({ text, line: i + 1 }))
    .filter(({ text }) => text.trim() !== '' && !text.trim().startsWith('#'))
    .map(({ text, line }) => {
      const m = text.match(/^(.*?\S)\s{2,}#\s+(.*?)\s*$/);
      return m ? { line, command: m[1], expected: m[2] } : { line, command: text };
    });
}

/**
 * Runs a check block in one bash (so variables such as TOKEN carry from line to line): a command
 * without an expected answer must succeed; a command with one may exit non-zero (`kubectl auth
 * can-i` answers "no" with exit code 1) but its output, trimmed, must be the answer (as text, or
 * as JSON when both are JSON). Returns
 * every mismatch (none when the README's answers are right).
 */
export async function runChecks(options: { name: string; code: string; cwd: string; env: Env; log: string }): Promise<
  Array<{ line: number; command: string; expected: string; actual: string }>
> {
  const lines = checkLines(options.code);
  const dir = await mkdtemp(join(tmpdir(), 'ferry-adopter-check-'));
  try {
    const script = lines
      .map((l, i) =>
        l.expected === undefined
          ? l.command
          : `__answer=$( ${l.command} ) || true\nprintf '%s' "$__answer" > '${join(dir, `answer-${i}`)}'\nprintf '%s\\n' "$__answer"`,
      )
      .join('\n');
    await runBash({ name: options.name, script, cwd: options.cwd, env: options.env, log: options.log });
    const mismatches: Array<{ line: number; command: string; expected: string; actual: string }> = [];
    for (const [i, l] of lines.entries()) {
      if (l.expected === undefined) continue;
      const actual = (await readFile(join(dir, `answer-${i}`), 'utf8')).trim();
      if (!sameAnswer(actual, l.expected)) mismatches.push({ line: l.line, command: l.command, expected: l.expected, actual });
    }
    return mismatches;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
