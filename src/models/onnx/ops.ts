/**
 * The ONNX operators that torchvision classifiers export at opsets 11–17, each as
 * differentiable TensorFlow.js ops over the values of values.ts (4-D activations stored NHWC).
 * Semantics follow the ONNX operator specification (docs/Operators.md) for every opset from 7 on:
 * where an attribute became an input (Clip 11, Pad 11, Squeeze/Unsqueeze 13, ReduceMean 18) both
 * forms are read; Softmax/LogSoftmax before opset 13 coerce to 2-D at `axis`. Browser-safe.
 */
import { tf } from '../../engine/index.ts';
import type { AttributeValue, OnnxNode, OnnxTensor } from './onnx-graph.ts';
import {
  axisOf, dyn, fixedInts, NHWC_AXIS, onnxShape, plain, product, scalarOf, toNhwc,
  type ConstValue, type DynValue, type IntsValue, type Value,
} from './values.ts';

export interface OpContext {
  /** The default domain's opset the model imports. */
  opset: number;
  node: OnnxNode;
  /** For messages: "<file>: node '<name>' (<op>)". */
  what: string;
  /** A tensor made from constants once and kept for the model's lifetime (converted weights). */
  cached(key: string, make: () => tf.Tensor): tf.Tensor;
}

export type Operator = (inputs: (Value | undefined)[], ctx: OpContext) => Value[];

// ---------------------------------------------------------------------------------------------
// Attributes

function attr<T extends AttributeValue>(ctx: OpContext, name: string, fallback: T): T {
  const v = ctx.node.attributes.get(name);
  return (v === undefined ? fallback : v) as T;
}

function need(v: Value | undefined, ctx: OpContext, index: number): Value {
  if (!v) throw new Error(`${ctx.what}: input ${index} is missing`);
  return v;
}

function tensorInput(v: Value | undefined, ctx: OpContext, index: number): DynValue | ConstValue {
  const x = need(v, ctx, index);
  if (x.kind === 'ints') return { kind: 'const', t: plain(x).toFloat() };
  return x;
}

function constInput(v: Value | undefined, ctx: OpContext, index: number, role: string): tf.Tensor {
  const x = need(v, ctx, index);
  if (x.kind === 'dyn') throw new Error(`${ctx.what}: the ${role} (input ${index}) is computed from the image; inntrospect needs it constant (an initializer)`);
  return x.kind === 'ints' ? plain(x).toFloat() : x.t;
}

/** A value holding the same stored tensor as `v`, with its layout. */
function like(v: DynValue | ConstValue, t: tf.Tensor): DynValue {
  return dyn(t, v.kind === 'dyn' && v.nhwc);
}

function isNhwc(v: Value | undefined): v is DynValue {
  return v !== undefined && v.kind === 'dyn' && v.nhwc;
}

// ---------------------------------------------------------------------------------------------
// Elementwise

/** A tensor of ONNX layout brought to NHWC for broadcasting against a stored-NHWC activation. */
function broadcastNhwc(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const four = r < 4 ? tf.reshape(t, [...Array(4 - r).fill(1), ...t.shape]) : t;
  return tf.transpose(four, [0, 2, 3, 1]);
}

function intsBinary(a: Value, b: Value, fn: (x: number, y: number) => number, ctx: OpContext): Value {
  if (a.kind !== 'ints' || b.kind !== 'ints') throw new Error('unreachable');
  const n = Math.max(a.data.length, b.data.length);
  if (a.data.length !== n && a.data.length !== 1) throw new Error(`${ctx.what}: cannot broadcast shape values of ${a.data.length} and ${b.data.length} entries`);
  if (b.data.length !== n && b.data.length !== 1) throw new Error(`${ctx.what}: cannot broadcast shape values of ${a.data.length} and ${b.data.length} entries`);
  const data = Array.from({ length: n }, (_, i) => {
    const x = a.data[a.data.length === 1 ? 0 : i]!;
    const y = b.data[b.data.length === 1 ? 0 : i]!;
    if (x === null || y === null) throw new Error(`${ctx.what}: arithmetic on the batch size cannot be folded at load`);
    return fn(x, y);
  });
  return { kind: 'ints', dims: a.data.length >= b.data.length ? a.dims : b.dims, data };
}

