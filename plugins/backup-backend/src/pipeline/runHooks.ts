import type { HookResult } from '@ferry/plugin-backup-common';
import type { BackupHook } from '../controller/BackupResource';
import { execInPod } from './execInPod';
import type { KubeClients } from './KubeClients';

/**
 * Runs pre- or post-snapshot hooks (DESIGN §3 step 3) in every running pod their selector picks:
 * one after another or all at once, each bounded by its timeout and retried as configured.
 * Returns one result per hook and pod; `failed` is true when a hook that must not fail did.
 */
export async function runHooks(options: {
  kube: KubeClients;
  namespace: string;
  stage: 'pre' | 'post';
  hooks: BackupHook[];
  mode: 'Sequential' | 'Parallel';
}): Promise<{ results: HookResult[]; failed: boolean }> {
  const runs: Array<() => Promise<HookResult>> = [];
  const results: HookResult[] = [];
  for (const hook of options.hooks) {
    const pods = await options.kube.core.listNamespacedPod({
      namespace: options.namespace,
      labelSelector: hook.podSelector,
    });
    const running = pods.items.filter(p => p.status?.phase === 'Running');
    if (running.length === 0) {
      results.push({
        name: `${hook.podSelector}: ${hook.command.join(' ')}`,
        stage: options.stage,
        outcome: hook.ignoreFailure ? 'Ignored' : 'Failed',
        message: `no running pod matches ${hook.podSelector}`,
      });
      continue;
    }
    for (const pod of running) {
      runs.push(() => runOne({ ...options, hook, pod: pod.metadata!.name!, container: hook.container ?? pod.spec!.containers[0].name }));
    }
  }
  if (options.mode === 'Parallel') {
    results.push(...(await Promise.all(runs.map(run => run()))));
  } else {
    for (const run of runs) {
      const result = await run();
      results.push(result);
      // Sequential hooks stop at the first failure: later ones may depend on it.
      if (result.outcome === 'Failed') break;
    }
  }
  return { results, failed: results.some(r => r.outcome === 'Failed') };
}

async function runOne(options: {
  kube: KubeClients;
  namespace: string;
  stage: 'pre' | 'post';
  hook: BackupHook;
  pod: string;
  container: string;
}): Promise<HookResult> {
  const { hook } = options;
  const name = `${options.pod}/${options.container}: ${hook.command.join(' ')}`;
  const attempts = (hook.retries ?? 0) + 1;
  let message = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const result = await execInPod({
        kubeConfig: options.kube.kubeConfig,
        namespace: options.namespace,
        pod: options.pod,
        container: options.container,
        command: hook.command,
        timeoutMs: (hook.timeoutSeconds ?? 60) * 1000,
      });
      if (result.exitCode === 0) {
        return { name, stage: options.stage, outcome: 'Succeeded', message: result.output || undefined };
      }
      message = `exit code ${result.exitCode}${result.output ? `: ${result.output}` : ''}`;
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
    }
  }
  const tries = attempts > 1 ? ` (after ${attempts} attempts)` : '';
  return {
    name,
    stage: options.stage,
    outcome: hook.ignoreFailure ? 'Ignored' : 'Failed',
    message: `${message}${tries}`,
  };
}
