import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildColorMnist, COLOR_MNIST_TEST_SEED } from '../../src/data/color-mnist.ts';
import { rawToDataset, type RawImages } from '../../src/data/dataset.ts';
import { loadMnistRaw } from '../../src/data/mnist.ts';
import { colorMnistPairs, labelPairs, type PairBatch, type PairSampler } from '../../src/data/pairs.ts';

const full = loadMnistRaw('test');
const n = 2000;
const raw: RawImages = { ...full, name: 'mnist/test[:2000]', pixels: full.pixels.subarray(0, n * 784), shape: [n, 28, 28], labels: full.labels.subarray(0, n) };
const reference = buildColorMnist(raw, { seed: COLOR_MNIST_TEST_SEED });
const fgbg = buildColorMnist(raw, { seed: COLOR_MNIST_TEST_SEED, variant: 'fgbg' });

const same3 = (x: Float32Array, i: number, y: Float32Array, j: number): boolean => [0, 1, 2].every((c) => x[3 * i + c] === y[3 * j + c]);

function batches(sampler: PairSampler, count: number): PairBatch[] {
  return Array.from({ length: count }, () => sampler.next());
}

test('ColorMNIST 2-factor pairs: digit ⇒ same class, independent colours; color ⇒ same colour (½ each)', () => {
  const sampler = colorMnistPairs(reference, { batchSize: 64, seed: 11 });
  assert.deepEqual(sampler.factorNames, ['digit', 'color', 'residual']);
  assert.equal(sampler.residualIndex, 2);
  const counts = [0, 0];
  for (const batch of batches(sampler, 20)) {
    assert.deepEqual(batch.shape, [64, 32, 32, 3]);
    for (let k = 0; k < 64; k++) {
      const f = batch.factors[k]!;
      counts[f]! += 1;
      if (f === 0) {
        assert.equal(batch.a.labels[k], batch.b.labels[k]);
        assert.ok(!same3(batch.a.colors!, k, batch.b.colors!, k));
      } else {
        assert.ok(same3(batch.a.colors!, k, batch.b.colors!, k));
      }
      // The colour is really in the pixels: the top-left pixel is background (≈ −c).
      for (const side of [batch.a, batch.b]) {
        for (let c = 0; c < 3; c++) assert.ok(Math.abs(side.images[k * 3072 + c]! + side.colors![3 * k + c]!) < 2 / 256 + 1e-6);
      }
    }
  }
  assert.ok(Math.abs(counts[0]! / 1280 - 0.5) < 0.06, `digit share ${counts[0]! / 1280}`);
});

test('ColorMNIST 3-factor pairs on fg/bg: the shared factor is shared, the others are not', () => {
  const sampler = colorMnistPairs(fgbg, { batchSize: 60, seed: 12 });
  assert.deepEqual(sampler.factorNames, ['digit', 'foreground', 'background', 'residual']);
  const counts = [0, 0, 0];
  for (const batch of batches(sampler, 10)) {
    const { a, b } = batch;
    for (let k = 0; k < 60; k++) {
      const f = batch.factors[k]!;
      counts[f]! += 1;
      const fg = same3(a.foreground!, k, b.foreground!, k);
      const bg = same3(a.background!, k, b.background!, k);
      if (f === 0) assert.ok(a.labels[k] === b.labels[k] && !fg && !bg);
      if (f === 1) assert.ok(fg && !bg);
      if (f === 2) assert.ok(bg && !fg);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(b.images[k * 3072 + c]! - (2 * b.background![3 * k + c]! - 1)) < 2 / 256 + 1e-6);
      }
    }
  }
  for (const c of counts) assert.ok(c > 150, `factor counts ${counts.join(', ')}`);
});

test('frozen pairs (test split): the same anchor always gives the same pair, with the dataset\'s colours', () => {
  const one = colorMnistPairs(reference, { batchSize: 100, seed: 1, mode: 'frozen' });
  const two = colorMnistPairs(reference, { batchSize: 100, seed: 99, mode: 'frozen' });
  const x = one.next();
  const y = two.next();
  assert.deepEqual(Array.from(x.a.indices), Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual(x.b.indices, y.b.indices);
  assert.deepEqual(x.factors, y.factors);
  assert.deepEqual(x.b.images, y.b.images);
  for (let k = 0; k < 100; k++) {
    const i = x.a.indices[k]!;
    const j = x.b.indices[k]!;
    assert.ok(same3(x.a.colors!, k, reference.colors!, i));
    assert.ok(same3(x.b.colors!, k, reference.colors!, x.factors[k] === 0 ? j : i));
    assert.deepEqual(x.a.images.subarray(k * 3072, (k + 1) * 3072), reference.images.subarray(i * 3072, (i + 1) * 3072));
  }
});

test('label pairs on any labelled dataset share the label; unlabelled images are never used', () => {
  const ds = rawToDataset(raw);
  ds.labels = ds.labels.slice();
  ds.labels[0] = -1;
  const sampler = labelPairs(ds, { batchSize: 50, seed: 5 });
  assert.deepEqual(sampler.factorNames, ['label', 'residual']);
  for (const batch of batches(sampler, 5)) {
    assert.deepEqual(batch.a.labels, batch.b.labels);
    assert.ok(!batch.a.indices.includes(0) && !batch.b.indices.includes(0));
    const k = 3;
    const j = batch.b.indices[k]!;
    assert.deepEqual(batch.b.images.subarray(k * 784, (k + 1) * 784), ds.images.subarray(j * 784, (j + 1) * 784));
  }
  const none = { ...ds, labels: new Int32Array(ds.labels.length).fill(-1) };
  assert.throws(() => labelPairs(none, { batchSize: 4, seed: 0 }), /has no labelled images/);
});

test('pair samplers resume from state() with the same pairs', () => {
  for (const make of [
    () => colorMnistPairs(reference, { batchSize: 32, seed: 21 }),
    () => colorMnistPairs(fgbg, { batchSize: 32, seed: 21 }),
    () => labelPairs(rawToDataset(raw), { batchSize: 32, seed: 21 }),
  ]) {
    const sampler = make();
    batches(sampler, 70); // crosses an epoch boundary (2000 / 32 = 62.5 batches)
    const saved = JSON.parse(JSON.stringify(sampler.state()));
    const expected = batches(sampler, 3);
    const resumed = make();
    resumed.setState(saved);
    assert.deepEqual(batches(resumed, 3), expected);
  }
  const s = colorMnistPairs(reference, { batchSize: 4, seed: 1 });
  assert.throws(() => s.setState({ ...s.state(), kind: 'label' }), /state is for a 'label' sampler, this is 'colormnist-reference'/);
});