function binary(fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, intFn: (x: number, y: number) => number): Operator {
  return ([a, b], ctx) => {
    const x = need(a, ctx, 0);
    const y = need(b, ctx, 1);
    if (x.kind === 'ints' && y.kind === 'ints') return [intsBinary(x, y, intFn, ctx)];
    const xt = tensorInput(x, ctx, 0);
    const yt = tensorInput(y, ctx, 1);
    const xn = isNhwc(xt);
    const yn = isNhwc(yt);
    if ((xn || yn) && !(xn && yn)) {
      const other = xn ? yt : xt;
      if (other.t.rank <= 4) {
        // The other operand is broadcast in NCHW terms: bring it to NHWC (once, for a constant).
        const converted = other.kind === 'const'
          ? ctx.cached(`broadcast${xn ? 1 : 0}`, () => broadcastNhwc(other.t))
          : broadcastNhwc(plain(other));
        return [dyn(xn ? fn(xt.t, converted) : fn(converted, yt.t), true)];
      }
    }
    if (xn && yn) return [dyn(fn(xt.t, yt.t), true)];
    return [dyn(fn(plain(xt), plain(yt)))];
  };
}

function unary(fn: (x: tf.Tensor, ctx: OpContext) => tf.Tensor): Operator {
  return ([a], ctx) => {
    const x = tensorInput(a, ctx, 0);
    return [like(x, fn(x.t, ctx))];
  };
}

const BIG = 3.4e38;

const clip: Operator = (inputs, ctx) => {
  const x = tensorInput(inputs[0], ctx, 0);
  const lo = ctx.opset < 11 ? attr<number>(ctx, 'min', -BIG) : scalarOf(inputs[1], `${ctx.what}: min`) ?? -BIG;
  const hi = ctx.opset < 11 ? attr<number>(ctx, 'max', BIG) : scalarOf(inputs[2], `${ctx.what}: max`) ?? BIG;
  return [like(x, tf.clipByValue(x.t, lo, hi))];
};

function hardSigmoid(x: tf.Tensor, alpha: number, beta: number): tf.Tensor {
  return tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1);
}

// ---------------------------------------------------------------------------------------------
// Convolution and pooling

/** [top, bottom, left, right] from ONNX pads [top, left, bottom, right] or auto_pad. */
function spatialPads(ctx: OpContext, inHW: number[], kernel: number[], strides: number[], dilations: number[]): [number, number, number, number] {
  const autoPad = attr<string>(ctx, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = [0, 1].map((i) => Math.max((Math.ceil(inHW[i]! / strides[i]!) - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inHW[i]!, 0));
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]!);
    return autoPad === 'SAME_UPPER' ? [small[0]!, big[0]!, small[1]!, big[1]!] : [big[0]!, small[0]!, big[1]!, small[1]!];
  }
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  if (autoPad !== 'NOTSET') throw new Error(`${ctx.what}: auto_pad '${autoPad}' is not an ONNX value (NOTSET, SAME_UPPER, SAME_LOWER, VALID)`);
  const pads = attr<number[]>(ctx, 'pads', [0, 0, 0, 0]);
  if (pads.length !== 4) throw new Error(`${ctx.what}: only 2-D operators are supported; pads has ${pads.length} entries`);
  return [pads[0]!, pads[2]!, pads[1]!, pads[3]!];
}

function padHW(x: tf.Tensor4D, p: readonly number[], value = 0): tf.Tensor4D {
  if (p.every((v) => v === 0)) return x;
  return tf.pad(x, [[0, 0], [p[0]!, p[1]!], [p[2]!, p[3]!], [0, 0]], value);
}

/** An HWIO kernel with (d − 1) zeros between its taps: a dilated convolution as an undilated one. */
function dilateFilter(f: tf.Tensor4D, [dh, dw]: [number, number]): tf.Tensor4D {
  const [kh, kw, i, o] = f.shape;
  const data = f.arraySync();
  const out = tf.buffer([(kh - 1) * dh + 1, (kw - 1) * dw + 1, i, o], 'float32');
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let a = 0; a < i; a++) for (let b = 0; b < o; b++) out.set(data[y]![x]![a]![b]!, y * dh, x * dw, a, b);
  return out.toTensor() as tf.Tensor4D;
}

