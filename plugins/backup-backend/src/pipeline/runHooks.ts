import type { KubeConfig } from '@kubernetes/client-node';
import type { HookResult } from '@ferry/plugin-backup-common';
import { ExecFailure, execInPod } from './execInPod';
import type { HookErrorMode, HookStage } from './hookAnnotations';

/**
 * One hook to run in one pod's container, wherever it was declared. `problem` is set when it
 * cannot run at all (an invalid annotation, no running pod for a spec hook's selector): it is
 * then recorded as failed without any exec.
 */
export interface HookRun {
  stage: HookStage;
  source: HookResult['source'];
  pod?: string;
  container?: string;
  command: string[];
  timeoutMs: number;
  /** Further attempts after a failure (spec hooks' `retries`; annotations have none). */
  retries: number;
  onError: HookErrorMode;
  problem?: string;
}

/** Runs one command in a pod; replaced in unit tests. */
export type HookExecutor = typeof execInPod;

/**
 * Runs hooks one after another or all at once (DESIGN §3 step 3) and returns one result per
 * run, in the order given. One after another, a pre-hook that fails with on-error `Fail` stops
 * the rest (recorded as `Skipped`): the backup fails anyway, and no further pod should be quiesced.
 * Post-hooks always all run, whatever failed, so that the application never stays quiesced.
 */
export async function runHooks(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  runs: HookRun[];
  mode: 'Sequential' | 'Parallel';
  exec?: HookExecutor;
}): Promise<HookResult[]> {
  const one = (run: HookRun) => runHook({ ...options, run });
  if (options.mode === 'Parallel') return Promise.all(options.runs.map(one));
  const results: HookResult[] = [];
  for (const run of options.runs) {
    if (run.stage === 'pre' && results.some(failsBackup)) {
      results.push(skipped(run, 'not run: an earlier pre-hook failed'));
      continue;
    }
    results.push(await one(run));
  }
  return results;
}

/** Whether a result fails the backup (pre) or makes it PartiallyFailed (post). */
export function failsBackup(result: HookResult): boolean {
  return result.outcome === 'Failed' && result.onError === 'Fail';
}

/** The result of a run that did not happen, with the reason. */
export function skipped(run: HookRun, message: string): HookResult {
  return { ...describe(run), outcome: 'Skipped', message };
}

function describe(run: HookRun): Omit<HookResult, 'outcome'> {
  const where = run.pod ? `${run.pod}/${run.container ?? '?'}` : 'no pod';
  return {
    name: `${where}: ${run.command.join(' ')}`,
    stage: run.stage,
    source: run.source,
    ...(run.pod ? { pod: run.pod } : {}),
    ...(run.container ? { container: run.container } : {}),
    command: run.command,
    onError: run.onError,
  };
}

async function runHook(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  run: HookRun;
  exec?: HookExecutor;
}): Promise<HookResult> {
  const { run } = options;
  const base = describe(run);
  if (run.problem || !run.pod || !run.container) {
    return { ...base, outcome: 'Failed', message: run.problem ?? 'no pod to run in' };
  }
  const exec = options.exec ?? execInPod;
  const attempts = run.retries + 1;
  let last: Pick<HookResult, 'outcome' | 'message' | 'exitCode' | 'durationMs' | 'stdout' | 'stderr'> = {
    outcome: 'Failed',
  };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const started = Date.now();
    try {
      const result = await exec({
        kubeConfig: options.kubeConfig,
        namespace: options.namespace,
        pod: run.pod,
        container: run.container,
        command: run.command,
        timeoutMs: run.timeoutMs,
      });
      const output = {
        exitCode: result.exitCode,
        durationMs: Date.now() - started,
        ...(result.stdout ? { stdout: result.stdout } : {}),
        ...(result.stderr ? { stderr: result.stderr } : {}),
      };
      if (result.exitCode === 0) return { ...base, outcome: 'Succeeded', ...output };
      const detail = result.stderr || result.stdout;
      last = {
        outcome: 'Failed',
        message: `exit code ${result.exitCode}${detail ? `: ${lastLine(detail)}` : ''}`,
        ...output,
      };
    } catch (error) {
      last = {
        outcome: 'Failed',
        message: error instanceof Error ? error.message : String(error),
        durationMs: Date.now() - started,
        ...(error instanceof ExecFailure && error.stdout ? { stdout: error.stdout } : {}),
        ...(error instanceof ExecFailure && error.stderr ? { stderr: error.stderr } : {}),
      };
    }
  }
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  return { ...base, ...last, message: `${last.message ?? 'failed'}${tries}` };
}

function lastLine(text: string): string {
  return text.split('\n').pop()!.trim();
}
