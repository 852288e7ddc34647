import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { repoRoot } from './repoRoot';

/** Debian's Chromium, headless, with no background traffic (the machine has no internet). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export const screenshotDir = join(repoRoot, 'test-results/screenshots');

/** Saves a full-page screenshot as a test artifact under test-results/screenshots. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The demo's sign-in options (packages/app/src/App.tsx, examples/org.yaml). */
export type DemoUser = 'Service owner' | 'Platform administrator';

/**
 * Signs in as a demo user on the sign-in page (the demo provider) and waits until the app is
 * shown. The first sign-in after start may find the catalog still loading the users: the page
 * then says so, and this goes back and tries again.
 */
export async function signInAs(page: Page, user: DemoUser): Promise<void> {
  const sidebarCatalog = page.getByRole('link', { name: 'Catalog' });
  const option = page.getByRole('button', { name: `Sign in as ${user}` });
  const back = page.getByRole('button', { name: 'Back to the sign-in options' });
  const deadline = Date.now() + 120_000;
  await Promise.race([option.waitFor({ timeout: 60_000 }), sidebarCatalog.waitFor({ timeout: 60_000 })]);
  while (!(await sidebarCatalog.isVisible())) {
    if (Date.now() > deadline) throw new Error(`could not sign in as ${user} within 2 minutes`);
    if (await back.isVisible()) {
      await page.waitForTimeout(2_000);
      await back.click();
    }
    if (await option.isVisible()) await option.click();
    await Promise.race([
      sidebarCatalog.waitFor({ timeout: 30_000 }),
      back.waitFor({ timeout: 30_000 }),
    ]).catch(() => undefined);
  }
}

/** Signs out as the README says (Settings → more → Sign Out) and waits for the sign-in options. */
export async function signOut(page: Page, appUrl: string): Promise<void> {
  await page.goto(`${appUrl}/settings`);
  await page.getByRole('button', { name: 'more' }).click();
  await page.getByRole('menuitem', { name: 'Sign Out' }).click();
  await page.getByRole('button', { name: /^Sign in as / }).first().waitFor({ timeout: 60_000 });
}

/**
 * A page of its own (a browser context: its own storage, so its own sign-in) on the app's catalog,
 * `width` × 1080, signed in as a demo user.
 */
export async function openAs(
  browser: Browser,
  appUrl: string,
  user: DemoUser,
  options: { width?: number } = {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1920, height: 1080 } });
  const page = await context.newPage();
  await page.goto(`${appUrl}/catalog`);
  await signInAs(page, user);
  return page;
}

/** The document's scroll width and the window's width: equal when no page part sticks out. */
export async function horizontalFit(page: Page): Promise<{ scrollWidth: number; windowWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    windowWidth: window.innerWidth,
  }));
}
