/**
 * GatherV2 and UnsortedSegmentSum (gather's gradient) as plain loops over the wasm heap. The
 * stock GatherV2 took ~1.1 ms to permute a 256×128 matrix (12 % of a flow's sampling pass) and
 * UnsortedSegmentSum is missing; both are memory-bound copies that JavaScript does in ~0.05 ms.
 */
import { util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { stockKernel, type WasmBackendLike } from './kernel-scope.ts';

function indexValues(backend: WasmBackendLike, indices: TensorInfo): Int32Array | Float32Array | Uint8Array {
  return backend.typedArrayFromHeap(indices);
}

export const gatherConfig: KernelConfig = {
  kernelName: 'GatherV2',
  backendName: 'wasm',
  kernelFunc: (args) => {
    const { inputs, backend: b, attrs } = args;
    const backend = b as unknown as WasmBackendLike;
    const x = inputs['x'] as TensorInfo;
    const indices = inputs['indices'] as TensorInfo;
    const batchDims = Number(attrs?.['batchDims'] ?? 0);
    if (batchDims !== 0 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return stockKernel('GatherV2')(args);
    const axis = util.parseAxisParam(attrs?.['axis'] as number, x.shape)[0]!;
    const outer = util.sizeFromShape(x.shape.slice(0, axis));
    const axisSize = x.shape[axis]!;
    const inner = util.sizeFromShape(x.shape.slice(axis + 1));
    const ids = indexValues(backend, indices);
    const count = ids.length;
    for (let k = 0; k < count; k++) {
      const id = ids[k]!;
      if (!(id >= 0 && id < axisSize)) {
        throw new Error(`GatherV2: index ${id} at position ${k} is not in [0, ${axisSize - 1}]`);
      }
    }
    const out = backend.makeOutput([...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)], x.dtype);
    // Views are taken after allocating the output: allocation may grow (and detach) the heap.
    const source = backend.typedArrayFromHeap(x);
    const target = backend.typedArrayFromHeap(out);
    const idsNow = indexValues(backend, indices);
    let offset = 0;
    for (let o = 0; o < outer; o++) {
      const base = o * axisSize * inner;
      for (let k = 0; k < count; k++) {
        const start = base + idsNow[k]! * inner;
        if (inner === 1) target[offset++] = source[start]!;
        else {
          target.set(source.subarray(start, start + inner), offset);
          offset += inner;
        }
      }
    }
    return out;
  },
};

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: b, attrs }) => {
    const backend = b as unknown as WasmBackendLike;
    const x = inputs['x'] as TensorInfo;
    const segmentIds = inputs['segmentIds'] as TensorInfo;
    const numSegments = Number(attrs?.['numSegments']);
    if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`wasm UnsortedSegmentSum supports float32 and int32, got ${x.dtype}`);
    const idsCount = util.sizeFromShape(segmentIds.shape);
    const rows = util.sizeFromShape(x.shape.slice(0, segmentIds.shape.length));
    if (rows !== idsCount) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape [${segmentIds.shape}] does not prefix x shape [${x.shape}]`);
    }
    const rest = x.shape.slice(segmentIds.shape.length);
    const inner = util.sizeFromShape(rest);
    const out = backend.makeOutput([numSegments, ...rest], x.dtype);
    const target = backend.typedArrayFromHeap(out);
    const source = backend.typedArrayFromHeap(x);
    const ids = backend.typedArrayFromHeap(segmentIds);
    target.fill(0);
    for (let i = 0; i < idsCount; i++) {
      const segment = ids[i]!;
      if (segment < 0 || segment >= numSegments) continue; // as TensorFlow: out-of-range ids are dropped
      const to = segment * inner;
      const from = i * inner;
      for (let j = 0; j < inner; j++) target[to + j] += source[from + j]!;
    }
    return out;
  },
};
