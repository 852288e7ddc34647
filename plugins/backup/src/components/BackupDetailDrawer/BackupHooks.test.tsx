import { renderInTestApp } from '@backstage/test-utils';
import { screen, within } from '@testing-library/react';
import type { HookResult } from '@ferry/plugin-backup-common';
import { backupDetail } from '../../__testUtils__/fixtures';
import { BackupHooks } from './BackupHooks';

const checkpoint: HookResult = {
  name: 'db-0/db: psql -c CHECKPOINT',
  stage: 'pre',
  source: 'annotation',
  pod: 'db-0',
  container: 'db',
  command: ['psql', '-c', 'CHECKPOINT'],
  outcome: 'Succeeded',
  onError: 'Fail',
  exitCode: 0,
  durationMs: 420,
  stdout: 'CHECKPOINT',
};
const freeze: HookResult = {
  name: 'db-1/db: sh -c fsfreeze --freeze /data',
  stage: 'pre',
  source: 'spec',
  pod: 'db-1',
  container: 'db',
  command: ['sh', '-c', 'fsfreeze --freeze /data'],
  outcome: 'Failed',
  onError: 'Continue',
  exitCode: 3,
  durationMs: 2500,
  message: 'exit code 3: cannot freeze',
  stderr: 'line 1\ncannot freeze',
};
const invalid: HookResult = {
  name: 'web-7f/web: [1',
  stage: 'pre',
  source: 'annotation',
  pod: 'web-7f',
  container: 'web',
  command: ['[1'],
  outcome: 'Failed',
  onError: 'Fail',
  message: "annotation pre.hook.backup.velero.io/command of pod web-7f: not a valid JSON array (Unexpected end of JSON input)",
};
const skipped: HookResult = {
  name: 'web-8g/web: true',
  stage: 'pre',
  source: 'annotation',
  pod: 'web-8g',
  container: 'web',
  command: ['true'],
  outcome: 'Skipped',
  onError: 'Fail',
  message: 'not run: an earlier pre-hook failed',
};
const resume: HookResult = {
  name: 'db-0/db: /scripts/resume.sh',
  stage: 'post',
  source: 'annotation',
  pod: 'db-0',
  container: 'db',
  command: ['/scripts/resume.sh'],
  outcome: 'Succeeded',
  onError: 'Fail',
  exitCode: 0,
  durationMs: 35,
};

describe('BackupHooks', () => {
  it("shows each hook's stage, pod, container, source, command, outcome, exit code, duration and output", async () => {
    await renderInTestApp(<BackupHooks backup={backupDetail({ hooks: [checkpoint, freeze, invalid, skipped, resume] })} />);
    const table = screen.getByRole('table', { name: 'hooks' });

    const first = within(table).getByRole('row', { name: `pre-hook ${checkpoint.name}` });
    expect(first).toHaveTextContent('Pre');
    expect(first).toHaveTextContent('db-0');
    expect(first).toHaveTextContent('db · pod annotation');
    expect(first).toHaveTextContent('psql -c CHECKPOINT');
    expect(first).toHaveTextContent('Succeeded');
    expect(first).toHaveTextContent('exit 0 · 420 ms');
    const firstOutput = within(table).getByRole('row', { name: `pre-hook output ${checkpoint.name}` });
    expect(within(firstOutput).getByLabelText('stdout')).toHaveTextContent('CHECKPOINT');

    const continued = within(table).getByRole('row', { name: `pre-hook ${freeze.name}` });
    expect(continued).toHaveTextContent('db · Backup spec');
    // An argument with spaces is quoted, so the command reads as it ran.
    expect(continued).toHaveTextContent('sh -c "fsfreeze --freeze /data"');
    expect(continued).toHaveTextContent('Failed, continued');
    expect(continued).toHaveTextContent('exit 3 · 2.5 s');
    const continuedOutput = within(table).getByRole('row', { name: `pre-hook output ${freeze.name}` });
    expect(continuedOutput).toHaveTextContent('exit code 3: cannot freeze');
    expect(within(continuedOutput).getByLabelText('stderr').textContent).toBe('line 1\ncannot freeze');

    const bad = within(table).getByRole('row', { name: `pre-hook ${invalid.name}` });
    expect(bad).toHaveTextContent('Failed');
    expect(bad).not.toHaveTextContent('continued');
    expect(bad).not.toHaveTextContent('exit');
    expect(within(table).getByRole('row', { name: `pre-hook output ${invalid.name}` })).toHaveTextContent(
      'annotation pre.hook.backup.velero.io/command of pod web-7f: not a valid JSON array',
    );

    expect(within(table).getByRole('row', { name: `pre-hook ${skipped.name}` })).toHaveTextContent('Skipped');
    const post = within(table).getByRole('row', { name: `post-hook ${resume.name}` });
    expect(post).toHaveTextContent('Post');
    expect(post).toHaveTextContent('exit 0 · 35 ms');
    // No reason and no output: no second row.
    expect(within(table).queryByRole('row', { name: `post-hook output ${resume.name}` })).toBeNull();
  });

  it('says so when no hook ran', async () => {
    await renderInTestApp(<BackupHooks backup={backupDetail({ hooks: [] })} />);
    expect(screen.getByText('No hooks ran.')).toBeInTheDocument();
    expect(screen.queryByRole('table', { name: 'hooks' })).toBeNull();
  });
});
