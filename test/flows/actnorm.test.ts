// ActNorm's data-dependent initialisation: values, batch size 1 (deferred), saved flag, no
// re-initialisation of a loaded model, channels-last use in the embedders.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { ActNorm, loadFlow, saveFlow } from '../../src/flows/index.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

test('the first batch sets loc = −mean and scale = 1/(std+1e-6) with the unbiased std, and comes out standardised', () => {
  const values = [1, 10, 2, 20, 4, 40, 5, 30]; // 4 rows × 2 dims
  const x = tf.tensor2d(values, [4, 2]);
  const norm = new ActNorm({ dim: 2 });
  assert.equal(norm.initialized, false);
  const { output, logDet } = norm.forward(x);
  assert.equal(norm.initialized, true);
  const col = (d: number) => values.filter((_, i) => i % 2 === d);
  const mean = [0, 1].map((d) => col(d).reduce((a, b) => a + b, 0) / 4);
  const std = [0, 1].map((d) => Math.sqrt(col(d).reduce((a, b) => a + (b - mean[d]!) ** 2, 0) / 3));
  close(norm.loc.dataSync(), mean.map((m) => -m), 1e-6, 'loc');
  close(norm.scale.dataSync(), std.map((s) => 1 / (s + 1e-6)), 1e-6, 'scale');
  const out = output.dataSync();
  for (let d = 0; d < 2; d++) {
    const c = [0, 1, 2, 3].map((b) => out[b * 2 + d]!);
    const m = c.reduce((a, b) => a + b, 0) / 4;
    const s = Math.sqrt(c.reduce((a, b) => a + (b - m) ** 2, 0) / 3);
    assert.ok(Math.abs(m) < 1e-5 && Math.abs(s - 1) < 1e-5, `dim ${d}: mean ${m}, std ${s}`);
  }
  const expectedLogDet = std.reduce((a, s) => a - Math.log(s + 1e-6), 0);
  close(logDet.dataSync(), [expectedLogDet, expectedLogDet, expectedLogDet, expectedLogDet], 1e-5, 'logDet');
  tf.dispose([x, output, logDet]);
  norm.dispose();
});

test('batch size 1 defers the initialisation: identity, not initialised, no NaN; a later batch initialises', () => {
  const norm = new ActNorm({ dim: 3 });
  const one = tf.tensor2d([[1, 2, 3]]);
  const r = norm.forward(one);
  assert.equal(norm.initialized, false);
  assert.deepEqual(Array.from(r.output.dataSync()), [1, 2, 3]);
  assert.deepEqual(Array.from(r.logDet.dataSync()), [0]);
  const batch = new Random(1).normalTensor([8, 3], 5, 2) as tf.Tensor2D;
  const r2 = norm.forward(batch);
  assert.equal(norm.initialized, true);
  assert.ok(Math.abs(norm.loc.dataSync()[0]! + 5) < 2, 'loc follows the batch mean');
  tf.dispose([one, batch, r.output, r.logDet, r2.output, r2.logDet]);
  norm.dispose();
});

test('an initialised block keeps its parameters on later batches; inverse never initialises', () => {
  const rng = new Random(2);
  const fresh = new ActNorm({ dim: 2 });
  const y = rng.normalTensor([5, 2], 3, 4) as tf.Tensor2D;
  const inv = fresh.inverse(y);
  assert.equal(fresh.initialized, false, 'inverse initialised the block');
  const first = rng.normalTensor([6, 2], 1, 2) as tf.Tensor2D;
  tf.dispose(Object.values(fresh.forward(first)));
  const loc = fresh.loc.dataSync().slice();
  const second = rng.normalTensor([6, 2], -7, 9) as tf.Tensor2D;
  tf.dispose(Object.values(fresh.forward(second)));
  assert.deepEqual(fresh.loc.dataSync(), loc);
  tf.dispose([y, inv.output, inv.logDet, first, second]);
  fresh.dispose();
});

test('the initialised flag is saved; a loaded initialised model never re-initialises, a loaded uninitialised one does', () => {
  const rng = new Random(3);
  const norm = new ActNorm({ dim: 4 });
  const uninitialisedSave = saveFlow(norm);
  const batch = rng.normalTensor([10, 4], 2, 3) as tf.Tensor2D;
  tf.dispose(Object.values(norm.forward(batch)));
  const saved = JSON.parse(JSON.stringify(saveFlow(norm)));
  const flag = saved.weights.find((w: { name: string }) => w.name === 'initialized');
  assert.ok(flag && flag.trainable === false, 'initialized is saved as a non-trainable entry');

  const loaded = loadFlow<ActNorm>(saved, 'ActNorm');
  assert.equal(loaded.initialized, true);
  const other = rng.normalTensor([10, 4], -50, 0.1) as tf.Tensor2D;
  const a = norm.forward(other);
  const b = loaded.forward(other);
  assert.deepEqual(b.output.dataSync(), a.output.dataSync(), 'the loaded model re-initialised on new data');
  assert.deepEqual(loaded.scale.dataSync(), norm.scale.dataSync());

  const loadedFresh = loadFlow<ActNorm>(uninitialisedSave);
  assert.equal(loadedFresh.initialized, false);
  tf.dispose(Object.values(loadedFresh.forward(other)));
  assert.equal(loadedFresh.initialized, true);
  tf.dispose([batch, other, a.output, a.logDet, b.output, b.logDet]);
  for (const m of [norm, loaded, loadedFresh]) m.dispose();
});

test('channels-last use (embedders): per-channel statistics over batch and positions; batch 1 with positions initialises', () => {
  const rng = new Random(4);
  const norm = new ActNorm({ dim: 3 });
  const x = rng.normalTensor([1, 4, 4, 3], 2, 5); // one image: 16 values per channel
  const y = norm.apply(x);
  assert.equal(norm.initialized, true);
  const moments = tf.moments(tf.reshape(y, [16, 3]), 0);
  const mean = moments.mean.dataSync();
  const variance = moments.variance.dataSync();
  for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(mean[c]!) < 1e-5, `channel ${c} mean ${mean[c]}`);
    assert.ok(Math.abs(variance[c]! * 16 / 15 - 1) < 1e-4, `channel ${c} unbiased variance ${variance[c]! * 16 / 15}`);
  }
  assert.throws(() => norm.apply(tf.zeros([1, 4, 4, 2])), /3 channels/);
  tf.dispose([x, y, moments.mean, moments.variance]);
  norm.dispose();
});
