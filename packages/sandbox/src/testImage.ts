import fs from 'node:fs';
import path from 'node:path';
import { makeWorkDir } from './images/blobStore';
import { assembleImage } from './images/image';
import { layerFromDirectory } from './images/layer';
import { PushedImage, pushImage } from './images/push';
import type { Registry } from './registry';

export type PushTestImageOptions = {
  /** Repository in the registry, e.g. `demo/web`. */
  repository: string;
  /** Default `1.0`. */
  tag?: string;
  /** Files of the single layer: path inside the image → content. Default: `/etc/ferry-demo`. */
  files?: Record<string, string | Buffer>;
};

export type { PushedImage };

/**
 * Pushes a small single-layer OCI image (gzip tar layer made with GNU tar, deterministic) into a
 * registry through the distribution API, so image backup and restore have something real to copy
 * without reaching the internet. Built with the sandbox's image builder (src/images/).
 */
export async function pushTestImage(registry: Registry, options: PushTestImageOptions): Promise<PushedImage> {
  const tag = options.tag ?? '1.0';
  const files = options.files ?? { '/etc/ferry-demo': `${options.repository}:${tag}\n` };
  const work = makeWorkDir('test-image');
  try {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(work, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, content);
    }
    const layer = await layerFromDirectory(work);
    const image = assembleImage([layer], { Cmd: ['/bin/sh'] });
    return await pushImage(registry, image, { repository: options.repository, tag });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
