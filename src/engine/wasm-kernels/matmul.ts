/**
 * BatchMatMul and _FusedMatMul with transposed operands. The stock wasm kernels send any
 * transposed operand (every dense layer's backward pass) to a naive loop at 1–2 GFLOP/s; an
 * explicit Transpose followed by the XNNPACK path runs at ~20 GFLOP/s. Every matmul, transposed
 * or not, goes through here, so that large ones can use the second core.
 */
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';
import { splitMatMul } from '../wasm-threads/split-matmul.ts';

function swapLastTwo(x: TensorInfo, scope: KernelScope): TensorInfo {
  const rank = x.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return scope.transpose(x, perm);
}

function untransposedMatMul(kernelName: 'BatchMatMul' | '_FusedMatMul'): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    const a = inputs['a'] as TensorInfo;
    const b = inputs['b'] as TensorInfo;
    const transposeA = Boolean(attrs?.['transposeA']);
    const transposeB = Boolean(attrs?.['transposeB']);
    const newInputs = {
      ...inputs,
      a: transposeA ? swapLastTwo(a, scope) : a,
      b: transposeB ? swapLastTwo(b, scope) : b,
    };
    const newAttrs: NamedAttrMap = { ...(attrs ?? {}), transposeA: false, transposeB: false };
    // Large ones are split over two threads where a helper runs (../wasm-threads/).
    return scope.finish(splitMatMul(scope, kernelName, newInputs, newAttrs) ?? scope.run(kernelName, newInputs, newAttrs));
  };
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: untransposedMatMul('BatchMatMul'),
};

export const fusedMatMulConfig: KernelConfig = {
  kernelName: '_FusedMatMul',
  backendName: 'wasm',
  kernelFunc: untransposedMatMul('_FusedMatMul'),
};
