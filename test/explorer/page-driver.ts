// Drives the explorer page in Debian's Chromium (playwright-core) for the end-to-end tests: one
// browser per test file, pages that record console errors and requests leaving the server, waits
// on the page's hooks (window.explorer), controls set as a user would, and canvas checks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export function skipReason(): string | false {
  try {
    readFileSync(CHROMIUM, { flag: 'r' }).subarray(0, 1);
    return false;
  } catch {
    return `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  }
}

let browser: Browser | null = null;
/** Console errors and warnings, page errors, failed requests and requests outside the server, of every page opened. */
export const consoleErrors: string[] = [];

/** Starts Chromium (headless, no network beyond the page's server). */
export async function launchBrowser(): Promise<Browser> {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return browser;
}

export async function closeBrowser(): Promise<void> {
  await browser?.close();
  browser = null;
}

/** Opens the explorer and waits until it is ready (or has failed). */
export async function openPage(url: string): Promise<Page> {
  if (!browser) throw new Error('launchBrowser() first');
  const p = await browser.newPage({ viewport: { width: 1280, height: 1300 } });
  p.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') consoleErrors.push(`${m.type()}: ${m.text()}`); });
  p.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
  p.on('requestfailed', (r) => consoleErrors.push(`request failed: ${r.url()}`));
  // Everything comes from the explorer's own server (no CDN, no fonts, nothing external).
  p.on('request', (r) => { if (new URL(r.url()).origin !== new URL(url).origin) consoleErrors.push(`request outside the server: ${r.url()}`); });
  await p.goto(url);
  await p.waitForFunction(() => window.explorer?.ready || window.explorer?.fatal, null, { timeout: 120_000 });
  return p;
}

/** Waits until `mode` has completed more than `before` requests; fails with the mode's error text. */
export async function waitDone(p: Page, mode: string, before: number, status = mode): Promise<void> {
  await p.waitForFunction(([m, n, s]) => (window.explorer.done[m!] ?? 0) > Number(n) || document.querySelector(`[data-testid=${s}-status].error`) !== null, [mode, String(before), status], { timeout: 120_000 });
  const error = await p.evaluate((s) => document.querySelector(`[data-testid=${s}-status].error`)?.textContent ?? null, status);
  assert.equal(error, null, `${mode}: ${error}`);
}

export function done(p: Page, mode: string): Promise<number> {
  return p.evaluate((m) => window.explorer.done[m] ?? 0, mode);
}

/** Sets an input's value and fires 'input' and 'change' as a user would. */
export async function setControl(p: Page, testid: string, value: string): Promise<void> {
  await p.evaluate(([id, v]) => {
    const input = document.querySelector(`[data-testid=${id}]`) as HTMLInputElement | HTMLSelectElement;
    input.value = v!;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.dispatchEvent(new Event('change', { bubbles: true }));
  }, [testid, value]);
}

/** For each canvas under the selector: the standard deviation of its pixel values (0 = blank). */
export function canvasSpread(p: Page, selector: string): Promise<number[]> {
  return p.evaluate((sel) => Array.from(document.querySelectorAll(`${sel} canvas`)).map((c) => {
    // Read through a copy made for readback, so the page's own canvases are never read back
    // (Chromium warns about repeated getImageData on a canvas without willReadFrequently).
    const canvas = c as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(canvas, 0, 0);
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) { s += d[i + k]!; s2 += d[i + k]! ** 2; n++; }
    return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
  }), selector);
}

export async function assertNonBlank(p: Page, selector: string, atLeast: number): Promise<void> {
  const spread = await canvasSpread(p, selector);
  assert.ok(spread.length >= atLeast, `${selector}: ${spread.length} canvases, expected ≥ ${atLeast}`);
  assert.ok(spread.every((s) => s > 1), `${selector}: blank canvases (pixel std ${spread.map((s) => s.toFixed(1)).join(', ')})`);
}

/** A full-page screenshot to `dir/name.png`. */
export async function shot(p: Page, dir: string, name: string): Promise<void> {
  await p.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
}
