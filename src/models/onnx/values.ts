/**
 * Values flowing through an ONNX graph run as TensorFlow.js ops, and the one layout rule.
 *
 * ONNX images are NCHW; TensorFlow.js convolutions and pools (and the rest of inntrospect) are
 * NHWC. A 4-D activation is therefore *stored* NHWC while it *means* the model's NCHW tensor
 * (`nhwc: true`): convolution weights are transposed once at load, layout-sensitive operators
 * (Concat, Softmax, ReduceMean, Pad, BatchNormalization, broadcasting constants) map their axes,
 * and operators whose meaning depends on the memory order (Flatten, Reshape, Transpose, Gather,
 * Squeeze/Unsqueeze) first transpose to NCHW, so a classifier's head flattens in PyTorch's order.
 * The channel order is never changed: channel c of an NHWC value is the model's channel c.
 *
 * Shape arithmetic (Shape, Gather, Unsqueeze, Concat, Cast, Constant, ConstantOfShape on integer
 * data) is folded once at load into plain integers (`ints`), with `null` standing for the batch
 * size, which is known only when the graph runs. Browser-safe.
 */
import { tf } from '../../engine/index.ts';

/** An activation: depends on the graph's input. */
export interface DynValue { kind: 'dyn'; t: tf.Tensor; nhwc: boolean }
/** A float constant (initializer or folded), in ONNX layout. */
export interface ConstValue { kind: 'const'; t: tf.Tensor }
/** Folded integers (shapes, indices, axes); `null` entries are the batch size. */
export interface IntsValue { kind: 'ints'; dims: number[]; data: (number | null)[] }

export type Value = DynValue | ConstValue | IntsValue;

/** NCHW axis → its position in the stored NHWC tensor. */
export const NHWC_AXIS = [0, 3, 1, 2];

/** The ONNX (NCHW) shape of a stored tensor. */
export function onnxShape(v: DynValue | ConstValue): number[] {
  const s = v.t.shape;
  return v.kind === 'dyn' && v.nhwc ? [s[0]!, s[3]!, s[1]!, s[2]!] : [...s];
}

/** The tensor in ONNX layout (NCHW for 4-D activations); integers as an int32 tensor. */
export function plain(v: Value): tf.Tensor {
  if (v.kind === 'ints') {
    if (v.data.some((d) => d === null)) throw new Error('a shape value that holds the batch size cannot be used as a tensor');
    return tf.tensor(v.data as number[], v.dims, 'int32');
  }
  return v.kind === 'dyn' && v.nhwc ? tf.transpose(v.t, [0, 3, 1, 2]) : v.t;
}

/** The tensor stored NHWC (a plain 4-D tensor is transposed). */
export function toNhwc(v: DynValue | ConstValue, what: string): tf.Tensor4D {
  if (v.kind === 'dyn' && v.nhwc) return v.t as tf.Tensor4D;
  if (v.t.rank !== 4) throw new Error(`${what}: expected a 4-D [N, C, H, W] input, got [${v.t.shape.join(', ')}]`);
  return tf.transpose(v.t, [0, 2, 3, 1]) as tf.Tensor4D;
}

export function dyn(t: tf.Tensor, nhwc = false): DynValue {
  return { kind: 'dyn', t, nhwc: nhwc && t.rank === 4 };
}

/** The number of elements of a shape. */
export function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** A folded integer value's entries, which must not depend on the batch size. */
export function fixedInts(v: Value | undefined, what: string): number[] {
  if (!v) throw new Error(`${what}: missing`);
  if (v.kind !== 'ints') throw new Error(`${what}: must be integers known at load (from initializers, Constant or Shape), not ${v.kind === 'dyn' ? 'computed from the image' : 'a float tensor'}`);
  if (v.data.some((d) => d === null)) throw new Error(`${what}: depends on the batch size, which is not known at load`);
  return v.data as number[];
}

/** A scalar float from a constant or folded integer input (Clip's min/max, Pad's value). */
export function scalarOf(v: Value | undefined, what: string): number | undefined {
  if (!v) return undefined;
  if (v.kind === 'ints') return fixedInts(v, what)[0];
  if (v.kind === 'dyn') throw new Error(`${what}: must be a constant, not computed from the image`);
  return v.t.dataSync()[0];
}

/** Normalises a possibly negative axis of a rank-r tensor. */
export function axisOf(axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`${what}: axis ${axis} is outside a rank-${rank} tensor`);
  return a;
}
