import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchIterator } from '../../src/data/batches.ts';
import { gatherImages, subsetDataset, type ImageDataset } from '../../src/data/dataset.ts';

test('each epoch visits every index once, in a new order; the last batch may be smaller', () => {
  const it = new BatchIterator({ size: 10, batchSize: 4, seed: 1 });
  const epochs: number[][] = [[], []];
  const sizes: number[] = [];
  for (let k = 0; k < 6; k++) {
    const b = it.next();
    epochs[b.epoch]!.push(...b.indices);
    sizes.push(b.indices.length);
    assert.equal(b.step, k);
  }
  assert.deepEqual(sizes, [4, 4, 2, 4, 4, 2]);
  for (const e of epochs) assert.deepEqual([...e].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(epochs[0], epochs[1]);
  assert.equal(it.batchesPerEpoch, 3);
  const dropping = new BatchIterator({ size: 10, batchSize: 4, seed: 1, dropLast: true });
  assert.deepEqual([0, 1, 2].map(() => dropping.next().epoch), [0, 0, 1]);
  const ordered = new BatchIterator({ size: 5, batchSize: 2, seed: 1, shuffle: false });
  assert.deepEqual([0, 1, 2, 3].map(() => Array.from(ordered.next().indices)), [[0, 1], [2, 3], [4], [0, 1]]);
  assert.throws(() => new BatchIterator({ size: 3, batchSize: 4, seed: 0, dropLast: true }), /batchSize 4 exceeds size 3/);
  assert.throws(() => new BatchIterator({ size: 0, batchSize: 4, seed: 0 }), /size must be a positive integer/);
});

test('state() resumes the same batches: before the first batch, mid-epoch and at an epoch boundary', () => {
  for (const taken of [0, 2, 3, 5]) {
    const it = new BatchIterator({ size: 10, batchSize: 4, seed: 7 });
    for (let k = 0; k < taken; k++) it.next();
    const saved = JSON.parse(JSON.stringify(it.state()));
    const expected = Array.from({ length: 8 }, () => it.next());
    const resumed = BatchIterator.fromState(saved);
    const got = Array.from({ length: 8 }, () => resumed.next());
    assert.deepEqual(got, expected, `resumed after ${taken} batches`);
  }
  const same = (seed: number): number[] => Array.from(new BatchIterator({ size: 50, batchSize: 50, seed }).next().indices);
  assert.deepEqual(same(3), same(3));
  assert.notDeepEqual(same(3), same(4));
});

test('gatherImages copies a batch in NHWC order; subsetDataset keeps labels', () => {
  const ds: ImageDataset = {
    name: 'tiny',
    images: Float32Array.from({ length: 3 * 2 * 2 * 1 }, (_, i) => i),
    shape: [3, 2, 2, 1],
    labels: Int32Array.from([5, 6, 7]),
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7'],
    valueRange: [0, 1],
  };
  const batch = gatherImages(ds, [2, 0]);
  assert.deepEqual(Array.from(batch.images), [8, 9, 10, 11, 0, 1, 2, 3]);
  assert.deepEqual(Array.from(batch.labels), [7, 5]);
  assert.deepEqual(batch.shape, [2, 2, 2, 1]);
  assert.deepEqual(Array.from(subsetDataset(ds, [1]).labels), [6]);
  assert.throws(() => gatherImages(ds, [3]), /dataset 'tiny': index 3 is outside 0\.\.2/);
});