const conv: Operator = (inputs, ctx) => {
  const xv = tensorInput(inputs[0], ctx, 0);
  const w = constInput(inputs[1], ctx, 1, 'weight');
  if (w.rank !== 4) throw new Error(`${ctx.what}: only 2-D convolutions are supported; the weight has shape [${w.shape.join(', ')}]`);
  const [outC, inPerGroup, kh, kw] = w.shape as [number, number, number, number];
  const group = attr<number>(ctx, 'group', 1);
  const strides = attr<number[]>(ctx, 'strides', [1, 1]);
  const dilations = attr<number[]>(ctx, 'dilations', [1, 1]);
  const x = toNhwc(xv, ctx.what);
  const inC = x.shape[3];
  if (inPerGroup * group !== inC) throw new Error(`${ctx.what}: the weight expects ${inPerGroup * group} input channels (${group} group(s) of ${inPerGroup}), the input has ${inC}`);
  const pads = spatialPads(ctx, [x.shape[1], x.shape[2]], [kh, kw], strides, dilations);
  const xp = padHW(x, pads);
  const s = strides as [number, number];
  // tfjs has no gradient for dilated convolutions, so a dilated kernel is spread out once (zeros
  // between its taps) and run undilated: the same sums, and differentiable.
  const d: [number, number] = [1, 1];
  const spread = (f: tf.Tensor4D): tf.Tensor4D => (dilations.every((v) => v === 1) ? f : dilateFilter(f, dilations as [number, number]));
  let y: tf.Tensor4D;
  if (group === 1) {
    const f = ctx.cached('filter', () => spread(tf.transpose(w, [2, 3, 1, 0]) as tf.Tensor4D)) as tf.Tensor4D;
    y = tf.conv2d(xp, f, s, 'valid', 'NHWC', d);
  } else if (inPerGroup === 1 && outC % group === 0) {
    // Depthwise: output channel c·m + j reads input channel c.
    const f = ctx.cached('filter', () => spread(tf.transpose(tf.reshape(w, [group, outC / group, kh, kw]), [2, 3, 0, 1]))) as tf.Tensor4D;
    y = tf.depthwiseConv2d(xp, f, s, 'valid', 'NHWC', d);
  } else {
    const outPer = outC / group;
    const parts = tf.split(xp, group, 3).map((part, g) => {
      const f = ctx.cached(`filter${g}`, () => spread(tf.transpose(tf.slice(w, [g * outPer, 0, 0, 0], [outPer, inPerGroup, kh, kw]), [2, 3, 1, 0]) as tf.Tensor4D)) as tf.Tensor4D;
      return tf.conv2d(part as tf.Tensor4D, f, s, 'valid', 'NHWC', d);
    });
    y = tf.concat(parts, 3) as tf.Tensor4D;
  }
  if (inputs[2]) y = tf.add(y, constInput(inputs[2], ctx, 2, 'bias'));
  return [dyn(y, true)];
};

/** Pool geometry with ceil_mode: the extra padding at the end so that the output is ceil(…)+1, as PyTorch. */
function poolGeometry(ctx: OpContext, x: tf.Tensor4D) {
  const kernel = attr<number[]>(ctx, 'kernel_shape', []);
  if (kernel.length !== 2) throw new Error(`${ctx.what}: only 2-D pooling is supported; kernel_shape is [${kernel.join(', ')}]`);
  const strides = attr<number[]>(ctx, 'strides', [1, 1]);
  const dilations = attr<number[]>(ctx, 'dilations', [1, 1]);
  if (dilations.some((v) => v !== 1)) throw new Error(`${ctx.what}: dilated pooling is not supported (dilations [${dilations.join(', ')}])`);
  const inHW = [x.shape[1], x.shape[2]];
  const pads = spatialPads(ctx, inHW, kernel, strides, dilations);
  const extra = [0, 0];
  if (attr<number>(ctx, 'ceil_mode', 0) === 1) {
    for (let i = 0; i < 2; i++) {
      const before = pads[2 * i]!;
      const padded = inHW[i]! + before + pads[2 * i + 1]!;
      let out = Math.ceil((padded - kernel[i]!) / strides[i]!) + 1;
      if ((out - 1) * strides[i]! >= inHW[i]! + before) out--; // the last window must start inside the input
      extra[i] = Math.max((out - 1) * strides[i]! + kernel[i]! - padded, 0);
    }
  }
  return { kernel: kernel as [number, number], strides: strides as [number, number], pads, extra };
}

const maxPool: Operator = (inputs, ctx) => {
  if ((ctx.node.outputs[1] ?? '') !== '') throw new Error(`${ctx.what}: MaxPool's Indices output is not supported`);
  const x = toNhwc(tensorInput(inputs[0], ctx, 0), ctx.what);
  const { kernel, strides, pads, extra } = poolGeometry(ctx, x);
  const xp = padHW(x, [pads[0], pads[1] + extra[0]!, pads[2], pads[3] + extra[1]!], -Infinity);
  return [dyn(tf.maxPool(xp, kernel, strides, 'valid'), true)];
};

const averagePool: Operator = (inputs, ctx) => {
  const x = toNhwc(tensorInput(inputs[0], ctx, 0), ctx.what);
  const { kernel, strides, pads, extra } = poolGeometry(ctx, x);
  const all = [pads[0], pads[1] + extra[0]!, pads[2], pads[3] + extra[1]!];
  const y = tf.avgPool(padHW(x, all), kernel, strides, 'valid');
  if (all.every((p) => p === 0)) return [dyn(y, true)];
  // The divisor counts the input (and the declared pads when count_include_pad), never ceil_mode's extra.
  const include = attr<number>(ctx, 'count_include_pad', 0) === 1;
  const mask = ctx.cached(`mask${x.shape[1]}x${x.shape[2]}`, () => {
    let ones = tf.ones([1, x.shape[1], x.shape[2], 1]) as tf.Tensor4D;
    ones = padHW(ones, pads, include ? 1 : 0);
    return tf.avgPool(padHW(ones, [0, extra[0]!, 0, extra[1]!]), kernel, strides, 'valid');
  });
  return [dyn(tf.div(y, mask), true)];
};

