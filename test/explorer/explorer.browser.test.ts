// The explorer end to end in a real browser: Debian's Chromium (headless, driven by
// playwright-core) loads the page from the explorer's server on a tiny zoo reproduced here.
// Every mode loads, draws non-blank images and reacts to its controls; uploads are decoded in
// the page (and refused when not PNG/JPEG); a zoo file whose sha256 does not match the
// manifest is reported in the page; run folders work like a zoo; no console errors. Screenshots go to a temp folder (printed).
// The time to resample 16 images is recorded (printed), not asserted.
// INNTROSPECT_EXPLORER_ZOO=<zoo folder> runs the same tests on an existing zoo (e.g. the shipped
// zoo/colormnist, to time it) instead of reproducing a tiny one.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/index.ts';
import { reproduceColorMnist } from '../../src/pipeline/reproduce.ts';
import { ensureExplorerBuilt } from '../../src/explorer/build.ts';
import { colorMnistTestSet, dataTestSet, startExplorerServer, type ExplorerServer } from '../../src/explorer/server.ts';
import { virtualZooFromRuns } from '../../src/pipeline/run-sources.ts';
import {
  assertNonBlank, canvasSpread, closeBrowser, consoleErrors, done, launchBrowser, openPage, setControl, shot as saveShot, skipReason, waitDone,
} from './page-driver.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-explorer-'));
const shots = join(root, 'screenshots');
let server: ExplorerServer;
let page: Page;
const shot = (p: Page, name: string) => saveShot(p, shots, name);

