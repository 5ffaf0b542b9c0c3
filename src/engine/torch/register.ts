/**
 * Registers the `torch` backend with TensorFlow.js: every kernel the addon implements natively
 * (./kernels.ts), and for every other kernel registered on `cpu` the cpu bridge (./fallback.ts),
 * so that anything the cpu backend can compute also runs here. Node only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { getKernel, getKernelsForBackend, registerKernel, util, type KernelFunc, type NamedTensorInfoMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { TorchBackend } from './backend.ts';
import { NATIVE_KERNELS, type NativeKernelSpec } from './kernels.ts';
import { ADAM_UPDATE_KERNEL } from '../adam-update.ts';
import { COUPLING_BACKWARD_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_INVERSE_KERNEL } from '../coupling-kernels.ts';
import { runOnCpu } from './fallback.ts';
import { loadTorchAddon, probeTorchAddon, type TorchAddon } from './loader.ts';

export const TORCH_BACKEND = 'torch';

/** Kernels returning several tensors. */
const MULTI_OUTPUT = new Set(['SplitV', 'Unpack', ADAM_UPDATE_KERNEL, COUPLING_FORWARD_KERNEL, COUPLING_BACKWARD_KERNEL, COUPLING_INVERSE_KERNEL]);

export interface TorchRegistration {
  /** Kernels libtorch computes. */
  native: string[];
  /** Kernels bridged to the cpu backend. */
  fallback: string[];
  torchVersion: string;
}

let registration: TorchRegistration | null = null;

/** Whether the addon is built and loads in this process (loads it on first call). */
export function torchAvailable(): boolean {
  return !('error' in probeTorchAddon());
}

function nativeKernel(kernelName: string, spec: NativeKernelSpec): KernelFunc {
  return ({ inputs, attrs = {}, backend }) => {
    const torch = backend as TorchBackend;
    const infos: Array<TensorInfo | undefined> = spec.inputs === 'list'
      ? Object.values(inputs)
      : spec.inputs.map((name) => (inputs as NamedTensorInfoMap)[name]);
    const present = infos as TensorInfo[];
    if (spec.fallbackWhen?.(attrs, present)) return runOnCpu(kernelName, inputs, attrs, torch);
    const handles = infos.map((info) => (info ? torch.handleOf(info.dataId) : -1));
    const nativeAttrs = spec.attrs ? spec.attrs(attrs, present) : (attrs as Record<string, unknown>);
    const outputs = torch.addon.run(spec.native ?? kernelName, handles, nativeAttrs)
      .map(([handle, dtype, shape]) => torch.adopt(handle, shape, dtype as tf.DataType));
    const expected = spec.outShape?.(attrs, present);
    if (expected && !util.arraysEqual(expected, outputs[0]!.shape)) {
      for (const out of outputs) torch.disposeData(out.dataId, true);
      throw new Error(`torch backend: ${kernelName} produced shape [${outputs[0]!.shape}] where TensorFlow.js expects [${expected}]`);
    }
    return MULTI_OUTPUT.has(kernelName) ? outputs : outputs[0]!;
  };
}

function fallbackKernel(kernelName: string): KernelFunc {
  return ({ inputs, attrs = {}, backend }) => runOnCpu(kernelName, inputs, attrs, backend as TorchBackend);
}

/**
 * Intra-op threads for libtorch: every core (INNTROSPECT_TORCH_THREADS overrides). OpenBLAS
 * stays at one thread: both pools on the same cores oversubscribe them (docs/engine.md).
 */
export function torchThreadCount(): number {
  const fromEnv = Number(process.env['INNTROSPECT_TORCH_THREADS']);
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : availableParallelism();
}

/** Registers the backend and its kernels once. Throws an Error saying how to build the addon if it is missing. */
export function registerTorchBackend(): TorchRegistration {
  if (registration) return registration;
  const addon: TorchAddon = loadTorchAddon();
  const available = new Set(addon.kernelNames());
  const native: string[] = [];
  for (const [kernelName, spec] of Object.entries(NATIVE_KERNELS)) {
    if (!available.has(spec.native ?? kernelName)) continue;  // the cpu bridge covers it
    registerKernel({ kernelName, backendName: TORCH_BACKEND, kernelFunc: nativeKernel(kernelName, spec) });
    native.push(kernelName);
  }
  const fallback: string[] = [];
  for (const { kernelName } of getKernelsForBackend('cpu')) {
    if (getKernel(kernelName, TORCH_BACKEND)) continue;
    registerKernel({ kernelName, backendName: TORCH_BACKEND, kernelFunc: fallbackKernel(kernelName) });
    fallback.push(kernelName);
  }
  tf.registerBackend(TORCH_BACKEND, () => {
    addon.setNumThreads(torchThreadCount(), 1);
    return new TorchBackend(addon);
  }, 0);
  registration = { native: native.sort(), fallback: fallback.sort(), torchVersion: addon.torchVersion };
  return registration;
}
