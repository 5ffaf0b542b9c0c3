// The batch sampler (seeded and resumable batch order) and the learning-rate decay. The one
// training loop is the pipeline's runner (src/pipeline/runner.ts), tested with the run folders.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { BatchSampler, type LabeledImages } from '../../src/train/batches.ts';
import { linearDecay } from '../../src/train/optim.ts';

const toy: LabeledImages = {
  images: Float32Array.from({ length: 10 * 2 * 2 * 1 }, (_, i) => Math.floor(i / 4)),
  labels: Int32Array.from({ length: 10 }, (_, i) => i),
  shape: [10, 2, 2, 1],
};

describe('BatchSampler and the learning-rate decay', () => {
  before(async () => { await initEngine(); });

  test('BatchSampler: seeded epochs without repeats, resumable state, tensors shaped NHWC', () => {
    const a = new BatchSampler(toy, 3, 42);
    const epoch = [...a.nextIndices(), ...a.nextIndices(), ...a.nextIndices()];
    assert.equal(new Set(epoch).size, 9, 'no image twice within an epoch');
    const state = a.state();
    const next = [a.nextIndices(), a.nextIndices()];
    const b = new BatchSampler(toy, 3, 0);
    b.setState(state);
    assert.deepEqual([b.nextIndices(), b.nextIndices()], next);
    const batch = new BatchSampler(toy, 4, 1).next();
    assert.deepEqual(batch.x.shape, [4, 2, 2, 1]);
    const labels = Array.from(batch.labels.dataSync());
    const firstPixel = Array.from(tf.tidy(() => batch.x.reshape([4, 4]).slice([0, 0], [4, 1]).reshape([4]).dataSync()));
    assert.deepEqual(firstPixel, labels, 'images and labels stay paired');
    tf.dispose([batch.x, batch.labels]);
    assert.throws(() => new BatchSampler(toy, 11, 0), /batch size 11/);
  });

  test('linear learning-rate decay', () => {
    assert.equal(linearDecay(1, 5, 10, 20), 1);
    assert.equal(linearDecay(1, 15, 10, 20), 0.5);
    assert.equal(linearDecay(1, 20, 10, 20), 0);
    assert.equal(linearDecay(1, 50, 100, 20), 1);
  });
});
