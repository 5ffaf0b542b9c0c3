/**
 * One flow block of t and e — ActNorm → double affine coupling → Shuffle (coupling.ts,
 * actnorm.ts, shuffle.ts; digest §3.2 and §4.1) — as ONE operation on ONE packed weight vector.
 *
 * With h = (x + loc) ⊙ scale, [a, b] = split(h), the coupling of coupling.ts and the permutation
 * y[:, i] = [b', a'][:, perm[i]]:
 *   log|det| = Σ log|scale| + Σ s₀ + Σ s₁
 * The ActNorm and the permutation are folded in exactly (same operations, same order), not
 * approximated by rewriting the first layer's weights.
 *
 * Packed layout (float32, `blockLayout`): loc [D], scale [D], then the nets S₀, T₀, S₁, T₁, each
 * layer as kernel [in, out] row-major then bias [out]. The native kernels
 * (native/torch/src/coupling.cc) read the same layout.
 *
 * Two implementations of the same function:
 * - generic: stock TensorFlow.js ops after one SplitV of the packed vector; its gradient is
 *   tfjs's autodiff; any backend (cpu, webgl). Used while training; evaluation and the inverse run
 *   the unfused modules there (fused-stack.ts says why).
 * - block kernels: where the active backend registers `COUPLING_FORWARD_KERNEL` (torch:
 *   native/torch/src/coupling.cc; wasm, in Node and browsers: src/engine/wasm-kernels/coupling.ts),
 *   one kernel call forward and one backward (a registered gradient) per block; the inverse is
 *   one call too. (The functions say "native" for this path.)
 */
import { tf } from '../engine/index.ts';
import { COUPLING_LEAKY_SLOPE } from './layers.ts';

import {
  blockLayout, COUPLING_BACKWARD_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_INVERSE_KERNEL, halves, PACKED_NETS,
  type BlockSpec, type PackedPiece,
} from '../engine/coupling-kernels.ts';

export { blockLayout, COUPLING_BACKWARD_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_INVERSE_KERNEL, halves, PACKED_NETS };
export type { BlockSpec, PackedPiece };

/** Splits a packed vector into its pieces, shaped (one SplitV, whose gradient is one Concat). */
function unpack(packed: tf.Tensor, layout: { pieces: PackedPiece[] }): tf.Tensor[] {
  // Vectors (loc, scale, biases) come out of the split in their shape: only kernels are reshaped.
  return tf.split(packed, layout.pieces.map((p) => p.size)).map((t, i) => {
    const shape = layout.pieces[i]!.shape;
    return shape.length === 1 ? t : tf.reshape(t, shape);
  });
}

type Net = { kernels: tf.Tensor2D[]; biases: tf.Tensor1D[] };

function nets(parts: tf.Tensor[], spec: BlockSpec): Net[] {
  const layers = spec.hiddenDepth + 2;
  return PACKED_NETS.map((_, n) => {
    const base = 2 + n * 2 * layers;
    const kernels: tf.Tensor2D[] = [];
    const biases: tf.Tensor1D[] = [];
    for (let l = 0; l < layers; l++) {
      kernels.push(parts[base + 2 * l] as tf.Tensor2D);
      biases.push(parts[base + 2 * l + 1] as tf.Tensor1D);
    }
    return { kernels, biases };
  });
}

/** The same operations as layers.ts `Mlp.apply`. */
function mlp(net: Net, x: tf.Tensor2D, finalTanh: boolean): tf.Tensor2D {
  let h = x;
  net.kernels.forEach((kernel, i) => {
    h = tf.fused.matMul({ a: h, b: kernel, bias: net.biases[i] }) as tf.Tensor2D;
    if (i + 1 < net.kernels.length) h = tf.leakyRelu(h, COUPLING_LEAKY_SLOPE);
  });
  return finalTanh ? tf.tanh(h) : h;
}

function withCondition(h: tf.Tensor2D, condition: tf.Tensor2D | undefined): tf.Tensor2D {
  return condition === undefined ? h : tf.concat([h, condition], 1);
}

/** What the block functions take besides the data. */
export interface BlockWeights {
  spec: BlockSpec;
  /** The packed vector (a variable while training). */
  packed: tf.Tensor1D;
  /** The permutation applied last: output i takes [b', a'][perm[i]]. */
  perm: Int32Array;
}

/** The permutation of a block as a kept int32 tensor (the caller disposes it with the block). */
export class PermTensors {
  readonly forward: tf.Tensor1D;
  constructor(perm: Int32Array) {
    this.forward = tf.keep(tf.tensor1d(perm, 'int32'));
  }
  dispose(): void {
    this.forward.dispose();
  }
}

