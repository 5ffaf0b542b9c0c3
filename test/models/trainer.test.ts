// The model-agnostic training loop and the batch sampler: checkpoint iterations, events, early
// stop, resume; seeded and resumable batch order.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { checkpointIterations } from '../../src/models/checkpoints.ts';
import { BatchSampler, type LabeledImages } from '../../src/train/batches.ts';
import { linearDecay } from '../../src/train/optim.ts';
import { trainLoop, type TrainEvent } from '../../src/train/trainer.ts';

const toy: LabeledImages = {
  images: Float32Array.from({ length: 10 * 2 * 2 * 1 }, (_, i) => Math.floor(i / 4)),
  labels: Int32Array.from({ length: 10 }, (_, i) => i),
  shape: [10, 2, 2, 1],
};

describe('trainLoop and BatchSampler', () => {
  before(async () => { await initEngine(); });

  test('checkpoints at exactly the requested iterations (incl. 0), monotone events, metrics passed through', async () => {
    const events: TrainEvent[] = [];
    const saved: number[] = [];
    const ran: number[] = [];
    const result = await trainLoop({
      task: 't',
      steps: 40,
      step: (i) => { ran.push(i); return { loss: 40 - i }; },
      checkpointAt: checkpointIterations(40, 4, true),
      onCheckpoint: (i) => { saved.push(i); assert.equal(ran.length, i, 'checkpoint i is taken after i steps'); },
      evalEvery: 20,
      evaluate: (i) => ({ acc: i / 40 }),
      reportEvery: 5,
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual(saved, [0, 10, 20, 30, 40]);
    assert.deepEqual(ran, Array.from({ length: 40 }, (_, i) => i));
    assert.equal(result.iterations, 40);
    assert.deepEqual(result.last, { loss: 1 });
    assert.deepEqual(result.lastEval, { acc: 1 });
    assert.equal(events[0]!.kind, 'start');
    assert.equal(events.at(-1)!.kind, 'end');
    assert.equal(events.at(-1)!.done, true);
    const steps = events.map((e) => e.step);
    assert.ok(steps.every((s, i) => i === 0 || s >= steps[i - 1]!), `steps not monotone: ${steps.join(',')}`);
    assert.equal(events.filter((e) => e.kind === 'step').length, 8);
    assert.deepEqual(events.filter((e) => e.kind === 'eval').map((e) => e.step), [20, 40]);
  });

  test('shouldStop ends early; a resumed loop starts at its iteration and skips earlier checkpoints', async () => {
    const saved: number[] = [];
    const first = await trainLoop({ task: 't', steps: 20, step: () => ({}), checkpointAt: [5, 10, 15, 20], onCheckpoint: (i) => { saved.push(i); }, shouldStop: (i) => i >= 7 });
    assert.equal(first.iterations, 7);
    assert.equal(first.stoppedEarly, true);
    const second = await trainLoop({ task: 't', steps: 20, startIteration: 7, step: () => ({}), checkpointAt: [5, 10, 15, 20], onCheckpoint: (i) => { saved.push(i); } });
    assert.equal(second.iterations, 20);
    assert.deepEqual(saved, [5, 10, 15, 20]);
  });

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
