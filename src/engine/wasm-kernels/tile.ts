/**
 * Tile (used by the gradients of broadcasting ops such as batch norm and moments). The stock
 * wasm kernel is a naive element loop; repeating along one axis at a time with Concat copies
 * contiguous blocks instead.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './kernel-scope.ts';

export const tileConfig: KernelConfig = {
  kernelName: 'Tile',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const x = inputs['x'] as TensorInfo;
    const reps = attrs?.['reps'] as number[];
    const scope = new KernelScope(backend as unknown as WasmBackendLike);
    let current = x;
    for (let axis = 0; axis < reps.length; axis++) {
      const times = reps[axis]!;
      if (times === 1) continue;
      // Concat, like Pack, takes its inputs as an array (as tfjs-core's concat op passes them).
      const copies = Array.from({ length: times }, () => current);
      current = scope.run('Concat', copies as never, { axis });
    }
    if (current === x) current = scope.run('Identity', { x });
    return scope.finish(current);
  },
};
