/**
 * MaxPoolGrad. The stock wasm kernel of tfjs-backend-wasm 4.22.0 gives wrong gradients when
 * there is more than one channel (measured: only some channels receive their gradient), so it
 * is replaced. dy goes to the first maximum of each window in row-major order, as in the cpu
 * reference: taps are scanned in order, a strictly greater value takes over the argmax, and
 * each tap's share of dy is scattered back with a stride-dilation and a pad.
 */
import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';
import { dilateSpatially } from './conv2d-backprop-input.ts';

const LOWEST = -3.4e38;

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const dy = inputs['dy'] as TensorInfo;
    const x = inputs['input'] as TensorInfo;
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = backend_util.computePool2DInfo(
      x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode,
    );
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow } = info;
    const [b, height, width, channels] = x.shape as [number, number, number, number];
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const rowBlocks = oh + Math.floor((kh - 1) / sh);
    const colBlocks = ow + Math.floor((kw - 1) / sw);
    const paddedHeight = rowBlocks * sh;
    const paddedWidth = colBlocks * sw;
    const { top, left } = info.padInfo;
    const cropOrPad: Array<[number, number]> = [
      [0, 0], [top, paddedHeight - top - height], [left, paddedWidth - left - width], [0, 0],
    ];
    let padded = scope.padOrCrop(x, cropOrPad.map(([a, c]) => [Math.min(a, 0), Math.min(c, 0)] as [number, number]));
    if (cropOrPad.some(([a, c]) => a > 0 || c > 0)) {
      padded = scope.run('PadV2', { x: padded }, {
        paddings: cropOrPad.map(([a, c]) => [Math.max(a, 0), Math.max(c, 0)]), constantValue: LOWEST,
      });
    }
    const rowGrouped = scope.reshape(padded, [b, rowBlocks, sh, colBlocks * sw * channels]);
    const tapAt = (i: number, j: number): TensorInfo => {
      const rows = scope.run('Slice', { x: rowGrouped }, {
        begin: [0, Math.floor(i / sh), i % sh, 0], size: [b, oh, 1, colBlocks * sw * channels],
      });
      const tap = scope.run('Slice', { x: scope.reshape(rows, [b * oh, colBlocks, sw * channels]) }, {
        begin: [0, Math.floor(j / sw), (j % sw) * channels], size: [b * oh, ow, channels],
      });
      return scope.reshape(tap, [b, oh, ow, channels]);
    };
    // Pass 1: index of the first maximum of every window.
    let best = tapAt(0, 0);
    let bestIndex = scope.run('Fill', {}, { shape: [b, oh, ow, channels], value: 0, dtype: 'float32' });
    for (let k = 1; k < kh * kw; k++) {
      const tap = tapAt(Math.floor(k / kw), k % kw);
      const greater = scope.run('Greater', { a: tap, b: best });
      const index = scope.run('Fill', {}, { shape: [b, oh, ow, channels], value: k, dtype: 'float32' });
      bestIndex = scope.run('Select', { condition: greater, t: index, e: bestIndex });
      best = scope.run('Select', { condition: greater, t: tap, e: best });
    }
    // Pass 2: scatter dy to the winning tap of each window.
    let dxPadded: TensorInfo | null = null;
    for (let k = 0; k < kh * kw; k++) {
      const i = Math.floor(k / kw);
      const j = k % kw;
      const index = scope.run('Fill', {}, { shape: [b, oh, ow, channels], value: k, dtype: 'float32' });
      const wins = scope.run('Cast', { x: scope.run('Equal', { a: bestIndex, b: index }) }, { dtype: 'float32' });
      const share = scope.run('Multiply', { a: wins, b: dy });
      const spread = dilateSpatially(scope, share, sh, sw);
      const placed = scope.padOrCrop(spread, [
        [0, 0], [i, paddedHeight - i - oh * sh], [j, paddedWidth - j - ow * sw], [0, 0],
      ]);
      dxPadded = dxPadded === null ? placed : scope.run('Add', { a: dxPadded, b: placed });
    }
    const dx = scope.padOrCrop(dxPadded!, cropOrPad.map(([a, c]) => [-a, -c] as [number, number]));
    return scope.finish(dx);
  },
};
