// A training step of a small conv autoencoder and of a small conditional coupling flow on the
// default backend: no tensor leaks, the loss goes down, and a seed fixes weights and losses.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { smallConvAutoencoder, smallCouplingFlow, train } from './small-models.ts';

function imageBatches(seed: number) {
  // A fixed set of 8 smooth random images (low-frequency patterns) that the model can fit.
  const coarse = new Random(seed).fillUniform(new Float32Array(8 * 4 * 4 * 3));
  return () => tf.tidy(() => [tf.image.resizeBilinear(tf.tensor4d(coarse, [8, 4, 4, 3]), [16, 16])]);
}

function flowBatches(seed: number) {
  const rng = new Random(seed);
  const mix = rng.normalTensor([8, 8], 0, 0.5);
  return () => tf.tidy(() => {
    const c = rng.normalTensor([64, 8]);
    const x = tf.add(tf.matMul(c, mix), tf.mul(0.3, rng.normalTensor([64, 8])));
    return [x, c];
  });
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('training steps on the default backend', () => {
  before(async () => { await initEngine(); });

  test('conv autoencoder: no leaked tensors and the loss decreases over 50 steps', async () => {
    const model = smallConvAutoencoder(1);
    const { losses, tensorCounts } = await train(model, imageBatches(2), 50, 1e-2);
    assert.equal(new Set(tensorCounts.slice(2)).size, 1, `tensor count grows: ${tensorCounts.join(',')}`);
    assert.ok(mean(losses.slice(-5)) < 0.7 * mean(losses.slice(0, 5)), `loss ${losses[0]} → ${losses.at(-1)}`);
    tf.dispose(model.variables);
  });

  test('conditional coupling flow: no leaked tensors and the NLL decreases over 50 steps', async () => {
    const model = smallCouplingFlow(1);
    const { losses, tensorCounts } = await train(model, flowBatches(2), 50, 1e-2);
    assert.equal(new Set(tensorCounts.slice(2)).size, 1, `tensor count grows: ${tensorCounts.join(',')}`);
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 0.5, `loss ${losses[0]} → ${losses.at(-1)}`);
    tf.dispose(model.variables);
  });

  test('the same seed gives the same weights and the same first ten losses; another seed does not', async () => {
    const run = async (seed: number) => {
      const model = smallConvAutoencoder(seed);
      const weights = Array.from(model.variables[0]!.dataSync());
      const { losses } = await train(model, imageBatches(seed + 100), 10, 3e-3);
      tf.dispose(model.variables);
      return { weights, losses };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    assert.deepEqual(b.weights, a.weights);
    assert.deepEqual(b.losses, a.losses);
    assert.notDeepEqual(c.weights, a.weights);
    assert.notDeepEqual(c.losses, a.losses);
  });
});
