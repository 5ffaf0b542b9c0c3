/**
 * Conv2DBackpropInput (conv2d's input gradient and the forward pass of conv2dTranspose). The
 * stock wasm kernel is a naive loop (1–2 GFLOP/s). The same result is a stride-1 convolution of
 * the stride-dilated dy with the spatially flipped, in/out-swapped filter, which XNNPACK runs
 * at full speed; the zeros of the dilation cost (stride²−1)/stride² of its FLOPs, still far
 * less time than the naive loop.
 */
import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';

/** Inserts stride−1 zeros after every row/column of dy (NHWC); trailing zeros are cropped later. */
export function dilateSpatially(scope: KernelScope, dy: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return dy;
  const [b, h, w, c] = dy.shape as [number, number, number, number];
  // Rows: [b·h, 1, w·c] → pad axis 1 to sh; columns: [b·h·sh·w, 1, c] → pad axis 1 to sw.
  const rows = scope.run('PadV2', { x: scope.reshape(dy, [b * h, 1, w * c]) }, {
    paddings: [[0, 0], [0, sh - 1], [0, 0]], constantValue: 0,
  });
  const cols = scope.run('PadV2', { x: scope.reshape(rows, [b * h * sh * w, 1, c]) }, {
    paddings: [[0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
  });
  return scope.reshape(cols, [b, h * sh, w * sw, c]);
}

/**
 * Pads the dilated gradient so that a valid stride-1 correlation with a kh×kw filter yields the
 * input's spatial size: KH−1−padTop before, the rest after (negative amounts crop).
 */
export function padForInputGradient(
  scope: KernelScope, dilated: TensorInfo, info: backend_util.Conv2DInfo, outputHeight: number, outputWidth: number,
): TensorInfo {
  const { filterHeight: kh, filterWidth: kw } = info;
  const before = [kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left];
  const [, dh, dw] = dilated.shape as [number, number, number, number];
  return scope.padOrCrop(dilated, [
    [0, 0],
    [before[0]!, outputHeight + kh - 1 - before[0]! - dh],
    [before[1]!, outputWidth + kw - 1 - before[1]! - dw],
    [0, 0],
  ]);
}

export const conv2DBackpropInputConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const dy = inputs['dy'] as TensorInfo;
    const filter = inputs['filter'] as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs as unknown as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      inputShape: [number, number, number, number];
    };
    if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropInput supports only NHWC (channelsLast)');
    const info = backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode,
    );
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const dilated = dilateSpatially(scope, dy, info.strideHeight, info.strideWidth);
    const padded = padForInputGradient(scope, dilated, info, inputShape[1], inputShape[2]);
    const flipped = scope.run('Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = scope.transpose(flipped, [0, 1, 3, 2]);
    const out = scope.run('Conv2D', { x: padded, filter: swapped }, {
      strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined as never,
    });
    return scope.finish(out);
  },
};
