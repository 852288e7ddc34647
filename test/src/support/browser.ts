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

/** Signs in with the guest provider on the sign-in page and waits until the app is shown. */
export async function signInAsGuest(page: Page): Promise<void> {
  const enter = page.getByRole('button', { name: /enter/i });
  const sidebarCatalog = page.getByRole('link', { name: 'Catalog' });
  await Promise.race([
    enter.waitFor({ timeout: 60_000 }),
    sidebarCatalog.waitFor({ timeout: 60_000 }),
  ]);
  if (await enter.isVisible()) {
    await enter.click();
  }
  await sidebarCatalog.waitFor({ timeout: 60_000 });
}

/** Chromium on the app's catalog, signed in as the guest user. */
export async function openAsGuest(appUrl: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`${appUrl}/catalog`);
  await signInAsGuest(page);
  return { browser, page };
}
