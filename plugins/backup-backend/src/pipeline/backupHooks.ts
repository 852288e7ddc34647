import type { BackupResource } from '../controller/BackupResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { KubeClients } from './KubeClients';
import { runHooks } from './runHooks';

/** Runs the Backup's pre- or post-hooks; a failed pre-hook fails the backup. */
export async function runBackupHooks(options: {
  kube: KubeClients;
  backup: BackupResource;
  recorder: StatusRecorder;
  stage: 'pre' | 'post';
}): Promise<void> {
  const spec = options.backup.spec.hooks;
  const hooks = spec?.[options.stage] ?? [];
  if (hooks.length === 0) return;
  const { recorder, stage } = options;
  const { results, failed } = await runHooks({
    kube: options.kube,
    namespace: options.backup.metadata.namespace,
    stage,
    hooks,
    mode: spec?.mode ?? 'Sequential',
  });
  const label = stage === 'pre' ? 'Pre-hooks' : 'Post-hooks';
  await recorder.event(
    label,
    results
      .map(r => `${r.name}: ${r.outcome}${r.message ? ` (${r.message})` : ''}`)
      .join('; '),
    { hooks: [...(recorder.status.hooks ?? []), ...results] },
  );
  for (const result of results.filter(r => r.outcome === 'Failed')) {
    await recorder.fail({
      kind: 'Hook',
      name: result.name,
      reason: result.message ?? 'failed',
    });
  }
  if (failed && stage === 'pre') {
    throw new Error(
      `a pre-hook failed, no snapshot was taken: ${
        results.find(r => r.outcome === 'Failed')!.message
      }`,
    );
  }
}
