// Gradients of the trainable kernels against central finite differences on tiny inputs, on the
// default backend. The loss is Σ output·w evaluated in float64 on the host, so the difference
// quotient carries only the float32 rounding of the op itself.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';

type Op = (x: tf.Tensor, p: tf.Tensor) => tf.Tensor;

function lossValue(op: Op, x: Float32Array, shape: number[], p: tf.Tensor, w: Float32Array): number {
  const out = tf.tidy(() => op(tf.tensor(x, shape), p));
  const values = out.dataSync();
  out.dispose();
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]! * w[i]!;
  return total;
}

/**
 * Checks d(Σ op(x, p)·w)/dx (and /dp when `alsoParam`) against central differences.
 * Returns the largest error relative to the largest gradient entry.
 */
function finiteDifferenceError(op: Op, xShape: number[], pShape: number[], eps: number, alsoParam = true, seed = 3): number {
  const rng = new Random(seed);
  const x = rng.fillNormal(new Float32Array(xShape.reduce((a, b) => a * b, 1)));
  const p = rng.fillNormal(new Float32Array(pShape.reduce((a, b) => a * b, 1)));
  const outShape = tf.tidy(() => op(tf.tensor(x, xShape), tf.tensor(p, pShape)).shape);
  const w = rng.fillNormal(new Float32Array(outShape.reduce((a, b) => a * b, 1)));
  const pTensor = tf.tensor(p, pShape);
  const xTensor = tf.tensor(x, xShape);
  const wTensor = tf.tensor(w, outShape);
  const [gx, gp] = tf.grads((xs: tf.Tensor, ps: tf.Tensor) => tf.sum(tf.mul(op(xs, ps), wTensor)))([xTensor, pTensor]);
  const analytic = [gx!.dataSync(), gp!.dataSync()];
  tf.dispose([gx!, gp!, xTensor, wTensor]);
  let maxErr = 0;
  let maxGrad = 0;
  const check = (values: Float32Array, which: 0 | 1) => {
    for (let i = 0; i < values.length; i++) {
      const saved = values[i]!;
      values[i] = saved + eps;
      const up = which === 0 ? lossValue(op, x, xShape, pTensor, w) : lossWithParam(values);
      values[i] = saved - eps;
      const down = which === 0 ? lossValue(op, x, xShape, pTensor, w) : lossWithParam(values);
      values[i] = saved;
      const numeric = (up - down) / (2 * eps);
      maxErr = Math.max(maxErr, Math.abs(numeric - analytic[which]![i]!));
      maxGrad = Math.max(maxGrad, Math.abs(analytic[which]![i]!));
    }
  };
  const lossWithParam = (values: Float32Array) => {
    const pt = tf.tensor(values, pShape);
    const v = lossValue(op, x, xShape, pt, w);
    pt.dispose();
    return v;
  };
  check(x, 0);
  if (alsoParam) check(p, 1);
  pTensor.dispose();
  return maxErr / Math.max(maxGrad, 1e-6);
}

const TOLERANCE = 2e-3;

describe('gradients vs central finite differences', () => {
  before(async () => { await initEngine(); });

  test('conv2d, stride 2, same padding (input and filter)', () => {
    const err = finiteDifferenceError((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [1, 5, 5, 2], [3, 3, 2, 3], 1e-2);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('conv2d 4x4 stride 2 explicit pad 1 (input and filter)', () => {
    const err = finiteDifferenceError((x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]), [2, 4, 4, 2], [4, 4, 2, 2], 1e-2);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('conv2dTranspose, stride 2 (input and filter)', () => {
    const err = finiteDifferenceError((x, w) => tf.conv2dTranspose(x as tf.Tensor4D, w as tf.Tensor4D, [1, 6, 6, 2], 2, 'same'), [1, 3, 3, 3], [3, 3, 2, 3], 1e-2);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    test(`matMul transposeA=${ta} transposeB=${tb}`, () => {
      const aShape = ta ? [4, 3] : [3, 4];
      const bShape = tb ? [5, 4] : [4, 5];
      const err = finiteDifferenceError((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), aShape, bShape, 1e-2);
      assert.ok(err < TOLERANCE, `relative error ${err}`);
    });
  }

  test('depthwiseConv2d, multiplier 2, stride 2 (input and filter)', () => {
    const err = finiteDifferenceError((x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), [1, 5, 5, 2], [3, 3, 2, 2], 1e-2);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('gather with repeated indices', () => {
    const indices = tf.tensor1d([2, 0, 2, 3], 'int32');
    const err = finiteDifferenceError((x, p) => tf.mul(tf.gather(x, indices, 0), p), [4, 3], [4, 3], 1e-2);
    indices.dispose();
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('maxPool 3x3 stride 2 same, several channels', () => {
    const err = finiteDifferenceError((x, p) => tf.mul(tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), p), [1, 5, 5, 3], [1, 3, 3, 3], 1e-3, false);
    assert.ok(err < 1e-2, `relative error ${err}`);
  });

  test('avgPool 2x2 stride 2', () => {
    const err = finiteDifferenceError((x, p) => tf.mul(tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), p), [1, 4, 4, 3], [1, 2, 2, 3], 1e-2, false);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('moments (batch-norm style mean and variance)', () => {
    const err = finiteDifferenceError((x, p) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.mul(tf.concat([mean, variance]), p);
    }, [3, 2, 2, 2], [4], 1e-2);
    assert.ok(err < TOLERANCE, `relative error ${err}`);
  });

  test('the check itself fails on a wrong gradient', () => {
    // A custom op whose declared gradient is off by a factor of 2 must be caught.
    const wrong = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      save([x]);
      return { value: tf.square(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, saved[0]!) };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    const err = finiteDifferenceError((x, p) => tf.mul(wrong(x) as tf.Tensor, p), [5], [5], 1e-2, false);
    assert.ok(err > 0.1, `a wrong gradient went unnoticed (error ${err})`);
  });
});
