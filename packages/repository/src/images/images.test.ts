import { AppLock } from '../operations/AppLock';
import { Repository } from '../Repository';
import { digestOf } from '../digest/sha256';
import { layout } from '../layout';
import { IMAGE_INDEX_MEDIA_TYPE, type ImageIndex } from '../schema/imageIndex';
import { manifestSchema } from '../schema/manifest';
import { newBackupId } from '../backupId';
import { testTargetKinds } from '../testing/testTargets';
import { ImageStore } from './ImageStore';
import { collectImageGarbage } from './collectImageGarbage';
import { verifyRepository } from '../operations/verify';

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}

describe.each(testTargetKinds())('image store on a $name target', kind => {
  beforeAll(() => kind.setup(), 60_000);
  afterAll(() => kind.teardown());

  it('never stores a blob under a wrong digest; stores a right one once', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const store = new ImageStore(repo);
    const good = digestOf('hello world');
    await expect(store.ensureBlob({ digest: good, size: 11, open: async () => chunks('hello', ' w0rld') })).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(store.ensureBlob({ digest: good, size: 11, open: async () => chunks('hello world!') })).rejects.toMatchObject({ code: 'INTEGRITY' });
    expect(await repo.target.head(layout.imageBlob(good))).toBeUndefined();
    let opened = 0;
    const open = async () => {
      opened++;
      return chunks('hello', ' world');
    };
    expect(await store.ensureBlob({ digest: good, size: 11, open })).toEqual({ stored: true });
    expect(await store.ensureBlob({ digest: good, size: 11, open })).toEqual({ stored: false });
    expect(opened).toBe(1);
    expect((await store.getBlob(good, 11)).toString()).toBe('hello world');
    let incomplete = 0;
    for await (const _ of repo.target.listIncomplete('images/')) incomplete++;
    expect(incomplete).toBe(0);
  });

  it('commit records the image index; readIndex checks it; a manifest without images still parses', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const store = new ImageStore(repo);
    const app = 'shop';
    const backupId = newBackupId();
    const { digest } = await store.ensureBlobBytes(Buffer.from('{"manifest":1}'));
    const index: ImageIndex = {
      schemaVersion: 2,
      mediaType: IMAGE_INDEX_MEDIA_TYPE,
      annotations: { 'io.ferry.app': app, 'io.ferry.backup-id': backupId, 'io.ferry.created': new Date().toISOString() },
      manifests: [{ reference: 'x', canonical: 'docker.io/library/x:latest', mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 14, manifests: [], blobs: [] }],
    };
    const ref = await store.writeIndex(index);
    const lock = await AppLock.acquire({ target: repo.target, app });
    const m = await repo.commitBackup({ app, backupId, lock, images: ref });
    await lock.release();
    expect(m.images).toEqual(ref);
    expect((await store.readIndex(app, backupId)).index).toEqual(index);
    await expect(store.writeIndex(index)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const { images: _, ...old } = m;
    expect(manifestSchema.parse(old).images).toBeUndefined();
    // nothing unreferenced: gc keeps the blob even with no grace
    expect((await collectImageGarbage(repo, { graceMs: 0, now: new Date(Date.now() + 1000) })).deletedBlobs).toEqual([]);
  });

  it('verify checks the image index and every blob it names: a changed byte, a missing blob', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const store = new ImageStore(repo);
    const app = 'shop';
    const backupId = newBackupId();
    const manifest = Buffer.from('{"manifest":2}');
    const layer = Buffer.from('layer bytes');
    const { digest } = await store.ensureBlobBytes(manifest);
    const { digest: layerDigest } = await store.ensureBlobBytes(layer);
    const ref = await store.writeIndex({
      schemaVersion: 2,
      mediaType: IMAGE_INDEX_MEDIA_TYPE,
      annotations: { 'io.ferry.app': app, 'io.ferry.backup-id': backupId, 'io.ferry.created': new Date().toISOString() },
      manifests: [
        {
          reference: 'web:1',
          canonical: 'docker.io/library/web:1',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest,
          size: manifest.length,
          manifests: [],
          blobs: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
        },
      ],
    });
    const lock = await AppLock.acquire({ target: repo.target, app });
    await repo.commitBackup({ app, backupId, lock, images: ref });
    await lock.release();
    const verified = await verifyRepository(repo, { app });
    expect(verified.problems).toEqual([]);
    expect(verified.bytesChecked).toBeGreaterThanOrEqual(manifest.length + layer.length);

    await repo.target.put(layout.imageBlob(layerDigest), Buffer.from('layer bytez'));
    expect((await verifyRepository(repo, { app })).problems).toEqual([
      { backupId, key: layout.imageBlob(layerDigest), problem: expect.stringMatching(/digest|sha-?256|integrity/i) },
    ]);
    // a shallow check looks at presence and size only
    expect((await verifyRepository(repo, { app, shallow: true })).ok).toBe(true);
    await repo.target.delete(layout.imageBlob(layerDigest));
    expect((await verifyRepository(repo, { app, shallow: true })).problems).toEqual([
      { backupId, key: layout.imageBlob(layerDigest), problem: 'image blob is missing' },
    ]);
  });
});
