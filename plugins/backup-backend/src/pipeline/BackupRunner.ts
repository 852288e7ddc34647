import type { LoggerService } from '@backstage/backend-plugin-api';
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { newBackupId, Repository } from '@ferry/repository';
import { hostname } from 'node:os';
import type { FerryConfig } from '../config/FerryConfig';
import type {
  BackupResource,
  VolumeStatus,
} from '../controller/BackupResource';
import { backupIdOf } from '../controller/backupSummary';
import type { StatusRecorder } from '../controller/StatusRecorder';
import type { ApplicationSnapshot, ApplicationTarget } from '../mapping/types';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { prepareTargetAccess } from '../targets/targetAccess';
import { boundedAll } from './boundedAll';
import { chooseParents, VolumePlan } from './chooseParents';
import { backupImagesStep } from '../images/backupImagesStep';
import { pullSecretNames } from '../images/registryAccess';
import { cleanupTemporaries } from './cleanupTemporaries';
import { backupVolume, snapshotVolume } from './backupVolume';
import { HeldAppLock, holdAppLock } from './holdAppLock';
import type { KubeClients } from './KubeClients';
import type { OperationOwner } from './OwnerRef';
import { parseQuantity } from './quantity';
import { planBackupHooks, runBackupHooks } from './backupHooks';
import { commitBackupManifest } from './commitBackupManifest';
import { tempName } from './tempNames';
import { writeMetadata } from './writeMetadata';

export interface BackupRunnerOptions {
  kube: KubeClients;
  targets: TargetRegistry;
  config: FerryConfig;
  logger: LoggerService;
  /** Reads the live application (mapping/collectApplication bound to this cluster). */
  collect: (target: ApplicationTarget) => Promise<ApplicationSnapshot>;
}

/**
 * Drives one Backup resource through DESIGN §3, recording every step in its status. Every step
 * is idempotent and names its objects deterministically, so a controller that takes over after
 * a crash calls `run` again and it continues from the status: completed volumes are kept, Jobs
 * that are still running are re-attached, the rest is redone.
 */
export class BackupRunner {
  constructor(private readonly options: BackupRunnerOptions) {}

