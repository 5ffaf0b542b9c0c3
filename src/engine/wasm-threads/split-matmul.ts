/**
 * The second core for the wasm backend: a large matmul is split by rows between this thread and
 * a helper (in Node, a second tfjs-wasm instance in a worker_threads worker: node-helper.ts).
 * The helper gets the bottom rows of A, all of B and the bias through shared memory, computes
 * while this thread computes the top rows with the stock XNNPACK kernel, and the two halves are
 * joined. Each output element is computed by the same XNNPACK kernel from the same inputs on
 * both sides, so the result equals the one-thread result (tested bit for bit).
 *
 * Browser-safe: the helper is installed by the engine (Node) or never (browsers, no
 * SharedArrayBuffer): then every matmul runs on one thread, as before.
 */
import type { NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from '../wasm-kernels/kernel-scope.ts';

/** Activations the helper applies (tfjs's _FusedMatMul `activation` attribute; prelu is not split). */
export const HELPER_ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'leakyrelu', 'sigmoid'] as const;
export type HelperActivation = (typeof HELPER_ACTIVATIONS)[number];

/** One helper job: rows × inner of A times inner × cols of B (+ bias, activation). */
export interface HelperJob {
  a: Float32Array;
  b: Float32Array;
  /**
   * Identity of B's storage (its tfjs dataId): tfjs tensors never change in place, so the helper
   * may keep B (packed by XNNPACK) for the next job with the same identity, as for a layer's
   * weights across sampling batches.
   */
  bKey: object;
  /** Identity of the bias's storage (kept with B), or null. */
  biasKey: object | null;
  bias: Float32Array | null;
  rows: number;
  inner: number;
  cols: number;
  activation: HelperActivation;
  leakyreluAlpha: number;
}

export interface MatMulHelper {
  /** Copies the job's inputs into shared memory and wakes the helper; false when it cannot take it. */
  submit(job: HelperJob): boolean;
  /** Blocks until the submitted job is done; its rows × cols result (valid until the next submit). */
  wait(): Float32Array;
}

/** Below this many multiply-adds a split costs more (copies, wake-up) than the second core saves. */
export const SPLIT_MIN_MACS = 1 << 21;

let helper: MatMulHelper | null = null;
/** B operands (by storage identity) seen once: the split starts with the second use. */
const seenB = new WeakSet<object>();
let splits = 0;

/** How many matmuls have been split so far (tests check that a split really happened). */
export function splitCount(): number {
  return splits;
}
let enabled = true;
let requestStart: (() => void) | null = null;

/** The engine installs the helper once it is ready (null: none). */
export function setMatMulHelper(h: MatMulHelper | null): void {
  helper = h;
}

/** Starts the helper on first need (called at most once per need; the starter ignores repeats). */
export function setMatMulHelperStarter(start: (() => void) | null): void {
  requestStart = start;
}

/**
 * Turns the split on or off (on by default where a helper exists); returns the previous value.
 *
 * @example
 *   const before = setMatMulSplit(false);   // one thread, e.g. to compare
 */
export function setMatMulSplit(on: boolean): boolean {
  const before = enabled;
  enabled = on;
  return before;
}

/** Whether matmuls are split now (a helper is ready and the split is on). */
export function matMulSplitActive(): boolean {
  return enabled && helper !== null;
}

/**
 * Runs an untransposed BatchMatMul / _FusedMatMul split over two threads, or returns null when
 * it does not apply (no helper, too small, batched, prelu, not float32), leaving it to the caller.
 */
export function splitMatMul(scope: KernelScope, kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap): TensorInfo | null {
  if (!enabled) return null;
  const a = inputs['a'] as TensorInfo;
  const b = inputs['b'] as TensorInfo;
  const bias = inputs['bias'] as TensorInfo | undefined;
  const batch = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const bBatch = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
  const rows = a.shape[a.shape.length - 2]!;
  const inner = a.shape[a.shape.length - 1]!;
  const cols = b.shape[b.shape.length - 1]!;
  if (batch !== 1 || bBatch !== 1 || rows < 2 || rows * inner * cols < SPLIT_MIN_MACS) return null;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const activation = (attrs['activation'] ?? 'linear') as string;
  if (!(HELPER_ACTIVATIONS as readonly string[]).includes(activation)) return null;
  // The bias must be one value per column (or absent) for the helper's rows.
  if (bias && (bias.dtype !== 'float32' || bias.shape.reduce((p, d) => p * d, 1) !== cols)) return null;
  if (!helper) {
    requestStart?.();
    return null;
  }
  // Measured: sending B to the helper and XNNPACK's packing of it there cost about as much as
  // the half of the product it saves (128 × 512 · 512 × 512: 6.9 ms for the helper's half with a
  // new B, 3.0 ms with a kept one, 3.1–3.8 ms on this thread). So only a B used again — a layer's
  // weights while sampling or evaluating — is split (the helper keeps it); a training step's
  // weights and gradients are new tensors every step and stay on one thread.
  const bKey = b.dataId as object;
  if (!seenB.has(bKey)) {
    seenB.add(bKey);
    return null;
  }
  const top = Math.ceil(rows / 2);
  const bottom = rows - top;
  const heap = (t: TensorInfo) => scope.backend.typedArrayFromHeap(t) as Float32Array;
  const submitted = helper.submit({
    a: heap(a).subarray(top * inner, rows * inner), b: heap(b), bKey, biasKey: bias ? bias.dataId as object : null, bias: bias ? heap(bias) : null,
    rows: bottom, inner, cols, activation: activation as HelperActivation, leakyreluAlpha: Number(attrs['leakyreluAlpha'] ?? 0.2),
  });
  if (!submitted) return null;
  const outShape = [...a.shape.slice(0, -2), rows, cols];
  let mine: TensorInfo | null = null;
  let failure: unknown = null;
  try {
    const aTop = scope.run('Slice', { x: a }, { begin: a.shape.map(() => 0), size: [...a.shape.slice(0, -2), top, inner] });
    mine = scope.run(kernelName, { ...inputs, a: aTop }, attrs);
  } catch (error) {
    failure = error;
  }
  // Always collect the helper's result, so that it is idle for the next job.
  const theirs = helper.wait();
  if (failure !== null || mine === null) throw failure;
  splits++;
  const out = scope.allocate(outShape, 'float32');
  // Views are taken after the last allocation (the heap may have grown and moved).
  const outView = heap(out);
  outView.set(heap(mine).subarray(0, top * cols), 0);
  outView.set(theirs, top * cols);
  return out;
}
