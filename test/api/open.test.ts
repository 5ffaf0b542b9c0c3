/**
 * The public API from the checkout (the packed package: test/package/packed-package.ts):
 * open() on the shipped zoo loads lazily, its methods give the CLI loader's numbers, bad input
 * names what is wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open } from '../../src/index.ts';
import { loadAnalysis } from '../../src/pipeline/analysis-loader.ts';
import { invariancePerLayer } from '../../src/analysis/invariances.ts';

test('open(): sample on given images, invariance equal to the CLI loader, errors that name the problem', async () => {
  const p = await open('zoo/colormnist', { images: 16 });
  try {
    assert.deepEqual(p.layers, ['conv0', 'conv2', 'z', 'logits']);
    const images = await p.images(3);
    assert.deepEqual(images.shape, [3, 32, 32, 3]);
    const s = await p.layer('z').sample(images, { n: 2, seed: 1 });
    assert.deepEqual(s.indices, [0, 1, 2], 'every image given is an input, in order');
    assert.deepEqual(s.samples.shape, [6, 32, 32, 3]);
    const inv = await p.invariance({ layers: ['z'], inputs: 4, samples: 2 });
    const cli = await loadAnalysis(['zoo/colormnist'], { images: 16, layers: ['z'], semantic: false, checkpoints: false });
    try {
      assert.deepEqual(inv, invariancePerLayer(cli.context, { layers: ['z'], inputs: 4, samples: 2 }));
    } finally {
      cli.dispose();
    }
    assert.throws(() => p.layer('conv9'), /unknown layer 'conv9' \(layers with a t: conv0, conv2, z, logits\)/);
    await assert.rejects(p.images(0), /count must be a positive integer, got 0/);
  } finally {
    p.dispose();
  }
  await assert.rejects(open('no/such/zoo'), /open: 'no\/such\/zoo' does not exist/);
  await assert.rejects(open('zoo/colormnist', { images: -1 }).then((q) => q.images()), /images must be a positive integer, got -1/);
});
