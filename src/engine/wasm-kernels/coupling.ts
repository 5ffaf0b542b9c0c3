/**
 * The fused flow block on wasm: InntrospectCouplingForward, InntrospectCouplingBackward and
 * InntrospectCouplingInverse with the semantics of native/torch/src/coupling.cc (same inputs,
 * attributes, packed layout and saved-intermediates layout; that file states the block's
 * equations). Through the tfjs engine one block is ≈ 60 kernels forward and ≈ 150 backward, each
 * paying the engine's dispatch, tape and tensor bookkeeping; here it is the block's 12 (forward)
 * or 24 (backward) matmuls on the XNNPACK kernels, called directly, and everything element-wise
 * (ActNorm, LeakyReLU, tanh, the affine update, the permutation, their gradients, the log-det)
 * as loops over the wasm heap, which at these sizes (≤ a few thousand values a row block) cost
 * less than one kernel dispatch each.
 *
 * Heap views are taken after every allocation they follow: allocating may grow (and detach) the
 * wasm heap.
 */
import { util, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { blockLayout, COUPLING_BACKWARD_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_INVERSE_KERNEL, halves } from '../coupling-kernels.ts';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';
import { batchMatMulConfig, fusedMatMulConfig } from './matmul.ts';

interface Geometry {
  dim: number;
  cond: number;
  width: number;
  depth: number;
  slope: number;
  /** out[:, i] = [b', a'][:, perm[i]] */
  perm: number[];
  sizeA: number;
  sizeB: number;
  /** Per net (S₀, T₀, S₁, T₁), per layer: offsets in the packed vector (blockLayout's). */
  nets: LayerAt[][];
  packedSize: number;
}

interface LayerAt {
  kernel: number;
  bias: number;
  rows: number;
  cols: number;
}

function geometry(attrs: NamedAttrMap | undefined, kernel: string): Geometry {
  const num = (key: string) => Number(attrs?.[key]);
  const [dim, cond, width, depth, slope] = [num('dim'), num('conditionDim'), num('hiddenWidth'), num('hiddenDepth'), num('leakySlope')];
  if (!(dim >= 2 && cond >= 0 && width >= 1 && depth >= 0) || ![dim, cond, width, depth].every(Number.isInteger)) {
    throw new Error(`${kernel}: needs integer dim ≥ 2, conditionDim ≥ 0, hiddenWidth ≥ 1, hiddenDepth ≥ 0, got ${dim}, ${cond}, ${width}, ${depth}`);
  }
  if (!(slope >= 0)) throw new Error(`${kernel}: needs leakySlope ≥ 0 (the backward reads LeakyReLU's gradient off the activations' sign), got ${slope}`);
  const perm = Array.from((attrs?.['perm'] as ArrayLike<number> | undefined) ?? [], Number);
  if (perm.length !== dim) throw new Error(`${kernel}: perm has ${perm.length} entries for dim ${dim}`);
  const seen = new Set(perm);
  if (seen.size !== dim || perm.some((p) => !(Number.isInteger(p) && p >= 0 && p < dim))) {
    throw new Error(`${kernel}: perm is not a permutation of 0..${dim - 1}`);
  }
  const { sizeA, sizeB } = halves(dim);
  // The pieces after loc and scale are each net's layers in order, kernel then bias.
  const layout = blockLayout({ dim, conditionDim: cond, hiddenWidth: width, hiddenDepth: depth });
  const layers = depth + 2;
  const nets = [0, 1, 2, 3].map((n) => Array.from({ length: layers }, (_, l): LayerAt => {
    const kernel = layout.pieces[2 + 2 * (n * layers + l)]!;
    return { kernel: kernel.offset, bias: kernel.offset + kernel.size, rows: kernel.shape[0]!, cols: kernel.shape[1]! };
  }));
  return { dim, cond, width, depth, slope, perm, sizeA, sizeB, nets, packedSize: layout.size };
}

/** Checks [x, condition, packed] as the native kernels do; returns the batch size. */
function checkBlockInputs(g: Geometry, x: TensorInfo, condition: TensorInfo, packed: TensorInfo, kernel: string): number {
  const matrix = (t: TensorInfo | undefined, rows: number, cols: number, what: string) => {
    if (!t) throw new Error(`${kernel}: ${what} is missing`);
    if (t.dtype !== 'float32') throw new Error(`${kernel}: ${what} must be float32`);
    if (t.shape.length !== 2 || (rows >= 0 && t.shape[0] !== rows) || t.shape[1] !== cols) {
      throw new Error(`${kernel}: ${what} has shape [${t.shape.join(', ')}], expected [${rows >= 0 ? rows : 'N'}, ${cols}]`);
    }
  };
  matrix(x, -1, g.dim, 'x');
  const n = x.shape[0]!;
  matrix(condition, n, g.cond, 'condition');
  if (!packed || packed.dtype !== 'float32' || packed.shape.length !== 1) throw new Error(`${kernel}: packed weights must be a float32 vector`);
  if (packed.shape[0] !== g.packedSize) throw new Error(`${kernel}: packed weights hold ${packed.shape[0]} values, this block needs ${g.packedSize}`);
  return n;
}

/** Where a value block lives: its own tensor, or a range of a bigger one (the saved intermediates). */
interface Slab {
  info: TensorInfo;
  offset: number;
}

interface Trace {
  /**
   * Each layer's input ([1, N, in] tensors: they feed matmuls); after the first, the hidden
   * activations, whose sign is LeakyReLU's gradient (slope ≥ 0: positive exactly where the
   * pre-activation is).
   */
  inputs: TensorInfo[];
  /** The net's output (tanh'd for S nets); null when restored (the backward reads only Pass.s0, s1). */
  out: Slab | null;
}

interface NetWeights {
  kernels: TensorInfo[];
  biases: TensorInfo[];
}

interface Pass {
  shifted: Slab;
  b1: Slab;
  /** The scale nets' (tanh) outputs s₀, s₁. */
  s0: Slab;
  s1: Slab;
  traces: [Trace, Trace, Trace, Trace];
}

/** One kernel call's working set: allocations, heap views and the block's matmuls. */
class BlockCall {
  readonly scope: KernelScope;

  constructor(readonly backend: WasmBackendLike, readonly g: Geometry, readonly n: number) {
    this.scope = new KernelScope(backend);
  }

  /** A [1, N, cols] tensor (matmul operand) or any shape. */
  alloc(shape: number[]): TensorInfo {
    return this.scope.allocate(shape, 'float32');
  }

  rows(cols: number): TensorInfo {
    return this.alloc([1, this.n, cols]);
  }

  view(t: TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(t) as Float32Array;
  }

  slab(s: Slab, size: number): Float32Array {
    return this.view(s.info).subarray(s.offset, s.offset + size);
  }

  /** a·b (or with transposes) through the registered wasm matmuls (XNNPACK; the second core where it runs). */
  mm(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean, bias?: TensorInfo, leaky = false): TensorInfo {
    const attrs: NamedAttrMap = { transposeA, transposeB, activation: leaky ? 'leakyrelu' : 'linear', leakyreluAlpha: leaky ? this.g.slope : 0 };
    const kernel: KernelFunc = bias ? fusedMatMulConfig.kernelFunc : batchMatMulConfig.kernelFunc;
    const out = kernel({ inputs: bias ? { a, b, bias } : { a, b }, backend: this.backend as never, attrs }) as TensorInfo;
    return this.scope.adopt(out);
  }

  /**
   * The nets' kernels and biases, copied out of the packed vector into tensors of their own: per
   * call (training: the packed vector is new every step), or `kept` in the cache below (sampling
   * and evaluation, where the same weights come back call after call).
   */
  weights(packed: TensorInfo, kept = false): NetWeights[] {
    if (kept) return keptWeights(this.backend, packed, () => this.copyWeights(packed, (shape) => this.backend.makeOutput(shape, 'float32')));
    return this.copyWeights(packed, (shape) => this.alloc(shape));
  }

  private copyWeights(packed: TensorInfo, alloc: (shape: number[]) => TensorInfo): NetWeights[] {
    const made = this.g.nets.map((layers) => ({
      kernels: layers.map((l) => alloc([1, l.rows, l.cols])),
      biases: layers.map((l) => alloc([l.cols])),
    }));
    const source = this.view(packed);
    this.g.nets.forEach((layers, n) => layers.forEach((l, i) => {
      this.view(made[n]!.kernels[i]!).set(source.subarray(l.kernel, l.kernel + l.rows * l.cols));
      this.view(made[n]!.biases[i]!).set(source.subarray(l.bias, l.bias + l.cols));
    }));
    return made;
  }

  /** [h, c] row by row as a matmul operand; h is a slab of N × width. */
  withCondition(h: Slab, width: number, condition: TensorInfo): TensorInfo {
    const { n, g } = this;
    const out = this.rows(width + g.cond);
    const [o, hv, cv] = [this.view(out), this.slab(h, n * width), this.view(condition)];
    for (let r = 0; r < n; r++) {
      o.set(hv.subarray(r * width, (r + 1) * width), r * (width + g.cond));
      if (g.cond > 0) o.set(cv.subarray(r * g.cond, (r + 1) * g.cond), r * (width + g.cond) + width);
    }
    return out;
  }

  runNet(w: NetWeights, input: TensorInfo, finalTanh: boolean): Trace & { out: Slab } {
    const last = w.kernels.length - 1;
    const trace: Trace & { out: Slab } = { inputs: [input], out: { info: input, offset: 0 } };
    for (let l = 0; l < last; l++) trace.inputs.push(this.mm(trace.inputs[l]!, w.kernels[l]!, false, false, w.biases[l]!, true));
    const z = this.mm(trace.inputs[last]!, w.kernels[last]!, false, false, w.biases[last]!);
    if (finalTanh) {
      const out = this.rows(z.shape[2]!);
      const [o, zv] = [this.view(out), this.view(z)];
      for (let i = 0; i < o.length; i++) o[i] = Math.tanh(zv[i]!);
      trace.out = { info: out, offset: 0 };
    } else {
      trace.out = { info: z, offset: 0 };
    }
    return trace;
  }

  forward(x: TensorInfo, condition: TensorInfo, packed: TensorInfo, w: NetWeights[]): { pass: Pass; out: TensorInfo; logDet: TensorInfo } {
    const { n, g } = this;
    const { dim, sizeA, sizeB } = g;
    const shifted = this.alloc([n, dim]);
    const a = this.alloc([n, sizeA]);
    const b = this.alloc([n, sizeB]);
    {
      const [sv, av, bv, xv, p] = [this.view(shifted), this.view(a), this.view(b), this.view(x), this.view(packed)];
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < dim; j++) {
          const s = Math.fround(xv[r * dim + j]! + p[j]!);
          sv[r * dim + j] = s;
          if (j < sizeA) av[r * sizeA + j] = s * p[dim + j]!;
          else bv[r * sizeB + j - sizeA] = s * p[dim + j]!;
        }
      }
    }
    const h0 = this.withCondition({ info: a, offset: 0 }, sizeA, condition);
    const s0 = this.runNet(w[0]!, h0, true);
    const t0 = this.runNet(w[1]!, h0, false);
    const b1 = this.alloc([n, sizeB]);
    {
      const [o, bv, sv, tv] = [this.view(b1), this.view(b), this.slab(s0.out, n * sizeB), this.slab(t0.out, n * sizeB)];
      for (let i = 0; i < o.length; i++) o[i] = bv[i]! * Math.exp(sv[i]!) + tv[i]!;
    }
    const h1 = this.withCondition({ info: b1, offset: 0 }, sizeB, condition);
    const s1 = this.runNet(w[2]!, h1, true);
    const t1 = this.runNet(w[3]!, h1, false);
    const out = this.alloc([n, dim]);
    const logDet = this.alloc([n]);
    {
      const [o, ld, av, b1v, s0v, s1v, t1v, p] = [
        this.view(out), this.view(logDet), this.view(a), this.view(b1),
        this.slab(s0.out, n * sizeB), this.slab(s1.out, n * sizeA), this.slab(t1.out, n * sizeA), this.view(packed),
      ];
      const both = new Float32Array(dim);
      const scaleLogDet = sumLogAbs(p.subarray(dim, 2 * dim));
      for (let r = 0; r < n; r++) {
        let sum = 0;
        for (let j = 0; j < sizeB; j++) {
          both[j] = b1v[r * sizeB + j]!;
          sum += s0v[r * sizeB + j]!;
        }
        for (let j = 0; j < sizeA; j++) {
          const k = r * sizeA + j;
          both[sizeB + j] = av[k]! * Math.exp(s1v[k]!) + t1v[k]!;
          sum += s1v[k]!;
        }
        for (let i = 0; i < dim; i++) o[r * dim + i] = both[g.perm[i]!]!;
        ld[r] = scaleLogDet + sum;
      }
    }
    const pass: Pass = { shifted: { info: shifted, offset: 0 }, b1: { info: b1, offset: 0 }, s0: s0.out, s1: s1.out, traces: [s0, t0, s1, t1] };
    return { pass, out, logDet };
  }

  /** The saved-intermediates layout of coupling.cc: x + loc, b', hidden activations per net, S₀ and S₁ outputs. */
  savedSize(): number {
    const { n, g } = this;
    return n * (g.dim + g.sizeB + 4 * (g.depth + 1) * g.width + g.sizeB + g.sizeA);
  }

  save(pass: Pass): TensorInfo {
    const { n, g } = this;
    const saved = this.alloc([this.savedSize()]);
    const o = this.view(saved);
    let at = 0;
    const put = (s: Slab, size: number) => {
      o.set(this.slab(s, size), at);
      at += size;
    };
    put(pass.shifted, n * g.dim);
    put(pass.b1, n * g.sizeB);
    for (const t of pass.traces) for (const h of t.inputs.slice(1)) put({ info: h, offset: 0 }, n * g.width);
    put(pass.s0, n * g.sizeB);
    put(pass.s1, n * g.sizeA);
    return saved;
  }

  /** The forward's trace rebuilt from its saved intermediates: only each layer's input is recomputed. */
  restore(saved: TensorInfo, condition: TensorInfo, packed: TensorInfo, kernel: string): Pass {
    const { n, g } = this;
    if (saved.dtype !== 'float32' || saved.shape.length !== 1 || saved.shape[0] !== this.savedSize()) {
      throw new Error(`${kernel}: saved intermediates hold ${util.sizeFromShape(saved.shape)} values, this block at batch ${n} needs ${this.savedSize()}`);
    }
    let at = 0;
    const take = (size: number): Slab => {
      const s = { info: saved, offset: at };
      at += size;
      return s;
    };
    const shifted = take(n * g.dim);
    const b1 = take(n * g.sizeB);
    const hidden = [0, 1, 2, 3].map(() => Array.from({ length: g.depth + 1 }, () => take(n * g.width)));
    const s0out = take(n * g.sizeB);
    const s1out = take(n * g.sizeA);
    const a = this.alloc([n, g.sizeA]);
    {
      const [av, sv, p] = [this.view(a), this.slab(shifted, n * g.dim), this.view(packed)];
      for (let r = 0; r < n; r++) for (let j = 0; j < g.sizeA; j++) av[r * g.sizeA + j] = sv[r * g.dim + j]! * p[g.dim + j]!;
    }
    const h0 = this.withCondition({ info: a, offset: 0 }, g.sizeA, condition);
    const h1 = this.withCondition(b1, g.sizeB, condition);
    // A hidden activation is a matmul operand: copied out of the saved vector into a tensor.
    const traces = hidden.map((slabs, k): Trace => ({
      inputs: [k < 2 ? h0 : h1, ...slabs.map((s) => {
        const h = this.rows(g.width);
        this.view(h).set(this.slab(s, n * g.width));
        return h;
      })],
      out: null,
    })) as Pass['traces'];
    return { shifted, b1, s0: s0out, s1: s1out, traces };
  }

  /**
   * A net's backward: dOut (N × out) → the input gradient (a [1, N, in] tensor); the layers'
   * kernel and bias gradients into `grads` (kernel tensors, bias values), in layer order. `tanhOut`:
   * the output of a net that ends in tanh (the scale nets), whose derivative comes first.
   */
  backNet(w: NetWeights, t: Trace, dOut: TensorInfo, tanhOut: Slab | null, grads: { kernels: TensorInfo[]; biases: Float32Array[] }): TensorInfo {
    const { n, g } = this;
    const last = w.kernels.length - 1;
    let dz = dOut;
    if (tanhOut) {
      const cols = dOut.shape[2]!;
      dz = this.rows(cols);
      const [o, d, s] = [this.view(dz), this.view(dOut), this.slab(tanhOut, n * cols)];
      for (let i = 0; i < o.length; i++) o[i] = d[i]! * (1 - s[i]! * s[i]!);
    }
    for (let l = last; ; l--) {
      grads.kernels[l] = this.mm(t.inputs[l]!, dz, true, false);
      grads.biases[l] = columnSums(this.view(dz), n, dz.shape[2]!);
      const d = this.mm(dz, w.kernels[l]!, false, true);
      if (l === 0) return d;
      dz = this.rows(g.width);
      const [o, dv, h] = [this.view(dz), this.view(d), this.view(t.inputs[l]!)];
      for (let i = 0; i < o.length; i++) o[i] = h[i]! > 0 ? dv[i]! : dv[i]! * g.slope;
    }
  }
}

