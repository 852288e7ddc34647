import { randomBytes } from 'node:crypto';
import { newBackupId } from '../backupId';
import { digestOf } from '../digest/sha256';
import { IntegrityError, KeyUnavailableError } from '../errors';
import { ImageStore } from '../images/ImageStore';
import { layout } from '../layout';
import { AppLock } from '../operations/AppLock';
import { deleteBackup } from '../operations/deleteBackup';
import { collectGarbage } from '../operations/gc';
import { verifyRepository } from '../operations/verify';
import { Repository } from '../Repository';
import { IMAGE_INDEX_MEDIA_TYPE, type ImageIndex } from '../schema/imageIndex';
import type { Target } from '../target/Target';
import { testTargetKinds } from '../testing/testTargets';
import { writeTestVolume } from '../testing/testVolumes';
import { Keyring, RepositoryKey } from './RepositoryKeys';

jest.setTimeout(60_000);

const SOURCE = 'Secret ferry-system/backup-key';
const MARKER = 'MARKER-c2VjcmV0LWRhdGE';
const keyOld = RepositoryKey.from({ name: 'key', bytes: randomBytes(32).toString('base64') });
const keyNew = RepositoryKey.from({ name: 'key', bytes: randomBytes(32).toString('base64') });
const ring = (current: RepositoryKey, ...older: RepositoryKey[]) =>
  new Keyring({ keys: [current, ...older.map(k => RepositoryKey.from({ name: `old-${k.id}`, bytes: k.secret }))], current: current.name, source: SOURCE });

async function rawObjects(target: Target): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for await (const o of target.list('')) out.set(o.key, Buffer.from(await target.get(o.key)));
  return out;
}

/** One committed backup: a resource, a LUKS volume, an image index with a blob. */
async function backUp(repo: Repository, app = 'shop') {
  const backupId = newBackupId();
  const yaml = await repo.putBackupObject({ app, backupId, path: 'resources/v1/Secret/db.yaml', data: `kind: Secret\nstringData: {password: ${MARKER}}\n` });
  const clusters = new Map([[0, Buffer.alloc(65536, `${MARKER} volume data `)], [5, randomBytes(65536)]]);
  const record = await writeTestVolume({ repo, app, pvc: 'data', backupId, clusters });
  const store = new ImageStore(repo);
  const blob = Buffer.from(`{"config":"${MARKER}"}`);
  const { digest } = await store.ensureBlobBytes(blob);
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: IMAGE_INDEX_MEDIA_TYPE,
    annotations: { 'io.ferry.app': app, 'io.ferry.backup-id': backupId, 'io.ferry.created': new Date().toISOString() },
    manifests: [{ reference: 'x', canonical: 'docker.io/library/x:1', mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: blob.length, manifests: [], blobs: [] }],
  };
  const images = await store.writeIndex(index);
  const lock = await AppLock.acquire({ target: repo.target, app });
  const manifest = await repo.commitBackup({ app, backupId, lock, volumes: [{ pvc: 'data', record }], images });
  await lock.release();
  return { backupId, yaml, record, manifest, blob, digest };
}