  async run(options: {
    backup: BackupResource;
    target: ApplicationTarget;
    recorder: StatusRecorder;
  }): Promise<void> {
    const { backup, target, recorder } = options;
    const { kube } = this.options;
    const namespace = backup.metadata.namespace;
    const backupId = backupIdOf(backup) ?? newBackupId();
    const resumed = Boolean(recorder.status.phase);
    const owner: OperationOwner = {
      apiVersion: backup.apiVersion,
      kind: backup.kind,
      name: backup.metadata.name,
      namespace: backup.metadata.namespace,
      uid: backup.metadata.uid!,
      labels: {
        'app.kubernetes.io/managed-by': 'ferry',
        'ferry.io/backup': backupId,
      },
    };
    const labelSelector = `ferry.io/backup=${backupId}`;
    await recorder.event(
      'Start',
      resumed ? `Resumed by ${hostname()} after an interruption` : `Started on ${hostname()}`,
      {
        phase: 'Running',
        backupId,
        runner: hostname(),
        startedAt: recorder.status.startedAt ?? new Date().toISOString(),
      },
    );
    let held: HeldAppLock | undefined;
    // Released before the final phase is written: whoever sees the backup end finds the
    // application free (the next backup or a delete does not wait for this one's lease).
    const releaseLock = async () => {
      const holding = held;
      held = undefined;
      await holding?.release();
    };
    try {
      const repository = await this.options.targets.repository(backup.spec.target);
      held = await holdAppLock({
        repository,
        appId: target.appId,
        owner: `backup ${namespace}/${backup.metadata.name} (${backupId})`,
        recorder,
        logger: this.options.logger,
      });
      const lock = held.lock;
      if (resumed && (await repository.isCommitted(target.appId, backupId))) {
        // Interrupted after the commit point: the backup exists; only the ending is left.
        const outcome = await commitBackupManifest({ repository, lock, backup, target, backupId, recorder });
        await recorder.event('Cleanup', 'Deleting the temporary objects');
        await this.cleanup(namespace, labelSelector, backupId);
        await releaseLock();
        await recorder.event(outcome.step, outcome.message, outcome.change);
        return;
      }

      const collected = await this.options.collect(target);
      // A resumed backup keeps to the volumes it planned before the interruption.
      const planned = recorder.status.volumes?.map(v => v.pvc);
      const app = planned?.length
        ? { ...collected, claims: collected.claims.filter(c => planned.includes(c.metadata!.name!)) }
        : collected;
      const warnings = app.warnings.length ? `; warnings: ${app.warnings.join('; ')}` : '';
      await recorder.event(
        'Plan',
        `${app.objects.length} resources, ${app.claims.length} volumes, ${app.images.length} images${warnings}`,
        {
          resources: app.resources.map(({ apiVersion, kind, name, namespace: ns }) => ({
            apiVersion,
            kind,
            name,
            namespace: ns,
          })),
          images: app.images,
        },
      );

      const plans = await this.planVolumes({ repository, backup, target, app, recorder });
      await writeMetadata({ repository, app: target.appId, backupId, objects: app.objects });
      await recorder.event('Metadata', `Stored ${app.objects.length} resources as YAML`);

      const access = await prepareTargetAccess({
        kube,
        namespace,
        target: this.options.targets.config(backup.spec.target),
        secretName: tempName({ operationId: backupId, role: 'target', pvc: 'credentials' }),
        owner,
        keys: this.options.targets.keys,
      });
      const pending = app.claims.filter(
        c => recorder.status.volumes?.find(v => v.pvc === c.metadata!.name)?.phase !== 'Completed',
      );
      const snapshotClass = (claim: V1PersistentVolumeClaim) =>
        app.volumes.find(v => v.pvc === claim.metadata!.name)?.volumeSnapshotClass;
      if (!recorder.status.snapshotsAt) {
        // Quiesce, snapshot every volume at once, resume: one consistent point in time. The
        // post-hooks run whatever happened, so that the application never stays quiesced.
        const hooks = await planBackupHooks({ kube, backup, target, app });
        try {
          await runBackupHooks({ kube, plan: hooks, recorder, stage: 'pre' });
          await Promise.all(
            pending.map(claim =>
              snapshotVolume({ kube, claim, backupId, namespace, owner, recorder, snapshotClass: snapshotClass(claim) }),
            ),
          );
          await recorder.event('Snapshots', `Snapshots of ${pending.length} volumes taken`);
        } finally {
          await runBackupHooks({ kube, plan: hooks, recorder, stage: 'post' });
        }
        await recorder.update({ snapshotsAt: new Date().toISOString() });
      }
      const transferable = pending.filter(
        c => recorder.status.volumes?.find(v => v.pvc === c.metadata!.name)?.phase !== 'Failed',
      );
      // Images travel beside the volumes: neither waits for the other.
      await Promise.all([
        boundedAll(transferable, this.options.config.datamover.parallelism, claim =>
          backupVolume({
            kube,
            config: this.options.config,
            logger: this.options.logger,
            claim,
            plan: plans.find(p => p.pvc === claim.metadata!.name)!,
            backupId,
            appId: target.appId,
            namespace,
            owner,
            access,
            recorder,
            policy: target.policy,
            target: backup.spec.target,
          }),
        ),
        backup.spec.skipImageBackup
          ? undefined
          : backupImagesStep({
              kube,
              namespace,
              backupId,
              appId: target.appId,
              images: app.images,
              pullSecrets: pullSecretNames(app.objects).map(name => ({ namespace, name })),
              owner,
              access,
              config: this.options.config,
              recorder,
            }),
      ]);

      const outcome = await commitBackupManifest({ repository, lock, backup, target, backupId, app, recorder });
      await recorder.event('Cleanup', 'Deleting the temporary objects');
      await this.cleanup(namespace, labelSelector, backupId);
      await releaseLock();
      await recorder.event(outcome.step, outcome.message, outcome.change);
    } catch (error) {
      if (recorder.revoked) {
        // Another replica leads now and resumes from the status: leave everything in place.
        this.options.logger.warn(`Backup ${namespace}/${backup.metadata.name} handed over: ${error}`);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.error(`Backup ${namespace}/${backup.metadata.name} failed: ${message}`);
      await this.cleanup(namespace, labelSelector, backupId);
      await releaseLock();
      await recorder.event('Failed', message, {
        phase: 'Failed',
        message,
        completedAt: new Date().toISOString(),
      });
    } finally {
      // A replica that lost leadership leaves the temporaries to the new leader, which resumes.
      await releaseLock();
      await recorder.close().catch(() => undefined);
    }
  }

  /** Deletes the temporary objects before the final phase is written (DESIGN §3 step 8). */
  private async cleanup(namespace: string, labelSelector: string, backupId: string) {
    await cleanupTemporaries({ kube: this.options.kube, namespace, labelSelector }).catch(error =>
      this.options.logger.warn(`Cleanup of backup ${backupId} is incomplete: ${error}`),
    );
  }

  private async planVolumes(options: {
    repository: Repository;
    backup: BackupResource;
    target: ApplicationTarget;
    app: ApplicationSnapshot;
    recorder: StatusRecorder;
  }): Promise<VolumePlan[]> {
    const { recorder, app } = options;
    const policy = this.options.config.policies.find(p => p.name === options.target.policy);
    const plans = await chooseParents({
      repository: options.repository,
      app: options.target.appId,
      claims: app.claims.map(c => ({
        pvc: c.metadata!.name!,
        sizeBytes: parseQuantity(c.status?.capacity?.storage),
      })),
      requested: options.backup.spec.type ?? 'Auto',
      fullEvery: policy?.fullEvery ?? 10,
    });
    const volumes: VolumeStatus[] = plans.map(plan => {
      const earlier = recorder.status.volumes?.find(v => v.pvc === plan.pvc);
      if (earlier?.phase === 'Completed') return earlier;
      return {
        pvc: plan.pvc,
        phase: 'Pending',
        type: plan.type,
        parentBackupId: plan.parentBackupId,
        bytesTotal: app.volumes.find(v => v.pvc === plan.pvc)?.sizeBytes,
      };
    });
    const type = volumes.some(v => v.type === 'incremental') ? 'Incremental' : 'Full';
    await recorder.event(
      'Plan',
      plans.map(p => `${p.pvc}: ${p.reason}`).join('; ') || 'No volumes to back up',
      { volumes, type },
    );
    return plans;
  }
}
