/**
 * The torch backend's kernels: for each TensorFlow.js kernel computed natively, the order its
 * inputs go to C++ (native/torch/src/kernels.cc) and its attributes normalised the way the C++
 * side expects them (explicit paddings from tfjs's own conv/pool geometry, non-negative axes,
 * split sizes). A spec may hand particular attribute combinations it does not cover to the cpu
 * fallback (./fallback.ts) instead of computing them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { backend_util, slice_util, util, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { ADAM_UPDATE_KERNEL } from '../adam-update.ts';
import { COUPLING_BACKWARD_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_INVERSE_KERNEL } from '../coupling-kernels.ts';

type Attrs = Record<string, unknown>;

export interface NativeKernelSpec {
  /** Input names in the order the native kernel takes them; 'list' for Concat/AddN/Pack. */
  inputs: readonly string[] | 'list';
  /** The C++ kernel, when it is not the tfjs kernel of the same name (Squeeze → Reshape). */
  native?: string;
  /** Attributes as the native kernel reads them (default: tfjs's attributes unchanged). */
  attrs?: (attrs: NamedAttrMap, inputs: TensorInfo[]) => Attrs;
  /** True when these attributes need the cpu fallback (a case the native kernel does not cover). */
  fallbackWhen?: (attrs: NamedAttrMap, inputs: TensorInfo[]) => boolean;
  /** The output shape tfjs expects, checked against what libtorch returned. */
  outShape?: (attrs: NamedAttrMap, inputs: TensorInfo[]) => number[];
}

const X = ['x'] as const;
const AB = ['a', 'b'] as const;

const axes = (axis: unknown, shape: number[]) => util.parseAxisParam(axis as number | number[], shape);

function convGeometry(conv: backend_util.Conv2DInfo): Attrs {
  const p = conv.padInfo;
  return {
    pads: [p.top, p.bottom, p.left, p.right],
    strides: [conv.strideHeight, conv.strideWidth],
    dilations: [conv.dilationHeight, conv.dilationWidth],
  };
}

function convInfo(attrs: NamedAttrMap, xShape: number[], filterShape: number[], depthwise: boolean): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs['strides'] as number | [number, number], (attrs['dilations'] ?? 1) as number | [number, number],
    attrs['pad'] as 'valid', attrs['dimRoundingMode'] as 'floor' | undefined, depthwise);
}

function poolInfo(attrs: NamedAttrMap, xShape: number[]): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs['filterSize'] as [number, number],
    attrs['strides'] as [number, number], 1, attrs['pad'] as 'valid', attrs['dimRoundingMode'] as 'floor' | undefined);
}

/** The fused-activation attributes of FusedConv2D / FusedDepthwiseConv2D. */
const fusedAttrs = (attrs: NamedAttrMap): Attrs => ({ activation: attrs['activation'], leakyreluAlpha: attrs['leakyreluAlpha'] });

/** libtorch's matmul, convolution and pooling kernels are float-only; tfjs also accepts int32. */
const notFloat = (inputs: TensorInfo[]) => inputs.some((info) => info !== undefined && info.dtype !== 'float32');

const notNHWC = (attrs: NamedAttrMap, inputs: TensorInfo[]) =>
  (attrs['dataFormat'] !== undefined && attrs['dataFormat'] !== 'NHWC') || notFloat(inputs);

function conv(depthwise: boolean, inputs: readonly string[]): NativeKernelSpec {
  return {
    inputs,
    attrs: (attrs, [x, filter]) => ({ ...fusedAttrs(attrs), ...convGeometry(convInfo(attrs, x!.shape, filter!.shape, depthwise)) }),
    fallbackWhen: notNHWC,
    outShape: (attrs, [x, filter]) => convInfo(attrs, x!.shape, filter!.shape, depthwise).outShape,
  };
}

function convBackpropInput(depthwise: boolean): NativeKernelSpec {
  return {
    inputs: ['dy', 'filter'],
    attrs: (attrs, [, filter]) => ({ inputShape: attrs['inputShape'], ...convGeometry(convInfo(attrs, attrs['inputShape'] as number[], filter!.shape, depthwise)) }),
    fallbackWhen: notNHWC,
    outShape: (attrs) => attrs['inputShape'] as number[],
  };
}

