import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLines, runBash, runChecks } from './shellBlocks';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-adopter-shell-test-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const env = () => ({ PATH: process.env.PATH! });

describe('runBash', () => {
  it('returns the variables a block exported, for the next block', async () => {
    const after = await runBash({ name: 'block', script: 'export A=$(echo one)\nB=local', cwd: dir, env: env(), log: join(dir, 'log') });
    expect(after.A).toBe('one');
    expect(after.B).toBeUndefined();
    expect(await readFile(join(dir, 'log'), 'utf8')).toContain('export A=$(echo one)');
  });

  it('fails on a failing command and on an unset variable, with the output', async () => {
    await expect(runBash({ name: 'step 2', script: 'echo before\nfalse\necho after', cwd: dir, env: env(), log: join(dir, 'log') })).rejects.toThrow(
      /step 2 failed \(bash exit code 1\); its last output:\nbefore/,
    );
    await expect(runBash({ name: 'step 3', script: 'echo "$NOT_SET"', cwd: dir, env: env(), log: join(dir, 'log') })).rejects.toThrow(
      /NOT_SET: unbound variable/,
    );
  });
});

describe('checks', () => {
  it('reads commands and the answers written after them', () => {
    expect(
      checkLines('# a comment\nkubectl get crd x\nkubectl auth can-i bind y   # no\nTOKEN=$(curl -s url | sed -nE "s/#//p")\n'),
    ).toEqual([
      { line: 2, command: 'kubectl get crd x' },
      { line: 3, command: 'kubectl auth can-i bind y', expected: 'no' },
      { line: 4, command: 'TOKEN=$(curl -s url | sed -nE "s/#//p")' },
    ]);
  });

  it('compares answers, accepts a non-zero exit with the right answer, keeps variables between lines', async () => {
    const code = [
      'X=$(echo yes)',
      'echo "$X"            # yes',
      "sh -c 'echo no; exit 1'   # no",
      'echo {"status":"ok"}   # {"status":"fine"}',
      `printf '{\\n  "items": [1]\\n}'   # {"items":[1]}`,
    ].join('\n');
    expect(await runChecks({ name: 'step 9', code, cwd: dir, env: env(), log: join(dir, 'log') })).toEqual([
      { line: 4, command: 'echo {"status":"ok"}', expected: '{"status":"fine"}', actual: '{status:ok}' },
    ]);
  });

  it('fails when a command without an answer fails', async () => {
    await expect(runChecks({ name: 'step 9', code: 'false\necho x   # x', cwd: dir, env: env(), log: join(dir, 'log') })).rejects.toThrow(
      'step 9 failed',
    );
  });
});
