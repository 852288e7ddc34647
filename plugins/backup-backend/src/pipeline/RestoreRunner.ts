import type { LoggerService } from '@backstage/backend-plugin-api';
import type { KubernetesObject, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { OperationPhase, RestoredObject } from '@ferry/plugin-backup-common';
import { hostname } from 'node:os';
import type { FerryConfig } from '../config/FerryConfig';
import {
  RESTORE_LABEL,
  RestoreResource,
  RestoreStatus,
  restoreIdOf,
  restoreNamespaceOf,
} from '../controller/RestoreResource';
import type { StatusRecorder } from '../controller/StatusRecorder';
import { restoreImagesStep } from '../images/restoreImagesStep';
import { DiscoveredTypes, discoverResourceTypes } from '../kubernetes/discoverResourceTypes';
import { checkRestoredObjects } from '../access/checkRestoredObjects';
import { checkTransforms } from '../access/checkTransforms';
import { restoreScope } from '../access/operationScope';
import { bindRestorer, ensureRestorerRole, impersonating, RESTORER_USER, unbindRestorer } from '../access/RestoreIdentity';
import type { TargetRegistry } from '../targets/TargetRegistry';
import { prepareTargetAccess } from '../targets/targetAccess';
import { applyRestoreObjects, refOf } from './applyRestoreObjects';
import { boundedAll } from './boundedAll';
import { cleanupTemporaries } from './cleanupTemporaries';
import { createIfAbsent, KubeClients } from './KubeClients';
import type { OperationOwner } from './OwnerRef';
import { readBackupObjects } from './readBackupObjects';
import { restoreVolume, VolumeOutcome } from './restoreVolume';
import { waitForClaimsBound } from './claimBinding';
import { namespaceMapping, transformObjects } from './restoreTransforms';
import { tempName } from './tempNames';
import { waitForWorkloads } from './waitForWorkloads';

const DEFAULT_READY_TIMEOUT_S = 120;

export interface RestoreRunnerOptions {
  kube: KubeClients;
  targets: TargetRegistry;
  config: FerryConfig;
  logger: LoggerService;
}

/**
 * Drives one Restore resource through DESIGN §4 steps 2, 4 and 5 (validation is the API's, before
 * the resource exists), recording every step in its status. Like BackupRunner, every step is
 * idempotent with deterministic names, so a controller that takes over after a crash calls `run`
 * again: restored volumes and recorded object outcomes are kept, the rest is redone.
 */
export class RestoreRunner {
  constructor(private readonly options: RestoreRunnerOptions) {}

  async run(options: { restore: RestoreResource; recorder: StatusRecorder<RestoreStatus> }): Promise<void> {
    const { restore, recorder } = options;
    const { kube, logger } = this.options;
    const { spec } = restore;
    const restoreId = restoreIdOf(restore);
    const namespace = restoreNamespaceOf(restore);
    const key = `${restore.metadata.namespace}/${restore.metadata.name}`;
    const owner: OperationOwner = {
      apiVersion: restore.apiVersion,
      kind: restore.kind,
      name: restore.metadata.name,
      namespace: restore.metadata.namespace,
      uid: restore.metadata.uid!,
      labels: { 'app.kubernetes.io/managed-by': 'ferry', [RESTORE_LABEL]: restoreId },
    };
    const labelSelector = `${RESTORE_LABEL}=${restoreId}`;
    // Where this restore may have written; the cleanup looks there (and in Ferry's namespace).
    let written = new Set<string>();
    const resumed = Boolean(recorder.status.phase);
    await recorder.event(
      'Start',
      resumed ? `Resumed by ${hostname()} after an interruption` : `Started on ${hostname()}`,
      { phase: 'Running', restoreId, runner: hostname(), startedAt: recorder.status.startedAt ?? new Date().toISOString() },
    );
    try {
      const repository = await this.options.targets.repository(spec.target);
      const manifest = await repository.readManifest(spec.appId, spec.backupId);
      // DESIGN §8, before anything is written: what this Restore may do follows from where it
      // lives, checked on the objects as they will be applied.
      const { grants, sourceNamespace, secretNamespaces } = restoreScope({
        restore,
        manifest,
        cluster: kube.cluster,
        ferryNamespace: this.options.config.controller.namespace,
      });
      checkTransforms(spec.transforms, grants);
      const backedUp = await readBackupObjects({ repository, manifest });
      const objects = transformObjects({ objects: backedUp, sourceNamespace, namespace, spec });
      const types = await discoverResourceTypes(kube.json);
      const checked = checkRestoredObjects({
        backedUp,
        restored: objects,
        mapping: namespaceMapping({ sourceNamespace, namespace, namespaceMap: spec.transforms?.namespaceMap }),
        types,
        grants,
      });
      written = new Set([namespace, ...checked.namespaces]);
      const scope = spec.scope ?? 'all';
      const withVolumes = scope !== 'metadata-only';
      await recorder.event(
        'Plan',
        `${objects.length} resources, ${withVolumes ? manifest.volumes.length : 0} volumes from ${spec.backupId} into ${namespace}`,
        withVolumes && !recorder.status.volumes
          ? { volumes: manifest.volumes.map(v => ({ pvc: v.pvc, phase: 'Pending' as const, bytesTotal: v.virtualSize })) }
          : {},
      );
      for (const name of written) {
        await createIfAbsent(() => kube.core.createNamespace({ body: { metadata: { name } } }));
      }

      const access = await prepareTargetAccess({
        kube,
        namespace,
        target: this.options.targets.config(spec.target),
        secretName: tempName({ operationId: restoreId, role: 'target', pvc: 'credentials' }),
        owner,
        keys: this.options.targets.keys,
      });
      const claimOutcomes = new Map<string, VolumeOutcome>();
      if (withVolumes) {
        await boundedAll(manifest.volumes, this.options.config.datamover.parallelism, async volume => {
          const claim = objects.find(
            o => o.kind === 'PersistentVolumeClaim' && o.metadata?.name === volume.pvc && o.metadata?.namespace === namespace,
          ) as V1PersistentVolumeClaim | undefined;
          let outcome: VolumeOutcome;
          try {
            outcome = await restoreVolume({
              kube,
              namespace,
              restoreId,
              appId: spec.appId,
              backupId: spec.backupId,
              volume: { pvc: volume.pvc, virtualSize: volume.virtualSize, claim },
              owner,
              access,
              datamover: this.options.config.datamover,
              recorder,
            });
          } catch (error) {
            if (recorder.revoked) throw error;
            outcome = { outcome: 'Failed', reason: error instanceof Error ? error.message : String(error) };
          }
          claimOutcomes.set(volume.pvc, outcome);
          if (outcome.outcome === 'Failed') {
            await recorder.volume(volume.pvc, { phase: 'Failed', reason: outcome.reason });
            await recorder.fail({ kind: 'Volume', name: volume.pvc, reason: outcome.reason });
          }
        });
        const volumeSummary = [...claimOutcomes.entries()].map(([pvc, o]) => `${pvc}: ${o.outcome}`).join(', ');
        await recorder.event('Volumes', `Hydrated ${manifest.volumes.length} volumes (${volumeSummary})`);
      }

      if (scope !== 'data-only') {
        const repointed = await restoreImagesStep({
          kube,
          namespace,
          restoreId,
          spec,
          sourceNamespace,
          secretNamespaces,
          objects,
          repository,
          manifest,
          owner,
          access,
          config: this.options.config,
          recorder,
          keys: this.options.targets.keys,
        });
        await this.applyMetadata({
          objects: repointed,
          types,
          namespace,
          namespaces: checked.namespaces,
          restoreId,
          owner,
          existing: spec.existing ?? 'skip',
          claimOutcomes,
          recorder,
        });
      }
      await this.verify({
        namespace,
        claims: [...claimOutcomes.entries()].filter(([, o]) => o.outcome === 'Created').map(([pvc]) => pvc),
        readyTimeoutSeconds: spec.readyTimeoutSeconds, recorder });
      await recorder.event('Cleanup', 'Deleting the temporary objects');
      await this.cleanup({ namespaces: written, labelSelector, restoreId });
      const failures = recorder.status.failures ?? [];
      const phase: OperationPhase = failures.length ? 'PartiallyFailed' : 'Completed';
      const message = failures.length
        ? `Restored with ${failures.length} problem(s): ${failures.map(f => `${f.kind} ${f.name}`).join(', ')}`
        : `Restored ${spec.backupId} into ${namespace}`;
      await recorder.event(phase, message, { phase, message, completedAt: new Date().toISOString() });
    } catch (error) {
      if (recorder.revoked) {
        logger.warn(`Restore ${key} handed over: ${error}`);
        return;
      }
      const message = error instanceof Error ? error.message : String(error);
      logger.error(`Restore ${key} failed: ${message}`);
      await this.cleanup({ namespaces: written, labelSelector, restoreId });
      await recorder.event('Failed', message, { phase: 'Failed', message, completedAt: new Date().toISOString() });
    } finally {
      await recorder.close().catch(() => undefined);
    }
  }

  /**
   * Applies the objects through the restore's own identity (DESIGN §8): `ferry:restorer`, bound
   * for this restore in exactly the namespaces it was authorised to write into. Cluster-scoped
   * objects (allowed only with privileged grants) use the controller's identity.
   */
  private async applyMetadata(options: {
    objects: KubernetesObject[];
    types: DiscoveredTypes;
    namespace: string;
    namespaces: Set<string>;
    restoreId: string;
    owner: OperationOwner;
    existing: 'skip' | 'patch';
    claimOutcomes: Map<string, VolumeOutcome>;
    recorder: StatusRecorder<RestoreStatus>;
  }) {
    const { recorder, claimOutcomes, namespace, types } = options;
    const { kube } = this.options;
    const restorer = impersonating(kube, RESTORER_USER);
    if (options.namespaces.size > 0) await ensureRestorerRole(kube);
    for (const target of options.namespaces) {
      await bindRestorer({ kube, restorer, namespace: target, restoreId: options.restoreId, owner: options.owner });
    }
    const earlier = new Map(
      (recorder.status.objects ?? []).map(o => [`${o.kind}|${o.namespace ?? ''}|${o.name}`, o]),
    );
    const outcomes: RestoredObject[] = [];
    await applyRestoreObjects({
      kube: object => (types.lookup(object.apiVersion ?? '', object.kind ?? '')?.namespaced === false ? kube : restorer),
      types,
      objects: options.objects,
      existing: options.existing,
      known: object => {
        const recorded = earlier.get(`${object.kind}|${object.metadata?.namespace ?? ''}|${object.metadata?.name}`);
        if (recorded) return recorded;
        const claim = object.kind === 'PersistentVolumeClaim' && object.metadata?.namespace === namespace
          ? claimOutcomes.get(object.metadata?.name ?? '')
          : undefined;
        return claim ? { ...refOf(object), ...claim } : undefined;
      },
      onOutcome: async outcome => {
        outcomes.push(outcome);
        if (outcome.outcome === 'Failed' && outcome.kind !== 'PersistentVolumeClaim') {
          await recorder.fail({ kind: 'Resource', name: `${outcome.kind}/${outcome.name}`, reason: outcome.reason ?? '' });
        }
        await recorder.update({ objects: [...outcomes] });
      },
    });
    const count = (o: RestoredObject['outcome']) => outcomes.filter(x => x.outcome === o).length;
    await recorder.event(
      'Metadata',
      `Applied ${outcomes.length} resources: ${count('Created')} created, ${count('Patched')} patched, ${count('Skipped')} skipped, ${count('Failed')} failed`,
    );
  }

  private async verify(options: {
    namespace: string;
    claims: string[];
    readyTimeoutSeconds?: number;
    recorder: StatusRecorder<RestoreStatus>;
  }) {
    const { recorder } = options;
    const timeoutMs = (options.readyTimeoutSeconds ?? DEFAULT_READY_TIMEOUT_S) * 1000;
    const workloads = (recorder.status.objects ?? []).filter(
      o => (o.outcome === 'Created' || o.outcome === 'Patched') && (o.kind === 'Deployment' || o.kind === 'StatefulSet'),
    );
    if (timeoutMs > 0 && workloads.length > 0) {
      const notReady = await waitForWorkloads({ kube: this.options.kube, workloads, timeoutMs });
      for (const { workload, reason } of notReady) {
        await recorder.fail({ kind: 'Resource', name: `${workload.kind}/${workload.name}`, reason });
      }
      await recorder.event(
        'Verify',
        notReady.length
          ? `${workloads.length - notReady.length}/${workloads.length} workloads ready`
          : `All ${workloads.length} workloads ready`,
      );
    }
    // The snapshots the claims are provisioned from go with the cleanup: wait for the binding.
    const { unbound } = await waitForClaimsBound({
      kube: this.options.kube,
      namespace: options.namespace,
      claims: options.claims,
      timeoutMs: Math.max(timeoutMs, 30_000),
    });
    for (const claim of unbound) {
      await recorder.fail({ kind: 'Volume', name: claim, reason: 'the restored claim is not bound' });
    }
  }

  /** Temporaries (label `ferry.io/restore=<id>`) wherever the restore wrote, and the restorer's bindings. */
  private async cleanup(options: { namespaces: Set<string>; labelSelector: string; restoreId: string }) {
    const { kube, config, logger } = this.options;
    const places = new Set([...options.namespaces, config.controller.namespace]);
    try {
      await unbindRestorer({ kube, namespaces: options.namespaces, restoreId: options.restoreId });
      for (const namespace of places) {
        await cleanupTemporaries({ kube, namespace, labelSelector: options.labelSelector });
      }
    } catch (error) {
      logger.warn(`Cleanup of restore ${options.restoreId} is incomplete: ${error}`);
    }
  }
}