const globalAveragePool: Operator = ([a], ctx) => {
  const x = tensorInput(a, ctx, 0);
  if (isNhwc(x)) return [dyn(tf.mean(x.t, [1, 2], true), true)];
  const axes = Array.from({ length: x.t.rank - 2 }, (_, i) => i + 2);
  return [dyn(tf.mean(x.t, axes, true))];
};

const batchNorm: Operator = (inputs, ctx) => {
  if (attr<number>(ctx, 'training_mode', 0) === 1) throw new Error(`${ctx.what}: BatchNormalization in training mode is not supported; export the model in eval mode (model.eval())`);
  const x = tensorInput(inputs[0], ctx, 0);
  const eps = attr<number>(ctx, 'epsilon', 1e-5);
  // y = (x − mean)/√(var + ε)·scale + bias = x·a + b, folded once.
  const a = ctx.cached('a', () => tf.div(constInput(inputs[1], ctx, 1, 'scale'), tf.sqrt(tf.add(constInput(inputs[4], ctx, 4, 'variance'), eps))));
  const b = ctx.cached('b', () => tf.sub(constInput(inputs[2], ctx, 2, 'bias'), tf.mul(constInput(inputs[3], ctx, 3, 'mean'), a)));
  if (isNhwc(x)) return [dyn(tf.add(tf.mul(x.t, a), b), true)];
  const shape = [a.shape[0]!, ...Array(Math.max(x.t.rank - 2, 0)).fill(1)];
  return [dyn(tf.add(tf.mul(x.t, tf.reshape(a, shape)), tf.reshape(b, shape)))];
};

// ---------------------------------------------------------------------------------------------
// Dense

const gemm: Operator = (inputs, ctx) => {
  const a = tensorInput(inputs[0], ctx, 0);
  const alpha = attr<number>(ctx, 'alpha', 1);
  const beta = attr<number>(ctx, 'beta', 1);
  const transA = attr<number>(ctx, 'transA', 0) === 1;
  const transB = attr<number>(ctx, 'transB', 0) === 1;
  const bv = need(inputs[1], ctx, 1);
  let at = plain(a);
  if (at.rank !== 2) throw new Error(`${ctx.what}: Gemm takes 2-D inputs, got [${onnxShape(a).join(', ')}]`);
  if (transA) at = tf.transpose(at);
  // A constant B is transposed (and scaled by alpha) once, so every run is one plain matmul.
  const b = bv.kind === 'dyn'
    ? tf.mul(transB ? tf.transpose(plain(bv)) : plain(bv), alpha)
    : ctx.cached('b', () => {
      const t = constInput(bv, ctx, 1, 'B');
      const bt = transB ? tf.transpose(t) : t;
      return alpha === 1 ? tf.clone(bt) : tf.mul(bt, alpha);
    });
  let y = tf.matMul(at as tf.Tensor2D, b as tf.Tensor2D);
  if (inputs[2]) {
    const c = inputs[2].kind === 'dyn' ? tf.mul(plain(inputs[2]), beta) : ctx.cached('c', () => tf.mul(constInput(inputs[2], ctx, 2, 'C'), beta));
    y = tf.add(y, c);
  }
  return [dyn(y)];
};

const matMul: Operator = ([a, b], ctx) => {
  const x = plain(tensorInput(a, ctx, 0));
  const y = plain(tensorInput(b, ctx, 1));
  if (x.rank < 2 || y.rank < 2) throw new Error(`${ctx.what}: MatMul of 1-D tensors is not supported ([${x.shape.join(', ')}] × [${y.shape.join(', ')}])`);
  return [dyn(tf.matMul(x, y))];
};

// ---------------------------------------------------------------------------------------------
// Shapes and layout

const flatten: Operator = ([a], ctx) => {
  const x = plain(tensorInput(a, ctx, 0));
  const axis = axisOf(attr<number>(ctx, 'axis', 1), x.rank + 1, ctx.what);
  return [dyn(tf.reshape(x, [product(x.shape.slice(0, axis)), product(x.shape.slice(axis))]))];
};

