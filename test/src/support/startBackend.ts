import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Managed, startManaged, waitForHttp } from './processes';
import { repoRoot } from './repoRoot';

/**
 * The Backstage backend as a real process (`backstage-cli package start` in packages/backend),
 * with app-config.yaml plus `config` (e.g. the sandbox cluster and a target), on `port`.
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
    command: join(repoRoot, 'node_modules/.bin/backstage-cli'),
    args: ['package', 'start', '--config', join(repoRoot, 'app-config.yaml'), '--config', configFile],
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
