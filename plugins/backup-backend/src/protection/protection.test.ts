import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { ConflictError, ServiceUnavailableError } from '@backstage/errors';
import { KeyUnavailableError, ObjectLockedError, keyIdOf, type Manifest } from '@ferry/repository';
import { readFerryConfig } from '../config/readFerryConfig';
import { toBackupDetail } from '../controller/backupSummary';
import type { KubeClients } from '../pipeline/KubeClients';
import { chooseParents } from '../pipeline/chooseParents';
import { protectionOfManifest, lockedReason } from './backupProtection';
import { compressionEnv } from './compressionEnv';
import { KEY_DIR, withKeyAccess } from './keyAccess';
import { protectionError } from './protectionErrors';
import { TargetKeys } from './TargetKeys';

const KEY = 'k'.repeat(40);
const OLD = 'o'.repeat(40);
const b64 = (s: string) => Buffer.from(s).toString('base64');

const ferry = (over: Record<string, unknown>) => readFerryConfig(new ConfigReader({ ferry: over as JsonObject }));
const s3 = { name: 'offsite', type: 's3', bucket: 'backups' };
const encryption = { secret: { name: 'backup-key' } };

describe('protection configuration', () => {
  it('reads encryption, Object Lock and compression with their defaults', () => {
    const config = ferry({
      targets: [
        { ...s3, encryption, objectLock: { mode: 'compliance', days: 30 } },
        { name: 'local', type: 'filesystem', path: '/b' },
      ],
      policies: [{ name: 'daily', target: 'local', compression: 'zstd' }],
    });
    expect(config.targets[0].encryption).toEqual({ secret: { name: 'backup-key', key: 'key' }, readUnencrypted: false });
    expect(config.targets[0].type === 's3' && config.targets[0].objectLock).toEqual({ mode: 'compliance', days: 30 });
    expect(config.policies[0].compression).toBe('zstd');
  });

  it('refuses what cannot be combined or is malformed, naming the field', () => {
    expect(() =>
      ferry({ targets: [{ name: 'local', type: 'filesystem', path: '/b', objectLock: { mode: 'governance', days: 7 } }] }),
    ).toThrow(
      "invalid ferry configuration: ferry.targets[0].objectLock: target 'local' is a filesystem target, which cannot lock objects (S3 Object Lock only): remove objectLock or use an S3 bucket created with Object Lock",
    );
    expect(() => ferry({ targets: [{ ...s3, encryption }], policies: [{ name: 'daily', compression: 'zstd' }] })).toThrow(
      "ferry.policies[0].compression: target 'offsite' is encrypted (ferry.targets[0].encryption): its volumes are LUKS images and qemu's format has no encrypted compressed clusters, so compression and encryption cannot be combined",
    );
    expect(() => ferry({ targets: [{ ...s3, objectLock: { mode: 'legal-hold', days: 1 } }] })).toThrow(/ferry\.targets\[0\]\.objectLock\.mode: Invalid enum value/);
    expect(() => ferry({ targets: [{ ...s3, objectLock: { mode: 'governance', days: 0 } }] })).toThrow(/ferry\.targets\[0\]\.objectLock\.days/);
    expect(() => ferry({ targets: [{ ...s3, encryption: { secret: { name: 'Backup_Key' } } }] })).toThrow(
      /ferry\.targets\[0\]\.encryption\.secret\.name: must be a Kubernetes object name/,
    );
    expect(() => ferry({ targets: [{ ...s3, encryption: { secret: { name: 'k' }, passphrase: 'x' } }] })).toThrow(
      /ferry\.targets\[0\]\.encryption: Unrecognized key\(s\) in object: 'passphrase'/,
    );
    expect(() => ferry({ targets: [s3], policies: [{ name: 'daily', compression: 'lz4' }] })).toThrow(/ferry\.policies\[0\]\.compression/);
  });

  it('compresses only where the backup target is not encrypted', () => {
    const config = ferry({
      targets: [{ name: 'local', type: 'filesystem', path: '/b' }, { ...s3, encryption }],
      policies: [{ name: 'daily', target: 'local', compression: 'deflate' }],
    });
    expect(compressionEnv({ config, policy: 'daily', target: 'local' })).toEqual([{ name: 'FERRY_COMPRESS', value: 'deflate' }]);
    expect(compressionEnv({ config, policy: 'daily', target: 'offsite' })).toEqual([]);
    expect(compressionEnv({ config, policy: undefined, target: 'local' })).toEqual([]);
  });
});

