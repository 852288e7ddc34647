import type { V1Pod } from '@kubernetes/client-node';
import type { HookResult } from '@ferry/plugin-backup-common';
import type { BackupHook, BackupResource } from '../controller/BackupResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { ApplicationSnapshot, ApplicationTarget } from '../mapping/types';
import { listHookPods } from './applicationPods';
import { annotationHook, HookStage } from './hookAnnotations';
import type { KubeClients } from './KubeClients';
import { matchesLabelSelector } from './matchLabelSelector';
import { failsBackup, HookExecutor, HookRun, runHooks, skipped } from './runHooks';

/** Spec hooks' default timeout (the CRD's default of `timeoutSeconds`). */
const SPEC_HOOK_TIMEOUT_MS = 60_000;

interface HookGroup {
  runs: HookRun[];
  mode: 'Sequential' | 'Parallel';
}

/** What runs around the snapshots, decided once per backup from the pods running then. */
export interface BackupHookPlan {
  namespace: string;
  pre: HookGroup[];
  post: HookGroup[];
}

/**
 * Plans a backup's hooks (DESIGN §3 step 3) from the pods running in its namespace now:
 * - the application's pods (`belongsToApplication`) with Velero's hook annotations, one pod
 *   after another by name, as Velero runs them;
 * - the Backup's `spec.hooks`, in every running pod their selector picks, in `spec.hooks.mode`.
 * Pre-hooks: annotations first, then the spec's; post-hooks in the reverse order (spec, then
 * annotations), so that what quiesced first resumes last.
 */
export async function planBackupHooks(options: {
  kube: KubeClients;
  backup: BackupResource;
  target: ApplicationTarget;
  app: ApplicationSnapshot;
}): Promise<BackupHookPlan> {
  const namespace = options.backup.metadata.namespace;
  const pods = await listHookPods({
    kube: options.kube,
    namespace,
    application: options.target.application,
    resources: options.app.resources,
  });
  const spec = options.backup.spec.hooks;
  const mode = spec?.mode ?? 'Sequential';
  const group = (stage: HookStage) => ({
    annotation: { mode: 'Sequential' as const, runs: annotationRuns(pods.application, stage) },
    spec: { mode, runs: (spec?.[stage] ?? []).flatMap(hook => specRuns(hook, pods.running, stage)) },
  });
  const pre = group('pre');
  const post = group('post');
  return { namespace, pre: [pre.annotation, pre.spec], post: [post.spec, post.annotation] };
}

/** The hooks the application's pods declare with Velero's annotations. */
export function annotationRuns(pods: V1Pod[], stage: HookStage): HookRun[] {
  return pods.flatMap(pod => {
    const hook = annotationHook(pod, stage);
    if (!hook) return [];
    const run: HookRun = {
      stage,
      source: 'annotation',
      pod: hook.pod,
      container: hook.container,
      command: hook.command,
      onError: hook.onError,
      retries: 0,
      timeoutMs: hook.valid ? hook.timeoutMs : 0,
    };
    return [hook.valid ? run : { ...run, problem: hook.problem }];
  });
}

/** One run of a spec hook per running pod its selector picks; a problem when none does. */
export function specRuns(hook: BackupHook, running: V1Pod[], stage: HookStage): HookRun[] {
  const base = {
    stage,
    source: 'spec' as const,
    command: hook.command,
    onError: hook.ignoreFailure ? ('Continue' as const) : ('Fail' as const),
    retries: hook.retries ?? 0,
    timeoutMs: (hook.timeoutSeconds ?? SPEC_HOOK_TIMEOUT_MS / 1000) * 1000,
  };
  let matched: V1Pod[];
  try {
    matched = running.filter(pod => matchesLabelSelector(hook.podSelector, pod.metadata?.labels));
  } catch (error) {
    return [{ ...base, problem: `spec.hooks.${stage}: ${(error as Error).message}` }];
  }
  if (matched.length === 0) return [{ ...base, problem: `no running pod matches ${hook.podSelector}` }];
  return matched.map(pod => ({
    ...base,
    pod: pod.metadata!.name!,
    container: hook.container ?? pod.spec!.containers[0].name,
  }));
}

/**
 * Runs one stage of the plan and records each hook's outcome in `.status.hooks` and the
 * timeline. A failure with on-error `Fail` is a failure of the backup (`.status.failures`); in the
 * pre stage it stops the remaining pre-hooks and throws, before any snapshot is taken. Failures
 * with on-error `Continue` are recorded in `.status.hooks` only.
 */
export async function runBackupHooks(options: {
  kube: KubeClients;
  plan: BackupHookPlan;
  recorder: StatusRecorder;
  stage: HookStage;
  exec?: HookExecutor;
}): Promise<void> {
  const { recorder, stage, plan } = options;
  const results: HookResult[] = [];
  for (const group of plan[stage]) {
    if (stage === 'pre' && results.some(failsBackup)) {
      results.push(...group.runs.map(run => skipped(run, 'not run: an earlier pre-hook failed')));
      continue;
    }
    results.push(
      ...(await runHooks({
        kubeConfig: options.kube.kubeConfig,
        namespace: plan.namespace,
        runs: group.runs,
        mode: group.mode,
        exec: options.exec,
      })),
    );
  }
  if (results.length === 0) return;
  await recorder.event(
    stage === 'pre' ? 'Pre-hooks' : 'Post-hooks',
    results
      .map(r => `${r.name}: ${r.outcome}${r.message ? ` (${r.message})` : ''}`)
      .join('; '),
    { hooks: [...(recorder.status.hooks ?? []), ...results] },
  );
  const failures = results.filter(failsBackup);
  for (const result of failures) {
    await recorder.fail({ kind: 'Hook', name: result.name, reason: result.message ?? 'failed' });
  }
  if (stage === 'pre' && failures.length > 0) {
    const [first] = failures;
    const named = !first.pod || first.message?.includes(`pod ${first.pod}`);
    const where = named ? '' : ` (pod ${first.pod}, container ${first.container})`;
    throw new Error(`a pre-hook failed, no snapshot was taken: ${first.message}${where}`);
  }
}