function reshapeTarget(input: readonly number[], target: (number | null)[], allowZero: boolean, batch: number, what: string): number[] {
  const dims = target.map((d, i) => {
    if (d === null) return batch;
    if (d === 0 && !allowZero) {
      if (i >= input.length) throw new Error(`${what}: shape entry ${i} is 0 (copy) but the input has rank ${input.length}`);
      return input[i]!;
    }
    return d;
  });
  const known = product(dims.filter((d) => d !== -1));
  const total = product(input);
  if (dims.filter((d) => d === -1).length > 1) throw new Error(`${what}: the target shape [${target.join(', ')}] has more than one -1`);
  const out = dims.map((d) => (d === -1 ? total / known : d));
  if (product(out) !== total || out.some((d) => !Number.isInteger(d))) throw new Error(`${what}: cannot reshape [${input.join(', ')}] to [${target.map((d) => d ?? 'batch').join(', ')}]`);
  return out;
}

const reshape: Operator = ([a, s], ctx) => {
  const shape = need(s, ctx, 1);
  if (shape.kind !== 'ints') throw new Error(`${ctx.what}: the target shape must be integers known at load, not computed from the image`);
  const allowZero = attr<number>(ctx, 'allowzero', 0) === 1;
  const x = need(a, ctx, 0);
  if (x.kind === 'ints') {
    const dims = reshapeTarget(x.dims, fixedInts(shape, `${ctx.what}: shape`), allowZero, 1, ctx.what);
    return [{ kind: 'ints', dims, data: x.data }];
  }
  const t = plain(x);
  return [dyn(tf.reshape(t, reshapeTarget(t.shape, shape.data, allowZero, t.shape[0] ?? 1, ctx.what)))];
};

/** Folded integers with their axes permuted. */
function transposeInts(v: IntsValue, perm: number[]): IntsValue {
  const dims = perm.map((p) => v.dims[p]!);
  const strides = v.dims.map((_, i) => product(v.dims.slice(i + 1)));
  const data: (number | null)[] = [];
  const at = Array(dims.length).fill(0);
  for (let k = 0; k < product(dims); k++) {
    data.push(v.data[at.reduce((o, idx, j) => o + idx * strides[perm[j]!]!, 0)]!);
    for (let j = dims.length - 1; j >= 0; j--) {
      if (++at[j] < dims[j]!) break;
      at[j] = 0;
    }
  }
  return { kind: 'ints', dims, data };
}

const transpose: Operator = ([a], ctx) => {
  const v = need(a, ctx, 0);
  if (v.kind === 'ints') {
    const perm = attr<number[]>(ctx, 'perm', v.dims.map((_, i) => v.dims.length - 1 - i));
    return [transposeInts(v, perm)];
  }
  const x = tensorInput(v, ctx, 0);
  const rank = x.t.rank;
  const perm = attr<number[]>(ctx, 'perm', Array.from({ length: rank }, (_, i) => rank - 1 - i));
  if (isNhwc(x) && perm.join() === '0,2,3,1') return [dyn(x.t)]; // NCHW → NHWC is how it is stored
  return [dyn(tf.transpose(plain(x), perm))];
};

function axesInput(inputs: (Value | undefined)[], ctx: OpContext, fromOpset: number, index: number): number[] | undefined {
  if (ctx.opset < fromOpset) {
    const a = ctx.node.attributes.get('axes');
    return a === undefined ? undefined : (a as number[]);
  }
  return inputs[index] ? fixedInts(inputs[index], `${ctx.what}: axes`) : undefined;
}

const squeeze: Operator = (inputs, ctx) => {
  const x = need(inputs[0], ctx, 0);
  const axes = axesInput(inputs, ctx, 13, 1);
  if (x.kind === 'ints') {
    const keep = x.dims.map((d, i) => (axes ? !axes.map((a) => axisOf(a, x.dims.length, ctx.what)).includes(i) : d !== 1));
    return [{ kind: 'ints', dims: x.dims.filter((_, i) => keep[i]), data: x.data }];
  }
  const t = plain(x);
  return [dyn(tf.squeeze(t, axes?.map((a) => axisOf(a, t.rank, ctx.what))))];
};

const unsqueeze: Operator = (inputs, ctx) => {
  const x = need(inputs[0], ctx, 0);
  const axes = axesInput(inputs, ctx, 13, 1);
  if (!axes) throw new Error(`${ctx.what}: Unsqueeze needs axes`);
  const inDims = x.kind === 'ints' ? x.dims : plain(x).shape;
  const rank = inDims.length + axes.length;
  const at = new Set(axes.map((a) => axisOf(a, rank, ctx.what)));
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(at.has(i) ? 1 : inDims[k++]!);
  if (x.kind === 'ints') return [{ kind: 'ints', dims, data: x.data }];
  return [dyn(tf.reshape(plain(x), dims))];
};

