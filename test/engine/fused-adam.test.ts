// The fused Adam update (src/engine/adam-update.ts, native/torch/src/adam.cc) and the optimizer
// that uses it (src/train/fused-adam.ts): the same numbers as tf.train.adam over several steps
// and shapes, one update kernel per step, an exact resume through the saved optimizer state, no
// growth in tensors, errors as JavaScript Errors; and stock Adam, bit for bit, on backends
// without the kernel. The torch parts are skipped, with the reason, where the addon is not built.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, initEngine, tf } from '../../src/engine/index.ts';
import { ADAM_UPDATE_KERNEL, adamUpdate, hasAdamUpdateKernel } from '../../src/engine/adam-update.ts';
import { Random } from '../../src/engine/random.ts';
import type { TorchBackend } from '../../src/engine/torch/backend.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../src/train/optimizer-state.ts';
import { FusedAdamOptimizer } from '../../src/train/fused-adam.ts';
import { setLearningRate } from '../../src/train/optim.ts';

const built = availableBackends().includes('torch');
const skipTorch = built ? false : 'torch addon not built: run `npm run build:native` (needs apt-get install libtorch-dev libopenblas0-pthread)';

/** Scalars, biases, a dense matrix and a conv filter. */
const SHAPES: number[][] = [[], [1], [7], [5, 3], [3, 3, 4, 6], [64, 32]];
let nameCounter = 0;

function makeVariables(seed: number): tf.Variable[] {
  const rng = new Random(seed);
  const tag = `fused-adam-test-${nameCounter++}`;
  return SHAPES.map((shape, i) => tf.variable(rng.normalTensor(shape), true, `${tag}/w${i}`));
}

