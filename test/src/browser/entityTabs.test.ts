import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { openAsGuest, screenshot } from '../support/browser';
import { repoRoot } from '../support/repoRoot';
import { RunningBackstage, startBackstage } from '../support/startBackstage';

jest.setTimeout(300_000);

describe('the Backstage app in Chromium', () => {
  let backstage: RunningBackstage;
  let browser: Browser;
  let page: Page;

  let repositoryDir: string;

  beforeAll(async () => {
    // An empty target of its own: the default one holds whatever `npm run dev` backed up.
    repositoryDir = await mkdtemp(join(tmpdir(), 'ferry-browser-tabs-'));
    backstage = await startBackstage({
      appPort: 3310,
      backendPort: 7310,
      logDir: join(repoRoot, 'test-results/browser-foundation'),
      extraConfig: { ferry: { targets: [{ name: 'local', type: 'filesystem', path: repositoryDir }] } },
    });
    ({ browser, page } = await openAsGuest(backstage.appUrl));
  });

  afterAll(async () => {
    await browser?.close();
    await backstage?.stop();
    if (repositoryDir) await rm(repositoryDir, { recursive: true, force: true });
  });

  it('lists the example components in the catalog', async () => {
    await page.goto(`${backstage.appUrl}/catalog?filters[kind]=component&filters[user]=all`);
    for (const title of ['Shop', 'Ledger', 'Docs site']) {
      const cell = page.getByRole('cell', { name: title, exact: true }).first();
      // The first page load waits for the catalog's first processing round (slow on a busy machine).
      await cell.waitFor({ timeout: 120_000 });
      expect(await cell.isVisible()).toBe(true);
    }
    await screenshot(page, 'foundation-01-catalog');
  });

  it('shows the Backups and Restores tabs of an annotated component, filled from the backend', async () => {
    await page.goto(`${backstage.appUrl}/catalog/default/component/shop`);
    await page.getByRole('tab', { name: 'Backups' }).click();
    await page.getByText('No backups yet for Shop').waitFor({ timeout: 60_000 });
    expect(page.url()).toMatch(/\/catalog\/default\/component\/shop\/backups$/);
    await screenshot(page, 'foundation-02-backups-tab');
    await page.getByRole('tab', { name: 'Restores' }).click();
    await page.getByText('No restores yet for Shop').waitFor();
    expect(page.url()).toMatch(/\/catalog\/default\/component\/shop\/restores$/);
    await screenshot(page, 'foundation-03-restores-tab');
  });

  it('shows the backend refusal to a user who does not own the component', async () => {
    await page.goto(`${backstage.appUrl}/catalog/default/component/ledger/backups`);
    const refusal = page
      .getByText('not allowed to backup.read on component:default/ledger')
      .first();
    await refusal.waitFor();
    expect(await refusal.isVisible()).toBe(true);
    await screenshot(page, 'foundation-04-forbidden');
  });

  it('offers no backup tabs on a component without Kubernetes annotations', async () => {
    await page.goto(`${backstage.appUrl}/catalog/default/component/docs-site`);
    await page.getByRole('tab', { name: 'Overview' }).waitFor();
    expect(await page.getByRole('tab', { name: 'Backups' }).count()).toBe(0);
  });
});