// Weights kept across calls, by the packed vector's storage identity (tfjs never changes a
// tensor's data in place; a variable gets new storage on every assign). Keeping them keeps the
// matmuls' B operands the same tensors, so XNNPACK reuses its packed copy of each and the second
// core's helper can keep them too (docs/engine.md); copying them per call measured slower
// sampling. Bounded: the least recently used are freed past KEPT_BYTES.
const KEPT_BYTES = 64 << 20;
interface Kept {
  backend: WasmBackendLike;
  weights: NetWeights[];
  bytes: number;
}
const kept = new Map<object, Kept>();
let keptBytes = 0;

function keptWeights(backend: WasmBackendLike, packed: TensorInfo, copy: () => NetWeights[]): NetWeights[] {
  const key = packed.dataId as object;
  const hit = kept.get(key);
  if (hit && hit.backend === backend) {
    kept.delete(key);
    kept.set(key, hit);  // most recently used last
    return hit.weights;
  }
  if (hit) forget(key, hit);
  const weights = copy();
  const entry = { backend, weights, bytes: 4 * util.sizeFromShape(packed.shape) };
  kept.set(key, entry);
  keptBytes += entry.bytes;
  for (const [k, e] of kept) {
    if (keptBytes <= KEPT_BYTES || k === key) break;
    forget(k, e);
  }
  return weights;
}