const concat: Operator = (inputs, ctx) => {
  const present = inputs.filter((v): v is Value => v !== undefined);
  const axis = attr<number>(ctx, 'axis', 0);
  if (present.every((v) => v.kind === 'ints')) {
    const parts = present as { kind: 'ints'; dims: number[]; data: (number | null)[] }[];
    if (parts.some((p) => p.dims.length > 1)) throw new Error(`${ctx.what}: only 1-D integer values can be concatenated at load`);
    const data = parts.flatMap((p) => p.data);
    return [{ kind: 'ints', dims: [data.length], data }];
  }
  const values = present.map((v, i) => tensorInput(v, ctx, i));
  const rank = values[0]!.t.rank;
  const a = axisOf(axis, rank, ctx.what);
  if (values.some(isNhwc) && values.every((v) => v.t.rank === 4)) {
    return [dyn(tf.concat(values.map((v) => (isNhwc(v) ? v.t : broadcastNhwc(v.t))), NHWC_AXIS[a]!), true)];
  }
  return [dyn(tf.concat(values.map(plain), a))];
};

const shape: Operator = ([a], ctx) => {
  const x = need(a, ctx, 0);
  const dims: (number | null)[] = x.kind === 'ints' ? [...x.dims] : onnxShape(x);
  if (x.kind === 'dyn') dims[0] = null; // the batch axis: known only at run time
  const rank = dims.length;
  const start = axisOf(attr<number>(ctx, 'start', 0), rank + 1, ctx.what);
  const endAttr = attr<number>(ctx, 'end', rank);
  const end = Math.min(endAttr < 0 ? endAttr + rank : endAttr, rank);
  const data = dims.slice(start, end);
  return [{ kind: 'ints', dims: [data.length], data }];
};

const gather: Operator = ([d, i], ctx) => {
  const data = need(d, ctx, 0);
  const indices = need(i, ctx, 1);
  const idx = fixedInts(indices, `${ctx.what}: indices`);
  const axis = attr<number>(ctx, 'axis', 0);
  if (data.kind === 'ints') {
    if (data.dims.length !== 1 || axis !== 0) throw new Error(`${ctx.what}: only 1-D integer values can be gathered at load`);
    const n = data.data.length;
    const picked = idx.map((k) => data.data[k < 0 ? k + n : k]!);
    return [{ kind: 'ints', dims: indices.kind === 'ints' ? indices.dims : [picked.length], data: picked }];
  }
  const t = plain(data);
  const a = axisOf(axis, t.rank, ctx.what);
  const n = t.shape[a]!;
  const idxShape = indices.kind === 'ints' ? indices.dims : [idx.length];
  const flat = tf.gather(t, tf.tensor1d(idx.map((k) => (k < 0 ? k + n : k)), 'int32'), a);
  const outShape = [...t.shape.slice(0, a), ...idxShape, ...t.shape.slice(a + 1)];
  return [dyn(tf.reshape(flat, outShape))];
};

function tensorValue(t: OnnxTensor): Value {
  if (t.kind === 'int') return { kind: 'ints', dims: t.dims, data: t.data as number[] };
  return { kind: 'const', t: tf.tensor(t.data as Float32Array, t.dims, 'float32') };
}

const constant: Operator = (_inputs, ctx) => {
  const a = ctx.node.attributes;
  if (a.has('value')) return [tensorValue(a.get('value') as OnnxTensor)];
  if (a.has('value_float')) return [{ kind: 'const', t: tf.scalar(a.get('value_float') as number) }];
  if (a.has('value_floats')) return [{ kind: 'const', t: tf.tensor1d(a.get('value_floats') as number[]) }];
  if (a.has('value_int')) return [{ kind: 'ints', dims: [], data: [a.get('value_int') as number] }];
  if (a.has('value_ints')) { const v = a.get('value_ints') as number[]; return [{ kind: 'ints', dims: [v.length], data: v }]; }
  throw new Error(`${ctx.what}: a Constant needs value, value_float(s) or value_int(s); it has ${[...a.keys()].join(', ') || 'none'}`);
};

const constantOfShape: Operator = ([s], ctx) => {
  const dims = fixedInts(s, `${ctx.what}: shape`);
  const value = ctx.node.attributes.get('value') as OnnxTensor | undefined;
  const v = value ? Number(value.data[0]) : 0;
  if (value && value.kind === 'int') return [{ kind: 'ints', dims, data: Array(product(dims)).fill(v) }];
  return [{ kind: 'const', t: tf.fill(dims, v) }];
};

const cast: Operator = ([a], ctx) => {
  const x = need(a, ctx, 0);
  const to = attr<number>(ctx, 'to', 1);
  const toFloat = to === 1 || to === 10 || to === 11;
  if (x.kind === 'ints') return [toFloat ? { kind: 'const', t: plain(x).toFloat() } : x];
  if (toFloat) return [x];
  throw new Error(`${ctx.what}: casting a float tensor to data type ${to} is not supported`);
};

/**
 * Reflect padding as one gather per padded axis: tfjs' mirrorPad gradient drops the reflected
 * contributions (it only slices the centre back out), a gather's gradient sums them.
 */
