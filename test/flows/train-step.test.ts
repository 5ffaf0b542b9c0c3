// Training steps for t and e: no tensor leaks across steps, the loss falls, a seed fixes the run,
// the data-dependent init happens in the first step; and t's sampling (Eq. 2).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { ActNorm, ConditionalINN, SemanticINN } from '../../src/flows/index.ts';
import { cinnTrainStep, createFlowOptimizer, iinTrainStep, setLearningRate } from '../../src/train/flow-train-step.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

function trainT(t: ConditionalINN, conditionShape: number[], steps: number, seed: number): { losses: number[]; counts: number[] } {
  const rng = new Random(seed);
  const optimizer = createFlowOptimizer({ learningRate: 3e-3 });
  const losses: number[] = [];
  const counts: number[] = [];
  for (let s = 0; s < steps; s++) {
    const z = rng.normalTensor([16, ...conditionShape]);
    const zbar = tf.tidy(() => tf.add(tf.mul(rng.normalTensor([16, t.dim]), 0.3), tf.mul(tf.sum(z.reshape([16, -1]), 1, true), 2))) as tf.Tensor2D;
    losses.push(cinnTrainStep(t, optimizer, zbar, z).loss);
    tf.dispose([z, zbar]);
    counts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return { losses, counts };
}

test('t training steps (dense embedder): numTensors constant, loss falls, ActNorm initialised in step 1', () => {
  const t = new ConditionalINN({ dim: 4, conditionShape: [3], embeddingDim: 8, numBlocks: 2, hiddenWidth: 16, seed: 1 });
  const norms = t.flow.modules.filter((m): m is ActNorm => m instanceof ActNorm);
  assert.ok(norms.every((n) => !n.initialized));
  const { losses, counts } = trainT(t, [3], 40, 2);
  assert.ok(norms.every((n) => n.initialized));
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `numTensors changed across steps: ${counts.join(',')}`);
  const head = losses.slice(0, 5).reduce((a, b) => a + b, 0) / 5;
  const tail = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
  assert.ok(tail < head - 0.5, `loss did not fall: ${head} → ${tail}`);
  t.dispose();
});

test('t training steps (conv embedder): numTensors constant', () => {
  const t = new ConditionalINN({ dim: 4, conditionShape: [6, 6, 2], embeddingDim: 8, numBlocks: 1, hiddenWidth: 8, embedder: { numDown: 1, baseChannels: 4 }, seed: 3 });
  const { counts } = trainT(t, [6, 6, 2], 6, 4);
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `numTensors changed across steps: ${counts.join(',')}`);
  t.dispose();
});

test('the same seed gives the same losses and weights', () => {
  const run = () => {
    const t = new ConditionalINN({ dim: 4, conditionShape: [3], embeddingDim: 4, numBlocks: 1, hiddenWidth: 8, seed: 5 });
    const { losses } = trainT(t, [3], 5, 6);
    const w = Array.from(t.weights.get('flow.1.s.0.layers.0.kernel')!.dataSync());
    t.dispose();
    return { losses, w };
  };
  assert.deepEqual(run(), run());
});

test('e training steps: numTensors constant and the pair loss falls', () => {
  const e = new SemanticINN({ dim: 4, factorNames: ['a', 'residual'], numBlocks: 2, hiddenWidth: 16, seed: 7 });
  const rng = new Random(8);
  const optimizer = createFlowOptimizer({ learningRate: 3e-3 });
  const losses: number[] = [];
  const counts: number[] = [];
  for (let s = 0; s < 40; s++) {
    const za = tf.tidy(() => tf.mul(rng.normalTensor([16, 4]), 3)) as tf.Tensor2D;
    const zb = tf.tidy(() => tf.concat([tf.slice(za, [0, 0], [16, 2]), tf.mul(rng.normalTensor([16, 2]), 3)], 1)) as tf.Tensor2D;
    losses.push(iinTrainStep(e, optimizer, za, zb, Array.from({ length: 16 }, () => 'a')).loss);
    tf.dispose([za, zb]);
    counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.slice(1).every((c) => c === counts[1]), `numTensors changed across steps: ${counts.join(',')}`);
  assert.ok(losses.slice(-5).reduce((a, b) => a + b, 0) < losses.slice(0, 5).reduce((a, b) => a + b, 0) - 2.5, `loss did not fall: ${losses[0]} → ${losses.at(-1)}`);
  optimizer.dispose();
  e.dispose();
});

