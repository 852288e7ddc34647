import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sandboxVersions } from '../binaries';
import { makeWorkDir, sha256Hex } from './blobStore';
import { assembleImage, Image } from './image';
import { cachedLayer, layerFromDirectory } from './layer';

/** Folder of the pinned k8s.io/kubernetes module in Go's module cache (downloaded when missing). */
export function kubernetesModuleDir(): string {
  const version = sandboxVersions().kubernetes;
  const out = execFileSync('go', ['mod', 'download', '-json', `k8s.io/kubernetes@${version}`], { encoding: 'utf8' });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download did not name the folder of k8s.io/kubernetes@${version}`);
  return dir;
}

/**
 * The pause image, as Kubernetes builds it (build/pause): `pause.c` from the pinned
 * k8s.io/kubernetes module compiled with `gcc -Os -Wall -Werror -static`, alone at `/pause`,
 * user 65535, entrypoint `/pause`. The tag is the Makefile's TAG (e.g. 3.10.1).
 */
export async function buildPauseImage(): Promise<{ image: Image; tag: string; cached: boolean }> {
  const dir = path.join(kubernetesModuleDir(), 'build', 'pause');
  const source = fs.readFileSync(path.join(dir, 'linux', 'pause.c'));
  const tag = /^TAG \?= (\S+)/m.exec(fs.readFileSync(path.join(dir, 'Makefile'), 'utf8'))?.[1];
  if (!tag) throw new Error(`no TAG in ${dir}/Makefile`);
  const gcc = execFileSync('gcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  const flags = ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=v${tag}-ferry`];
  const layer = await cachedLayer(`pause-${sha256Hex(Buffer.concat([source, Buffer.from(gcc + flags.join(' '))]))}`, async () => {
    const work = makeWorkDir('pause');
    try {
      const root = path.join(work, 'root');
      fs.mkdirSync(root);
      execFileSync('gcc', [...flags, '-o', path.join(root, 'pause'), path.join(dir, 'linux', 'pause.c')], { stdio: ['ignore', 'ignore', 'pipe'] });
      execFileSync('strip', [path.join(root, 'pause')]);
      return await layerFromDirectory(root);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const image = assembleImage([layer], { Entrypoint: ['/pause'], User: '65535:65535' });
  return { image, tag, cached: layer.cached };
}
