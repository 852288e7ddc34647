import { promises as fs } from 'node:fs';
import {
  AppLock,
  ImageStore,
  Repository,
  collectGarbage,
  collectImageGarbage,
  deleteBackup,
  layout,
  newBackupId,
  type ObjectRef,
} from '@ferry/repository';
import { testTargetKinds } from '@ferry/repository/src/testing/testTargets';
import { startRegistry, type Registry } from '@ferry/sandbox/src/registry';
import { pushTestImage, type PushedImage } from '@ferry/sandbox/src/testImage';
import { readDockerConfigFile } from '../oci/dockerConfig';
import { RegistryClient } from '../oci/RegistryClient';
import { objectFile } from '../testing/objectFile';
import { pushTwoPlatformImage, rawRegistry, sha256, writeDockerConfig } from '../testing/images';
import { backupImages, type ImageBackupResult } from './backupImages';
import { parsePlatforms } from './platforms';
import { restoreImages } from './restoreImages';

jest.setTimeout(180_000);

const auth = { username: 'ferry', password: 's3cret-pass' };

async function commit(repo: Repository, app: string, backupId: string, images: ObjectRef) {
  const lock = await AppLock.acquire({ target: repo.target, app });
  try {
    return await repo.commitBackup({ app, backupId, lock, images });
  } finally {
    await lock.release();
  }
}

async function backupAndCommit(repo: Repository, client: RegistryClient, app: string, images: string[]) {
  const backupId = newBackupId();
  const r = await backupImages({ repo, app, backupId, images, client });
  await commit(repo, app, backupId, r.index);
  return r;
}

