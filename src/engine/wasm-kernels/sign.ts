/**
 * Sign. The stock wasm kernel returns 0 for |x| below about 1e-7, so the sign of a tiny
 * gradient (FGSM on a confidently classified image: |∇| ~ 1e-17…1e-26) came out as 0 and the
 * attack left the image unchanged. A plain loop over the heap gives −1, 0 or +1 exactly (NaN
 * stays NaN, as on the cpu reference).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel, type WasmBackendLike } from './kernel-scope.ts';

export const signConfig: KernelConfig = {
  kernelName: 'Sign',
  backendName: 'wasm',
  kernelFunc: (args) => {
    const x = args.inputs['x'] as TensorInfo;
    if (x.dtype !== 'float32') return stockKernel('Sign')(args);
    const backend = args.backend as unknown as WasmBackendLike;
    const out = backend.makeOutput(x.shape, 'float32');
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    for (let i = 0; i < source.length; i++) {
      const v = source[i]!;
      target[i] = v > 0 ? 1 : v < 0 ? -1 : v === 0 ? 0 : NaN;
    }
    return out;
  },
};
