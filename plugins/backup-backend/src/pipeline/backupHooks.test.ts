import type { CustomObjectsApi, V1Pod } from '@kubernetes/client-node';
import type { BackupStatus } from '../controller/BackupResource';
import { StatusRecorder } from '../controller/StatusRecorder';
import { annotationRuns, BackupHookPlan, runBackupHooks, specRuns } from './backupHooks';
import { ExecFailure } from './execInPod';
import type { KubeClients } from './KubeClients';
import type { HookExecutor, HookRun } from './runHooks';

const kube = { kubeConfig: {} } as KubeClients;

function recorder() {
  const api = { patchNamespacedCustomObjectStatus: async () => ({}) } as unknown as CustomObjectsApi;
  return new StatusRecorder<BackupStatus>({ api, plural: 'backups', namespace: 'demo', name: 'b', status: {} });
}

function dbPod(name: string, annotations: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels: { component: 'db' }, annotations },
    spec: { containers: [{ name: 'db' }, { name: 'exporter' }] },
    status: { phase: 'Running' },
  };
}

/** A fake exec: records every call in order; a command ["fail", code] exits with that code. */
function fakeExec() {
  const calls: string[] = [];
  const exec: HookExecutor = async options => {
    calls.push(`${options.pod}/${options.container}: ${options.command.join(' ')}`);
    const [verb, arg] = options.command;
    if (verb === 'hang') throw new ExecFailure('timed out after 1s', 'started', '');
    if (verb === 'fail') return { exitCode: Number(arg), stdout: '', stderr: `line 1\nfailed with ${arg}` };
    return { exitCode: 0, stdout: `${options.command.join(' ')} ok`, stderr: '' };
  };
  return { exec, calls };
}

const run = (overrides: Partial<HookRun>): HookRun => ({
  stage: 'pre',
  source: 'annotation',
  pod: 'db-0',
  container: 'db',
  command: ['quiesce'],
  timeoutMs: 30_000,
  retries: 0,
  onError: 'Fail',
  ...overrides,
});

function plan(pre: HookRun[][], post: HookRun[][]): BackupHookPlan {
  const groups = (list: HookRun[][]) => list.map(runs => ({ runs, mode: 'Sequential' as const }));
  return { namespace: 'demo', pre: groups(pre), post: groups(post) };
}

describe('annotationRuns', () => {
  it('makes one run per annotated pod, valid or not, nothing for pods without annotations', () => {
    const pods = [
      dbPod('db-0', { 'pre.hook.backup.velero.io/command': '["quiesce"]', 'pre.hook.backup.velero.io/timeout': '5s' }),
      dbPod('db-1', { 'pre.hook.backup.velero.io/command': '["quiesce"', 'pre.hook.backup.velero.io/on-error': 'Continue' }),
      dbPod('db-2'),
    ];
    expect(annotationRuns(pods, 'pre')).toEqual([
      { stage: 'pre', source: 'annotation', pod: 'db-0', container: 'db', command: ['quiesce'], onError: 'Fail', retries: 0, timeoutMs: 5000 },
      expect.objectContaining({
        pod: 'db-1',
        onError: 'Continue',
        command: ['["quiesce"'],
        problem: expect.stringMatching(/^annotation pre.hook.backup.velero.io\/command of pod db-1: not a valid JSON array/),
      }),
    ]);
    expect(annotationRuns(pods, 'post')).toEqual([]);
  });
});

describe('specRuns', () => {
  const pods = [dbPod('db-0'), dbPod('db-1'), { ...dbPod('web-0'), metadata: { name: 'web-0', labels: { component: 'web' } } }];

  it('runs a spec hook in every running pod its selector picks, first container by default', () => {
    const runs = specRuns({ podSelector: 'component=db', command: ['sync'], timeoutSeconds: 10, retries: 2, ignoreFailure: true }, pods, 'post');
    expect(runs).toEqual(
      ['db-0', 'db-1'].map(pod => ({
        stage: 'post',
        source: 'spec',
        pod,
        container: 'db',
        command: ['sync'],
        onError: 'Continue',
        retries: 2,
        timeoutMs: 10_000,
      })),
    );
  });

  it('records a selector that picks no pod, or is malformed, as a problem', () => {
    expect(specRuns({ podSelector: 'component=cache', command: ['x'] }, pods, 'pre')).toEqual([
      expect.objectContaining({ problem: 'no running pod matches component=cache', onError: 'Fail', timeoutMs: 60_000 }),
    ]);
    expect(specRuns({ podSelector: 'a in (b', command: ['x'] }, pods, 'pre')[0].problem).toMatch(
      /^spec.hooks.pre: label selector 'a in \(b'/,
    );
  });
});

