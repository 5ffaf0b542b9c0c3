// Structure, shapes and configs: Sequence's append checks, condition checks, config validation,
// the embedders' widths and sizes, factor chunking, Shuffle's seeded permutation.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import {
  ActNorm, ConditionalINN, ConvEmbedder, DenseEmbedder, DoubleAffineCoupling, SemanticINN, Sequence, ShapeError, Shuffle,
  WeightSource, autoNumDown, chunkSizes, linspaceInt, parameterCount, resolveConfig, DEFAULT_CINN_CONFIG,
} from '../../src/flows/index.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

test('Sequence.append names the block and both shapes when a block does not fit', () => {
  const seq = new Sequence({ dim: 6 });
  seq.append(new ActNorm({ dim: 6 }));
  assert.throws(
    () => seq.append(new DoubleAffineCoupling({ dim: 4, hiddenWidth: 4 })),
    (error: unknown) => {
      assert.ok(error instanceof ShapeError);
      assert.match(error.message, /block 1 \(DoubleAffineCoupling\)/);
      assert.match(error.message, /expects input \[B, 4\]/);
      assert.match(error.message, /block 0 \(ActNorm\) outputs \[B, 6\]/);
      return true;
    },
  );
  assert.throws(() => new Sequence({ dim: 3 }).append(new Shuffle({ dim: 5 })), /block 0 \(Shuffle\).*\[B, 5\].*sequence input is \[B, 3\]/);
  assert.equal(seq.length, 1, 'the failed block was not appended');
  seq.dispose();
});

test('wrong input and condition shapes fail with both shapes in the message', () => {
  const c = new DoubleAffineCoupling({ dim: 4, conditionDim: 3, hiddenWidth: 4 });
  const x = tf.zeros([2, 4]) as tf.Tensor2D;
  assert.throws(() => c.forward(x), /needs a condition of shape \[2, 3\]/);
  assert.throws(() => c.forward(x, tf.zeros([2, 5])), /expected condition of shape \[2, 3\], got \[2, 5\]/);
  assert.throws(() => c.forward(tf.zeros([2, 5]) as tf.Tensor2D, tf.zeros([2, 3])), /expected input of shape \[B, 4\], got \[2, 5\]/);
  const u = new DoubleAffineCoupling({ dim: 4, hiddenWidth: 4 });
  assert.throws(() => u.forward(x, tf.zeros([2, 3])), /unconditional block got a condition/);
  const t = new ConditionalINN({ dim: 4, conditionShape: [3], embeddingDim: 4, numBlocks: 1, hiddenWidth: 4 });
  assert.throws(() => t.forward(x, tf.zeros([2, 7])), /expected condition of shape \[B, 3\], got \[2, 7\]/);
  assert.throws(() => t.forward(x), /needs the condition z/);
  for (const m of [c, u, t]) m.dispose();
});

test('configs: defaults fill in, unknown keys and wrong types are rejected with the key named', () => {
  const cfg = resolveConfig(DEFAULT_CINN_CONFIG, { dim: 8, conditionShape: [3], embedder: { depth: 6 } }, 'ConditionalINN');
  assert.equal(cfg.numBlocks, DEFAULT_CINN_CONFIG.numBlocks);
  assert.equal(cfg.embedder.depth, 6);
  assert.equal(cfg.embedder.kind, 'auto');
  assert.throws(() => new ConditionalINN({ dim: 8, conditionShape: [3], numBlock: 2 } as never), /config key 'numBlock': unknown key/);
  assert.throws(() => new ConditionalINN({ dim: 8, conditionShape: [3], embedder: { dpeth: 2 } } as never), /config key 'embedder\.dpeth': unknown key/);
  assert.throws(() => new ConditionalINN({ dim: 8, conditionShape: [3], hiddenWidth: '64' } as never), /'hiddenWidth': expected number, got string/);
  assert.throws(() => new ActNorm({ dim: 0 }), /dim must be an integer ≥ 1/);
  assert.throws(() => new SemanticINN({ dim: 6, factorSizes: [2, 2, 3] }), /summing to dim 6/);
  assert.throws(() => new SemanticINN({ dim: 6, rho: 1 }), /rho/);
});

test('dense embedder widths follow np.linspace(in, E, depth).astype(int), as the reference', () => {
  assert.deepEqual(linspaceInt(10, 128, 4), [10, 49, 88, 128]);
  assert.deepEqual(linspaceInt(4096, 128, 4), [4096, 2773, 1450, 128]);
  assert.deepEqual(linspaceInt(1000, 128, 4), [1000, 709, 418, 128]);
  assert.deepEqual(linspaceInt(2048, 128, 6), [2048, 1664, 1280, 896, 512, 128]);
  const e = new DenseEmbedder({ inputDim: 10, embeddingDim: 128 });
  assert.deepEqual(e.widths, [10, 49, 88, 128]);
  // 3 dense layers, ActNorm after the first two only.
  assert.deepEqual([...e.weights.keys()].sort(), [
    'layers.0.bias', 'layers.0.kernel', 'layers.1.bias', 'layers.1.kernel', 'layers.2.bias', 'layers.2.kernel',
    'norms.0.loc', 'norms.0.scale', 'norms.1.loc', 'norms.1.scale',
  ]);
  e.dispose();
});