/** Generic forward: stock ops. Returns [output, logDet]; call inside a tidy. */
export function genericBlockForward(w: BlockWeights, perms: PermTensors, x: tf.Tensor2D, condition?: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  const { sizeA, sizeB } = halves(w.spec.dim);
  const parts = unpack(w.packed, blockLayout(w.spec));
  const [loc, scale] = parts as [tf.Tensor1D, tf.Tensor1D];
  const [s0Net, t0Net, s1Net, t1Net] = nets(parts, w.spec) as [Net, Net, Net, Net];
  const h = tf.mul(tf.add(x, loc), scale) as tf.Tensor2D;
  const [a, b] = tf.split(h, [sizeA, sizeB], 1) as [tf.Tensor2D, tf.Tensor2D];
  const h0 = withCondition(a, condition);
  const s0 = mlp(s0Net, h0, true);
  const b1 = tf.add(tf.mul(b, tf.exp(s0)), mlp(t0Net, h0, false)) as tf.Tensor2D;
  const h1 = withCondition(b1, condition);
  const s1 = mlp(s1Net, h1, true);
  const a1 = tf.add(tf.mul(a, tf.exp(s1)), mlp(t1Net, h1, false)) as tf.Tensor2D;
  const output = tf.gather(tf.concat([b1, a1], 1), perms.forward, 1) as tf.Tensor2D;
  const logDet = tf.add(tf.sum(tf.log(tf.abs(scale))), tf.add(tf.sum(s0, 1), tf.sum(s1, 1))) as tf.Tensor1D;
  return [output, logDet];
}

/** Whether the active backend (or `backendName`) computes blocks natively. */
export function hasNativeBlockKernels(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(COUPLING_FORWARD_KERNEL, backendName) !== undefined
    && tf.getKernel(COUPLING_BACKWARD_KERNEL, backendName) !== undefined
    && tf.getKernel(COUPLING_INVERSE_KERNEL, backendName) !== undefined;
}

function kernelAttrs(w: BlockWeights): tf.NamedAttrMap {
  const { dim, conditionDim, hiddenWidth, hiddenDepth } = w.spec;
  return { dim, conditionDim, hiddenWidth, hiddenDepth, leakySlope: COUPLING_LEAKY_SLOPE, perm: Array.from(w.perm) };
}

/**
 * The kernels always take a condition: an unconditional block (e) gets a [B, 0] one, so the
 * inputs and the tensors saved for the gradient have one fixed list.
 */
function blockInputs(x: tf.Tensor2D, condition: tf.Tensor2D | undefined, packed: tf.Tensor): tf.NamedTensorMap {
  return { x, condition: condition ?? tf.zeros([x.shape[0], 0]), packed };
}

/**
 * Native forward: one kernel call, differentiable through the registered backward kernel. While a
 * gradient tape records, the kernel also returns the intermediates its backward reads (a third,
 * flat output that the tape keeps), so the backward does not run the block forward again.
 */
export function nativeBlockForward(w: BlockWeights, x: tf.Tensor2D, condition?: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  const attrs = { ...kernelAttrs(w), keepIntermediates: recording() };
  const out = tf.engine().runKernel(COUPLING_FORWARD_KERNEL, blockInputs(x, condition, w.packed), attrs) as unknown as tf.Tensor[];
  return [out[0] as tf.Tensor2D, out[1] as tf.Tensor1D];
}

/** Whether a gradient tape is recording (tfjs-core 4.22's engine state; pinned). */
export function recording(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number } }).state;
  return state.gradientDepth > 0;
}

/** Native inverse: one kernel call (sampling; no gradient). */
export function nativeBlockInverse(w: BlockWeights, y: tf.Tensor2D, condition?: tf.Tensor2D): [tf.Tensor2D, tf.Tensor1D] {
  const out = tf.engine().runKernel(COUPLING_INVERSE_KERNEL, blockInputs(y, condition, w.packed), kernelAttrs(w)) as unknown as tf.Tensor[];
  return [out[0] as tf.Tensor2D, out[1] as tf.Tensor1D];
}

// The gradient of the native forward: one backward kernel call on the forward's saved
// intermediates (its third output; empty when the forward ran outside a tape, and then the
// backward recomputes them). The engine hands zeros for an output that does not reach the loss.
// The call is made when the tape reaches the block; a gradient the tape does not ask for (the
// flow's input z̄) is freed with the tape's scope.
tf.registerGradient({
  kernelName: COUPLING_FORWARD_KERNEL,
  inputsToSave: ['x', 'condition', 'packed'],
  outputsToSave: [false, false, true],
  gradFunc: (dys, saved, attrs) => {
    const [x, condition, packed, intermediates] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const [dOutput, dLogDet] = dys as tf.Tensor[];
    const [dx, dCondition, dPacked] = tf.engine().runKernel(
      COUPLING_BACKWARD_KERNEL, { dOutput: dOutput!, dLogDet: dLogDet!, x, condition, packed, intermediates }, attrs as tf.NamedAttrMap,
    ) as unknown as tf.Tensor[];
    return { x: () => dx!, condition: () => dCondition!, packed: () => dPacked! };
  },
});
