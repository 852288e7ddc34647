import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../binaries';
import { makeWorkDir, sha256Hex } from './blobStore';
import { debianRootLayer } from './debianBase';
import { assembleImage, defaultPath, Image } from './image';
import { cachedLayer, layerFromDirectory } from './layer';

const datamoverDir = () => path.join(repoRoot, 'packages', 'datamover');

/**
 * Node options of the datamover's launcher (bench:datamover runs the CLI with them too): V8's
 * young generation capped at 1 MiB per semi-space instead of growing to 8 MiB, so short-lived
 * objects, and the HTTP body chunks of an S3 restore they keep alive, are collected sooner
 * (see the datamover README, "Memory").
 */
export const datamoverNodeOptions = ['--max-semi-space-size=1'];

/** The launcher the datamover Dockerfile writes to /usr/local/bin/ferry-datamover (same bytes). */
export const datamoverLauncher = `#!/bin/sh\nexec node ${datamoverNodeOptions.join(' ')} /opt/ferry/ferry-datamover.cjs "$@"\n`;

/** The Node binary the project runs on (node@22 from npm, see scripts/node-env.sh), i.e. this process's. */
function nodeBinary(): string {
  return fs.realpathSync(process.execPath);
}

/** packages/datamover/dist/ferry-datamover.cjs, bundled first when missing or older than its sources. */
function datamoverBundle(): string {
  const dir = datamoverDir();
  const bundle = path.join(dir, 'dist', 'ferry-datamover.cjs');
  const sources = ['datamover', 'repository', 'qcow2'].map(p => path.join(repoRoot, 'packages', p, 'src'));
  const newest = (folder: string): number => {
    let latest = 0;
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
    }
    return latest;
  };
  if (!fs.existsSync(bundle) || Math.max(...sources.map(newest)) > fs.statSync(bundle).mtimeMs) {
    try {
      execFileSync('bash', [path.join(dir, 'scripts', 'bundle.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
      throw new Error(`could not bundle the datamover for its image (packages/datamover/scripts/bundle.sh): ${stderr || (error as Error).message}`);
    }
  }
  return bundle;
}

/**
 * The datamover image, with the contents of packages/datamover/Dockerfile: Debian bookworm
 * (minbase, slim-trimmed), Node 22 at /usr/local/bin/node, the bundled CLI at
 * /opt/ferry/ferry-datamover.cjs and its launcher at /usr/local/bin/ferry-datamover, entrypoint
 * `ferry-datamover`. Three layers (Debian, Node, CLI), each cached by the digest of its inputs, so
 * a change in the datamover's code rebuilds only the small top layer.
 */
export async function buildDatamoverImage(): Promise<{ image: Image; cached: boolean; nodeVersion: string }> {
  const base = await debianRootLayer();
  const node = nodeBinary();
  const nodeVersion = process.version;
  // Keyed by path, size and time (hashing 120 MB at every start would cost most of a second).
  const stat = fs.statSync(node);
  const nodeLayer = await cachedLayer(`node-${sha256Hex(`${node}:${stat.size}:${stat.mtimeMs}:${nodeVersion}`)}`, async () => {
    const work = makeWorkDir('node');
    try {
      fs.mkdirSync(path.join(work, 'usr/local/bin'), { recursive: true });
      fs.copyFileSync(node, path.join(work, 'usr/local/bin/node'));
      fs.chmodSync(path.join(work, 'usr/local/bin/node'), 0o755);
      return await layerFromDirectory(work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const bundle = fs.readFileSync(datamoverBundle());
  const cliLayer = await cachedLayer(`datamover-${sha256Hex(Buffer.concat([bundle, Buffer.from(datamoverLauncher)]))}`, async () => {
    const work = makeWorkDir('datamover');
    try {
      fs.mkdirSync(path.join(work, 'opt/ferry'), { recursive: true });
      fs.mkdirSync(path.join(work, 'usr/local/bin'), { recursive: true });
      fs.writeFileSync(path.join(work, 'opt/ferry/ferry-datamover.cjs'), bundle, { mode: 0o644 });
      fs.writeFileSync(path.join(work, 'usr/local/bin/ferry-datamover'), datamoverLauncher, { mode: 0o755 });
      return await layerFromDirectory(work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const image = assembleImage([base, nodeLayer, cliLayer], { Entrypoint: ['ferry-datamover'], Env: [`PATH=${defaultPath}`] });
  return { image, cached: base.cached && nodeLayer.cached && cliLayer.cached, nodeVersion };
}
