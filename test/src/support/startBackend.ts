import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backendCommand, Managed, startManaged, waitForHttp } from './processes';
import { repoRoot } from './repoRoot';

/**
 * The Backstage backend as a real process (packages/backend as `backstage-cli package start` runs
 * it, see backendCommand), with app-config.yaml plus `config` (e.g. the sandbox cluster and a
 * target), on `port`.
 */
export async function startBackend(options: {
  name: string;
  port: number;
  logDir: string;
  config: Record<string, unknown>;
}): Promise<Managed & { url: string }> {
  await mkdir(options.logDir, { recursive: true });
  const url = `http://localhost:${options.port}`;
  const configFile = join(options.logDir, `${options.name}.config.json`);
  await writeFile(
    configFile,
    JSON.stringify({
      ...options.config,
      backend: {
        baseUrl: url,
        listen: { port: options.port },
        database: { client: 'better-sqlite3', connection: ':memory:' },
      },
    }),
  );
  const backend = await startManaged({
    name: options.name,
    ...backendCommand([join(repoRoot, 'app-config.yaml'), configFile]),
    cwd: join(repoRoot, 'packages/backend'),
    logDir: options.logDir,
  });
  try {
    await waitForHttp(`${url}/api/backup/health`, 120_000, backend);
  } catch (error) {
    await backend.stop();
    throw error;
  }
  return { ...backend, url };
}