function forget(key: object, entry: Kept): void {
  kept.delete(key);
  keptBytes -= entry.bytes;
  for (const w of entry.weights) for (const t of [...w.kernels, ...w.biases]) {
    try {
      entry.backend.disposeData(t.dataId);
    } catch {
      // a backend disposed since (tests re-initialise the engine): its heap is gone with it
    }
  }
}

function sumLogAbs(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.log(Math.abs(v[i]!));
  return Math.fround(s);
}

function columnSums(v: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  const acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) acc[c]! += v[r * cols + c]!;
  out.set(acc);
  return out;
}

/** Runs `body` in a fresh call; every intermediate is freed, the outputs handed to the engine. */
function withCall(backend: unknown, g: Geometry, n: number, body: (call: BlockCall) => TensorInfo[]): TensorInfo[] {
  const call = new BlockCall(backend as WasmBackendLike, g, n);
  try {
    return call.scope.finishAll(body(call));
  } catch (error) {
    call.scope.finishAll([]);
    throw error;
  }
}

export const couplingForwardConfig: KernelConfig = {
  kernelName: COUPLING_FORWARD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const g = geometry(attrs, COUPLING_FORWARD_KERNEL);
    const { x, condition, packed } = inputs as Record<string, TensorInfo>;
    const n = checkBlockInputs(g, x!, condition!, packed!, COUPLING_FORWARD_KERNEL);
    return withCall(backend, g, n, (call) => {
      const keep = Boolean(attrs?.['keepIntermediates']);
      const { pass, out, logDet } = call.forward(x!, condition!, packed!, call.weights(packed!, !keep));
      return [out, logDet, keep ? call.save(pass) : call.alloc([0])];
    });
  },
};

