import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { DemoApp, DemoTableState, installDemoApp, Sandbox, startSandbox } from '@ferry/sandbox';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { backupImage, committedBackups, compareChainWithVolume } from '../support/backupChain';
import { launchChromium, openAs, screenshot } from '../support/browser';
import { repoRoot } from '../support/repoRoot';
import { sandboxBackstageConfig } from '../support/sandboxConfig';
import { RunningBackstage, startBackstage } from '../support/startBackstage';

jest.setTimeout(600_000);

const logDir = path.join(repoRoot, 'test-results/browser-backup-restore');

/**
 * The README's first flows ("Two commands"), as written, for the user each names: the service
 * owner backs Shop up and restores what was deleted into Shop's own namespace (the only target
 * the wizard offers them); the platform administrator restores Shop into a new namespace. On the
 * sandbox's real node, as `npm run dev` runs it: the demo app is PostgreSQL with rows in real
 * containers, datamover Jobs are real containers of the datamover image.
 */
describe("the README's first flows in the browser, as the service owner and as the platform administrator", () => {
  let sandbox: Sandbox;
  let repositoryDir: string;
  let backstage: RunningBackstage;
  let browser: Browser;
  /** Signed in as the service owner (team-shop) and as the platform administrator (platform-team). */
  let owner: Page;
  let admin: Page;
  let demo: DemoApp;
  /** Rows per db pod when Shop was backed up (nothing writes afterwards). */
  const backedUp = new Map<string, DemoTableState>();

  async function tableStates(namespace: string) {
    const states = new Map<string, DemoTableState>();
    for (const pod of demo.dbPods) states.set(pod, await demo.database!.tableState({ namespace, pod }));
    return states;
  }

  beforeAll(async () => {
    sandbox = await startSandbox({
      ephemeral: true,
      crdDirs: [path.join(repoRoot, 'plugins/backup-backend/crds')],
    });
    demo = await installDemoApp(sandbox);
    repositoryDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ferry-browser-repo-'));
    backstage = await startBackstage({
      appPort: 3320,
      backendPort: 7320,
      logDir,
      // The demo's own users and permissions (app-config.yaml): no test-only administrators.
      extraConfig: await sandboxBackstageConfig(sandbox, repositoryDir),
    });
    browser = await launchChromium();
    owner = await openAs(browser, backstage.appUrl, 'Service owner');
    admin = await openAs(browser, backstage.appUrl, 'Platform administrator');
  });

  afterAll(async () => {
    await browser?.close();
    await backstage?.stop();
    await sandbox?.stop();
    if (repositoryDir) await fs.rm(repositoryDir, { recursive: true, force: true });
  });

  it('the service owner backs up Shop from the Backups tab and watches it complete', async () => {
    for (const [pod, state] of await tableStates('demo')) backedUp.set(pod, state);
    expect([...backedUp.values()].map(s => s.rows)).toEqual([100, 100]);
    await owner.goto(`${backstage.appUrl}/catalog/default/component/shop/backups`);
    await owner.getByText('No backups yet for Shop').waitFor();
    await screenshot(owner, 'flow-01-no-backups');
    await owner.getByRole('button', { name: /back up now/i }).first().click();
    const completed = owner.getByRole('cell').getByText('Completed', { exact: true }).first();
    await completed.waitFor({ timeout: 120_000 });
    expect(await completed.isVisible()).toBe(true);
    await screenshot(owner, 'flow-02-backup-completed');
    // The backup holds these rows: nothing wrote meanwhile.
    expect(await tableStates('demo')).toEqual(backedUp);
  });

  it("the service owner restores a deleted ConfigMap into Shop's own namespace, the only target offered", async () => {
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const original = await core.readNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });
    await core.deleteNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });

    await owner.locator('[aria-label^="restore "]').first().click();
    const wizard = owner.getByRole('dialog');
    const note = wizard.getByText(/You may restore Shop's backups only into sandbox \/ demo/);
    await note.waitFor();
    expect(await note.textContent()).toContain('needs the backup.restore.anywhere permission');
    const namespace = wizard.getByLabel('Target namespace');
    expect(await namespace.inputValue()).toBe('demo');
    expect(await namespace.isDisabled()).toBe(true);
    await screenshot(owner, 'flow-03-owner-wizard-target');
    await wizard.getByRole('button', { name: 'Next' }).click();
    const rules = wizard.getByRole('alert', { name: 'fields you may patch' });
    expect(await rules.textContent()).toContain('Your patches may change only what a service owner may change');
    await screenshot(owner, 'flow-03b-owner-wizard-transforms');
    await wizard.getByRole('button', { name: 'Preview' }).click();
    // Everything else exists and is skipped (the default): only the deleted ConfigMap is created.
    await wizard.getByText('1 to create').waitFor({ timeout: 60_000 });
    const created = wizard.getByRole('table', { name: 'objects' }).getByRole('row').filter({ hasText: 'demo-config' });
    expect(await created.textContent()).toMatch(/Create.*ConfigMap.*demo-config/i);
    await screenshot(owner, 'flow-04-owner-dry-run');
    await wizard.getByRole('button', { name: 'Restore', exact: true }).click();
    const done = wizard.getByText('Completed', { exact: true }).first();
    await done.waitFor({ timeout: 240_000 });
    await screenshot(owner, 'flow-05-owner-restore-completed');

    const restored = await core.readNamespacedConfigMap({ namespace: 'demo', name: 'demo-config' });
    expect(restored.data).toEqual(original.data);
    expect(restored.metadata?.uid).not.toBe(original.metadata?.uid);
    await owner.keyboard.press('Escape');
  });

  it('the platform administrator restores the backup into a new namespace, with a dry-run preview', async () => {
    await admin.goto(`${backstage.appUrl}/catalog/default/component/shop/backups`);
    await admin.getByRole('cell').getByText('Completed', { exact: true }).first().waitFor({ timeout: 60_000 });
    await admin.locator('[aria-label^="restore "]').first().click();
    const wizard = admin.getByRole('dialog');
    await wizard.getByText(/You may restore into any namespace/).waitFor();
    await wizard.getByLabel('Target namespace').fill('demo-restored');
    await screenshot(admin, 'flow-06-admin-wizard-target');
    await wizard.getByRole('button', { name: 'Next' }).click();
    await wizard.getByRole('button', { name: 'Preview' }).click();
    const toCreate = wizard.getByText(/\d+ to create/);
    await toCreate.waitFor({ timeout: 60_000 });
    expect(Number((await toCreate.textContent())!.split(' ')[0])).toBeGreaterThan(5);
    await screenshot(admin, 'flow-07-admin-dry-run-preview');
    // The image plan sits below the objects: scrolled into view for its own screenshot.
    await wizard.getByRole('table', { name: 'images' }).scrollIntoViewIfNeeded();
    await screenshot(admin, 'flow-07b-admin-dry-run-images');
    await wizard.getByRole('button', { name: 'Restore', exact: true }).click();
    const done = wizard.getByText('Completed', { exact: true }).first();
    await done.waitFor({ timeout: 240_000 });
    expect(await done.isVisible()).toBe(true);
    await screenshot(admin, 'flow-08-admin-restore-completed');

    const apps = sandbox.kubeConfig.makeApiClient(AppsV1Api);
    const core = sandbox.kubeConfig.makeApiClient(CoreV1Api);
    const statefulSet = await apps.readNamespacedStatefulSet({ namespace: 'demo-restored', name: 'demo-db' });
    expect(statefulSet.metadata?.namespace).toBe('demo-restored');
    expect(statefulSet.status?.readyReplicas).toBe(2);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'demo-restored' });
    expect(claims.items.map(c => c.metadata!.name).sort()).toEqual(
      ['data', 'raw', 'wal'].flatMap(claim => demo.dbPods.map(pod => `${claim}-${pod}`)).sort(),
    );
    // PostgreSQL runs in the new namespace from the restored file systems, with exactly the rows
    // that were backed up (count and checksum per replica).
    expect(await tableStates('demo-restored')).toEqual(backedUp);
    // The raw Block claims, byte for byte: the backup's chain (hydrated by qemu-img), the original
    // volume and the restored one.
    const [backupId] = await committedBackups(repositoryDir, 'component.default.shop');
    expect(demo.written.size).toBe(2);
    for (const [claim, extents] of demo.written) {
      const image = backupImage({ repositoryDir, app: 'component.default.shop', pvc: claim, backupId });
      const restoredFile = await sandbox.claimVolumePath({ namespace: 'demo-restored', claim });
      expect(await compareChainWithVolume(image, restoredFile)).toEqual({ identical: true, output: 'Images are identical.' });
      expect(await compareChainWithVolume(image, await sandbox.claimVolumePath({ namespace: 'demo', claim }))).toMatchObject({ identical: true });
      for (const { offset, data } of extents) {
        expect((await sandbox.readVolume({ namespace: 'demo-restored', claim, offset, length: data.length })).equals(data)).toBe(true);
      }
    }
    await admin.keyboard.press('Escape');
  });

  it('lists both restores in the Restores tab', async () => {
    await owner.goto(`${backstage.appUrl}/catalog/default/component/shop/restores`);
    for (const target of ['sandbox / demo-restored', 'sandbox / demo']) {
      const row = owner.getByRole('cell', { name: target, exact: true }).first();
      await row.waitFor();
      expect(await row.isVisible()).toBe(true);
    }
    await screenshot(owner, 'flow-09-restores-tab');
  });
});
