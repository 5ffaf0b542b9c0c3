// The engine in a real browser: Chromium loads a page bundled from src/engine, initialises the
// wasm backend with our training kernels and passes the same kernel self-check as in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, chromiumMissingReason, serveBundle } from './browser-harness.ts';

test('the engine runs in Chromium: wasm backend, our kernels, self-check passes', { skip: chromiumMissingReason(), timeout: 180_000 }, async () => {
  const server = await serveBundle('test/browser/engine-page.ts');
  // playwright-core gives every launch a fresh, empty profile.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(server.url);
    await page.waitForFunction(() => window.engineResult !== undefined || window.engineError !== undefined, null, { timeout: 150_000 });
    const error = await page.evaluate(() => window.engineError);
    assert.equal(error, undefined, error);
    const result = await page.evaluate(() => window.engineResult) as { info: { backend: string; runtime: string; simd: boolean; ownKernels: string[] }; passed: number; failed: number; failures: string[] };
    assert.equal(result.info.backend, 'wasm');
    assert.equal(result.info.runtime, 'browser');
    assert.ok(result.info.ownKernels.includes('Conv2DBackpropFilter'));
    assert.equal(result.failed, 0, `failed in the browser: ${result.failures.join(', ')}`);
    assert.ok(result.passed >= 40);
    assert.deepEqual(consoleErrors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});