export const couplingBackwardConfig: KernelConfig = {
  kernelName: COUPLING_BACKWARD_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const kernel = COUPLING_BACKWARD_KERNEL;
    const g = geometry(attrs, kernel);
    const { dOutput, dLogDet, x, condition, packed, intermediates } = inputs as Record<string, TensorInfo | undefined>;
    if (!dOutput || !dLogDet) throw new Error(`${kernel}: expected [dOutput, dLogDet, x, condition, packed] and optionally the forward's saved intermediates`);
    const n = checkBlockInputs(g, x!, condition!, packed!, kernel);
    if (dOutput.dtype !== 'float32' || !util.arraysEqual(dOutput.shape, [n, g.dim])) throw new Error(`${kernel}: dOutput has shape [${dOutput.shape.join(', ')}], expected [${n}, ${g.dim}]`);
    if (dLogDet.dtype !== 'float32' || !util.arraysEqual(dLogDet.shape, [n])) throw new Error(`${kernel}: dLogDet must be a float32 vector of ${n} values`);
    return withCall(backend, g, n, (call) => backward(call, dOutput, dLogDet, x!, condition!, packed!, intermediates, kernel));
  },
};

function backward(
  call: BlockCall, dOutput: TensorInfo, dLogDet: TensorInfo, x: TensorInfo, condition: TensorInfo, packed: TensorInfo,
  intermediates: TensorInfo | undefined, kernel: string,
): TensorInfo[] {
  const { n, g } = call;
  const { dim, sizeA, sizeB, cond } = g;
  const w = call.weights(packed);
  const pass = intermediates && util.sizeFromShape(intermediates.shape) > 0
    ? call.restore(intermediates, condition, packed, kernel)
    : call.forward(x, condition, packed, w).pass;
  const [s0, t0, s1, t1] = pass.traces;
  const grads = [0, 1, 2, 3].map(() => ({ kernels: [] as TensorInfo[], biases: [] as Float32Array[] }));

  // a' = a·e₁ + t₁: the gradients reaching S₁ (through the scale and the log-det) and T₁.
  const da1 = call.rows(sizeA);
  const ds1 = call.rows(sizeA);
  const dbDirect = call.alloc([n, sizeB]);
  {
    const [d1, dS, dB, dy, ld, sh, s1v, p] = [
      call.view(da1), call.view(ds1), call.view(dbDirect), call.view(dOutput), call.view(dLogDet),
      call.slab(pass.shifted, n * dim), call.slab(pass.s1, n * sizeA), call.view(packed),
    ];
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < dim; i++) {
        const j = g.perm[i]!;  // out[:, i] = [b', a'][:, j]
        if (j < sizeB) dB[r * sizeB + j] = dy[r * dim + i]!;
        else d1[r * sizeA + j - sizeB] = dy[r * dim + i]!;
      }
      for (let j = 0; j < sizeA; j++) {
        const k = r * sizeA + j;
        const a = sh[r * dim + j]! * p[dim + j]!;
        dS[k] = d1[k]! * a * Math.exp(s1v[k]!) + ld[r]!;
      }
    }
  }
  const dh1S = call.backNet(w[2]!, s1, ds1, pass.s1, grads[2]!);
  const dh1T = call.backNet(w[3]!, t1, da1, null, grads[3]!);

  // b' = b·e₀ + t₀, and b' also feeds S₁ and T₁.
  const db1 = call.rows(sizeB);
  const ds0 = call.rows(sizeB);
  const dc = call.alloc([n, cond]);
  {
    const [d1, dS, dB, hs, ht, dcv, ld, sh, s0v, p] = [
      call.view(db1), call.view(ds0), call.view(dbDirect), call.view(dh1S), call.view(dh1T), call.view(dc), call.view(dLogDet),
      call.slab(pass.shifted, n * dim), call.slab(pass.s0, n * sizeB), call.view(packed),
    ];
    const width = sizeB + cond;
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < sizeB; j++) {
        const k = r * sizeB + j;
        const d = dB[k]! + hs[r * width + j]! + ht[r * width + j]!;
        d1[k] = d;
        const b = sh[r * dim + sizeA + j]! * p[dim + sizeA + j]!;
        dS[k] = d * b * Math.exp(s0v[k]!) + ld[r]!;
      }
      for (let j = 0; j < cond; j++) dcv[r * cond + j] = hs[r * width + sizeB + j]! + ht[r * width + sizeB + j]!;
    }
  }
  const dh0S = call.backNet(w[0]!, s0, ds0, pass.s0, grads[0]!);
  const dh0T = call.backNet(w[1]!, t0, db1, null, grads[1]!);

  // h = (x + loc)·scale, [a, b] = h; log-det += Σ log|scale|.
  const dx = call.alloc([n, dim]);
  const dPacked = call.alloc([g.packedSize]);
  {
    const [dxv, dcv, dP, hs, ht, d1, dA1, ld, sh, s0v, s1v, p] = [
      call.view(dx), call.view(dc), call.view(dPacked), call.view(dh0S), call.view(dh0T), call.view(db1), call.view(da1), call.view(dLogDet),
      call.slab(pass.shifted, n * dim), call.slab(pass.s0, n * sizeB), call.slab(pass.s1, n * sizeA), call.view(packed),
    ];
    const width = sizeA + cond;
    const dLoc = new Float64Array(dim);
    const dScale = new Float64Array(dim);
    let ldSum = 0;
    for (let r = 0; r < n; r++) {
      ldSum += ld[r]!;
      for (let j = 0; j < dim; j++) {
        const dh = j < sizeA
          ? Math.fround(dA1[r * sizeA + j]! * Math.exp(s1v[r * sizeA + j]!)) + hs[r * width + j]! + ht[r * width + j]!
          : d1[r * sizeB + j - sizeA]! * Math.exp(s0v[r * sizeB + j - sizeA]!);
        const v = Math.fround(dh * p[dim + j]!);
        dxv[r * dim + j] = v;
        dLoc[j]! += v;
        dScale[j]! += dh * sh[r * dim + j]!;
      }
      for (let j = 0; j < cond; j++) dcv[r * cond + j]! += hs[r * width + sizeA + j]! + ht[r * width + sizeA + j]!;
    }
    for (let j = 0; j < dim; j++) {
      dP[j] = dLoc[j]!;
      dP[dim + j] = dScale[j]! + ldSum / p[dim + j]!;
    }
  }
  // The layers' gradients into the packed layout.
  {
    const dP = call.view(dPacked);
    g.nets.forEach((layers, k) => layers.forEach((l, i) => {
      dP.set(call.view(grads[k]!.kernels[i]!), l.kernel);
      dP.set(grads[k]!.biases[i]!, l.bias);
    }));
  }
  return [dx, dc, dPacked];
}

