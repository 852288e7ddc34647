import fs from 'node:fs';
import path from 'node:path';
import { makeWorkDir, sha256Hex } from './blobStore';
import { debianRootLayer } from './debianBase';
import { assembleImage, defaultPath, Image } from './image';
import { cachedLayer, layerFromDirectory } from './layer';

/** PostgreSQL's programs in Debian (initdb, postgres, psql, pg_isready): first on the image's PATH. */
const postgresBin = '/usr/lib/postgresql/15/bin';
/** The data folder inside the claim's mount (an ext4 root holds lost+found, which initdb refuses). */
export const demoPostgresData = '/var/lib/postgresql/data/pgdata';

/**
 * Files of Debian's postgresql-15 install the image does not need, removed after the slim
 * trimming: the LLVM JIT (libLLVM, the JIT provider and its bitcode: about 130 MiB; the
 * entrypoint sets `jit = off`), the cluster `15/main` that the package's postinst creates (the
 * entrypoint makes its own in the claim), and the locale sources of Debian's `locales` package
 * (initdb uses C.UTF-8, which glibc carries built in).
 */
const postgresRemoved = [
  'usr/lib/x86_64-linux-gnu/libLLVM-14.so',
  'usr/lib/x86_64-linux-gnu/libLLVM-14.so.1',
  'usr/lib/postgresql/15/lib/bitcode',
  'usr/lib/postgresql/15/lib/llvmjit.so',
  'usr/lib/postgresql/15/lib/llvmjit_types.bc',
  'var/lib/postgresql/15',
  'etc/postgresql/15',
  'usr/share/i18n',
];

/**
 * The entrypoint (as root): make the data folder, the socket folder and the WAL archive folder
 * (`$PGARCHIVE`, optional) the postgres user's, then run again as that user (util-linux
 * `setpriv`). As postgres, on an empty data folder: initdb with the superuser `$POSTGRES_USER`
 * (default postgres) and its password from `$POSTGRES_PASSWORD` (scram-sha-256 over TCP, trust
 * on the local socket, as the official image does) and `$POSTGRES_INITDB_ARGS`; a database
 * `$POSTGRES_DB` (default the user's name); `listen_addresses = '*'`, `jit = off`, and with
 * `$PGARCHIVE` continuous archiving of completed WAL segments into it. Then `exec postgres "$@"`.
 */
export const demoPostgresEntrypoint = `#!/bin/sh
set -eu
export PGDATA="\${PGDATA:-${demoPostgresData}}"
archive="\${PGARCHIVE:-}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql \${archive:+"$archive"}
  chown postgres:postgres "$PGDATA" /run/postgresql \${archive:+"$archive"}
  chmod 700 "$PGDATA"
  chmod 2775 /run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "\${POSTGRES_PASSWORD:?is not set: the entrypoint needs it to initialise the database}"
  user="\${POSTGRES_USER:-postgres}"
  pwfile="$(mktemp)"
  printf '%s\\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # shellcheck disable=SC2086
  initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \\
    --encoding=UTF8 --locale=C.UTF-8 \${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\\n' >> "$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\\njit = off\\n" >> "$PGDATA/postgresql.conf"
  if [ -n "$archive" ]; then
    printf "archive_mode = on\\narchive_command = 'cp %%p %s/%%f.part && mv %s/%%f.part %s/%%f'\\n" \\
      "$archive" "$archive" "$archive" >> "$PGDATA/postgresql.conf"
  fi
  db="\${POSTGRES_DB:-$user}"
  if [ "$db" != postgres ]; then
    printf 'CREATE DATABASE "%s";\\n' "$db" | postgres --single -j -D "$PGDATA" postgres > /dev/null
  fi
  echo "Initialised $PGDATA (user $user, database $db)"
fi
exec postgres "$@"
`;

/**
 * The demo app's database image: Debian bookworm (minbase, slim-trimmed, the datamover image's
 * base recipe) with Debian's `postgresql-15` (see postgresRemoved), the entrypoint above at
 * /usr/local/bin/docker-entrypoint.sh, PATH starting with PostgreSQL's programs, stop signal
 * SIGINT (PostgreSQL's fast shutdown, as the official image), port 5432.
 */
export async function buildDemoPostgresImage(): Promise<{ image: Image; cached: boolean }> {
  const base = await debianRootLayer({ packages: ['postgresql-15'], removePaths: postgresRemoved });
  const entrypoint = await cachedLayer(`demo-postgres-entrypoint-${sha256Hex(demoPostgresEntrypoint)}`, async () => {
    const work = makeWorkDir('demo-postgres');
    try {
      fs.mkdirSync(path.join(work, 'usr/local/bin'), { recursive: true });
      fs.writeFileSync(path.join(work, 'usr/local/bin/docker-entrypoint.sh'), demoPostgresEntrypoint, { mode: 0o755 });
      return await layerFromDirectory(work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const image = assembleImage([base, entrypoint], {
    Entrypoint: ['/usr/local/bin/docker-entrypoint.sh'],
    Env: [`PATH=${postgresBin}:${defaultPath}`, `PGDATA=${demoPostgresData}`, 'LANG=C.UTF-8'],
    StopSignal: 'SIGINT',
    ExposedPorts: { '5432/tcp': {} },
  });
  return { image, cached: base.cached && entrypoint.cached };
}

/** Debian busybox-static's binary on this machine (the web image's only program). */
const busybox = '/bin/busybox';
/** The web image's page. */
export const demoWebPage = '<!doctype html>\n<title>Ferry demo</title>\n<h1>Ferry demo shop</h1>\n';

/**
 * The demo app's web image: Debian's static busybox (package busybox-static) serving /www with
 * its `httpd` applet on port 8080 as user 65534 (`httpd -f -v`: foreground, requests logged), and
 * `sh` for exec. About 2 MiB.
 */
export async function buildDemoWebImage(): Promise<{ image: Image; cached: boolean }> {
  if (!fs.existsSync(busybox)) throw new Error(`${busybox} is missing: install the Debian package busybox-static (scripts/apt-packages.txt)`);
  const binary = fs.readFileSync(busybox);
  const layer = await cachedLayer(`demo-web-${sha256Hex(Buffer.concat([binary, Buffer.from(demoWebPage)]))}`, async () => {
    const work = makeWorkDir('demo-web');
    try {
      fs.mkdirSync(path.join(work, 'bin'), { recursive: true });
      fs.writeFileSync(path.join(work, 'bin/busybox'), binary, { mode: 0o755 });
      for (const applet of ['sh', 'httpd', 'wget', 'cat', 'ls']) fs.symlinkSync('busybox', path.join(work, 'bin', applet));
      fs.mkdirSync(path.join(work, 'www'));
      fs.writeFileSync(path.join(work, 'www/index.html'), demoWebPage, { mode: 0o644 });
      fs.mkdirSync(path.join(work, 'tmp'), { mode: 0o1777 });
      fs.chmodSync(path.join(work, 'tmp'), 0o1777);
      return await layerFromDirectory(work);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const image = assembleImage([layer], {
    Entrypoint: ['/bin/httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
    Env: [`PATH=${defaultPath}`],
    User: '65534:65534',
    ExposedPorts: { '8080/tcp': {} },
  });
  return { image, cached: layer.cached };
}