function reflectPad(t: tf.Tensor, pairs: [number, number][], ctx: OpContext): tf.Tensor {
  let y = t;
  pairs.forEach(([before, after], axis) => {
    if (before === 0 && after === 0) return;
    const n = t.shape[axis]!;
    if (before >= n || after >= n) throw new Error(`${ctx.what}: reflect padding of ${Math.max(before, after)} on an axis of ${n} (it must be smaller)`);
    const idx = [
      ...Array.from({ length: before }, (_, i) => before - i),
      ...Array.from({ length: n }, (_, i) => i),
      ...Array.from({ length: after }, (_, i) => n - 2 - i),
    ];
    y = tf.gather(y, tf.tensor1d(idx, 'int32'), axis);
  });
  return y;
}

const pad: Operator = (inputs, ctx) => {
  const x = tensorInput(inputs[0], ctx, 0);
  const mode = attr<string>(ctx, 'mode', 'constant');
  const pads = ctx.opset < 11 ? attr<number[]>(ctx, 'pads', []) : fixedInts(inputs[1], `${ctx.what}: pads`);
  const value = ctx.opset < 11 ? attr<number>(ctx, 'value', 0) : scalarOf(inputs[2], `${ctx.what}: constant_value`) ?? 0;
  if (inputs[3]) throw new Error(`${ctx.what}: Pad with an axes input is not supported`);
  const rank = x.t.rank;
  if (pads.length !== 2 * rank) throw new Error(`${ctx.what}: pads has ${pads.length} entries for a rank-${rank} tensor (needs ${2 * rank})`);
  if (pads.some((p) => p < 0)) throw new Error(`${ctx.what}: negative pads (cropping) are not supported`);
  const pairs = Array.from({ length: rank }, (_, i) => [pads[i]!, pads[i + rank]!] as [number, number]);
  const stored = isNhwc(x) ? NHWC_AXIS.map((_, j) => pairs[NHWC_AXIS.indexOf(j)]!) : pairs;
  let y: tf.Tensor;
  if (mode === 'constant') y = tf.pad(x.t, stored, value);
  else if (mode === 'reflect') y = reflectPad(x.t, stored, ctx);
  else throw new Error(`${ctx.what}: Pad mode '${mode}' is not supported (constant and reflect are)`);
  return [like(x, y)];
};

const identity: Operator = ([a], ctx) => {
  if ((ctx.node.outputs[1] ?? '') !== '' && ctx.node.opType === 'Dropout') throw new Error(`${ctx.what}: Dropout's mask output is not supported`);
  return [need(a, ctx, 0)];
};

function softmaxLike(fn: (x: tf.Tensor) => tf.Tensor): Operator {
  return ([a], ctx) => {
    const x = tensorInput(a, ctx, 0);
    const rank = x.t.rank;
    const axis = axisOf(attr<number>(ctx, 'axis', ctx.opset < 13 ? 1 : -1), rank, ctx.what);
    if (ctx.opset < 13) {
      // Before opset 13: the input is coerced to 2-D [∏ dims[:axis], ∏ dims[axis:]].
      const t = plain(x);
      if (axis === rank - 1) return [dyn(fn(t))];
      const y = fn(tf.reshape(t, [product(t.shape.slice(0, axis)), product(t.shape.slice(axis))]));
      return [dyn(tf.reshape(y, t.shape))];
    }
    const stored = isNhwc(x) ? NHWC_AXIS[axis]! : axis;
    if (stored === rank - 1) return [like(x, fn(x.t))];
    const perm = Array.from({ length: rank }, (_, i) => i);
    perm[stored] = rank - 1;
    perm[rank - 1] = stored;
    return [like(x, tf.transpose(fn(tf.transpose(x.t, perm)), perm))];
  };
}

const reduceMean: Operator = (inputs, ctx) => {
  const x = tensorInput(inputs[0], ctx, 0);
  const keep = attr<number>(ctx, 'keepdims', 1) === 1;
  const rank = x.t.rank;
  const given = axesInput(inputs, ctx, 18, 1);
  const axes = (given ?? Array.from({ length: rank }, (_, i) => i)).map((a) => axisOf(a, rank, ctx.what));
  if (isNhwc(x)) {
    const stored = axes.map((a) => NHWC_AXIS[a]!);
    const remaining = [0, 1, 2, 3].filter((a) => !axes.includes(a)).map((a) => NHWC_AXIS[a]!);
    if (keep) return [dyn(tf.mean(x.t, stored, true), true)];
    // Without keepdims the result is stored as it means only when the kept axes stay in order.
    if (remaining.every((p, i) => i === 0 || p > remaining[i - 1]!)) return [dyn(tf.mean(x.t, stored, false))];
  }
  return [dyn(tf.mean(plain(x), axes, keep))];
};

