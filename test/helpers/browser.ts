/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package (scripts/install.sh)
 * driven by playwright-core through its executablePath (Playwright's own browser downloads are not used).
 * - launchChromium(): headless, no sandbox (tests run as root in CI); trusts the named local HTTPS fakes.
 * - watchPage(): every console error and uncaught page error, to assert there are none.
 * - saveScreenshot(): PNGs under test-artifacts/console/ (git-ignored; CI keeps them as artifacts).
 * - axeViolations(): axe-core run in the page (its source evaluated over the DevTools protocol, so the
 *   console's CSP stays on), the violations of impact serious or critical.
 * - signInWithToken(): the console's sign-in form, as a user fills it; checkView(): axe then a screenshot.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM_PATH = process.env.FLEETNET_CHROMIUM ?? '/usr/lib/chromium/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

/** `trustSpki`: base64 SHA-256 public-key hashes of local HTTPS fakes (local-https.ts) to trust, and no more. */
export function launchChromium(options: { trustSpki?: string[] } = {}): Promise<Browser> {
  const trust = options.trustSpki?.length ? [`--ignore-certificate-errors-spki-list=${options.trustSpki.join(',')}`] : [];
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', ...trust] });
}

export interface PageProblems {
  errors: string[];
}

export function watchPage(page: Page): PageProblems {
  const problems: PageProblems = { errors: [] };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.errors.push(`page: ${error.message}`));
  return problems;
}

export async function saveScreenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

let axeSource: Promise<string> | undefined;

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(await axeSource);
  // a string, so this Node-side file needs no DOM types: axe's own result, reduced to what a test shows
  const violations = (await page.evaluate(`axe.run().then((result) => result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => JSON.stringify(n.target)) })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Opens the console at `consoleUrl` and signs in by pasting `token`, as a user does. */
export async function signInWithToken(page: Page, consoleUrl: string, token: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Views' }).waitFor();
}

/** A view is done when axe finds nothing serious or critical in it; its screenshot is kept. */
export async function checkView(page: Page, name: string): Promise<void> {
  expect(await axeViolations(page), `axe on ${name}`).toEqual([]);
  await saveScreenshot(page, name);
}