describe('runBackupHooks', () => {
  it('runs pre-hooks in order and records each outcome: pod, container, command, source, exit code, output', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    const hooks = plan([[run({}), run({ pod: 'db-1' })], [run({ source: 'spec', command: ['flush'] })]], []);
    await runBackupHooks({ kube, plan: hooks, recorder: status, stage: 'pre', exec });
    expect(calls).toEqual(['db-0/db: quiesce', 'db-1/db: quiesce', 'db-0/db: flush']);
    expect(status.status.hooks).toEqual([
      expect.objectContaining({ name: 'db-0/db: quiesce', pod: 'db-0', container: 'db', command: ['quiesce'], source: 'annotation', stage: 'pre', outcome: 'Succeeded', exitCode: 0, stdout: 'quiesce ok', durationMs: expect.any(Number) }),
      expect.objectContaining({ pod: 'db-1', outcome: 'Succeeded' }),
      expect.objectContaining({ source: 'spec', command: ['flush'], outcome: 'Succeeded' }),
    ]);
    expect(status.status.hooks![0]).not.toHaveProperty('stderr');
    expect(status.status.timeline!.map(t => t.step)).toEqual(['Pre-hooks']);
    expect(status.status.failures).toBeUndefined();
  });

  it('fails on a pre-hook failing with on-error Fail: the rest skipped, a failure recorded, an error thrown', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    const hooks = plan([[run({ command: ['fail', '3'] }), run({ pod: 'db-1' })], [run({ source: 'spec', command: ['flush'] })]], []);
    await expect(runBackupHooks({ kube, plan: hooks, recorder: status, stage: 'pre', exec })).rejects.toThrow(
      'a pre-hook failed, no snapshot was taken: exit code 3: failed with 3 (pod db-0, container db)',
    );
    expect(calls).toEqual(['db-0/db: fail 3']);
    expect(status.status.hooks!.map(h => [h.pod, h.outcome, h.message])).toEqual([
      ['db-0', 'Failed', 'exit code 3: failed with 3'],
      ['db-1', 'Skipped', 'not run: an earlier pre-hook failed'],
      ['db-0', 'Skipped', 'not run: an earlier pre-hook failed'],
    ]);
    expect(status.status.hooks![0]).toMatchObject({ exitCode: 3, stderr: 'line 1\nfailed with 3' });
    expect(status.status.failures).toEqual([{ kind: 'Hook', name: 'db-0/db: fail 3', reason: 'exit code 3: failed with 3' }]);
  });

  it('goes on after a failure with on-error Continue: recorded in hooks, not a failure of the backup', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    const hooks = plan([[run({ command: ['fail', '1'], onError: 'Continue' }), run({ pod: 'db-1' })]], []);
    await runBackupHooks({ kube, plan: hooks, recorder: status, stage: 'pre', exec });
    expect(calls).toEqual(['db-0/db: fail 1', 'db-1/db: quiesce']);
    expect(status.status.hooks!.map(h => [h.outcome, h.onError])).toEqual([
      ['Failed', 'Continue'],
      ['Succeeded', 'Fail'],
    ]);
    expect(status.status.failures).toBeUndefined();
  });

  it('fails an invalid annotation without running it, naming the pod and annotation', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    const problem = "annotation pre.hook.backup.velero.io/timeout of pod db-0: 'soon' is not a duration";
    await expect(
      runBackupHooks({ kube, plan: plan([[run({ problem })]], []), recorder: status, stage: 'pre', exec }),
    ).rejects.toThrow(`a pre-hook failed, no snapshot was taken: ${problem}`);
    expect(calls).toEqual([]);
    expect(status.status.hooks).toEqual([expect.objectContaining({ outcome: 'Failed', message: problem, pod: 'db-0' })]);
    expect(status.status.hooks![0]).not.toHaveProperty('exitCode');
  });

  it('runs every post-hook even when some fail; a Fail-mode failure is a failure of the backup, no error thrown', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    const post = (overrides: Partial<HookRun>) => run({ stage: 'post', command: ['resume'], ...overrides });
    const hooks = plan([], [[post({ source: 'spec', command: ['fail', '2'] })], [post({}), post({ pod: 'db-1', command: ['hang'] })]]);
    await runBackupHooks({ kube, plan: hooks, recorder: status, stage: 'post', exec });
    expect(calls).toEqual(['db-0/db: fail 2', 'db-0/db: resume', 'db-1/db: hang']);
    expect(status.status.hooks!.map(h => [h.source, h.pod, h.outcome, h.message])).toEqual([
      ['spec', 'db-0', 'Failed', 'exit code 2: failed with 2'],
      ['annotation', 'db-0', 'Succeeded', undefined],
      ['annotation', 'db-1', 'Failed', 'timed out after 1s'],
    ]);
    // What a command wrote before its timeout is kept.
    expect(status.status.hooks![2]).toMatchObject({ stdout: 'started' });
    expect(status.status.failures!.map(f => f.name)).toEqual(['db-0/db: fail 2', 'db-1/db: hang']);
    expect(status.status.timeline!.map(t => t.step)).toEqual(['Post-hooks']);
  });

  it('retries a spec hook as configured, and says how often it tried', async () => {
    const { exec, calls } = fakeExec();
    const status = recorder();
    await runBackupHooks({
      kube,
      plan: plan([], [[run({ stage: 'post', source: 'spec', command: ['fail', '4'], retries: 2 })]]),
      recorder: status,
      stage: 'post',
      exec,
    });
    expect(calls).toHaveLength(3);
    expect(status.status.hooks![0].message).toBe('exit code 4: failed with 4 (after 3 attempts)');
  });

  it('records nothing when no hook is declared', async () => {
    const status = recorder();
    await runBackupHooks({ kube, plan: plan([[], []], [[], []]), recorder: status, stage: 'pre', exec: fakeExec().exec });
    expect(status.status).toEqual({});
  });
});
