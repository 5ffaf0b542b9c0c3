/**
 * The `torch` TensorFlow.js backend: tensor storage in libtorch through the N-API addon
 * (native/torch). Each tfjs dataId maps to one native handle; the handle is freed when tfjs's
 * reference count for it reaches zero (disposeData), never by garbage collection.
 */
import * as tf from '@tensorflow/tfjs-core';
import { DataStorage, KernelBackend, type BackendTimingInfo, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import type { TorchAddon, TorchThreads } from './loader.ts';

type DataId = object;
type BackendValues = Float32Array | Int32Array | Uint8Array | Uint8Array[];

interface TensorData {
  /** Native handle (index in the addon's tensor table). */
  handle: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

const STORED_DTYPES = new Set<DataType>(['float32', 'int32', 'bool']);

function typedFor(values: BackendValues, dtype: DataType): Float32Array | Int32Array | Uint8Array {
  if (!STORED_DTYPES.has(dtype)) {
    throw new Error(`the torch backend stores float32, int32 and bool tensors, not ${dtype}`);
  }
  if (Array.isArray(values)) throw new Error('the torch backend cannot store string tensors');
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (v) => (v ? 1 : 0));
}

export class TorchBackend extends KernelBackend {
  readonly addon: TorchAddon;
  private readonly data: DataStorage<TensorData>;

  constructor(addon: TorchAddon) {
    super();
    this.addon = addon;
    this.data = new DataStorage<TensorData>(this, tf.engine());
  }

  /** Native handle of a tensor (moving it here from another backend if needed). */
  handleOf(dataId: DataId): number {
    return this.data.get(dataId).handle;
  }

  /** Registers a native handle produced by a kernel as a new tfjs tensor. */
  adopt(handle: number, shape: number[], dtype: DataType): TensorInfo {
    const dataId = {};
    this.data.set(dataId, { handle, shape, dtype, refCount: 1 });
    return { dataId, shape, dtype };
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    // One copy: straight from the JavaScript array into a new libtorch tensor.
    const handle = this.addon.create(typedFor(values, dtype), shape, dtype);
    this.data.set(dataId, { handle, shape, dtype, refCount });
  }

  makeTensorInfo(shape: number[], dtype: DataType, values: BackendValues): TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  override readSync(dataId: DataId): BackendValues {
    return this.addon.read(this.data.get(dataId).handle);
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  /**
   * Drops one reference (tfjs's convention); frees the native tensor when none is left or when
   * `force` is set. Returns whether the data is gone.
   */
  override disposeData(dataId: DataId, force = false): boolean {
    if (!this.data.has(dataId)) return true;
    const entry = this.data.get(dataId);
    entry.refCount--;
    if (!force && entry.refCount > 0) return false;
    this.addon.dispose(entry.handle);
    this.data.delete(dataId);
    return true;
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  /** Native tensors alive in the addon (equals numDataIds unless something leaked). */
  liveNativeTensors(): number {
    return this.addon.liveTensors();
  }

  override memory(): { unreliable: boolean; reasons?: string[] } & { nativeTensors: number } {
    return { unreliable: false, nativeTensors: this.addon.liveTensors() };
  }

  threads(): TorchThreads {
    return this.addon.threads();
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    const start = performance.now();
    f();
    return { kernelMs: performance.now() - start };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    // Tensors still registered belong to tfjs's engine, which disposes them through disposeData.
  }
}
