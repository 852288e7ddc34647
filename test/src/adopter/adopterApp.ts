import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Env, runBash } from './shellBlocks';

const run = promisify(execFile);

/**
 * What the adopter test makes an app with, pinned: `@backstage/create-app` (the newest on the
 * registry when the test was written: Backstage 1.55.0's template, the new frontend system, Yarn
 * 4.13 inside the app) and the Yarn 1 that create-app wants on PATH before it starts.
 */
export const CREATE_APP_VERSION = '0.9.2';
export const YARN1_VERSION = '1.22.22';

/** `${FERRY_CACHE:-~/.cache/ferry}/adopter`: the tools above and Yarn's package cache. */
export function adopterCacheDir(): string {
  return join(process.env.FERRY_CACHE ?? join(homedir(), '.cache', 'ferry'), 'adopter');
}

/** Yarn 4's global folder (its `cache/` holds every package zip): downloads paid once per machine. */
export const yarnGlobalFolder = () => join(adopterCacheDir(), 'yarn-berry');

/**
 * Native binaries compiled by an earlier install, in the form prebuild-install downloads them
 * (`<name>-v<version>-node-v<abi>-<platform>-<arch>.tar.gz`). An adopter's better-sqlite3 fetches
 * its prebuilt binary from GitHub; here that cannot be reached, so the first install compiles it
 * (about 2 minutes on 2 shared cores) and keepPrebuilds() stores the result for the next ones.
 */
export const prebuildsDir = () => join(adopterCacheDir(), 'prebuilds');
const prebuilt = [{ name: 'better-sqlite3', binary: 'build/Release/better_sqlite3.node' }];

