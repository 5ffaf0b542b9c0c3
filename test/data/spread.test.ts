// The explorer's image strip: a seeded sample spread over the labels (src/data/dataset.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spreadOverLabels, subsetImages } from '../../src/data/dataset.ts';

test('a folder sorted by class still gives every class, evenly, the same for the same seed', () => {
  const labels = Int32Array.from({ length: 300 }, (_, i) => Math.floor(i / 100)); // 100 × class 0, then 1, then 2
  const picked = spreadOverLabels(labels, 9, 0);
  assert.equal(picked.length, 9);
  assert.equal(new Set(picked).size, 9);
  assert.deepEqual([0, 1, 2].map((c) => picked.filter((i) => labels[i] === c).length), [3, 3, 3]);
  assert.deepEqual(spreadOverLabels(labels, 9, 0), picked);
  assert.notDeepEqual(spreadOverLabels(labels, 9, 1), picked);
  // More than there are: every image once; an unbalanced set: the small class is used up first.
  assert.deepEqual(spreadOverLabels(labels, 500, 0).sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i));
  const uneven = Int32Array.from([0, 0, 0, 0, 0, 1, -1]);
  assert.deepEqual(new Set(spreadOverLabels(uneven, 3, 0).map((i) => uneven[i])), new Set([-1, 0, 1]));
});

test('subsetImages keeps images and labels paired', () => {
  const ds = { name: 'x', images: Float32Array.from([0, 0, 1, 1, 2, 2]), shape: [3, 1, 2, 1] as [number, number, number, number], labels: Int32Array.from([5, 6, 7]), classNames: [], valueRange: [0, 1] as [0, 1] };
  const s = subsetImages(ds, [2, 0]);
  assert.deepEqual(Array.from(s.images), [2, 2, 0, 0]);
  assert.deepEqual(Array.from(s.labels), [7, 5]);
  assert.deepEqual(s.shape, [2, 1, 2, 1]);
});
