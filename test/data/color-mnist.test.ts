import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildColorMnist, COLOR_MNIST_TEST_SEED, recolorColorMnist, type ColorMnistDataset } from '../../src/data/color-mnist.ts';
import { validateDataset } from '../../src/data/dataset.ts';
import { loadColorMnist, loadMnistRaw } from '../../src/data/mnist.ts';

const raw = loadMnistRaw('test');
const reference = buildColorMnist(raw, { seed: COLOR_MNIST_TEST_SEED });
const fgbg = buildColorMnist(raw, { variant: 'fgbg', seed: COLOR_MNIST_TEST_SEED });

/**
 * Checks background pixels (digit byte 0: within the 2/256 dequantisation step of the target)
 * and stroke pixels (byte ≥ 250, which bilinear resizing leaves in stroke centres: within (255 − 250 + 2)·2/256).
 */
function checkColours(ds: ColorMnistDataset, images: number, expected: (i: number, stroke: boolean, ch: number) => number): void {
  const per = 32 * 32;
  let backgrounds = 0;
  let strokes = 0;
  for (let i = 0; i < images; i++) {
    for (let p = 0; p < per; p++) {
      const byte = ds.digits[i * per + p]!;
      if (byte !== 0 && byte < 250) continue;
      const stroke = byte >= 250;
      stroke ? strokes++ : backgrounds++;
      for (let ch = 0; ch < 3; ch++) {
        const value = ds.images[(i * per + p) * 3 + ch]!;
        const tolerance = (stroke ? 14 : 2) / 256 + 1e-6;
        assert.ok(Math.abs(value - expected(i, stroke, ch)) <= tolerance, `image ${i} pixel ${p} channel ${ch}: ${value}`);
      }
    }
  }
  assert.ok(backgrounds > images * 500 && strokes > images * 10, `${backgrounds} background and ${strokes} stroke pixels checked`);
}

test('reference ColorMNIST: 32×32×3 in [-1, 1], background = −c and stroke = +c for one c ~ U[0,1]³ per image', () => {
  validateDataset(reference);
  assert.deepEqual(reference.shape, [10000, 32, 32, 3]);
  assert.deepEqual(reference.factorNames, ['digit', 'color']);
  for (const v of reference.images) assert.ok(v >= -1 && v <= 1);
  for (const c of reference.colors!) assert.ok(c >= 0 && c < 1);
  checkColours(reference, 200, (i, stroke, ch) => (stroke ? 1 : -1) * reference.colors![3 * i + ch]!);
  // Exactly: x = ((v + u)/256·2 − 1)·c.
  const i = 17;
  const p = 500;
  const v = reference.digits[i * 1024 + p]!;
  const u = reference.offsets[i]!;
  for (let ch = 0; ch < 3; ch++) {
    const expected = ((v + u) / 256 * 2 - 1) * reference.colors![3 * i + ch]!;
    assert.ok(Math.abs(reference.images[(i * 1024 + p) * 3 + ch]! - expected) < 1e-6);
  }
});

test('fg/bg ColorMNIST: independent foreground and background colours; background = 2b − 1, stroke ≈ 2f − 1', () => {
  validateDataset(fgbg);
  assert.deepEqual(fgbg.factorNames, ['digit', 'foreground', 'background']);
  assert.equal(fgbg.colors, null);
  for (const v of fgbg.images) assert.ok(v >= -1 && v <= 1);
  checkColours(fgbg, 200, (i, stroke, ch) => 2 * (stroke ? fgbg.foreground! : fgbg.background!)[3 * i + ch]! - 1);
  // Foreground and background are uncorrelated across images.
  const n = 10000;
  let sf = 0, sb = 0, sfb = 0, sff = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const f = fgbg.foreground![3 * i]!;
    const b = fgbg.background![3 * i]!;
    sf += f; sb += b; sfb += f * b; sff += f * f; sbb += b * b;
  }
  const corr = (sfb / n - (sf / n) * (sb / n)) / Math.sqrt((sff / n - (sf / n) ** 2) * (sbb / n - (sb / n) ** 2));
  assert.ok(Math.abs(corr) < 0.05, `correlation ${corr}`);
});

test('ColorMNIST is deterministic by seed; the test split is frozen; recolouring redraws', () => {
  const again = loadColorMnist('test');
  assert.equal(again.seed, COLOR_MNIST_TEST_SEED);
  assert.deepEqual(again.colors, reference.colors);
  assert.deepEqual(again.images.subarray(0, 30000), reference.images.subarray(0, 30000));
  const other = buildColorMnist(raw, { seed: 2 });
  assert.notDeepEqual(other.colors!.subarray(0, 30), reference.colors!.subarray(0, 30));
  recolorColorMnist(other, COLOR_MNIST_TEST_SEED);
  assert.deepEqual(other.images.subarray(0, 30000), reference.images.subarray(0, 30000));
  assert.throws(() => buildColorMnist(raw, { variant: 'stripes' as 'fgbg' }), /unknown variant 'stripes'/);
});

test('the 60000-image training set builds in a few seconds', (t) => {
  const started = Date.now();
  const train = loadColorMnist('train', { seed: 5 });
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(train.shape, [60000, 32, 32, 3]);
  assert.ok(seconds < 20, `took ${seconds.toFixed(1)} s`);
  t.diagnostic(`ColorMNIST train (60000 images, read + resize + colour): ${seconds.toFixed(2)} s`);
});
