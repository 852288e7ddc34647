import type { Registry } from '../registry';
import { buildDatamoverImage } from './datamoverImage';
import { buildDemoPostgresImage, buildDemoWebImage } from './demoImages';
import type { Image } from './image';
import { buildPauseImage } from './pauseImage';
import { pushImage } from './push';
import { seedRegistryStorage, SeedEntry } from './registryStorage';

export type SandboxImages = {
  /** The pause image (containerd's sandbox_image). */
  pause: string;
  /** The datamover image (packages/datamover/Dockerfile's contents), tag `dev`. */
  datamover: string;
  /** Its manifest digest (`<repository>@<digest>` pins it). */
  datamoverDigest: string;
  /** The demo app's images (src/images/demoImages.ts): PostgreSQL 15 and a busybox httpd, tag `1.0`. */
  demo: { db: string; web: string };
};

type SandboxImageEntries = { pause: SeedEntry; datamover: SeedEntry; demoDb: SeedEntry; demoWeb: SeedEntry };
export type BuiltSandboxImages = { entries: SandboxImageEntries; summary: string };

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const describe = (image: Image) => `${mib(image.size)}, ${mib(image.compressedSize)} compressed`;

/** Builds the images a real node needs (once: every layer is cached by the digest of its inputs). */
export async function buildSandboxImages(): Promise<BuiltSandboxImages> {
  const started = Date.now();
  const pause = await buildPauseImage();
  const datamover = await buildDatamoverImage();
  const demoDb = await buildDemoPostgresImage();
  const demoWeb = await buildDemoWebImage();
  const cached = pause.cached && datamover.cached && demoDb.cached && demoWeb.cached;
  return {
    entries: {
      pause: { image: pause.image, repository: 'ferry/pause', tag: pause.tag },
      datamover: { image: datamover.image, repository: 'ferry/datamover', tag: 'dev' },
      demoDb: { image: demoDb.image, repository: 'demo/db', tag: '1.0' },
      demoWeb: { image: demoWeb.image, repository: 'demo/web', tag: '1.0' },
    },
    summary:
      `${cached ? 'from the cache' : 'built'} in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `ferry/pause:${pause.tag} (${describe(pause.image)}), ferry/datamover:dev (${describe(datamover.image)}, Node ${datamover.nodeVersion}), ` +
      `demo/db:1.0 (PostgreSQL 15, ${describe(demoDb.image)}), demo/web:1.0 (${describe(demoWeb.image)})`,
  };
}

/** Lays the images into the registry's storage before it starts (see registryStorage.ts). */
export function seedSandboxImages(storageDir: string, built: BuiltSandboxImages): void {
  seedRegistryStorage(storageDir, Object.values(built.entries));
}

/**
 * References of the images in the running registry. Each manifest is checked with a HEAD; one the
 * registry does not serve (storage not seeded, or a registry whose layout differs) is pushed
 * through the distribution API instead.
 */
export async function sandboxImageReferences(registry: Registry, built: BuiltSandboxImages, log: (message: string) => void): Promise<SandboxImages> {
  const headers: Record<string, string> = registry.auth
    ? { authorization: `Basic ${Buffer.from(`${registry.auth.username}:${registry.auth.password}`).toString('base64')}` }
    : {};
  const reference = async ({ image, repository, tag }: SeedEntry) => {
    const head = await fetch(`${registry.url}/v2/${repository}/manifests/${tag}`, {
      method: 'HEAD',
      headers: { ...headers, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    if (head.status !== 200 || head.headers.get('docker-content-digest') !== image.digest) {
      log(`Registry does not serve the seeded ${repository}:${tag} (HTTP ${head.status}): pushing it`);
      await pushImage(registry, image, { repository, tag });
    }
    return `${registry.host}/${repository}:${tag}`;
  };
  const { pause, datamover, demoDb, demoWeb } = built.entries;
  return {
    pause: await reference(pause),
    datamover: await reference(datamover),
    datamoverDigest: datamover.image.digest,
    demo: { db: await reference(demoDb), web: await reference(demoWeb) },
  };
}
