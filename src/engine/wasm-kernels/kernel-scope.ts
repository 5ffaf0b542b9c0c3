/**
 * Lets one of our wasm kernels call the backend's stock kernels (XNNPACK matmul and conv,
 * transpose, pad, ...) directly, without going through the tfjs engine, and frees every
 * intermediate it made. Composing stock fast kernels is how we fill the gaps of
 * tfjs-backend-wasm 4.22.0 (see docs/engine.md).
 */
import {
  getKernel,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs-core';

/** The part of BackendWasm that composed kernels use. */
export interface WasmBackendLike {
  disposeData(dataId: object, force?: boolean): boolean;
  incRef(dataId: object): void;
  /** Allocates an output on the wasm heap (BackendWasm internals, stable in the pinned 4.22.0). */
  makeOutput(shape: number[], dtype: string): TensorInfo;
  /** A typed-array view of a tensor's data on the wasm heap (valid until the heap grows). */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

const stockKernels = new Map<string, KernelFunc>();

/**
 * Remembers the stock wasm implementation of `kernelName` before we replace it, so our
 * replacement can still call it (for example BatchMatMul without transposes).
 */
export function rememberStockKernel(kernelName: string): void {
  if (stockKernels.has(kernelName)) return;
  const config = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
  if (config) stockKernels.set(kernelName, config.kernelFunc);
}

export function stockKernel(kernelName: string): KernelFunc {
  const remembered = stockKernels.get(kernelName);
  if (remembered) return remembered;
  const config = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
  if (!config) throw new Error(`wasm backend has no kernel '${kernelName}'`);
  return config.kernelFunc;
}

export class KernelScope {
  private readonly made: TensorInfo[] = [];

  constructor(readonly backend: WasmBackendLike) {}

  /** Runs a stock kernel; its output is freed when the scope finishes unless it is the result. */
  run(kernelName: string, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {}): TensorInfo {
    const out = stockKernel(kernelName)({ inputs, backend: this.backend as never, attrs });
    if (Array.isArray(out)) throw new Error(`KernelScope.run: ${kernelName} returned several outputs`);
    this.made.push(out);
    return out;
  }

  /**
   * Takes `info` out of the scope: `finish` will not free it, and the caller now owns it (frees it
   * with backend.disposeData). For results a kernel keeps across calls, such as prepared filters.
   */
  keep(info: TensorInfo): TensorInfo {
    const at = this.made.indexOf(info);
    if (at < 0) throw new Error('KernelScope.keep: not a tensor this scope made');
    this.made.splice(at, 1);
    return info;
  }

  /** A new uninitialised heap tensor owned by the scope (fill it via typedArrayFromHeap). */
  allocate(shape: number[], dtype: 'float32' | 'int32'): TensorInfo {
    const out = this.backend.makeOutput(shape, dtype);
    this.made.push(out);
    return out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  transpose(x: TensorInfo, perm: number[]): TensorInfo {
    return this.run('Transpose', { x }, { perm });
  }

  /** Pads (non-negative amounts) or crops (negative amounts) each axis. */
  padOrCrop(x: TensorInfo, amounts: Array<[number, number]>): TensorInfo {
    let current = x;
    if (amounts.some(([a, b]) => a < 0 || b < 0)) {
      const begin = amounts.map(([a]) => Math.max(0, -a));
      const size = amounts.map(([a, b], axis) => x.shape[axis]! - Math.max(0, -a) - Math.max(0, -b));
      current = this.run('Slice', { x: current }, { begin, size });
    }
    if (amounts.some(([a, b]) => a > 0 || b > 0)) {
      const paddings = amounts.map(([a, b]) => [Math.max(0, a), Math.max(0, b)]);
      current = this.run('PadV2', { x: current }, { paddings, constantValue: 0 });
    }
    return current;
  }

  /** Takes ownership of a tensor another kernel function made: freed by `finish` unless it is a result. */
  adopt(info: TensorInfo): TensorInfo {
    this.made.push(info);
    return info;
  }

  /** Frees all intermediates except `result`, which the caller hands to the engine. */
  finish(result: TensorInfo): TensorInfo {
    return this.finishAll([result])[0]!;
  }

  /** `finish` for a kernel with several outputs; an empty list frees everything (after an error). */
  finishAll(results: TensorInfo[]): TensorInfo[] {
    const pending = new Set(results);
    for (const info of this.made) {
      if (pending.delete(info)) continue;
      this.backend.disposeData(info.dataId);
    }
    // A result that is one of the inputs (an identity case): give the engine its own reference.
    for (const info of pending) this.backend.incRef(info.dataId);
    this.made.length = 0;
    return results;
  }
}