test('sample: n draws per condition, grouped by condition; seeded; temperature scales v; t(sample) recovers v', () => {
  const t = new ConditionalINN({ dim: 3, conditionShape: [2], embeddingDim: 4, numBlocks: 2, hiddenWidth: 8, seed: 9 });
  const rng = new Random(10);
  tf.dispose(Object.values(t.forward(rng.normalTensor([8, 3]) as tf.Tensor2D, rng.normalTensor([8, 2]))));
  const z = tf.tensor2d([[1, -1], [0.5, 2]]);
  const before = tf.memory().numTensors;
  const s = t.sample(z, 4, 42, { temperature: 0.5 });
  assert.equal(tf.memory().numTensors, before + 1, 'sample leaked tensors');
  assert.deepEqual(s.shape, [8, 3]);
  assert.deepEqual(t.sample(z, 4, 42, { temperature: 0.5 }).dataSync(), s.dataSync(), 'same seed, other samples');
  assert.notDeepEqual(t.sample(z, 4, 43, { temperature: 0.5 }).dataSync(), s.dataSync());
  // Rows b·n … b·n+n−1 belong to condition b: pushing them forward with that condition gives back v = 0.5·N(0, I) from Random(42).
  const zRep = tf.tensor2d([1, -1, 1, -1, 1, -1, 1, -1, 0.5, 2, 0.5, 2, 0.5, 2, 0.5, 2], [8, 2]);
  const v = t.forward(s, zRep).output.dataSync();
  const expected = new Random(42).normalTensor([8, 3], 0, 0.5).dataSync();
  v.forEach((x, i) => assert.ok(Math.abs(x - expected[i]!) < 1e-4, `v[${i}] ${x} vs ${expected[i]}`));
  // Temperature 0: every sample is t⁻¹(0 | z).
  const cold = t.sample(z, 3, 1, { temperature: 0 }).arraySync();
  assert.deepEqual(cold[0], cold[2]);
  assert.notDeepEqual(cold[0], cold[3]);
  assert.throws(() => t.sample(z, 0), /n must be an integer ≥ 1/);
  t.dispose();
});

test('setLearningRate changes the step size Adam uses (0 freezes the weights)', () => {
  const t = new ConditionalINN({ dim: 2, conditionShape: [1], embeddingDim: 2, numBlocks: 1, hiddenWidth: 4, seed: 12 });
  const optimizer = createFlowOptimizer({ learningRate: 1e-2 });
  const rng = new Random(13);
  const zbar = rng.normalTensor([8, 2]) as tf.Tensor2D;
  const z = rng.normalTensor([8, 1]);
  cinnTrainStep(t, optimizer, zbar, z);
  setLearningRate(optimizer, 0);
  // Read the weight after each step: a fused flow's named weights are a view refreshed on reading.
  const kernel = () => t.weights.get('flow.1.s.0.layers.0.kernel')!.dataSync().slice();
  const before = kernel();
  cinnTrainStep(t, optimizer, zbar, z);
  assert.deepEqual(kernel(), before);
  setLearningRate(optimizer, 1e-2);
  cinnTrainStep(t, optimizer, zbar, z);
  assert.notDeepEqual(kernel(), before);
  assert.throws(() => setLearningRate(optimizer, -1), /learning rate must be ≥ 0/);
  tf.dispose([zbar, z]);
  optimizer.dispose();
  t.dispose();
});