function convBackpropFilter(depthwise: boolean): NativeKernelSpec {
  return {
    inputs: ['x', 'dy'],
    attrs: (attrs, [x]) => ({ filterShape: attrs['filterShape'], ...convGeometry(convInfo(attrs, x!.shape, attrs['filterShape'] as number[], depthwise)) }),
    fallbackWhen: notNHWC,
    outShape: (attrs) => attrs['filterShape'] as number[],
  };
}

function pool(inputs: readonly string[], poolInput: number): NativeKernelSpec {
  return {
    inputs,
    attrs: (attrs, infos) => {
      const info = poolInfo(attrs, infos[poolInput]!.shape);
      const p = info.padInfo;
      return {
        filterSize: [info.filterHeight, info.filterWidth],
        strides: [info.strideHeight, info.strideWidth],
        pads: [p.top, p.bottom, p.left, p.right],
      };
    },
    fallbackWhen: (_attrs, infos) => notFloat(infos),
    outShape: poolInput === 0 ? (attrs, [x]) => poolInfo(attrs, x!.shape).outShape : (_attrs, infos) => infos[poolInput]!.shape,
  };
}

function reduction(axisAttr: string): NativeKernelSpec {
  return { inputs: X, attrs: (attrs, [x]) => ({ axis: axes(attrs[axisAttr], x!.shape), keepDims: attrs['keepDims'] ?? false }) };
}

const UNARY = [
  'Identity', 'Abs', 'Neg', 'Exp', 'Expm1', 'Log', 'Log1p', 'Sqrt', 'Rsqrt', 'Square', 'Reciprocal', 'Tanh', 'Sigmoid',
  'Softplus', 'Relu', 'Relu6', 'Elu', 'Selu', 'Erf', 'Sin', 'Cos', 'Tan', 'Asin', 'Acos', 'Atan', 'Sinh', 'Cosh',
  'Floor', 'Ceil', 'Round', 'Sign', 'IsNan', 'IsInf', 'IsFinite', 'LogicalNot', 'ZerosLike', 'OnesLike',
  'LeakyRelu', 'Step', 'ClipByValue',
];
const BINARY = [
  'Add', 'Sub', 'Multiply', 'RealDiv', 'FloorDiv', 'Mod', 'Pow', 'SquaredDifference', 'Maximum', 'Minimum', 'Atan2',
  'Equal', 'NotEqual', 'Greater', 'GreaterEqual', 'Less', 'LessEqual', 'LogicalAnd', 'LogicalOr',
];

