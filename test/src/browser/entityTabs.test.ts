import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { horizontalFit, launchChromium, openAs, screenshot, signInAs, signOut } from '../support/browser';
import { repoRoot } from '../support/repoRoot';
import { RunningBackstage, startBackstage } from '../support/startBackstage';

jest.setTimeout(300_000);

describe('the Backstage app in Chromium, for a service owner and a platform administrator', () => {
  let backstage: RunningBackstage;
  let browser: Browser;
  /** The service owner (team-shop) and the platform administrator (platform-team), 1920 px wide. */
  let owner: Page;
  let admin: Page;

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
    browser = await launchChromium();
    owner = await openAs(browser, backstage.appUrl, 'Service owner');
    admin = await openAs(browser, backstage.appUrl, 'Platform administrator');
  });

  afterAll(async () => {
    await browser?.close();
    await backstage?.stop();
    if (repositoryDir) await rm(repositoryDir, { recursive: true, force: true });
  });

  it('lists the example components in the catalog', async () => {
    await owner.goto(`${backstage.appUrl}/catalog?filters[kind]=component&filters[user]=all`);
    for (const title of ['Shop', 'Ledger', 'Docs site']) {
      const cell = owner.getByRole('cell', { name: title, exact: true }).first();
      // The first page load waits for the catalog's first processing round (slow on a busy machine).
      await cell.waitFor({ timeout: 120_000 });
      expect(await cell.isVisible()).toBe(true);
    }
    await screenshot(owner, 'foundation-01-catalog');
  });

  it('shows the Backups and Restores tabs of an annotated component, filled from the backend', async () => {
    await owner.goto(`${backstage.appUrl}/catalog/default/component/shop`);
    await owner.getByRole('tab', { name: 'Backups' }).click();
    await owner.getByText('No backups yet for Shop').waitFor({ timeout: 60_000 });
    expect(owner.url()).toMatch(/\/catalog\/default\/component\/shop\/backups$/);
    await screenshot(owner, 'foundation-02-backups-tab');
    await owner.getByRole('tab', { name: 'Restores' }).click();
    await owner.getByText('No restores yet for Shop').waitFor();
    expect(owner.url()).toMatch(/\/catalog\/default\/component\/shop\/restores$/);
    await screenshot(owner, 'foundation-03-restores-tab');
  });

  it('fits the entity page into a 1920-px window: nothing wider than the window', async () => {
    await owner.goto(`${backstage.appUrl}/catalog/default/component/shop/backups`);
    await owner.getByText('No backups yet for Shop').waitFor({ timeout: 60_000 });
    // The header's right end (owner, lifecycle) and the tab content are inside the window.
    await owner.getByRole('button', { name: /back up now/i }).first().waitFor();
    expect(await horizontalFit(owner)).toEqual({ scrollWidth: 1920, windowWidth: 1920 });
    await screenshot(owner, 'layout-01-entity-page-1920');
  });

  it('shows the backend refusal to a user who does not own the component', async () => {
    await owner.goto(`${backstage.appUrl}/catalog/default/component/ledger/backups`);
    const refusal = owner
      .getByText('not allowed to backup.read on component:default/ledger')
      .first();
    await refusal.waitFor();
    expect(await refusal.isVisible()).toBe(true);
    await screenshot(owner, 'foundation-04-forbidden');
  });

  it('tells a service owner who may see the platform page, which their sidebar does not offer', async () => {
    await owner.goto(`${backstage.appUrl}/backup`);
    const title = owner.getByText("The platform overview is for Ferry's administrators");
    await title.waitFor({ timeout: 60_000 });
    expect(await owner.getByText(/members of a group listed in ferry\.permissions\.adminRefs/).isVisible()).toBe(true);
    expect(await owner.getByText(/not allowed to backup\.admin\.read/i).count()).toBe(0);
    expect(await owner.getByRole('link', { name: 'Backups' }).count()).toBe(0);
    await screenshot(owner, 'foundation-05-platform-page-owner');
  });

  it('shows the platform page to the administrator, from the sidebar, within a 1920-px window', async () => {
    await admin.goto(`${backstage.appUrl}/catalog`);
    await admin.getByRole('link', { name: 'Backups' }).click();
    expect(admin.url()).toMatch(/\/backup$/);
    await admin.getByRole('table', { name: 'targets' }).waitFor({ timeout: 60_000 });
    await admin.getByText('Coverage').first().waitFor();
    for (const title of ['Shop', 'Ledger']) {
      expect(await admin.getByRole('link', { name: title, exact: true }).first().isVisible()).toBe(true);
    }
    expect(await horizontalFit(admin)).toEqual({ scrollWidth: 1920, windowWidth: 1920 });
    await screenshot(admin, 'layout-02-platform-page-1920');
  });

  it('offers no backup tabs on a component without Kubernetes annotations', async () => {
    await owner.goto(`${backstage.appUrl}/catalog/default/component/docs-site`);
    await owner.getByRole('tab', { name: 'Overview' }).waitFor();
    expect(await owner.getByRole('tab', { name: 'Backups' }).count()).toBe(0);
  });

  it('switches users: signing out brings back the choice, and the other user sees their own sidebar', async () => {
    await signOut(admin, backstage.appUrl);
    await screenshot(admin, 'foundation-06-sign-in-options');
    expect(await admin.getByRole('button', { name: 'Sign in as Service owner' }).isVisible()).toBe(true);
    await signInAs(admin, 'Service owner');
    await admin.goto(`${backstage.appUrl}/settings`);
    await admin.getByText('Shop owner (team-shop)').first().waitFor({ timeout: 60_000 });
    expect(await admin.getByRole('link', { name: 'Backups' }).count()).toBe(0);
  });
});