describe.each(testTargetKinds())('image backup and restore on a $name target', kind => {
  let open: Registry; // no auth
  let secured: Registry; // htpasswd (Basic)
  let web: PushedImage;
  let db: PushedImage;
  let multi: Awaited<ReturnType<typeof pushTwoPlatformImage>>;
  let client: RegistryClient;
  const registries: Registry[] = [];
  const newRegistry = async (withAuth: boolean) => {
    const r = await startRegistry(withAuth ? { auth } : {});
    registries.push(r);
    return r;
  };

  beforeAll(async () => {
    await kind.setup();
    open = await newRegistry(false);
    secured = await newRegistry(true);
    web = await pushTestImage(open, { repository: 'demo/web', tag: '1.0' });
    db = await pushTestImage(secured, { repository: 'team/db', tag: '2.0', files: { '/etc/db': 'db\n'.repeat(1000) } });
    multi = await pushTwoPlatformImage(open, { repository: 'demo/multi', tag: '3.0' });
  }, 120_000);
  afterAll(async () => {
    for (const r of registries) await r.stop();
    await kind.teardown();
  });

  const clientFor = async (...extra: Registry[]) =>
    new RegistryClient({ credentials: await readDockerConfigFile(await writeDockerConfig(kind.scratch, [secured, ...extra])) });

  it('backs up two images (one behind Basic auth) once, a second backup stores nothing new, restore is digest-exact', async () => {
    client = await clientFor();
    const repo = await Repository.open(await kind.make(), { create: true });
    const first = await backupAndCommit(repo, client, 'shop', [web.reference, db.reference]);
    expect(first.images.map(i => i.error)).toEqual([undefined, undefined]);
    expect(first.images.map(i => i.digest)).toEqual([web.digest, db.digest]);
    expect(first.images.every(i => i.blobs === 2 && i.newBytes === i.bytes && i.bytes > 0)).toBe(true);
    const store = new ImageStore(repo);
    for (const digest of [...web.blobs, ...db.blobs, web.digest, db.digest]) {
      const key = layout.imageBlob(digest);
      const info = await repo.target.head(key);
      expect(info).toBeDefined();
      expect(sha256(await repo.target.get(key))).toBe(digest);
      expect(await store.hasBlob(digest, info!.size)).toBe(true);
    }
    let blobCount = 0;
    for await (const _ of repo.target.list(layout.imageBlobsPrefix())) blobCount++;
    expect(blobCount).toBe(6);

    const second = await backupAndCommit(repo, client, 'shop', [web.reference, db.reference]);
    expect(second.images.map(i => i.newBytes)).toEqual([0, 0]);
    expect(second.stats.newBytes).toBe(0);
    blobCount = 0;
    for await (const _ of repo.target.list(layout.imageBlobsPrefix())) blobCount++;
    expect(blobCount).toBe(6);
    const { index } = await store.readIndex('shop', second.backupId);
    expect(index.manifests.map(e => e.canonical)).toEqual([web.reference, db.reference]);

    // restore into an empty registry that needs credentials
    const dest = await newRegistry(true);
    const destClient = await clientFor(dest);
    const r = await restoreImages({ repo, app: 'shop', backupId: second.backupId, client: destClient, registry: dest.host, repository: 'restored/shop' });
    expect(r.images).toEqual([
      { original: web.reference, restored: `${dest.host}/restored/shop/web:1.0`, digest: web.digest, tagChanged: false, pushedBlobs: 2, skippedBlobs: 0 },
      { original: db.reference, restored: `${dest.host}/restored/shop/db:2.0`, digest: db.digest, tagChanged: false, pushedBlobs: 2, skippedBlobs: 0 },
    ]);
    const raw = rawRegistry(dest);
    for (const [repoName, tag, image] of [['restored/shop/web', '1.0', web], ['restored/shop/db', '2.0', db]] as const) {
      expect((await raw.manifest(repoName, tag))!.digest).toBe(image.digest);
      for (const b of image.blobs) expect(await raw.blobDigest(repoName, b)).toBe(b);
    }
    // the same restore again pushes nothing
    const again = await restoreImages({ repo, app: 'shop', backupId: second.backupId, client: destClient, registry: dest.host, repository: 'restored/shop' });
    expect(again.images.map(i => [i.pushedBlobs, i.tagChanged])).toEqual([[0, false], [0, false]]);

    // a tag holding another image: a new tag, unless override
    const other = await pushTestImage(dest, { repository: 'clash/web', tag: '1.0', files: { '/other': 'x' } });
    const clash = await restoreImages({ repo, app: 'shop', backupId: second.backupId, client: destClient, registry: dest.host, repository: 'clash', images: [web.reference] });
    const suffix = second.backupId.slice(-6);
    expect(clash.images[0]).toMatchObject({ restored: `${dest.host}/clash/web:1.0-ferry-${suffix}`, tagChanged: true, digest: web.digest });
    expect((await raw.manifest('clash/web', '1.0'))!.digest).toBe(other.digest);
    expect((await raw.manifest('clash/web', `1.0-ferry-${suffix}`))!.digest).toBe(web.digest);
    const overridden = await restoreImages({ repo, app: 'shop', backupId: second.backupId, client: destClient, registry: dest.host, repository: 'clash', images: [web.reference], overrideIfExist: true });
    expect(overridden.images[0]).toMatchObject({ restored: `${dest.host}/clash/web:1.0`, tagChanged: false });
    expect((await raw.manifest('clash/web', '1.0'))!.digest).toBe(web.digest);
  });

  it('round-trips a two-platform index, whole or restricted to one platform', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const whole = await backupAndCommit(repo, client, 'multi', [multi.reference]);
    expect(whole.images[0]).toMatchObject({ digest: multi.digest, mediaType: 'application/vnd.oci.image.index.v1+json', blobs: 4 });
    const backupId = newBackupId();
    const armOnly = await backupImages({ repo, app: 'multi', backupId, images: [multi.reference], client, platforms: parsePlatforms(['linux/arm64']) });
    await commit(repo, 'multi', backupId, armOnly.index);
    const { index } = await new ImageStore(repo).readIndex('multi', backupId);
    expect(index.manifests[0]).toMatchObject({ sourceDigest: multi.digest, platforms: ['linux/arm64'] });
    expect(index.manifests[0].manifests.map(m => m.digest)).toEqual([multi.children[1].image.digest]);

    const dest = await newRegistry(false);
    const raw = rawRegistry(dest);
    const r1 = await restoreImages({ repo, app: 'multi', backupId: whole.backupId, client, registry: dest.host, repository: 'all' });
    expect(r1.images[0]).toMatchObject({ restored: `${dest.host}/all/multi:3.0`, digest: multi.digest, pushedBlobs: 4 });
    const pushed = await raw.manifest('all/multi', '3.0');
    expect(pushed!.digest).toBe(multi.digest);
    for (const c of multi.children) {
      expect((await raw.manifest('all/multi', c.image.digest))!.digest).toBe(c.image.digest);
      for (const b of c.image.blobs) expect(await raw.blobDigest('all/multi', b)).toBe(b);
    }
    const r2 = await restoreImages({ repo, app: 'multi', backupId, client, registry: dest.host, repository: 'arm' });
    const arm = await raw.manifest('arm/multi', '3.0');
    expect(arm!.digest).toBe(index.manifests[0].digest);
    expect(r2.images[0].digest).toBe(arm!.digest);
    expect(arm!.json.manifests).toHaveLength(1);
  });

  it('reports an unreachable registry and an unknown repository per image; the others are backed up', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const gone = await startRegistry();
    await gone.stop();
    const r = await backupImages({
      repo,
      app: 'shop',
      backupId: newBackupId(),
      client,
      images: [`${gone.host}/demo/web:1.0`, web.reference, `${open.host}/demo/missing:1.0`, `${secured.host}/team/db:9.9`],
    });
    expect(r.images.map(i => i.code)).toEqual(['REGISTRY_UNREACHABLE', undefined, 'REGISTRY_NOT_FOUND', 'REGISTRY_NOT_FOUND']);
    expect(r.images[0].error).toContain(gone.host);
    expect(r.images[2].error).toContain('demo/missing');
    expect(r.stats).toMatchObject({ images: 1, failed: 3 });
    const index = await new ImageStore(repo).readIndexRef(r.index);
    expect(index.manifests.map(e => e.digest)).toEqual([web.digest]);
    // every image failing is an error carrying the per-image outcomes
    const all = backupImages({ repo, app: 'shop', backupId: newBackupId(), client, images: [`${gone.host}/a/b:1`] });
    await expect(all).rejects.toMatchObject({ code: 'IMAGES_FAILED', exitCode: 22 });
    // without credentials the secured registry says so
    const anonymous = await backupImages({ repo, app: 'shop', backupId: newBackupId(), client: new RegistryClient(), images: [db.reference, web.reference] });
    expect(anonymous.images[0]).toMatchObject({ code: 'REGISTRY_UNAUTHORIZED' });
    expect(anonymous.images[0].error).toContain('needs credentials');
  });

  it('detects a corrupted stored blob on restore, naming its digest', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const r = await backupAndCommit(repo, client, 'shop', [db.reference, web.reference]);
    const layer = db.blobs[1];
    const file = objectFile(repo.target, layout.imageBlob(layer), kind.server?.dataDir);
    const bytes = await fs.readFile(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    await fs.writeFile(file, bytes);
    const dest = await newRegistry(false);
    const out = await restoreImages({ repo, app: 'shop', backupId: r.backupId, client, registry: dest.host, repository: 'x' });
    expect(out.images[0]).toMatchObject({ code: 'INTEGRITY' });
    expect(out.images[0].error).toContain(layer.slice('sha256:'.length));
    expect(out.images[1]).toMatchObject({ digest: web.digest, pushedBlobs: 2 });
    expect(await rawRegistry(dest).manifest('x/db', '2.0')).toBeUndefined();
    // only the damaged image chosen: every image failed
    await expect(
      restoreImages({ repo, app: 'shop', backupId: r.backupId, client, registry: dest.host, repository: 'y', images: [db.reference] }),
    ).rejects.toMatchObject({ code: 'IMAGES_FAILED' });
  });

  it('delete + gc: blobs another backup (of another app) names stay, unreferenced ones go, young ones wait', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const shop = await backupAndCommit(repo, client, 'shop', [web.reference, db.reference]);
    const other = await backupAndCommit(repo, client, 'other', [web.reference]);
    // a crashed backup: index written, never committed
    const crashed = await backupImages({ repo, app: 'shop', backupId: newBackupId(), client, images: [multi.reference] });
    const lock = await AppLock.acquire({ target: repo.target, app: 'shop' });
    try {
      const del = await deleteBackup(repo, { app: 'shop', backupId: shop.backupId, lock });
      expect(del.deletedKeys).toContain(layout.imageIndex('shop', shop.backupId));
      expect(await repo.target.head(layout.imageIndex('shop', shop.backupId))).toBeUndefined();
      // within the grace period nothing goes
      const young = await collectImageGarbage(repo, {});
      expect(young.deletedBlobs).toEqual([]);
      const appGc = await collectGarbage(repo, { app: 'shop', graceMs: 0, now: new Date(Date.now() + 1000) });
      expect(appGc.deletedKeys).toContain(crashed.index.key);
    } finally {
      await lock.release();
    }
    const report = await collectImageGarbage(repo, { graceMs: 0, now: new Date(Date.now() + 1000) });
    const kept = [web.digest, ...web.blobs];
    const gone = [db.digest, ...db.blobs, multi.digest, ...multi.children.flatMap(c => [c.image.digest, ...c.image.blobs])];
    expect(report.deletedBlobs.sort()).toEqual(gone.map(d => layout.imageBlob(d)).sort());
    for (const d of kept) expect(await repo.target.head(layout.imageBlob(d))).toBeDefined();
    // the other app's backup still restores
    const dest = await newRegistry(false);
    const r = await restoreImages({ repo, app: 'other', backupId: other.backupId, client, registry: dest.host, repository: 'after-gc' });
    expect(r.images[0]).toMatchObject({ digest: web.digest, pushedBlobs: 2 });
  });

  it('commit refuses an image index naming a missing blob', async () => {
    const repo = await Repository.open(await kind.make(), { create: true });
    const backupId = newBackupId();
    const r: ImageBackupResult = await backupImages({ repo, app: 'shop', backupId, images: [web.reference], client });
    await repo.target.delete(layout.imageBlob(web.blobs[0]));
    await expect(commit(repo, 'shop', backupId, r.index)).rejects.toMatchObject({ code: 'INTEGRITY' });
  });
});