describe.each(testTargetKinds())('encrypted repository on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('seals every object but ferry.json, the lease and the LUKS images; reads, lists and verifies in plaintext', async () => {
    const target = await kind.make();
    const repo = await Repository.open(target, { create: true, keys: ring(keyNew) });
    const b = await backUp(repo);
    expect(b.manifest.protection).toEqual({ encryption: { keyId: keyNew.id, envelope: 1 } });
    expect(b.manifest.volumes[0].protection).toEqual({ encryption: { format: 'luks', keyId: keyNew.id } });

    const raw = await rawObjects(target);
    expect(raw.size).toBeGreaterThanOrEqual(9);
    // nothing of the backup is readable without the key (not the Secret, not the volume, not the
    // image config); everything but ferry.json and the LUKS image is sealed with the current key
    const seen = [...raw].map(([key, bytes]) => [
      key,
      bytes.includes(MARKER),
      bytes.subarray(0, 8).toString() === 'FERRYENV' ? bytes.subarray(12, 20).toString('hex') : 'clear',
    ]);
    const clear = (key: string) => ['ferry.json', 'ferry.encrypted.json'].includes(key) || key.endsWith('.qcow2');
    expect(seen).toEqual([...raw.keys()].map(key => [key, false, clear(key) ? 'clear' : keyNew.id]));
    expect(raw.has('ferry.encrypted.json')).toBe(true);
    // blobs keep their plaintext digest as name (deduplication), the bytes are sealed
    expect(raw.has(layout.imageBlob(b.digest))).toBe(true);

    // plaintext sizes through head and list, as the refs record them
    expect((await repo.target.head(b.yaml.key))?.size).toBe(b.yaml.size);
    const listed = new Map<string, number>();
    for await (const o of repo.target.list('apps/')) listed.set(o.key, o.size);
    expect(listed.get(b.record.key)).toBe(b.record.size);
    expect(raw.get(b.record.key)!.length).toBeGreaterThan(b.record.size);

    expect((await repo.readManifest('shop', b.backupId)).backupId).toBe(b.backupId);
    expect(Buffer.from(await repo.getVerified(b.yaml)).toString()).toContain(MARKER);
    expect((await new ImageStore(repo).getBlob(b.digest, b.blob.length)).equals(b.blob)).toBe(true);
    const report = await verifyRepository(repo, { app: 'shop' });
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    // a second backup stores the same blob once (its name is the plaintext digest)
    expect(await new ImageStore(repo).ensureBlobBytes(b.blob)).toEqual({ digest: b.digest, stored: false });
    await target.close();
  });

  it('without the key, or with a wrong one, names the key id expected and the Secret; a rotated keyring reads old and new backups', async () => {
    const target = await kind.make();
    const before = await backUp(await Repository.open(target, { create: true, keys: ring(keyOld) }));

    const keyless = await Repository.open(target);
    await expect(keyless.readManifest('shop', before.backupId)).rejects.toThrow(
      new KeyUnavailableError({ key: layout.manifest('shop', before.backupId), keyId: keyOld.id }),
    );
    // nor does a writer without the key store anything in the clear among the sealed objects
    const refusal = `${target.description} holds encrypted backups (ferry.encrypted.json): writing objects in the clear there is refused; give the repository's keys (the target's encryption key Secret, or --encryption-key-dir)`;
    await expect(keyless.putBackupObject({ app: 'shop', backupId: newBackupId(), path: 'x.yaml', data: 'x' })).rejects.toThrow(refusal);
    await expect(new ImageStore(keyless).ensureBlobBytes(Buffer.from('a plain blob'))).rejects.toThrow(refusal);
    const wrong = await Repository.open(target, { keys: ring(keyNew) });
    const err = await wrong.readManifest('shop', before.backupId).catch(e => e);
    expect(err).toBeInstanceOf(KeyUnavailableError);
    expect(err.message).toBe(
      `object ${layout.manifest('shop', before.backupId)} is encrypted with key id ${keyOld.id}, which ${SOURCE} does not hold (it holds ${keyNew.id}): put the key that was used back into it, under any data key name`,
    );

    // rotation: the Secret gets a new current key and keeps the old one under another name
    const rotated = await Repository.open(target, { keys: ring(keyNew, keyOld) });
    const after = await backUp(rotated);
    expect(after.manifest.protection?.encryption?.keyId).toBe(keyNew.id);
    expect((await rotated.readManifest('shop', before.backupId)).protection?.encryption?.keyId).toBe(keyOld.id);
    expect((await verifyRepository(rotated, { app: 'shop' })).ok).toBe(true);
    // the old key alone reads the old backup, not the new one
    const oldOnly = await Repository.open(target, { keys: ring(keyOld) });
    expect((await oldOnly.readManifest('shop', before.backupId)).backupId).toBe(before.backupId);
    await expect(oldOnly.readManifest('shop', after.backupId)).rejects.toThrow(new RegExp(`key id ${keyNew.id}`));

    // delete and gc work across keys: the old backup goes, the new one stays readable
    const lock = await AppLock.acquire({ target: rotated.target, app: 'shop' });
    await deleteBackup(rotated, { app: 'shop', backupId: before.backupId, lock });
    await collectGarbage(rotated, { app: 'shop', graceMs: 0, now: new Date(Date.now() + 1000) });
    await lock.release();
    expect(await rotated.listBackups('shop')).toEqual([after.backupId]);
    expect((await verifyRepository(rotated, { app: 'shop' })).ok).toBe(true);
    await target.close();
  });

  it('detects a changed, replaced or moved object, and refuses objects in the clear unless told to read them', async () => {
    const target = await kind.make();
    const repo = await Repository.open(target, { create: true, keys: ring(keyNew) });
    const a = await backUp(repo);
    const b = await backUp(repo);
    const flipped = Buffer.from(await target.get(a.yaml.key));
    flipped[flipped.length - 20] ^= 0x40;
    await target.put(a.yaml.key, flipped);
    await expect(repo.getVerified(a.yaml)).rejects.toThrow(/envelope segment 0 failed authentication/);
    expect((await verifyRepository(repo, { app: 'shop', backupIds: [a.backupId] })).problems).toEqual([
      { backupId: a.backupId, key: a.yaml.key, problem: expect.stringMatching(/failed authentication/) },
    ]);
    // b's manifest copied over a's: sealed for another name, it does not open
    await target.put(layout.manifest('shop', a.backupId), await target.get(layout.manifest('shop', b.backupId)));
    await expect(repo.readManifest('shop', a.backupId)).rejects.toBeInstanceOf(IntegrityError);
    // a forged manifest in the clear is refused while the target is encrypted
    const forged = JSON.stringify({ ...b.manifest, objects: [] });
    await target.put(layout.manifest('shop', b.backupId), forged);
    await expect(repo.readManifest('shop', b.backupId)).rejects.toThrow(/is not encrypted, but Secret ferry-system\/backup-key is configured/);
    const migrating = await Repository.open(target, { keys: ring(keyNew), readUnencrypted: true });
    expect((await migrating.readManifest('shop', b.backupId)).objects).toEqual([]);
    // a volume record of an image in the clear is refused on an encrypted target
    const plainRepo = await Repository.open(await kind.make(), { create: true });
    const id = newBackupId();
    const plainRecord = await writeTestVolume({ repo: plainRepo, app: 'shop', pvc: 'data', backupId: id, clusters: new Map([[0, Buffer.alloc(65536, 1)]]) });
    const record = JSON.parse(Buffer.from(await plainRepo.getVerified(plainRecord)).toString());
    await expect(repo.putRecord(record)).rejects.toThrow(/is not encrypted, but Secret ferry-system\/backup-key is configured for this target/);
    expect(digestOf(Buffer.from(JSON.stringify(record, null, 2)))).toBe(plainRecord.digest);
    await plainRepo.target.close();
    await target.close();
  });
});