describe('TargetKeys', () => {
  const config = ferry({ targets: [{ ...s3, encryption }], controller: { namespace: 'ferry-system' } });
  const clusters = { clusterNames: () => ['prod', 'dr'], getKubeConfig: async () => { throw new Error('not used'); } };

  it('reads every data key of the Secret, encrypts with `key`, and reads it again after the ttl (rotation)', async () => {
    let data: Record<string, string> = { key: b64(KEY) };
    const reads: unknown[] = [];
    const keys = new TargetKeys({
      targets: config.targets,
      ferryNamespace: 'ferry-system',
      clusters,
      ttlMs: 50,
      readSecret: async ref => {
        reads.push(ref);
        return data;
      },
    });
    expect(keys.secretOf('offsite')?.description).toBe('Secret ferry-system/backup-key in cluster prod');
    expect((await keys.keyring('offsite'))?.current.id).toBe(keyIdOf(Buffer.from(KEY)));
    await keys.keyring('offsite');
    expect(reads).toEqual([{ cluster: 'prod', namespace: 'ferry-system', name: 'backup-key', key: 'key', description: 'Secret ferry-system/backup-key in cluster prod' }]);
    data = { key: b64(KEY.replace(/k/g, 'n')), 'key-old': b64(KEY) };
    await new Promise(r => setTimeout(r, 60));
    const rotated = await keys.keyring('offsite');
    expect(rotated?.current.id).toBe(keyIdOf(Buffer.from('n'.repeat(40))));
    expect(rotated?.byId(keyIdOf(Buffer.from(KEY)))?.name).toBe('key-old');
    expect(await keys.keyring('unencrypted')).toBeUndefined();
  });

  it('says which Secret cannot be read and why, never a key', async () => {
    const failing = (error: unknown) =>
      new TargetKeys({ targets: config.targets, ferryNamespace: 'ferry-system', clusters, readSecret: async () => { throw error; } });
    await expect(failing({ code: 404 }).keyring('offsite')).rejects.toThrow(
      new ServiceUnavailableError("the encryption key of target 'offsite' cannot be read: Secret ferry-system/backup-key in cluster prod does not exist"),
    );
    await expect(failing({ code: 403 }).keyring('offsite')).rejects.toThrow(/may not be read by Ferry's identity \(get secrets\)/);
    const short = new TargetKeys({ targets: config.targets, ferryNamespace: 'f', clusters, readSecret: async () => ({ key: b64('short') }) });
    await expect(short.keyring('offsite')).rejects.toThrow(
      "the encryption key of target 'offsite' is unusable: Secret f/backup-key in cluster prod: encryption key \"key\" has 5 bytes; at least 32 are needed (e.g. head -c 32 /dev/urandom | base64)",
    );
    const noCurrent = new TargetKeys({ targets: config.targets, ferryNamespace: 'f', clusters, readSecret: async () => ({ old: b64(OLD) }) });
    const error = await noCurrent.keyring('offsite').catch(e => e);
    expect(error.message).toBe("the encryption key of target 'offsite' is unusable: Secret f/backup-key in cluster prod has no data key \"key\" to encrypt with (it has \"old\")");
    expect(error.message).not.toContain(OLD);
  });

  it('gives datamover pods every key as a temporary Secret mounted as files, labelled like the other temporaries', async () => {
    const keys = new TargetKeys({ targets: config.targets, ferryNamespace: 'ferry-system', clusters, readSecret: async () => ({ key: b64(KEY), old: b64(OLD) }) });
    const created: any[] = [];
    const kube = { core: { createNamespacedSecret: async (r: unknown) => created.push(r) } } as unknown as KubeClients;
    const owner = { apiVersion: 'ferry.io/v1alpha1', kind: 'Backup', name: 'b', namespace: 'shop', uid: 'u', labels: { 'ferry.io/backup': 'id' } };
    const access = await withKeyAccess({
      access: { env: [{ name: 'FERRY_TARGET_TYPE', value: 's3' }], volumes: [], mounts: [] },
      kube,
      namespace: 'shop',
      keys,
      target: 'offsite',
      secretName: 'ferry-x-target-credentials-key',
      owner,
    });
    expect(created).toHaveLength(1);
    expect(created[0].body.metadata).toMatchObject({ name: 'ferry-x-target-credentials-key', namespace: 'shop', labels: { 'ferry.io/backup': 'id' } });
    expect(created[0].body.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Backup', name: 'b', uid: 'u' })]);
    expect(created[0].body.data).toEqual({ key: b64(KEY), old: b64(OLD) });
    expect(access.env).toEqual([
      { name: 'FERRY_TARGET_TYPE', value: 's3' },
      { name: 'FERRY_ENCRYPTION_KEY_DIR', value: KEY_DIR },
      { name: 'FERRY_ENCRYPTION_KEY', value: 'key' },
      { name: 'FERRY_ENCRYPTION_KEY_SOURCE', value: 'Secret ferry-system/backup-key in cluster prod' },
    ]);
    expect(access.mounts).toEqual([{ name: 'encryption-key', mountPath: KEY_DIR, readOnly: true }]);
    expect(JSON.stringify(access)).not.toContain(KEY);
    // a target in the clear adds nothing
    const plain = { env: [], volumes: [], mounts: [] };
    expect(await withKeyAccess({ access: plain, kube, namespace: 'shop', keys, target: 'local', secretName: 'x', owner })).toBe(plain);
  });
});

describe('backup protection in the API', () => {
  const manifest = {
    backupId: 'b',
    volumes: [{ pvc: 'data', protection: { compression: 'zstd' } }, { pvc: 'wal' }],
    protection: { encryption: { keyId: '0123456789abcdef', envelope: 1 }, lock: { mode: 'COMPLIANCE', retainUntil: '2099-01-01T00:00:00.000Z' } },
  } as unknown as Manifest;

  it('says what the manifest says, and that a locked backup cannot be deleted yet', () => {
    const protection = protectionOfManifest(manifest);
    expect(protection).toEqual({ encryption: { keyId: '0123456789abcdef' }, compression: 'zstd', lock: { mode: 'compliance', until: '2099-01-01T00:00:00.000Z' } });
    expect(protectionOfManifest({ volumes: [] } as unknown as Manifest)).toBeUndefined();
    expect(lockedReason(protection)).toBe('it is locked (object lock, compliance mode) until 2099-01-01T00:00:00.000Z');
    expect(lockedReason({ lock: { mode: 'governance', until: '2020-01-01T00:00:00.000Z' } })).toBeUndefined();
    const summary = { id: 'b', entityRef: 'component:default/shop', cluster: 'c', namespace: 'n', target: 't', kind: 'full' as const, phase: 'Completed' as const, trigger: { type: 'kubernetes' as const }, createdAt: '2026-01-01T00:00:00.000Z' };
    const detail = toBackupDetail({ summary, status: { phase: 'Completed', protection } });
    expect(detail.protection).toEqual(protection);
    expect(detail.deletion).toEqual({ allowed: false, reason: 'it is locked (object lock, compliance mode) until 2099-01-01T00:00:00.000Z' });
  });

  it('maps a lock to 409 and a missing key to 503, keeping the message', () => {
    const locked = new ObjectLockedError({ key: 'k', until: new Date('2099-01-01T00:00:00Z'), mode: 'GOVERNANCE', what: 'backup b of shop' });
    expect(protectionError(locked)).toEqual(new ConflictError(locked.message));
    expect(locked.message).toBe('backup b of shop is locked (object lock, governance mode) until 2099-01-01T00:00:00.000Z and cannot be deleted before then');
    const missing = new KeyUnavailableError({ key: 'k', keyId: '0123456789abcdef', source: 'Secret f/k in cluster c', held: [] });
    expect(protectionError(missing)).toBeInstanceOf(ServiceUnavailableError);
    const other = new Error('x');
    expect(protectionError(other)).toBe(other);
  });

  it('starts a new chain when the target key changed or encryption was turned on', async () => {
    const idA = '1111111111111111';
    const idB = '2222222222222222';
    const repository = (current?: string) => ({
      keys: current ? { current: { id: current } } : undefined,
      listBackups: async () => ['b1'],
      readManifest: async () => ({ backupId: 'b1', volumes: [{ pvc: 'data', virtualSize: 10, protection: { encryption: { format: 'luks', keyId: idA } } }, { pvc: 'plain', virtualSize: 10 }] }),
      resolveChain: async () => [{}],
    });
    const claims = [{ pvc: 'data', sizeBytes: 10 }, { pvc: 'plain', sizeBytes: 10 }];
    const plan = (current?: string) =>
      chooseParents({ repository: repository(current) as never, app: 'a', claims, requested: 'Auto', fullEvery: 10 });
    expect((await plan(idA)).map(p => [p.type, p.reason])).toEqual([
      ['incremental', 'incremental on b1 (chain of 1)'],
      ['full', 'the target is encrypted now since b1'],
    ]);
    expect((await plan(idB))[0]).toMatchObject({ type: 'full', reason: `the target's encryption key changed (key id ${idA} → ${idB}) since b1` });
    expect((await plan(undefined))[0]).toMatchObject({ type: 'full', reason: 'the target is no longer encrypted since b1' });
  });

  it('stops before anything is written when the Secret lost the key of earlier backups, unless a full backup is asked for', async () => {
    const lost = new KeyUnavailableError({ key: 'apps/a/backups/b1/manifest.json', keyId: '1111111111111111', source: 'Secret f/k in cluster c', held: ['2222222222222222'] });
    const repository = {
      keys: { current: { id: '2222222222222222' } },
      listBackups: async () => ['b1'],
      readManifest: async () => {
        throw lost;
      },
    };
    const claims = [{ pvc: 'data', sizeBytes: 10 }];
    await expect(chooseParents({ repository: repository as never, app: 'a', claims, requested: 'Auto', fullEvery: 10 })).rejects.toThrow(
      `cannot choose the parents of this backup: ${lost.message}; or request a full backup to start a new chain with the current key`,
    );
    expect(await chooseParents({ repository: repository as never, app: 'a', claims, requested: 'Full', fullEvery: 10 })).toEqual([
      { pvc: 'data', type: 'full', reason: 'a full backup was requested' },
    ]);
  });
});
