/**
 * Conv2DBackpropFilter (the weight gradient of conv2d and of conv2dTranspose), missing from
 * tfjs-backend-wasm 4.22.0, so no conv network could be trained on wasm.
 *
 * dW[kh,kw,ci,co] = Σ_{b,oh,ow} xPadded[b, oh·sh + kh, ow·sw + kw, ci] · dy[b,oh,ow,co]
 * is itself a dilated convolution: batch ↔ channels swapped on both operands,
 *   input  I[ci, h, w, b]    = xPadded[b, h, w, ci]
 *   filter F[oh, ow, b, co]  = dy[b, oh, ow, co]
 *   out[ci, kh, kw, co]      = Σ I[ci, kh + oh·sh, kw + ow·sw, b] · F[oh, ow, b, co]   (dilation = stride)
 * so it runs on XNNPACK's convolution, the fastest kernel the backend has.
 */
import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const dy = inputs['dy'] as TensorInfo;
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
      dataFormat: 'NHWC' | 'NCHW';
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
      filterShape: [number, number, number, number];
    };
    if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports only NHWC (channelsLast)');
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode,
    );
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const [, height, width] = x.shape as [number, number, number, number];
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
    const neededHeight = kh + (outHeight - 1) * sh;
    const neededWidth = kw + (outWidth - 1) * sw;
    const { top, left } = info.padInfo;
    const xPadded = scope.padOrCrop(x, [
      [0, 0],
      [top, neededHeight - top - height],
      [left, neededWidth - left - width],
      [0, 0],
    ]);
    const input = scope.transpose(xPadded, [3, 1, 2, 0]);
    const filter = scope.transpose(dy, [1, 2, 0, 3]);
    const out = scope.run('Conv2D', { x: input, filter }, {
      strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [sh, sw], dimRoundingMode: undefined as never,
    });
    return scope.finish(scope.transpose(out, [1, 2, 0, 3]));
  },
};