test('conv embedder: stride-2 stages to the reference sizes, then a conv over what is left, giving [B, E]', () => {
  assert.equal(autoNumDown(13, 13), 2); // AlexNet conv5: 13 → 6 → 3
  assert.equal(autoNumDown(7, 7), 1);
  assert.equal(autoNumDown(2, 2), 0);
  const e = new ConvEmbedder({ inputShape: [13, 13, 5], embeddingDim: 7, numDown: 2, baseChannels: 4, maxChannels: 6 });
  const w = e.weights;
  assert.deepEqual(w.get('stages.0.conv.kernel')!.shape, [4, 4, 5, 4]);
  assert.deepEqual(w.get('stages.1.conv.kernel')!.shape, [4, 4, 4, 6], 'channels capped at maxChannels');
  assert.deepEqual(w.get('out.kernel')!.shape, [3, 3, 6, 7], 'kernel = remaining 3×3');
  assert.ok(!w.has('stages.0.conv.bias') && w.has('out.bias'));
  const z = new Random(1).normalTensor([2, 13, 13, 5]);
  const out = e.embed(z);
  assert.deepEqual(out.shape, [2, 7]);
  tf.dispose([z, out]);
  e.dispose();
});

test('factor sizes: torch.chunk-style equal chunks or explicit sizes; named encode/decode round trip', () => {
  assert.deepEqual(chunkSizes(64, 3), [22, 22, 20]);
  assert.deepEqual(chunkSizes(64, 5), [13, 13, 13, 13, 12]);
  assert.throws(() => chunkSizes(6, 4), /3 chunks/);
  const e = new SemanticINN({ dim: 6, factorNames: ['digit', 'color', 'residual'], factorSizes: [1, 2, 3], numBlocks: 1, hiddenWidth: 4 });
  const x = new Random(2).normalTensor([3, 6]) as tf.Tensor2D;
  const f = e.encode(x);
  assert.deepEqual(Object.keys(f), ['digit', 'color', 'residual']);
  assert.deepEqual([f.digit!.shape, f.color!.shape, f.residual!.shape], [[3, 1], [3, 2], [3, 3]]);
  const back = e.decode(f);
  assert.ok(tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]! < 1e-5);
  assert.throws(() => e.decode({ digit: f.digit!, color: f.color! }), /factor 'residual' is missing/);
  assert.throws(() => e.factorIndex('shape'), /unknown factor 'shape'.*digit, color, residual/);
  tf.dispose([x, back, ...Object.values(f)]);
  e.dispose();
});

test('Shuffle: the permutation is seeded, saved and inverted; blocks built from one seed are identical', () => {
  const a = new Shuffle({ dim: 8 }, WeightSource.fresh(new Random(5)));
  const b = new Shuffle({ dim: 8 }, WeightSource.fresh(new Random(5)));
  assert.deepEqual(a.permutation, b.permutation);
  assert.notDeepEqual(Array.from(a.permutation), [0, 1, 2, 3, 4, 5, 6, 7]);
  const x = tf.tensor2d([[0, 1, 2, 3, 4, 5, 6, 7]]);
  const y = a.forward(x);
  assert.deepEqual(Array.from(y.output.dataSync()), Array.from(a.permutation), 'y[i] = x[perm[i]]');
  const t1 = new ConditionalINN({ dim: 4, conditionShape: [2], embeddingDim: 3, numBlocks: 2, hiddenWidth: 4, seed: 9 });
  const t2 = new ConditionalINN({ dim: 4, conditionShape: [2], embeddingDim: 3, numBlocks: 2, hiddenWidth: 4, seed: 9 });
  const t3 = new ConditionalINN({ dim: 4, conditionShape: [2], embeddingDim: 3, numBlocks: 2, hiddenWidth: 4, seed: 10 });
  const snapshot = (t: ConditionalINN) => [...t.weights.entries()].map(([k, v]) => [k, Array.from(v.dataSync())]);
  assert.deepEqual(snapshot(t1), snapshot(t2));
  assert.notDeepEqual(snapshot(t1), snapshot(t3));
  assert.equal(parameterCount(t1), [...t1.weights.values()].reduce((n, v) => n + v.size, 0));
  tf.dispose([x, y.output, y.logDet]);
  for (const m of [a, b, t1, t2, t3]) m.dispose();
});