/** The prebuild-install asset name of a package version for the Node that runs this test. */
export const prebuildName = (name: string, version: string) =>
  `${name}-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;

/**
 * After an install: each native binary of `prebuilt` that the cache does not hold yet (for its
 * version and this Node's ABI) is packed as prebuild-install's asset. Returns what it stored and
 * what was there already.
 */
export async function keepPrebuilds(appDir: string): Promise<string[]> {
  const notes: string[] = [];
  await mkdir(prebuildsDir(), { recursive: true });
  for (const { name, binary } of prebuilt) {
    const dir = join(appDir, 'node_modules', name);
    if (!existsSync(join(dir, binary))) continue;
    const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string };
    const file = join(prebuildsDir(), prebuildName(name, version));
    // node-gyp leaves its Makefile; prebuild-install unpacks the binary alone.
    const compiled = existsSync(join(dir, 'build/Makefile'));
    if (!compiled) {
      notes.push(`${name} ${version}: ${existsSync(file) ? 'the prebuilt binary from the cache' : 'a prebuilt binary'}, not compiled`);
      continue;
    }
    if (existsSync(file)) {
      notes.push(`${name} ${version}: compiled although the cache holds its binary (prebuild-install did not take it)`);
      continue;
    }
    const temp = `${file}.tmp-${process.pid}`;
    await run('tar', ['-czf', temp, '-C', dir, binary]);
    await rename(temp, file);
    notes.push(`${name} ${version}: compiled; its binary kept for the next installs`);
  }
  return notes;
}

/** Number of package archives in Yarn's cache (0: a cold install). */
export function yarnCacheEntries(): number {
  const cache = join(yarnGlobalFolder(), 'cache');
  return existsSync(cache) ? readdirSync(cache).filter(f => f.endsWith('.zip')).length : 0;
}

/** `npm install` of one package into a cached prefix, once: made in a temporary folder, then renamed. */
async function cachedNpmInstall(options: { name: string; spec: string; global: boolean; env: Env }): Promise<string> {
  const dir = join(adopterCacheDir(), options.name);
  if (existsSync(dir)) return dir;
  await mkdir(adopterCacheDir(), { recursive: true });
  const temp = await mkdtemp(`${dir}.tmp-`);
  try {
    const args = ['install', '--no-audit', '--no-fund', '--prefix', temp, ...(options.global ? ['-g'] : []), options.spec];
    await run('npm', args, { env: options.env, maxBuffer: 16 * 1024 * 1024 });
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw new Error(`npm install ${options.spec} failed: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`);
  }
  return dir;
}

/**
 * The folder holding Node's headers (`include/node/node.h`) for the Node that runs this test, as
 * scripts/node-env.sh finds it: native modules of the app (better-sqlite3, keytar, cpu-features)
 * compile against it instead of downloading headers from the internet.
 */
export function nodeHeadersDir(): string | undefined {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = resolve(realpathSync(process.execPath), '../..');
  const candidates = [prefix, ...(existsSync(join(prefix, 'node_modules')) ? readdirSync(join(prefix, 'node_modules')).filter(n => n.startsWith('node-')).map(n => join(prefix, 'node_modules', n)) : [])];
  return candidates.find(c => existsSync(join(c, 'include/node/node.h')));
}

/**
 * The environment every step of the adopter runs in: this Node first on PATH with the cached
 * Yarn 1 (create-app's prerequisite), Yarn 4's cache under FERRY_CACHE, no jest variables.
 */
export async function adopterBaseEnv(extraPath: string[] = []): Promise<Env> {
  const env: Env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !/^(JEST_|NODE_ENV$|NODE_OPTIONS$|npm_)/.test(key)) env[key] = value;
  }
  const yarn1 = await cachedNpmInstall({ name: `yarn-${YARN1_VERSION}`, spec: `yarn@${YARN1_VERSION}`, global: true, env: { ...env } });
  env.PATH = [dirname(process.execPath), join(yarn1, 'bin'), ...extraPath, env.PATH].join(':');
  const headers = nodeHeadersDir();
  if (headers) env.npm_config_nodedir = headers;
  // prebuild-install looks for `npm_config_<package>_local_prebuilds/<asset>` before downloading.
  for (const { name } of prebuilt) env[`npm_config_${name.replace(/[^a-zA-Z0-9]/g, '_')}_local_prebuilds`] = prebuildsDir();
  Object.assign(env, {
    YARN_GLOBAL_FOLDER: yarnGlobalFolder(),
    YARN_ENABLE_GLOBAL_CACHE: 'true',
    // Under CI=1 Yarn 4 refuses to write a lockfile; a new app has none to keep.
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    YARN_ENABLE_PROGRESS_BARS: 'false',
  });
  return env;
}

/**
 * `npx @backstage/create-app@<pinned> --skip-install --path <dir>` (the cached copy), with the
 * app's name from BACKSTAGE_APP_NAME as create-app reads it instead of asking.
 */
export async function createApp(options: { dir: string; env: Env; log: string }): Promise<void> {
  const tool = await cachedNpmInstall({
    name: `create-app-${CREATE_APP_VERSION}`,
    spec: `@backstage/create-app@${CREATE_APP_VERSION}`,
    global: false,
    env: options.env,
  });
  await runBash({
    name: `create-app ${CREATE_APP_VERSION}`,
    script: `'${join(tool, 'node_modules/.bin/backstage-create-app')}' --skip-install --path '${options.dir}'`,
    cwd: dirname(options.dir),
    env: { ...options.env, BACKSTAGE_APP_NAME: 'adopter' },
    log: options.log,
  });
}

/**
 * The one change the test makes to what create-app wrote, before the first install: without the
 * yarn.lock seed create-app fetches from GitHub (not reachable here), Yarn takes
 * @backstage/plugin-signals-backend 0.3.21 for the template's `^0.3.19`, which calls
 * `httpRouter.addWebSocketHandler` of backend-defaults 0.19 while the template pins
 * backend-defaults `^0.18.0`: the stock backend does not start. 0.3.19 is the version released
 * with backend-defaults 0.18. Throws when the template changed, so the fix is looked at again.
 */
export async function pinSignalsBackend(appDir: string): Promise<string> {
  const file = join(appDir, 'packages/backend/package.json');
  const manifest = JSON.parse(await readFile(file, 'utf8'));
  const deps = manifest.dependencies as Record<string, string>;
  if (deps['@backstage/plugin-signals-backend'] !== '^0.3.19' || deps['@backstage/backend-defaults'] !== '^0.18.0') {
    throw new Error(
      `create-app ${CREATE_APP_VERSION}'s backend now asks for plugin-signals-backend ${deps['@backstage/plugin-signals-backend']} ` +
        `and backend-defaults ${deps['@backstage/backend-defaults']}: check whether pinning signals-backend is still needed`,
    );
  }
  deps['@backstage/plugin-signals-backend'] = '0.3.19';
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return '@backstage/plugin-signals-backend ^0.3.19 → 0.3.19';
}
