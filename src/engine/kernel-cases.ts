/**
 * Kernel parity cases: every op the project's models need for a forward or backward pass, on
 * small random inputs. `runKernelCase` evaluates a case's output and the gradients of
 * Σ(output · cotangent) on the current backend; the self-check (`inntrospect engine`) and the
 * test suite compare wasm (or any backend) against the cpu reference with these.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Random } from './random.ts';
import { ADAM_UPDATE_KERNEL, adamUpdate, adamUpdateReference, hasAdamUpdateKernel } from './adam-update.ts';

export interface CaseInput {
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Values for int inputs (indices); float inputs are drawn from N(0, 1) unless given. */
  values?: number[];
  /** Draw floats from U(low, high) instead (for log, sqrt, ...). */
  uniform?: [number, number];
  /** Whether gradients with respect to this input are checked (a case with none checks its output only). */
  differentiable: boolean;
}

export interface KernelCase {
  name: string;
  /** Kernels exercised (forward and backward), for the report. */
  kernels: string[];
  inputs: CaseInput[];
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
}

export interface CaseResult {
  output: Float32Array;
  grads: Float32Array[];
}

const f = (shape: number[], differentiable = true): CaseInput => ({ shape, dtype: 'float32', differentiable });
const pos = (shape: number[]): CaseInput => ({ shape, dtype: 'float32', differentiable: true, uniform: [0.5, 2] });
const ids = (shape: number[], values: number[]): CaseInput => ({ shape, dtype: 'int32', values, differentiable: false });

type T4 = tf.Tensor4D;
type T2 = tf.Tensor2D;