/** The indices an ONNX Slice takes along an axis of length n (any step, clamped as the spec says). */
function sliceIndices(n: number, start: number, end: number, step: number): number[] {
  if (step === 0) throw new Error('a Slice step of 0');
  const idx: number[] = [];
  if (step > 0) {
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n);
    const e = Math.min(Math.max(end < 0 ? end + n : end, 0), n);
    for (let i = s; i < e; i += step) idx.push(i);
  } else {
    const s = Math.min(Math.max(start < 0 ? start + n : start, 0), n - 1);
    const e = Math.min(Math.max(end < 0 ? end + n : end, -1), n - 1);
    for (let i = s; i > e; i += step) idx.push(i);
  }
  return idx;
}

/** Folded integers indexed by one index list per axis (the cartesian product, row-major). */
function takeInts(v: IntsValue, perAxis: number[][]): IntsValue {
  const strides = v.dims.map((_, i) => product(v.dims.slice(i + 1)));
  const dims = perAxis.map((l) => l.length);
  const data: (number | null)[] = [];
  const at = Array(dims.length).fill(0);
  const total = product(dims);
  for (let k = 0; k < total; k++) {
    let offset = 0;
    for (let a = 0; a < dims.length; a++) offset += perAxis[a]![at[a]]! * strides[a]!;
    data.push(v.data[offset]!);
    for (let a = dims.length - 1; a >= 0; a--) {
      if (++at[a] < dims[a]!) break;
      at[a] = 0;
    }
  }
  return { kind: 'ints', dims, data };
}

const slice: Operator = (inputs, ctx) => {
  const x = need(inputs[0], ctx, 0);
  const dims = x.kind === 'ints' ? x.dims : onnxShape(x);
  const rank = dims.length;
  const read = (index: number, name: string) => (inputs[index] ? fixedInts(inputs[index], `${ctx.what}: ${name}`) : undefined);
  const starts = ctx.opset < 10 ? attr<number[]>(ctx, 'starts', []) : read(1, 'starts')!;
  const ends = ctx.opset < 10 ? attr<number[]>(ctx, 'ends', []) : read(2, 'ends')!;
  const axes = (ctx.opset < 10 ? (ctx.node.attributes.get('axes') as number[] | undefined) : read(3, 'axes')) ?? starts.map((_, i) => i);
  const steps = (ctx.opset < 10 ? undefined : read(4, 'steps')) ?? starts.map(() => 1);
  const perAxis = dims.map((n) => Array.from({ length: n }, (_, i) => i));
  axes.forEach((axis, i) => {
    const a = axisOf(axis, rank, ctx.what);
    perAxis[a] = sliceIndices(dims[a]!, starts[i]!, ends[i]!, steps[i]!);
  });
  if (x.kind === 'ints') return [takeInts(x, perAxis)];
  // Activations: one gather per sliced axis (differentiable; a plain slice when the step is 1).
  let t = plain(x);
  axes.forEach((axis, i) => {
    const a = axisOf(axis, rank, ctx.what);
    const idx = perAxis[a]!;
    if (steps[i] === 1) {
      const begin = t.shape.map((_, j) => (j === a ? (idx[0] ?? 0) : 0));
      const size = t.shape.map((d, j) => (j === a ? idx.length : d));
      t = tf.slice(t, begin, size);
    } else {
      t = tf.gather(t, tf.tensor1d(idx, 'int32'), a);
    }
  });
  return [dyn(t)];
};

/** Every supported operator of the default ONNX domain. */
export const OPERATORS: Record<string, Operator> = {
  Conv: conv,
  Gemm: gemm,
  MatMul: matMul,
  Add: binary(tf.add, (x, y) => x + y),
  Sub: binary(tf.sub, (x, y) => x - y),
  Mul: binary(tf.mul, (x, y) => x * y),
  Div: binary(tf.div, (x, y) => Math.trunc(x / y)),
  Relu: unary((x) => tf.relu(x)),
  LeakyRelu: unary((x, ctx) => tf.leakyRelu(x, attr<number>(ctx, 'alpha', 0.01))),
  Clip: clip,
  Sigmoid: unary((x) => tf.sigmoid(x)),
  Tanh: unary((x) => tf.tanh(x)),
  HardSigmoid: unary((x, ctx) => hardSigmoid(x, attr<number>(ctx, 'alpha', 0.2), attr<number>(ctx, 'beta', 0.5))),
  HardSwish: unary((x) => tf.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  BatchNormalization: batchNorm,
  Concat: concat,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Shape: shape,
  Gather: gather,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Cast: cast,
  Slice: slice,
  Pad: pad,
  Dropout: identity,
  Identity: identity,
  Softmax: softmaxLike((x) => tf.softmax(x)),
  LogSoftmax: softmaxLike((x) => tf.logSoftmax(x)),
  ReduceMean: reduceMean,
};
