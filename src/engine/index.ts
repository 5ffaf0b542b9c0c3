/**
 * The one place that initialises TensorFlow.js, in Node and in the browser.
 *
 * Backends: `wasm` (default; XNNPACK + SIMD, with inntrospect's training kernels installed),
 * `cpu` (pure JavaScript; the reference every kernel is checked against), and any other backend
 * registered with tfjs (webgl, webgpu, or a native one added later) by name. The name comes
 * from the `backend` option, else from the INNTROSPECT_BACKEND environment variable (Node),
 * else `wasm`. In Node, `torch` is the native libtorch backend (src/engine/torch/), available
 * once `npm run build:native` has built its addon.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers neither gradients nor chained ops; the umbrella package does both
// (its Node bundle is CommonJS, which Node can load, unlike tfjs-core's extensionless ESM files).
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { installWasmTrainingKernels } from './wasm-kernels/register.ts';

export { tf };

export const DEFAULT_BACKEND = 'wasm';

export interface EngineOptions {
  /** Backend name: 'wasm', 'cpu', or any registered tfjs backend. Default: env or 'wasm'. */
  backend?: string;
  /**
   * Browser only: where the wasm binaries are served (a folder URL ending in '/'). Node finds
   * them in node_modules.
   */
  wasmPaths?: string;
}

export interface EngineInfo {
  backend: string;
  tfjsVersion: string;
  runtime: 'node' | 'browser';
  /** wasm only: whether the SIMD build runs. */
  simd: boolean | null;
  /**
   * Threads the backend computes with (wasm in Node: 2 once the matmul helper runs, else 1, see
   * docs/engine.md; torch: libtorch's intra-op threads).
   */
  threads: number;
  /** wasm: why it computes on one thread (no SharedArrayBuffer, INNTROSPECT_WASM_THREADS=1, …), else null. */
  threadsNote: string | null;
  /** torch only: OpenBLAS's threads (1: libtorch's pool owns the cores); null elsewhere. */
  blasThreads: number | null;
  /** Kernels inntrospect installed on this backend (torch: those libtorch computes natively). */
  ownKernels: string[];
}

const isNode = typeof process !== 'undefined' && process.versions?.node !== undefined;

/**
 * The native torch backend's registration module, Node only. The specifier is a variable so
 * that browser bundlers do not follow it: a browser bundle must never reach the addon.
 */
type TorchModule = typeof import('./torch/register.ts');
const TORCH_MODULE = './torch/register.ts';
const torchModule: TorchModule | null = isNode ? ((await import(TORCH_MODULE)) as TorchModule) : null;

/** The wasm backend's second-core helper (worker_threads), Node only; same bundler rule as above. */
type WasmThreadsModule = typeof import('./wasm-threads/node-helper.ts');
const WASM_THREADS_MODULE = './wasm-threads/node-helper.ts';
const wasmThreads: WasmThreadsModule | null = isNode ? ((await import(WASM_THREADS_MODULE)) as WasmThreadsModule) : null;

/** Registers `torch` with tfjs, or throws an Error that says how to get it. */
function registerTorch(): void {
  if (!torchModule) throw new Error("the 'torch' backend runs only in Node (it is a native libtorch addon)");
  torchModule.registerTorchBackend();
}

export function requestedBackendName(options: EngineOptions = {}): string {
  if (options.backend) return options.backend;
  const fromEnv = isNode ? process.env['INNTROSPECT_BACKEND'] : undefined;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv.trim() : DEFAULT_BACKEND;
}

/** Backends that can be selected in this process. */
export function availableBackends(): string[] {
  const registry = tf.engine().registryFactory as Record<string, unknown>;
  const names = new Set(Object.keys(registry));
  // Loads the addon on first use to find out (not at import: wasm-only runs never load libtorch).
  if (torchModule?.torchAvailable()) names.add('torch');
  return [...names].sort();
}

const initialised = new Map<string, Promise<void>>();

async function initialiseBackend(name: string, options: EngineOptions): Promise<void> {
  if (name === 'wasm' && options.wasmPaths) setWasmPaths(options.wasmPaths);
  // Emscripten's Node glue installs process handlers that rethrow every uncaught error and print
  // a page of minified source; we remove them so errors surface as Node reports them.
  const before = isNode
    ? { exception: process.listeners('uncaughtException'), rejection: process.listeners('unhandledRejection') }
    : null;
  const ok = await tf.setBackend(name);
  if (before) {
    for (const l of process.listeners('uncaughtException')) if (!before.exception.includes(l)) process.off('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!before.rejection.includes(l)) process.off('unhandledRejection', l);
  }
  if (!ok) throw new Error(`backend '${name}' failed to initialise`);
  // The cpu backend greets Node users with a banner recommending tfjs-node, which cannot be
  // installed here (docs/engine.md); it is our reference backend, so silence the banner.
  if (name === 'cpu') (tf.findBackend('cpu') as unknown as { firstUse?: boolean }).firstUse = false;
  if (name === 'wasm') {
    installWasmTrainingKernels();
    // Large matmuls then use a second wasm instance in a worker (started on first need).
    wasmThreads?.enableWasmThreads();
  }
}

/**
 * Selects and initialises a backend. Safe to call repeatedly and to switch between backends
 * (tests run the same case on 'cpu' and 'wasm').
 *
 * @example
 *   const info = await initEngine();            // wasm, or INNTROSPECT_BACKEND
 *   await initEngine({ backend: 'cpu' });       // the reference backend
 */
export async function initEngine(options: EngineOptions = {}): Promise<EngineInfo> {
  const name = requestedBackendName(options);
  if (name === 'torch') registerTorch();
  if (!(name in tf.engine().registryFactory)) {
    throw new Error(
      `unknown backend '${name}' (from ${options.backend ? 'the backend option' : 'INNTROSPECT_BACKEND'}); ` +
      `available: ${availableBackends().join(', ')}`,
    );
  }
  let pending = initialised.get(name);
  if (!pending) {
    pending = initialiseBackend(name, options);
    initialised.set(name, pending);
    pending.catch(() => initialised.delete(name));
  }
  await pending;
  if (tf.getBackend() !== name) await tf.setBackend(name);
  return engineInfo();
}

export function engineInfo(): EngineInfo {
  const backend = tf.getBackend();
  const isWasm = backend === 'wasm';
  const native = backend === 'torch'
    ? (tf.backend() as unknown as { threads(): { intraOp: number; blas: number | null } }).threads()
    : null;
  return {
    backend,
    tfjsVersion: tf.version_core,
    runtime: isNode ? 'node' : 'browser',
    simd: isWasm ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : null,
    threads: native ? native.intraOp : isWasm && tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')
      ? (globalThis.navigator?.hardwareConcurrency ?? 1)
      : isWasm && wasmThreads ? wasmThreads.wasmThreadCount() : 1,
    threadsNote: isWasm ? (wasmThreads ? wasmThreads.wasmThreadsNote() : 'one thread: no matmul helper in the browser yet') : null,
    blasThreads: native ? native.blas : null,
    ownKernels: isWasm ? installWasmTrainingKernels() : backend === 'torch' && torchModule ? torchModule.registerTorchBackend().native : [],
  };
}
