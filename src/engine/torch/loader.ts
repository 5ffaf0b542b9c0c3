/**
 * Finds and loads the libtorch addon (native/torch, built by `npm run build:native`). Node only:
 * src/engine/index.ts imports this file dynamically behind its Node check, so a browser bundle
 * never reaches it.
 *
 * Threads: OpenBLAS must compute on one thread while libtorch's intra-op pool uses every core;
 * the two pools oversubscribe otherwise (3–10× slower, docs/engine.md). OPENBLAS_NUM_THREADS=1
 * is set while the addon (and with it libtorch and OpenBLAS) loads, and the backend sets both
 * again through their APIs once loaded. OMP_WAIT_POLICY=PASSIVE lets libtorch's idle OpenMP
 * threads sleep instead of spin: on cores shared with other processes spinning made small
 * elementwise kernels 5–20× slower (measured: exp of 256×512 0.75–2.3 ms spinning, 0.10 ms
 * passive). Both are read once, when the libraries load; values the user set win, and the
 * environment is restored afterwards so child processes see what they would have seen.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** What the addon exports (native/torch/src/addon.cc). Handles are indices into its table. */
export interface TorchAddon {
  create(values: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: string): number;
  read(handle: number): Float32Array | Int32Array | Uint8Array;
  dispose(handle: number): void;
  /** Runs a kernel; an input handle of -1 means an absent optional input. */
  run(kernel: string, handles: number[], attrs: Record<string, unknown>): Array<[number, string, number[]]>;
  kernelNames(): string[];
  liveTensors(): number;
  /** Returns whether OpenBLAS's thread setter was found. */
  setNumThreads(intraOp: number, blas: number): boolean;
  threads(): TorchThreads;
  torchVersion: string;
}

export interface TorchThreads {
  /** libtorch intra-op threads (at::get_num_threads). */
  intraOp: number;
  interOp: number;
  /** OpenBLAS threads (openblas_get_num_threads), null when the BLAS is not OpenBLAS. */
  blas: number | null;
  blasSource: string;
  blasConfig: string | null;
  parallelInfo: string;
}

/** Where `npm run build:native` puts the addon; INNTROSPECT_TORCH_ADDON points elsewhere. */
export const TORCH_ADDON_PATH = process.env['INNTROSPECT_TORCH_ADDON']
  || fileURLToPath(new URL('../../../native/torch/build/Release/inntrospect_torch.node', import.meta.url));

export const TORCH_BUILD_HINT =
  'build it with `npm run build:native` (needs `apt-get install libtorch-dev libopenblas0-pthread`)';

let loaded: { addon: TorchAddon } | { error: string } | null = null;

/** Loads the addon once; later calls return the same result. Never throws. */
export function probeTorchAddon(): { addon: TorchAddon } | { error: string } {
  if (loaded) return loaded;
  if (!existsSync(TORCH_ADDON_PATH)) {
    loaded = { error: `the torch backend's native addon is not built (${TORCH_ADDON_PATH} is missing); ${TORCH_BUILD_HINT}` };
    return loaded;
  }
  const loadTimeEnv: Record<string, string> = { OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' };
  const saved = Object.keys(loadTimeEnv).map((key) => [key, process.env[key]] as const);
  for (const [key, value] of Object.entries(loadTimeEnv)) process.env[key] ??= value;
  try {
    const require = createRequire(import.meta.url);
    loaded = { addon: require(TORCH_ADDON_PATH) as TorchAddon };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    loaded = { error: `the torch backend's native addon failed to load (${reason}); re-${TORCH_BUILD_HINT}` };
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
  return loaded;
}

/** The addon, or an Error that says how to build it. */
export function loadTorchAddon(): TorchAddon {
  const result = probeTorchAddon();
  if ('error' in result) throw new Error(result.error);
  return result.addon;
}