export const NATIVE_KERNELS: Record<string, NativeKernelSpec> = {
  ...Object.fromEntries(UNARY.map((name) => [name, { inputs: X }])),
  ...Object.fromEntries(BINARY.map((name) => [name, { inputs: AB }])),
  Cast: { inputs: X, fallbackWhen: (attrs) => !['float32', 'int32', 'bool'].includes(attrs['dtype'] as string) },
  Prelu: { inputs: ['x', 'alpha'] },
  EluGrad: { inputs: ['dy', 'y'] },
  AddN: { inputs: 'list' },
  Select: { inputs: ['condition', 't', 'e'] },

  BatchMatMul: { inputs: AB, fallbackWhen: (_attrs, infos) => notFloat(infos) },
  _FusedMatMul: { inputs: ['a', 'b', 'bias', 'preluActivationWeights'], fallbackWhen: (_attrs, infos) => notFloat(infos) },

  Conv2D: conv(false, ['x', 'filter']),
  FusedConv2D: conv(false, ['x', 'filter', 'bias', 'preluActivationWeights']),
  DepthwiseConv2dNative: conv(true, ['x', 'filter']),
  FusedDepthwiseConv2D: conv(true, ['x', 'filter', 'bias', 'preluActivationWeights']),
  Conv2DBackpropInput: convBackpropInput(false),
  Conv2DBackpropFilter: convBackpropFilter(false),
  DepthwiseConv2dNativeBackpropInput: convBackpropInput(true),
  DepthwiseConv2dNativeBackpropFilter: convBackpropFilter(true),

  MaxPool: pool(X, 0),
  MaxPoolGrad: pool(['dy', 'input', 'output'], 1),
  AvgPool: pool(X, 0),
  AvgPoolGrad: pool(['dy', 'input'], 1),
  ResizeBilinear: { inputs: ['images'] },
  ResizeBilinearGrad: { inputs: ['images', 'dy'] },
  FusedBatchNorm: { inputs: ['x', 'mean', 'variance', 'offset', 'scale'] },
  Softmax: {
    inputs: ['logits'],
    attrs: (attrs, [logits]) => ({ dim: axes(attrs['dim'], logits!.shape)[0] }),
  },

  Sum: reduction('axis'),
  Mean: reduction('axis'),
  Max: reduction('reductionIndices'),
  Min: reduction('axis'),
  Prod: reduction('axis'),
  All: reduction('axis'),
  Any: reduction('axis'),
  ArgMax: { inputs: X, attrs: (attrs, [x]) => ({ axis: axes(attrs['axis'], x!.shape)[0] }) },
  ArgMin: { inputs: X, attrs: (attrs, [x]) => ({ axis: axes(attrs['axis'], x!.shape)[0] }) },

  Reshape: {
    inputs: X,
    attrs: (attrs, [x]) => ({ shape: util.inferFromImplicitShape(attrs['shape'] as number[], util.sizeFromShape(x!.shape)) }),
  },
  ExpandDims: {
    inputs: ['input'],
    native: 'Reshape',
    attrs: (attrs, [x]) => {
      const shape = x!.shape.slice();
      let dim = attrs['dim'] as number;
      if (dim < 0) dim += shape.length + 1;
      shape.splice(dim, 0, 1);
      return { shape };
    },
  },
  Squeeze: {
    inputs: X,
    native: 'Reshape',
    attrs: (attrs, [x]) => ({ shape: util.squeezeShape(x!.shape, util.parseAxisParam(attrs['axis'] as number[], x!.shape)).newShape }),
  },
  Transpose: { inputs: X },
  Slice: {
    inputs: X,
    attrs: (attrs, [x]) => {
      const [begin, size] = slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, attrs['begin'] as number[], attrs['size'] as number[]);
      return { begin, size };
    },
  },
  Concat: { inputs: 'list', attrs: (attrs, xs) => ({ axis: axes(attrs['axis'], xs[0]!.shape)[0] }) },
  Pack: {
    inputs: 'list',
    attrs: (attrs, xs) => {
      const axis = attrs['axis'] as number;
      return { axis: axis < 0 ? axis + xs[0]!.shape.length + 1 : axis };
    },
  },
  Unpack: { inputs: ['value'], attrs: (attrs, [x]) => ({ axis: axes(attrs['axis'], x!.shape)[0] }) },
  SplitV: {
    inputs: X,
    attrs: (attrs, [x]) => {
      const axis = axes(attrs['axis'], x!.shape)[0]!;
      return { axis, sizes: backend_util.prepareSplitSize(x as tf.TensorInfo as tf.Tensor, attrs['numOrSizeSplits'] as number[], axis) };
    },
  },
  PadV2: {
    inputs: X,
    attrs: (attrs) => ({ paddings: (attrs['paddings'] as Array<[number, number]>).flat(), constantValue: attrs['constantValue'] }),
  },
  Reverse: { inputs: X, attrs: (attrs, [x]) => ({ dims: axes(attrs['dims'], x!.shape) }) },
  Tile: { inputs: X },
  GatherV2: {
    inputs: ['x', 'indices'],
    attrs: (attrs, [x]) => ({ axis: axes(attrs['axis'], x!.shape)[0] }),
    fallbackWhen: (attrs) => ((attrs['batchDims'] as number | undefined) ?? 0) !== 0,
  },
  UnsortedSegmentSum: { inputs: ['x', 'segmentIds'] },
  OneHot: { inputs: ['indices'] },
  // Ours, not a TensorFlow.js kernel: every variable of an Adam step in one call (../adam-update.ts).
  [ADAM_UPDATE_KERNEL]: { inputs: 'list' },
  // Ours: one fused flow block per call (src/flows/fused-block.ts, native/torch/src/coupling.cc).
  [COUPLING_FORWARD_KERNEL]: { inputs: ['x', 'condition', 'packed'], outShape: (_attrs, [x]) => x!.shape },
  [COUPLING_BACKWARD_KERNEL]: { inputs: ['dOutput', 'dLogDet', 'x', 'condition', 'packed', 'intermediates'], outShape: (_attrs, [, , x]) => x!.shape },
  [COUPLING_INVERSE_KERNEL]: { inputs: ['x', 'condition', 'packed'], outShape: (_attrs, [x]) => x!.shape },
  Fill: {
    inputs: [],
    fallbackWhen: (attrs) => !['float32', 'int32', 'bool'].includes(attrs['dtype'] as string) || typeof attrs['value'] !== 'number',
  },
};
