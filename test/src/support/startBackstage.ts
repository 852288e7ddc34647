import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backendCommand, Managed, startManaged, waitForHttp } from './processes';
import { repoRoot } from './repoRoot';

export interface RunningBackstage {
  appUrl: string;
  backendUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts the Backstage backend and the app's dev server the way `npm run dev` does (the backend
 * without the CLI's file watcher, see backendCommand), on the given ports, with app-config.yaml
 * plus `extraConfig` (e.g. the sandbox cluster, a target of the test's own), written into the log
 * folder as app-config.extra.json.
 */
export async function startBackstage(options: {
  appPort: number;
  backendPort: number;
  logDir: string;
  extraConfig?: Record<string, unknown>;
}): Promise<RunningBackstage> {
  const appUrl = `http://localhost:${options.appPort}`;
  const backendUrl = `http://localhost:${options.backendPort}`;
  const portsConfig = join(options.logDir, 'app-config.ports.json');
  await mkdir(options.logDir, { recursive: true });
  await writeFile(
    portsConfig,
    JSON.stringify({
      app: { baseUrl: appUrl },
      backend: {
        baseUrl: backendUrl,
        listen: { port: options.backendPort },
        cors: { origin: appUrl },
      },
    }),
  );
  const extraConfig = join(options.logDir, 'app-config.extra.json');
  await writeFile(extraConfig, JSON.stringify(options.extraConfig ?? {}));
  const configFiles = [join(repoRoot, 'app-config.yaml'), extraConfig, portsConfig];
  const configArgs = configFiles.flatMap(file => ['--config', file]);
  const cli = join(repoRoot, 'node_modules/.bin/backstage-cli');
  const started: Managed[] = [];
  const stop = async () => {
    await Promise.all(started.map(m => m.stop()));
  };
  try {
    const backend = await startManaged({
      name: 'backend',
      ...backendCommand(configFiles),
      cwd: join(repoRoot, 'packages/backend'),
      logDir: options.logDir,
    });
    started.push(backend);
    const app = await startManaged({
      name: 'app',
      command: cli,
      args: ['package', 'start', ...configArgs],
      cwd: join(repoRoot, 'packages/app'),
      env: { BROWSER: 'none' },
      logDir: options.logDir,
    });
    started.push(app);
    await waitForHttp(`${backendUrl}/api/backup/health`, 120_000, backend);
    await waitForHttp(appUrl, 240_000, app);
    return { appUrl, backendUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