/** `steps` updates with deterministic gradients (the same for every optimizer) from step `first` on. */
function train(optimizer: tf.Optimizer, variables: tf.Variable[], steps: number, first = 0): void {
  for (let step = first; step < first + steps; step++) {
    const rng = new Random(1000 + step);
    // Gradients of very different scales, as in real training.
    const grads = variables.map((v, i) => ({ name: v.name, tensor: tf.tidy(() => tf.mul(rng.normalTensor(v.shape), 10 ** (i - 3))) }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
}

const values = (variables: tf.Variable[]) => variables.map((v) => Float32Array.from(v.dataSync()));

function maxRelativeDifference(actual: Float32Array[], expected: Float32Array[]): number {
  let worst = 0;
  actual.forEach((a, i) => a.forEach((x, j) => {
    const e = expected[i]![j]!;
    const d = Math.abs(x - e) / Math.max(Math.abs(e), 1e-6);
    if (!(d <= worst)) worst = d;  // NaN fails
  }));
  return worst;
}

function dispose(optimizer: tf.Optimizer, variables: tf.Variable[]): void {
  optimizer.dispose();
  tf.dispose(variables);
}

describe('fused Adam on torch', { skip: skipTorch }, () => {
  after(async () => { await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' }); });

  test('matches tf.train.adam over several steps, shapes and hyperparameters', async () => {
    await initEngine({ backend: 'torch' });
    assert.ok(hasAdamUpdateKernel('torch'));
    for (const [lr, b1, b2, eps] of [[1e-3, 0.9, 0.999, null], [7.2e-5, 0.5, 0.9, 1e-8], [0.05, 0.0, 0.5, 1e-3]] as const) {
      const fused = new FusedAdamOptimizer(lr, b1, b2, eps);
      assert.equal(fused.fused, true);
      const stock = tf.train.adam(lr, b1, b2, eps ?? undefined);
      const a = makeVariables(5);
      const b = makeVariables(5);
      train(fused, a, 7);
      train(stock, b, 7);
      const difference = maxRelativeDifference(values(a), values(b));
      assert.ok(difference <= 1e-6, `lr ${lr} β (${b1}, ${b2}) ε ${eps}: relative difference ${difference}`);
      const [fusedWeights, stockWeights] = [await fused.getWeights(), await stock.getWeights()];
      assert.deepEqual(fusedWeights.map((w) => w.name.replace(/^.*\//, '')), stockWeights.map((w) => w.name.replace(/^.*\//, '')));
      assert.ok(maxRelativeDifference(fusedWeights.map((w) => Float32Array.from(w.tensor.dataSync())), stockWeights.map((w) => Float32Array.from(w.tensor.dataSync()))) <= 1e-6);
      dispose(fused, a);
      dispose(stock, b);
    }
  });

  test('bit for bit with tf.train.adam through missing gradients and a changed learning rate', async () => {
    await initEngine({ backend: 'torch' });
    const fused = new FusedAdamOptimizer(1e-3, 0.5, 0.9, 1e-8);
    const stock = tf.train.adam(1e-3, 0.5, 0.9, 1e-8);
    const a = makeVariables(8);
    const b = makeVariables(8);
    const step = (optimizer: tf.Optimizer, variables: tf.Variable[], k: number) => {
      const rng = new Random(2000 + k);
      // Every third variable has no gradient on even steps (a frozen branch), from the first step on.
      const grads = variables.map((v, i) => ({ name: v.name, tensor: k % 2 === 0 && i % 3 === 0 ? null : tf.tidy(() => rng.normalTensor(v.shape)) }));
      optimizer.applyGradients(grads as never);
      tf.dispose(grads.flatMap((g) => (g.tensor ? [g.tensor] : [])));
    };
    for (let k = 0; k < 6; k++) {
      if (k === 3) {
        setLearningRate(fused, 3e-4);
        setLearningRate(stock, 3e-4);
      }
      step(fused, a, k);
      step(stock, b, k);
    }
    assert.equal(maxRelativeDifference(values(a), values(b)), 0);
    dispose(fused, a);
    dispose(stock, b);
  });

  test('a step is one update kernel, not the element-wise sequence', async () => {
    await initEngine({ backend: 'torch' });
    const optimizer = new FusedAdamOptimizer(1e-3);
    const variables = makeVariables(2);
    train(optimizer, variables, 1);  // creates the moment slots
    const grads = variables.map((v) => ({ name: v.name, tensor: tf.onesLike(v) }));
    const profile = await tf.profile(() => optimizer.applyGradients(grads));
    tf.dispose(grads.map((g) => g.tensor));
    const kernels = profile.kernels.map((k) => k.name);
    assert.equal(kernels.filter((k) => k === ADAM_UPDATE_KERNEL).length, 1);
    assert.ok(!kernels.includes('Sqrt') && !kernels.includes('RealDiv'), `unexpected kernels: ${kernels.join(', ')}`);
    dispose(optimizer, variables);
  });

  test('saved state resumes identically, on the fused and on the stock path', async () => {
    await initEngine({ backend: 'torch' });
    const original = new FusedAdamOptimizer(2e-3, 0.5, 0.9, 1e-8);
    const variables = makeVariables(9);
    train(original, variables, 4);
    const saved = await saveOptimizerState(original);
    const snapshot = values(variables);
    train(original, variables, 4, 4);
    const expected = values(variables);

    for (const resumed of [new FusedAdamOptimizer(2e-3, 0.5, 0.9, 1e-8), tf.train.adam(2e-3, 0.5, 0.9, 1e-8)]) {
      const copies = makeVariables(9);
      copies.forEach((v, i) => v.assign(tf.tensor(snapshot[i]!, v.shape)));
      await restoreOptimizerState(resumed, saved);
      assert.equal(resumed.iterations, 4);
      train(resumed, copies, 4, 4);
      const difference = maxRelativeDifference(values(copies), expected);
      assert.ok(difference <= 1e-6, `${resumed.constructor.name}: relative difference ${difference} after resuming`);
      dispose(resumed, copies);
    }
    dispose(original, variables);
  });

  test('tensor counts stay flat across steps (tfjs and native)', async () => {
    await initEngine({ backend: 'torch' });
    const backend = tf.backend() as unknown as TorchBackend;
    const optimizer = new FusedAdamOptimizer(1e-3);
    const variables = makeVariables(3);
    train(optimizer, variables, 1);
    const before = { tf: tf.memory().numTensors, native: backend.liveNativeTensors() };
    train(optimizer, variables, 5, 1);
    assert.deepEqual({ tf: tf.memory().numTensors, native: backend.liveNativeTensors() }, before);
    dispose(optimizer, variables);
  });

  test('bad inputs are JavaScript Errors and leak nothing', async () => {
    await initEngine({ backend: 'torch' });
    const backend = tf.backend() as unknown as TorchBackend;
    const live = backend.liveNativeTensors();
    const tensors = { acc1: tf.scalar(0.9), acc2: tf.scalar(0.999), w: tf.ones([3, 2]), g: tf.ones([2, 3]), m: tf.zeros([3, 2]), v: tf.zeros([3, 2]) };
    const hyper = { learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    assert.throws(() => adamUpdate(tensors.acc1, tensors.acc2, [{ variable: tensors.w, gradient: tensors.g, m: tensors.m, v: tensors.v }], hyper),
      (error: Error) => error instanceof Error && /torch backend: .*variable 0: gradient has shape \[2, 3\], the variable \[3, 2\]/.test(error.message));
    assert.throws(() => backend.addon.run(ADAM_UPDATE_KERNEL, [backend.handleOf(tensors.acc1.dataId)], hyper), /expected \[accBeta1, accBeta2\] and 4 tensors per variable/);
    const ints = tf.zeros([3, 2], 'int32');
    assert.throws(() => adamUpdate(tensors.acc1, tensors.acc2, [{ variable: tensors.w, gradient: ints, m: tensors.m, v: tensors.v }], hyper), /gradient must be float32/);
    tf.dispose([...Object.values(tensors), ints]);
    assert.equal(backend.liveNativeTensors(), live);
    // Still computes.
    assert.deepEqual(Array.from(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()), [3]);
  });
});

describe('fused Adam without the kernel', () => {
  after(async () => { await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' }); });

  for (const backend of ['wasm', 'cpu']) {
    test(`${backend}: stock tf.train.adam, bit for bit, and its state round trip`, async () => {
      await initEngine({ backend });
      assert.equal(hasAdamUpdateKernel(backend), false);
      const fused = new FusedAdamOptimizer(1e-2, 0.5, 0.9, 1e-8);
      assert.equal(fused.fused, false);
      const stock = tf.train.adam(1e-2, 0.5, 0.9, 1e-8);
      const a = makeVariables(4);
      const b = makeVariables(4);
      train(fused, a, 3);
      train(stock, b, 3);
      assert.deepEqual(values(a), values(b));
      const saved = await saveOptimizerState(fused);
      const resumed = new FusedAdamOptimizer(1e-2, 0.5, 0.9, 1e-8);
      await restoreOptimizerState(resumed, saved);
      train(resumed, a, 2, 3);
      train(stock, b, 2, 3);
      assert.deepEqual(values(a), values(b));
      dispose(fused, []);
      dispose(resumed, a);
      dispose(stock, b);
    });
  }
});