export const couplingInverseConfig: KernelConfig = {
  kernelName: COUPLING_INVERSE_KERNEL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const g = geometry(attrs, COUPLING_INVERSE_KERNEL);
    const { x: y, condition, packed } = inputs as Record<string, TensorInfo>;
    const n = checkBlockInputs(g, y!, condition!, packed!, COUPLING_INVERSE_KERNEL);
    return withCall(backend, g, n, (call) => {
      const { dim, sizeA, sizeB } = g;
      const w = call.weights(packed!, true);
      const b1 = call.alloc([n, sizeB]);
      const a1 = call.alloc([n, sizeA]);
      {
        const [bv, av, yv] = [call.view(b1), call.view(a1), call.view(y!)];
        for (let r = 0; r < n; r++) {
          for (let i = 0; i < dim; i++) {
            const j = g.perm[i]!;
            if (j < sizeB) bv[r * sizeB + j] = yv[r * dim + i]!;
            else av[r * sizeA + j - sizeB] = yv[r * dim + i]!;
          }
        }
      }
      const h1 = call.withCondition({ info: b1, offset: 0 }, sizeB, condition!);
      const s1 = call.runNet(w[2]!, h1, true).out;
      const t1 = call.runNet(w[3]!, h1, false).out;
      const aa = call.alloc([n, sizeA]);
      {
        const [o, av, sv, tv] = [call.view(aa), call.view(a1), call.slab(s1, n * sizeA), call.slab(t1, n * sizeA)];
        for (let i = 0; i < o.length; i++) o[i] = (av[i]! - tv[i]!) * Math.exp(-sv[i]!);
      }
      const h0 = call.withCondition({ info: aa, offset: 0 }, sizeA, condition!);
      const s0 = call.runNet(w[0]!, h0, true).out;
      const t0 = call.runNet(w[1]!, h0, false).out;
      const x = call.alloc([n, dim]);
      const logDet = call.alloc([n]);
      {
        const [xv, ld, av, bv, s0v, s1v, t0v, p] = [
          call.view(x), call.view(logDet), call.view(aa), call.view(b1),
          call.slab(s0, n * sizeB), call.slab(s1, n * sizeA), call.slab(t0, n * sizeB), call.view(packed!),
        ];
        const scaleLogDet = sumLogAbs(p.subarray(dim, 2 * dim));
        for (let r = 0; r < n; r++) {
          let sum = 0;
          for (let j = 0; j < sizeA; j++) {
            xv[r * dim + j] = av[r * sizeA + j]! / p[dim + j]! - p[j]!;
            sum += s1v[r * sizeA + j]!;
          }
          for (let j = 0; j < sizeB; j++) {
            const k = r * sizeB + j;
            const bb = Math.fround((bv[k]! - t0v[k]!) * Math.exp(-s0v[k]!));
            xv[r * dim + sizeA + j] = bb / p[dim + sizeA + j]! - p[sizeA + j]!;
            sum += s0v[k]!;
          }
          ld[r] = -(scaleLogDet + sum);
        }
      }
      return [x, logDet];
    });
  },
};

/** The three block kernels, registered on wasm by ./register.ts. */
export const WASM_BLOCK_KERNELS: KernelConfig[] = [couplingForwardConfig, couplingBackwardConfig, couplingInverseConfig];