describe('explorer in Chromium', { skip: skipReason(), timeout: 600_000 }, () => {
  before(async () => {
    const existing = process.env['INNTROSPECT_EXPLORER_ZOO'];
    if (existing) {
      cpSync(existing, join(root, 'zoo'), { recursive: true });
    } else {
      const info = await initEngine();
      await reproduceColorMnist({ preset: 'tiny', out: join(root, 'zoo'), runs: join(root, 'runs'), backend: info.backend });
    }
    const build = await ensureExplorerBuilt(join(root, 'build'));
    server = await startExplorerServer({ modelDir: join(root, 'zoo'), buildDir: build.dir, port: 0, testSet: await colorMnistTestSet(128) });
    await launchBrowser();
    // INNTROSPECT_EXPLORER_FUSION=unfused: the page builds t and e on the stock-kernel path (the resample time before fusion).
    const fusion = process.env['INNTROSPECT_EXPLORER_FUSION'];
    page = await openPage(fusion ? `${server.url}?fusion=${fusion}` : server.url);
    process.stdout.write(`# explorer screenshots: ${shots}\n`);
  });

  after(async () => {
    await closeBrowser();
    await server?.close();
  });

  test('loads every model of the zoo, verified, on wasm', async () => {
    const init = await page.evaluate(() => window.explorer.init);
    assert.equal(await page.evaluate(() => window.explorer.fatal), null);
    assert.ok(init);
    assert.match(init.backend, /^wasm/);
    assert.deepEqual(init.models.filter((m) => !m.ok), []);
    assert.deepEqual(init.layers, ['conv0', 'conv2', 'z', 'logits']);
    assert.deepEqual(init.factors, ['digit', 'color']);
    await assertNonBlank(page, '[data-testid=gallery]', 64);
  });

  test('Representations: samples, mean and variance maps, re-encoding; resampling changes the samples', async () => {
    await waitDone(page, 'sample', 0);
    await assertNonBlank(page, '[data-testid=sample-output]', 3 + 8);
    assert.match(await page.textContent('[data-testid=reencoding]') ?? '', /cos\(Φ\(x̄\), z\) = -?\d\.\d{3}.*random pairs of test images: -?\d\.\d{3}/);
    await setControl(page, 'layer', 'conv0');
    await setControl(page, 'samples', '16');
    // Two changes may give one or two requests (latest wins): wait for the answer to the last state.
    await page.waitForFunction(() => {
      const r = window.explorer.last['sample'] as { layer: string; samples: { shape: number[] } };
      return r.layer === 'conv0' && r.samples.shape[0] === 16 && document.querySelector('[data-testid=sample-status].done') !== null;
    }, null, { timeout: 120_000 });
    let n = await done(page, 'sample');
    const first = await page.evaluate(() => Array.from((window.explorer.last['sample'] as { samples: { data: Float32Array } }).samples.data.slice(0, 3072 * 2)));
    assert.equal(await page.evaluate(() => (window.explorer.last['sample'] as { samples: { shape: number[] } }).samples.shape[0]), 16);
    // Resampling: 10 times, timing each round trip (recorded in docs/benchmarks.md, not asserted).
    const times: number[] = [];
    let previous = first;
    for (let k = 0; k < 10; k++) {
      n = await done(page, 'sample');
      await page.click('[data-testid=resample]');
      await waitDone(page, 'sample', n);
      const now = await page.evaluate(() => Array.from((window.explorer.last['sample'] as { samples: { data: Float32Array } }).samples.data.slice(0, 3072 * 2)));
      assert.notDeepEqual(now, previous, 'resampling gave the same samples');
      previous = now;
      times.push(await page.evaluate(() => window.explorer.timings['sample']!.at(-1)!));
    }
    const worker = await page.evaluate(() => (window.explorer.last['sample'] as { millis: number }).millis);
    const sorted = [...times].sort((a, b) => a - b);
    process.stdout.write(`# explorer: resample 16 images at conv0 (${process.env['INNTROSPECT_EXPLORER_ZOO'] ?? 'tiny zoo'}, wasm, ${process.env['INNTROSPECT_EXPLORER_FUSION'] ?? 'fused'} flow blocks, Chromium): median ${sorted[5]!.toFixed(0)} ms round trip (min ${sorted[0]!.toFixed(0)}, max ${sorted[9]!.toFixed(0)}; last in the worker ${worker.toFixed(0)} ms)\n`);
    await assertNonBlank(page, '[data-testid=samples]', 16);
    await shot(page, 'representations');
  });

  test('an uploaded PNG is decoded and resized in the page; other files are refused', async () => {
    const png = await sharp({ create: { width: 60, height: 40, channels: 3, background: { r: 200, g: 30, b: 90 } } })
      .composite([{ input: Buffer.from('<svg width="60" height="40"><circle cx="30" cy="20" r="12" fill="white"/></svg>') }]).png().toBuffer();
    const n = await done(page, 'sample');
    await page.setInputFiles('[data-testid=upload]', { name: 'mine.png', mimeType: 'image/png', buffer: png });
    await waitDone(page, 'sample', n);
    assert.match(await page.textContent('[data-testid=image-a]') ?? '', /upload: mine\.png/);
    await assertNonBlank(page, '[data-testid=sample-output]', 3);
    await page.setInputFiles('[data-testid=upload]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await page.waitForSelector('[data-testid=upload-status].error');
    assert.match(await page.textContent('[data-testid=upload-status]') ?? '', /only PNG and JPEG/);
    await page.click('[data-testid=image-a]');
    const m = await done(page, 'sample');
    await page.click('[data-testid=thumb-0]');
    await waitDone(page, 'sample', m);
  });

  test('Attacks: ε = 0 keeps the prediction, a large ε changes it; every layer shows what it sees', async () => {
    await page.click('[data-testid=tab-attack]');
    await waitDone(page, 'attack', 0);
    let changed = false;
    for (let image = 0; image < 6 && !changed; image++) {
      let n = await done(page, 'attack');
      await page.click(`[data-testid=thumb-${image}]`);
      await waitDone(page, 'attack', n);
      n = await done(page, 'attack');
      await setControl(page, 'epsilon', '0');
      await waitDone(page, 'attack', n);
      const zero = await page.evaluate(() => (window.explorer.last['attack'] as { predictions: { clean: { label: number }; adversarial: { label: number } } }).predictions);
      assert.equal(zero.adversarial.label, zero.clean.label, 'ε = 0 changed the prediction');
      n = await done(page, 'attack');
      await setControl(page, 'epsilon', '0.3');
      await waitDone(page, 'attack', n);
      const big = await page.evaluate(() => window.explorer.last['attack'] as { linf: number; predictions: { clean: { label: number }; adversarial: { label: number } } });
      // FGSM moves every pixel by ε (unless clipped): a zero perturbation means a vanished gradient.
      assert.ok(big.linf > 0.29, `FGSM with ε = 0.3 moved the image by only ${big.linf}`);
      changed = big.predictions.adversarial.label !== big.predictions.clean.label;
    }
    assert.ok(changed, 'FGSM with ε = 0.3 changed the prediction of none of the first 6 images');
    await assertNonBlank(page, '[data-testid=attack-layers]', 4 * 3);
    await shot(page, 'attacks');
    const n = await done(page, 'attack');
    await setControl(page, 'attack-kind', 'pgd');
    await waitDone(page, 'attack', n);
    const pgd = await page.evaluate(() => window.explorer.last['attack'] as { linf: number; predictions: { clean: { label: number }; adversarial: { label: number } } });
    assert.ok(pgd.linf <= 0.3 + 1e-5, `PGD left the ε-ball: ${pgd.linf}`);
  });

  test('Mixing: v of one image with z of the other, in a 2×2 grid', async () => {
    await page.click('[data-testid=tab-mix]');
    await waitDone(page, 'mix', 0);
    await assertNonBlank(page, '[data-testid=mix-grid]', 6);
    // The headers are A and B themselves (the test images the previews name).
    const got = await page.evaluate(() => {
      const r = window.explorer.last['mix'] as { a: { data: Float32Array }; b: { data: Float32Array } };
      return { a: Array.from(r.a.data), b: Array.from(r.b.data), images: Array.from(window.explorer.init!.testSet!.images.data.slice(0, 64 * 3072)), aText: document.querySelector('[data-testid=image-a]')!.textContent ?? '', bText: document.querySelector('[data-testid=image-b]')!.textContent ?? '' };
    });
    const index = (text: string) => Number(/test #(\d+)/.exec(text)![1]);
    const same = (x: number[], k: number) => x.length === 3072 && x.every((v, i) => v === got.images[k * 3072 + i]);
    const heads = [same(got.a, index(got.aText)), same(got.b, index(got.bText)), index(got.aText) !== index(got.bText)];
    assert.deepEqual(heads, [true, true, true]);
    const before = await page.evaluate(() => Array.from((window.explorer.last['mix'] as { mixed: { data: Float32Array } }).mixed.data.slice(0, 3072)));
    const n = await done(page, 'mix');
    await setControl(page, 'mix-layer', 'conv0');
    await waitDone(page, 'mix', n);
    const after = await page.evaluate(() => Array.from((window.explorer.last['mix'] as { mixed: { data: Float32Array } }).mixed.data.slice(0, 3072)));
    assert.notDeepEqual(after, before, 'another layer gave the same mixture');
    await shot(page, 'mixing');
  });

  test('Semantic edits: swapping a factor in from B, moving along it changes the result', async () => {
    await page.click('[data-testid=tab-edit]');
    await waitDone(page, 'edit', 0);
    await assertNonBlank(page, '[data-testid=edit-output]', 3 + 7);
    const walk = await page.evaluate(() => (window.explorer.last['edit'] as { walk: { data: Float32Array } }).walk.data);
    const first = Array.from(Object.values(walk).slice(0, 3072) as number[]);
    const last = Array.from(Object.values(walk).slice(6 * 3072, 7 * 3072) as number[]);
    assert.notDeepEqual(first, last, 'α = 0 and α = 1 gave the same image');
    let n = await done(page, 'edit');
    await setControl(page, 'factor', 'color');
    await waitDone(page, 'edit', n);
    n = await done(page, 'edit');
    await setControl(page, 'edit-mode', 'random');
    await waitDone(page, 'edit', n);
    assert.equal(await page.evaluate(() => (window.explorer.last['edit'] as { factor: string }).factor), 'color');
    await shot(page, 'edits');
  });

  test('Training dynamics: accuracy and sensitivity curves; the checkpoint slider changes the snapshot', async () => {
    await page.click('[data-testid=tab-dynamics]');
    await waitDone(page, 'dynamicsCurves', 0, 'dynamics');
    await waitDone(page, 'dynamicsShow', 0, 'dynamics');
    const init = await page.evaluate(() => window.explorer.init!);
    const explain = await page.textContent('[data-testid=mode-dynamics] .explain') ?? '';
    const curves = await page.evaluate(() => window.explorer.last['dynamicsCurves'] as { steps: number[]; sensitivity: Record<string, (number | null)[]> | null });
    assert.equal(curves.steps.length, init.snapshots.length);
    if (init.dynamicsLayer) {
      // A t per snapshot (the paper's Fig. 4): samples per snapshot and the semantic sensitivity plot.
      assert.match(explain, new RegExp(`one t per classifier snapshot at layer ${init.dynamicsLayer}`));
      assert.equal(await page.locator('[data-testid=dynamics-charts] svg').count(), 3);
      // One value per snapshot that has a t (the tiny zoo: all; the shipped zoo: every other one).
      assert.ok(curves.sensitivity && Object.values(curves.sensitivity).every((v) => v.length === curves.steps.length && v.filter((x) => x !== null).length >= 2 && v.every((x) => x === null || Number.isFinite(x))));
      await assertNonBlank(page, '[data-testid=dynamics-samples]', 8);
    } else {
      assert.match(explain, /no t per snapshot/);
      assert.equal(await page.locator('[data-testid=dynamics-charts] svg').count(), 2);
      assert.equal(curves.sensitivity, null);
    }
    assert.ok(await page.locator('[data-testid=dynamics-charts] polyline').count() >= 3);
    await assertNonBlank(page, '[data-testid=dynamics-shown]', 4);
    const last = await page.evaluate(() => window.explorer.last['dynamicsShow'] as { step: number; samples: { data: Float32Array } | null });
    const n = await done(page, 'dynamicsShow');
    await setControl(page, 'snapshot', '0');
    await waitDone(page, 'dynamicsShow', n, 'dynamics');
    const first = await page.evaluate(() => window.explorer.last['dynamicsShow'] as { step: number; samples: { data: Float32Array } | null });
    assert.ok(first.step < last.step, `slider at 0 shows step ${first.step}, the last is ${last.step}`);
    if (init.dynamicsLayer) assert.notDeepEqual(Object.values(first.samples!.data).slice(0, 3072), Object.values(last.samples!.data).slice(0, 3072), 'two snapshots gave the same samples');
    await shot(page, 'dynamics');
  });

  test('?fusion=unfused builds t on the stock-kernel path (for timing the fusion): the page says so and samples the same layer', async () => {
    const p = await openPage(`${server.url}?fusion=unfused`);
    try {
      const init = await p.evaluate(() => window.explorer.init!);
      assert.match(init.backend, /unfused flow blocks/);
      await waitDone(p, 'sample', 0);
      assert.match(await p.textContent('[data-testid=status]') ?? '', /unfused flow blocks/);
    } finally {
      await p.close();
    }
  });

  test('a zoo file that does not match its manifest is reported in the page; the rest still works', async () => {
    const broken = join(root, 'zoo-broken');
    cpSync(join(root, 'zoo'), broken, { recursive: true });
    const file = join(broken, 'cinn-z.json');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('"format"', '"format" '));
    const other = await startExplorerServer({ modelDir: broken, buildDir: join(root, 'build'), port: 0, testSet: await colorMnistTestSet(32) });
    try {
      const p = await openPage(other.url);
      const banner = await p.textContent('[data-testid=load-errors]');
      assert.match(banner ?? '', /cinn-z\.json does not match its manifest/);
      const init = await p.evaluate(() => window.explorer.init!);
      assert.deepEqual(init.layers, ['conv0', 'conv2', 'logits']);
      await waitDone(p, 'sample', 0);
      await shot(p, 'checksum-error');
      await p.close();
    } finally {
      await other.close();
    }
  });

  test('run folders instead of a zoo: the same pipeline, gathered from the reproduction\'s runs', { skip: process.env['INNTROSPECT_EXPLORER_ZOO'] ? 'uses the runs of a tiny reproduction' : false }, async () => {
    const runs = await virtualZooFromRuns([join(root, 'runs')]);
    assert.deepEqual(Object.keys(runs.manifest.cinn).sort(), ['conv0', 'conv2', 'logits', 'z']);
    assert.equal(runs.manifest.snapshots.length, 4);
    // The runs' own data section gives the images: the same ColorMNIST test split as a zoo's.
    assert.equal(runs.data.dataset, 'colormnist');
    const other = await startExplorerServer({ runs, buildDir: join(root, 'build'), port: 0, testSet: await dataTestSet(runs.data, 32) });
    try {
      const p = await openPage(other.url);
      const init = await p.evaluate(() => window.explorer.init!);
      assert.deepEqual(init.models.filter((m) => !m.ok), []);
      assert.deepEqual(init.layers, ['conv0', 'conv2', 'z', 'logits']);
      assert.deepEqual(init.factors, ['digit', 'color']);
      assert.equal(init.dynamicsLayer, runs.manifest.dynamicsLayer || null);
      await waitDone(p, 'sample', 0);
      await assertNonBlank(p, '[data-testid=sample-output]', 3);
      await p.close();
    } finally {
      await other.close();
    }
  });

  test('no console errors or failed requests', () => {
    assert.deepEqual(consoleErrors, []);
  });
});
