/**
 * UnsortedSegmentSum (the gradient of gather), missing from tfjs-backend-wasm 4.22.0.
 * out[s, ...] = Σ_{i: ids[i] = s} x[i, ...], computed as oneHot(ids)ᵀ · x on XNNPACK's matmul:
 * exact in float32, O(N·S·D), which is small for the permutations and lookups we gather with.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const segmentIds = inputs['segmentIds'] as TensorInfo;
    const numSegments = Number(attrs?.['numSegments']);
    if (x.dtype !== 'float32') throw new Error(`wasm UnsortedSegmentSum supports float32 only, got ${x.dtype}`);
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const idsCount = segmentIds.shape.reduce((p, d) => p * d, 1);
    const rows = x.shape.slice(0, segmentIds.shape.length).reduce((p, d) => p * d, 1);
    if (rows !== idsCount) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] does not prefix x shape [${x.shape}]`);
    }
    const rest = x.shape.slice(segmentIds.shape.length);
    const width = rest.reduce((p, d) => p * d, 1);
    const ids = segmentIds.dtype === 'int32'
      ? scope.reshape(segmentIds, [idsCount])
      : scope.run('Cast', { x: scope.reshape(segmentIds, [idsCount]) }, { dtype: 'int32' });
    // The stock wasm OneHot always writes int32 data, whatever dtype it is asked for.
    const oneHot = scope.run('OneHot', { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
    const oneHotT = scope.transpose(scope.run('Cast', { x: oneHot }, { dtype: 'float32' }), [1, 0]);
    const product = scope.run('BatchMatMul', {
      a: scope.reshape(oneHotT, [1, numSegments, idsCount]),
      b: scope.reshape(x, [1, idsCount, width]),
    }, { transposeA: false, transposeB: false });
    return scope.finish(scope.reshape(product, [numSegments, ...rest]));
  },
};