export const KERNEL_CASES: KernelCase[] = [
  { name: 'matMul', kernels: ['BatchMatMul'], inputs: [f([5, 7]), f([7, 6])], fn: (a, b) => tf.matMul(a as T2, b as T2) },
  { name: 'matMul transposeA', kernels: ['BatchMatMul', 'Transpose'], inputs: [f([7, 5]), f([7, 6])], fn: (a, b) => tf.matMul(a as T2, b as T2, true, false) },
  { name: 'matMul transposeB', kernels: ['BatchMatMul', 'Transpose'], inputs: [f([5, 7]), f([6, 7])], fn: (a, b) => tf.matMul(a as T2, b as T2, false, true) },
  { name: 'matMul transposeA+B', kernels: ['BatchMatMul', 'Transpose'], inputs: [f([7, 5]), f([6, 7])], fn: (a, b) => tf.matMul(a as T2, b as T2, true, true) },
  { name: 'batched matMul', kernels: ['BatchMatMul'], inputs: [f([3, 4, 5]), f([3, 6, 5])], fn: (a, b) => tf.matMul(a, b, false, true) },
  {
    name: 'fused matMul + bias + relu', kernels: ['_FusedMatMul'], inputs: [f([6, 8]), f([8, 5]), f([5])],
    fn: (a, b, bias) => tf.fused.matMul({ a: a as T2, b: b as T2, bias, activation: 'relu' }),
  },
  {
    name: 'fused matMul transposeB + leakyrelu', kernels: ['_FusedMatMul'], inputs: [f([6, 8]), f([5, 8]), f([5])],
    fn: (a, b, bias) => tf.fused.matMul({ a: a as T2, b: b as T2, transposeB: true, bias, activation: 'leakyrelu', leakyreluAlpha: 0.2 }),
  },
  { name: 'conv2d 3x3 s1 same', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 7, 7, 3]), f([3, 3, 3, 4])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 1, 'same') },
  { name: 'conv2d 3x3 s2 same', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 8, 8, 3]), f([3, 3, 3, 5])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 2, 'same') },
  { name: 'conv2d 3x3 s2 valid odd', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 9, 7, 2]), f([3, 3, 2, 3])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 2, 'valid') },
  {
    name: 'conv2d 4x4 s2 pad 1 (AE stage)', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 8, 8, 3]), f([4, 4, 3, 4])],
    fn: (x, w) => tf.conv2d(x as T4, w as T4, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]),
  },
  { name: 'conv2d 1x1', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 4, 4, 5]), f([1, 1, 5, 3])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 1, 'valid') },
  { name: 'conv2d 2x2 full-size kernel (dense encoder)', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([3, 2, 2, 6]), f([2, 2, 6, 4])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 1, 'valid') },
  {
    name: 'fused conv2d + bias + relu', kernels: ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 6, 6, 3]), f([3, 3, 3, 4]), f([4])],
    fn: (x, w, bias) => tf.fused.conv2d({ x: x as T4, filter: w as T4, strides: 2, pad: 'same', bias, activation: 'relu' }),
  },
  { name: 'conv2dTranspose 3x3 s2 same', kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'], inputs: [f([2, 4, 4, 5]), f([3, 3, 3, 5])], fn: (x, w) => tf.conv2dTranspose(x as T4, w as T4, [2, 8, 8, 3], 2, 'same') },
  { name: 'conv2dTranspose 4x4 s2 same (AE decoder)', kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'], inputs: [f([2, 3, 3, 4]), f([4, 4, 2, 4])], fn: (x, w) => tf.conv2dTranspose(x as T4, w as T4, [2, 6, 6, 2], 2, 'same') },
  { name: 'conv2dTranspose 3x3 s1 valid', kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'], inputs: [f([2, 4, 4, 3]), f([3, 3, 2, 3])], fn: (x, w) => tf.conv2dTranspose(x as T4, w as T4, [2, 6, 6, 2], 1, 'valid') },
  { name: 'conv2dTranspose 2x2 from 1x1 (dense decoder)', kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'], inputs: [f([3, 1, 1, 6]), f([2, 2, 4, 6])], fn: (x, w) => tf.conv2dTranspose(x as T4, w as T4, [3, 2, 2, 4], 1, 'valid') },
  { name: 'conv2dTranspose 1x1 s2 valid (phases without taps)', kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'], inputs: [f([2, 3, 3, 4]), f([1, 1, 2, 4])], fn: (x, w) => tf.conv2dTranspose(x as T4, w as T4, [2, 5, 5, 2], 2, 'valid') },
  { name: 'conv2d 5x5 s3 same, odd sizes', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 8, 7, 2]), f([5, 5, 2, 3])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 3, 'same') },
  { name: 'conv2d 2x2 s2 valid', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 6, 6, 3]), f([2, 2, 3, 4])], fn: (x, w) => tf.conv2d(x as T4, w as T4, 2, 'valid') },
  { name: 'conv2d 3x3 s(2,1) explicit asymmetric pad', kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'], inputs: [f([2, 7, 6, 2]), f([3, 3, 2, 3])], fn: (x, w) => tf.conv2d(x as T4, w as T4, [2, 1], [[0, 0], [2, 0], [0, 1], [0, 0]]) },
  { name: 'depthwiseConv2d 3x3 s1 same', kernels: ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'], inputs: [f([2, 6, 6, 4]), f([3, 3, 4, 1])], fn: (x, w) => tf.depthwiseConv2d(x as T4, w as T4, 1, 'same') },
  { name: 'depthwiseConv2d 3x3 s2 same', kernels: ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'], inputs: [f([2, 7, 7, 3]), f([3, 3, 3, 1])], fn: (x, w) => tf.depthwiseConv2d(x as T4, w as T4, 2, 'same') },
  { name: 'depthwiseConv2d multiplier 2 valid', kernels: ['DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'], inputs: [f([2, 6, 5, 3]), f([3, 2, 3, 2])], fn: (x, w) => tf.depthwiseConv2d(x as T4, w as T4, 1, 'valid') },
  {
    name: 'fused depthwiseConv2d + bias + relu6', kernels: ['FusedDepthwiseConv2D', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'], inputs: [f([2, 6, 6, 4]), f([3, 3, 4, 1]), f([4])],
    fn: (x, w, bias) => tf.fused.depthwiseConv2d({ x: x as T4, filter: w as T4, strides: 2, pad: 'same', bias, activation: 'relu6' }),
  },
  { name: 'gather axis 0', kernels: ['GatherV2', 'UnsortedSegmentSum'], inputs: [f([5, 3]), ids([6], [4, 0, 2, 2, 1, 4])], fn: (x, i) => tf.gather(x, i, 0) },
  { name: 'gather axis 1 (permutation)', kernels: ['GatherV2', 'UnsortedSegmentSum', 'Transpose'], inputs: [f([4, 6]), ids([6], [3, 5, 0, 1, 4, 2])], fn: (x, i) => tf.gather(x, i, 1) },
  { name: 'gather 3-d params, 2-d indices, axis 1', kernels: ['GatherV2', 'UnsortedSegmentSum'], inputs: [f([2, 4, 3]), ids([2, 3], [3, 0, 1, 1, 2, 3])], fn: (x, i) => tf.gather(x, i, 1) },
  { name: 'tile', kernels: ['Tile', 'Sum'], inputs: [f([2, 3])], fn: (x) => tf.tile(x, [3, 2]) },
  { name: 'maxPool 2x2 s2', kernels: ['MaxPool', 'MaxPoolGrad'], inputs: [f([2, 6, 6, 3])], fn: (x) => tf.maxPool(x as T4, 2, 2, 'valid') },
  { name: 'maxPool 3x3 s2 same (overlapping, padded)', kernels: ['MaxPool', 'MaxPoolGrad'], inputs: [f([2, 7, 7, 3])], fn: (x) => tf.maxPool(x as T4, 3, 2, 'same') },
  { name: 'avgPool 3x3 s2 same', kernels: ['AvgPool', 'AvgPoolGrad'], inputs: [f([2, 7, 7, 2])], fn: (x) => tf.avgPool(x as T4, 3, 2, 'same') },
  {
    name: 'moments over batch and space', kernels: ['Mean', 'Sum', 'SquaredDifference', 'Tile'], inputs: [f([3, 4, 4, 5])],
    fn: (x) => { const m = tf.moments(x, [0, 1, 2]); return tf.concat([m.mean, m.variance]); },
  },
  {
    name: 'batchNorm (train-mode statistics)', kernels: ['FusedBatchNorm', 'Mean', 'Rsqrt'], inputs: [f([4, 3, 3, 5]), f([5]), f([5])],
    fn: (x, scale, offset) => { const m = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, m.mean, m.variance, offset, scale, 1e-3); },
  },
  {
    name: 'unary: exp log tanh sigmoid softplus', kernels: ['Exp', 'Log', 'Tanh', 'Sigmoid', 'Softplus'], inputs: [pos([4, 5])],
    fn: (x) => tf.addN([tf.exp(x), tf.log(x), tf.tanh(x), tf.sigmoid(x), tf.softplus(x)]),
  },
  { name: 'leakyRelu and relu', kernels: ['LeakyRelu', 'Relu', 'Prelu'], inputs: [f([4, 5])], fn: (x) => tf.add(tf.leakyRelu(x, 0.01), tf.relu(x)) },
  { name: 'square, sqrt, div, pow', kernels: ['Square', 'Sqrt', 'RealDiv', 'Pow'], inputs: [pos([3, 4]), pos([3, 4])], fn: (a, b) => tf.add(tf.div(tf.square(a), tf.sqrt(b)), tf.pow(a, tf.scalar(1.5))) },
  {
    name: 'slice, concat, split, reverse', kernels: ['Slice', 'Concat', 'SplitV', 'Reverse'], inputs: [f([4, 6])],
    fn: (x) => { const [a, b] = tf.split(x, 2, 1); return tf.concat([tf.reverse(b!, 1), tf.slice(x, [1, 0], [3, 3]).pad([[1, 0], [0, 0]]), a!], 1); },
  },
  { name: 'transpose and reshape', kernels: ['Transpose', 'Reshape'], inputs: [f([2, 3, 4])], fn: (x) => tf.reshape(tf.transpose(x, [2, 0, 1]), [4, 6]) },
  { name: 'sum, mean, max', kernels: ['Sum', 'Mean', 'Max'], inputs: [f([3, 4, 5])], fn: (x) => tf.concat([tf.sum(x, 1), tf.mean(x, 1), tf.max(x, 1)]) },
  { name: 'broadcast add/mul/sub', kernels: ['Add', 'Multiply', 'Sub'], inputs: [f([3, 4]), f([4])], fn: (a, b) => tf.sub(tf.mul(tf.add(a, b), b), a) },
  { name: 'logSoftmax and softmax', kernels: ['Softmax', 'Max', 'Exp', 'Log'], inputs: [f([4, 6])], fn: (x) => tf.add(tf.logSoftmax(x), tf.softmax(x)) },
  { name: 'clipByValue, abs, sign-safe', kernels: ['ClipByValue', 'Abs'], inputs: [f([4, 5])], fn: (x) => tf.add(tf.clipByValue(x, -0.5, 0.5), tf.abs(x)) },
  {
    name: 'sign of tiny values (FGSM on tiny gradients)', kernels: ['Sign'], inputs: [f([4, 5])],
    fn: (x) => tf.add(tf.sign(tf.mul(x, 1e-20)), tf.mul(x, 0)),
  },
  {
    // The optimizer's update, not a differentiable op: outputs only. Backends without the fused
    // kernel run tfjs's own sequence of ops (the cpu reference always does).
    name: 'fused Adam update (two variables, step 3)', kernels: [ADAM_UPDATE_KERNEL],
    inputs: [f([4, 5], false), f([4, 5], false), f([4, 5], false), { ...pos([4, 5]), differentiable: false }, f([3], false), f([3], false), f([3], false), { ...pos([3]), differentiable: false }],
    fn: (w, dw, mw, vw, b, db, mb, vb) => {
      const hyper = { learningRate: 0.01, beta1: 0.5, beta2: 0.9, epsilon: 1e-8 };
      const update = hasAdamUpdateKernel() ? adamUpdate : adamUpdateReference;
      const slots = [{ variable: w!, gradient: dw!, m: mw!, v: vw! }, { variable: b!, gradient: db!, m: mb!, v: vb! }];
      const out = update(tf.scalar(0.5 ** 3), tf.scalar(0.9 ** 3), slots, hyper);
      return tf.concat(out.flatMap((u) => [u.variable, u.m, u.v].map((t) => tf.reshape(t, [-1]))));
    },
  },
  { name: 'resizeBilinear', kernels: ['ResizeBilinear', 'ResizeBilinearGrad'], inputs: [f([2, 4, 4, 3])], fn: (x) => tf.image.resizeBilinear(x as T4, [7, 7]) },
];

function makeInputs(kernelCase: KernelCase, seed: number): tf.Tensor[] {
  const rng = new Random(seed);
  return kernelCase.inputs.map((input) => {
    if (input.dtype === 'int32') return tf.tensor(input.values!, input.shape, 'int32');
    return input.uniform ? rng.uniformTensor(input.shape, ...input.uniform) : rng.normalTensor(input.shape);
  });
}

/** Output and input gradients of `kernelCase` on the current backend. Deterministic in `seed`. */
export function runKernelCase(kernelCase: KernelCase, seed = 1): CaseResult {
  const inputs = makeInputs(kernelCase, seed);
  try {
    const output = tf.tidy(() => kernelCase.fn(...inputs));
    const cotangent = new Random(seed + 1000).normalTensor(output.shape);
    const differentiable = kernelCase.inputs.map((c, i) => (c.differentiable ? i : -1)).filter((i) => i >= 0);
    const lossOf = (...xs: tf.Tensor[]) => {
      const all = inputs.slice();
      differentiable.forEach((inputIndex, k) => { all[inputIndex] = xs[k]!; });
      return tf.sum(tf.mul(kernelCase.fn(...all), cotangent));
    };
    const gradTensors = differentiable.length > 0 ? tf.grads(lossOf)(differentiable.map((i) => inputs[i]!)) : [];
    const result: CaseResult = {
      output: Float32Array.from(output.dataSync()),
      grads: gradTensors.map((g) => Float32Array.from(g.dataSync())),
    };
    tf.dispose([output, cotangent, ...gradTensors]);
    return result;
  } finally {
    tf.dispose(inputs);
  }
}

/** max |a − b| / max(max |b|, 1e-6): error relative to the reference's scale. */
export function relativeError(actual: Float32Array, reference: Float32Array): number {
  if (actual.length !== reference.length) return Number.POSITIVE_INFINITY;
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - reference[i]!);
    if (!(diff <= maxDiff)) maxDiff = diff; // NaN propagates as a failure
    maxRef = Math.max(maxRef, Math.abs(reference[i]!));
  }
  return maxDiff / Math.max(maxRef, 1e-6);
}
