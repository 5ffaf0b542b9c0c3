/**
 * DepthwiseConv2dNativeBackpropInput and ...BackpropFilter, missing from tfjs-backend-wasm
 * 4.22.0 (MobileNet-style models could not be differentiated, not even for an attack on the
 * input). Filter layout [kh, kw, inChannels, multiplier]; dy channel c·M + m pairs input
 * channel c with multiplier m.
 */
import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';
import { dilateSpatially, padForInputGradient } from './conv2d-backprop-input.ts';

interface DepthwiseGradAttrs {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape?: [number, number, number, number];
  filterShape?: [number, number, number, number];
}

function assertUndilated(dilations: [number, number] | number): void {
  const [dh, dw] = typeof dilations === 'number' ? [dilations, dilations] : dilations;
  if (dh !== 1 || dw !== 1) throw new Error('wasm depthwise conv gradients support dilation 1 only');
}

/** dx = Σ_m depthwise(dilated dy[..., c·M+m], flipped filter[..., m]) at stride 1. */
export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const dy = inputs['dy'] as TensorInfo;
    const filter = inputs['filter'] as TensorInfo;
    const a = attrs as unknown as DepthwiseGradAttrs;
    assertUndilated(a.dilations ?? 1);
    const inputShape = a.inputShape!;
    const filterShape = filter.shape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      inputShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true,
    );
    const [kh, kw, channels, multiplier] = filterShape;
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const [b, oh, ow] = dy.shape as [number, number, number, number];
    // [b, oh, ow, c, M] → [M, b, oh, ow, c] so each multiplier's slice is contiguous.
    const byMultiplier = multiplier === 1
      ? dy
      : scope.transpose(scope.reshape(dy, [b, oh, ow, channels, multiplier]), [4, 0, 1, 2, 3]);
    let sum: TensorInfo | null = null;
    for (let m = 0; m < multiplier; m++) {
      const dyM = multiplier === 1
        ? dy
        : scope.reshape(
          scope.run('Slice', { x: byMultiplier }, { begin: [m, 0, 0, 0, 0], size: [1, b, oh, ow, channels] }),
          [b, oh, ow, channels],
        );
      const filterM = multiplier === 1
        ? flipped
        : scope.run('Slice', { x: flipped }, { begin: [0, 0, 0, m], size: [kh, kw, channels, 1] });
      const dilated = dilateSpatially(scope, dyM, info.strideHeight, info.strideWidth);
      const padded = padForInputGradient(scope, dilated, info, inputShape[1], inputShape[2]);
      const part = scope.run('DepthwiseConv2dNative', { x: padded, filter: filterM }, {
        strides: [1, 1], pad: 'valid', dilations: [1, 1], dimRoundingMode: undefined as never,
      });
      sum = sum === null ? part : scope.run('Add', { a: sum, b: part });
    }
    return scope.finish(sum!);
  },
};

/**
 * dW[kh,kw,c,m] = Σ_{b,oh,ow} xPadded[b, oh·sh+kh, ow·sw+kw, c] · dy[b,oh,ow,c·M+m], one tap at a
 * time. The strided tap is taken with reshapes and contiguous slices (the stock StridedSlice
 * is slow): rows of the padded input are grouped in blocks of `stride`.
 */
export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const dy = inputs['dy'] as TensorInfo;
    const a = attrs as unknown as DepthwiseGradAttrs;
    assertUndilated(a.dilations ?? 1);
    const filterShape = a.filterShape!;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, a.strides, 1, a.pad, a.dimRoundingMode, true,
    );
    const [kh, kw, channels, multiplier] = filterShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const [b, height, width] = x.shape as [number, number, number, number];
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const rowBlocks = oh + Math.floor((kh - 1) / sh);
    const colBlocks = ow + Math.floor((kw - 1) / sw);
    const { top, left } = info.padInfo;
    const padded = scope.padOrCrop(x, [
      [0, 0],
      [top, rowBlocks * sh - top - height],
      [left, colBlocks * sw - left - width],
      [0, 0],
    ]);
    const rowGrouped = scope.reshape(padded, [b, rowBlocks, sh, colBlocks * sw * channels]);
    const n = b * oh * ow;
    const dyGrouped = scope.reshape(dy, [n, channels, multiplier]);
    const taps: TensorInfo[] = [];
    for (let i = 0; i < kh; i++) {
      const rows = scope.run('Slice', { x: rowGrouped }, {
        begin: [0, Math.floor(i / sh), i % sh, 0], size: [b, oh, 1, colBlocks * sw * channels],
      });
      const colGrouped = scope.reshape(rows, [b * oh, colBlocks, sw * channels]);
      for (let j = 0; j < kw; j++) {
        const tap = scope.run('Slice', { x: colGrouped }, {
          begin: [0, Math.floor(j / sw), (j % sw) * channels], size: [b * oh, ow, channels],
        });
        const product = scope.run('Multiply', { a: scope.reshape(tap, [n, channels, 1]), b: dyGrouped });
        taps.push(scope.run('Sum', { x: product }, { axis: [0], keepDims: false }));
      }
    }
    const stacked = scope.run('Pack', taps as never, { axis: 0 });
    return scope.finish(scope.reshape(stacked, [kh, kw, channels, multiplier]));
  },
};
