import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  createServiceAccountToken,
  installDemoApp,
  Sandbox,
  startSandbox,
} from '@ferry/sandbox';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openAsGuest, screenshot } from '../support/browser';
import { repoRoot } from '../support/repoRoot';
import { RunningBackstage, startBackstage } from '../support/startBackstage';

jest.setTimeout(600_000);

const logDir = path.join(repoRoot, 'test-results/browser-backup-restore');

describe('a service owner backs up and restores the demo app in the browser', () => {
  let sandbox: Sandbox;
  let repositoryDir: string;
  let backstage: RunningBackstage;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    sandbox = await startSandbox({
      ephemeral: true,
      crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
      binDirs: [path.join(repoRoot, 'packages/datamover/bin')],
      // The demo app's images live here, so that backups copy them (no internet).
      registry: true,
    });
    await installDemoApp(sandbox);
    repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-browser-repo-'));
    const { token } = await createServiceAccountToken(sandbox);
    const cluster = sandbox.kubeConfig.getCurrentCluster()!;
    backstage = await startBackstage({
      appPort: 3320,
      backendPort: 7320,
      logDir,
      extraConfig: {
        kubernetes: {
          serviceLocatorMethod: { type: 'multiTenant' },
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'sandbox',
                  url: sandbox.apiServerUrl,
                  authProvider: 'serviceAccount',
                  authMetadata: { serviceAccountToken: token },
                  caData: cluster.caData ?? readFileSync(cluster.caFile!).toString('base64'),
                },
              ],
            },
          ],
        },
        ferry: {
          targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }],
          // The guest restores into a new namespace: an administrator's permission.
          permissions: { adminRefs: ['user:default/guest'] },
        },
      },
    });
    ({ browser, page } = await openAsGuest(backstage.appUrl));
  });

  afterAll(async () => {
    await browser?.close();
    await backstage?.stop();
    await sandbox?.stop();
    if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
  });

  it('backs up from the Backups tab and watches it complete', async () => {
    await page.goto(`${backstage.appUrl}/catalog/default/component/shop/backups`);
    await page.getByText('No backups yet for Shop').waitFor();
    await screenshot(page, 'flow-01-no-backups');
    await page.getByRole('button', { name: /back up now/i }).first().click();
    const completed = page.getByRole('cell').getByText('Completed', { exact: true }).first();
    await completed.waitFor({ timeout: 120_000 });
    expect(await completed.isVisible()).toBe(true);
    await screenshot(page, 'flow-02-backup-completed');
  });

  it('restores into a new namespace through the wizard, with a dry-run preview', async () => {
    await page.locator('[aria-label^="restore "]').first().click();
    const wizard = page.getByRole('dialog');
    await wizard.getByLabel('Target namespace').fill('demo-restored');
    await screenshot(page, 'flow-03-wizard-target');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Preview' }).click();
    const toCreate = wizard.getByText(/\d+ to create/);
    await toCreate.waitFor({ timeout: 60_000 });
    expect(Number((await toCreate.textContent())!.split(' ')[0])).toBeGreaterThan(5);
    await screenshot(page, 'flow-04-dry-run-preview');
    // The image plan sits below the objects: scrolled into view for its own screenshot.
    await wizard.getByRole('table', { name: 'images' }).scrollIntoViewIfNeeded();
    await screenshot(page, 'flow-04b-dry-run-images');
    await wizard.getByRole('button', { name: 'Restore', exact: true }).click();
    const done = wizard.getByText('Completed', { exact: true }).first();
    await done.waitFor({ timeout: 240_000 });
    expect(await done.isVisible()).toBe(true);
    await screenshot(page, 'flow-05-restore-completed');

    const apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const statefulSet = await apps.readNamespacedStatefulSet({ namespace: 'demo-restored', name: 'demo-db' });
    expect(statefulSet.metadata?.namespace).toBe('demo-restored');
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'demo-restored' });
    expect(claims.items.map(c => c.metadata!.name).sort()).toEqual([
      'data-demo-db-0',
      'data-demo-db-1',
      'wal-demo-db-0',
      'wal-demo-db-1',
    ]);
    for (const claim of claims.items) {
      const original = await fs.readFile(await sandbox.claimVolumePath({ namespace: 'demo', claim: claim.metadata!.name! }));
      const restored = await fs.readFile(await sandbox.claimVolumePath({ namespace: 'demo-restored', claim: claim.metadata!.name! }));
      expect(restored.equals(original)).toBe(true);
    }
  });

  it('lists the restore in the Restores tab', async () => {
    await page.keyboard.press('Escape');
    await page.goto(`${backstage.appUrl}/catalog/default/component/shop/restores`);
    const row = page.getByText('sandbox / demo-restored').first();
    await row.waitFor();
    expect(await row.isVisible()).toBe(true);
    await screenshot(page, 'flow-06-restores-tab');
  });
});
