/**
 * Checkpoints of the models in src/models: `{ className, config, weights }` plain data, a registry
 * from class name to loader, and a JSON text form whose arrays are base64 Float32 bytes, so that
 * save → JSON → load reproduces every weight bit for bit (JSON numbers would not guarantee it).
 *
 * Browser-safe: no file access here (see checkpoint-files.ts for Node).
 */
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';
import type { NamedWeights } from './layers.ts';

/** A saved model: what `loadModel` needs to rebuild it exactly. */
export interface ModelCheckpoint<C = unknown> {
  /** Registered class name ('Autoencoder', 'ColorMnistClassifier', 'SqueezeNet'). */
  className: string;
  /** The resolved config (plain JSON). */
  config: C;
  /** Every variable and buffer by dotted name. */
  weights: NamedWeights;
  /** Free-form JSON metadata: training step, metrics, data seed. */
  meta?: Record<string, unknown>;
}

/** Anything that saves itself as a checkpoint and frees its variables. */
export interface Checkpointable<C = unknown> {
  readonly className: string;
  readonly config: C;
  checkpoint(meta?: Record<string, unknown>): ModelCheckpoint<C>;
  dispose(): void;
}

type Loader = (ckpt: ModelCheckpoint) => Checkpointable;
const registry = new Map<string, Loader>();

/** Registers the loader for a class name (each model file registers itself on import). */
export function registerModel(className: string, load: Loader): void {
  registry.set(className, load);
}

export function registeredModels(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Rebuilds a model from its checkpoint. The model's file must have been imported: each of
 * autoencoder.ts, classifier-colormnist.ts, squeezenet.ts and discriminator.ts registers itself.
 *
 * @example
 *   const model = loadModel(parseCheckpoint(text)) as Autoencoder;
 */
export function loadModel(ckpt: ModelCheckpoint): Checkpointable {
  const load = registry.get(ckpt.className);
  if (!load) throw new Error(`loadModel: unknown className '${ckpt.className}' (registered: ${registeredModels().join(', ') || 'none'})`);
  return load(ckpt);
}

function toBase64(data: Float32Array): string {
  return bytesToBase64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function fromBase64(text: string): Float32Array {
  const bytes = base64ToBytes(text);
  if (bytes.byteLength % 4 !== 0) throw new Error('parseCheckpoint: weight data is not a whole number of float32 values');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** JSON text of a checkpoint; weights as `{shape, base64}` of little-endian float32. */
export function serializeCheckpoint(ckpt: ModelCheckpoint): string {
  const weights: Record<string, { shape: number[]; base64: string }> = {};
  for (const [name, w] of Object.entries(ckpt.weights)) weights[name] = { shape: w.shape, base64: toBase64(w.data) };
  return JSON.stringify({ format: 'inntrospect-model/1', className: ckpt.className, config: ckpt.config, meta: ckpt.meta ?? {}, weights });
}

export function parseCheckpoint(text: string): ModelCheckpoint {
  const raw = JSON.parse(text) as { format?: string; className: string; config: unknown; meta?: Record<string, unknown>; weights: Record<string, { shape: number[]; base64: string }> };
  if (raw.format !== 'inntrospect-model/1') throw new Error(`parseCheckpoint: unknown format '${String(raw.format)}' (expected inntrospect-model/1)`);
  const weights: NamedWeights = {};
  for (const [name, w] of Object.entries(raw.weights)) {
    const data = fromBase64(w.base64);
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new Error(`parseCheckpoint: weight '${name}' has ${data.length} values for shape [${w.shape.join(', ')}]`);
    weights[name] = { shape: w.shape, data };
  }
  return { className: raw.className, config: raw.config, weights, meta: raw.meta ?? {} };
}

/**
 * Training iterations at which to save `count` equally spaced checkpoints of a `total`-step run:
 * total·k/count for k = 1..count (the last one is the final model), plus iteration 0 first when
 * `includeInitial`. The paper's Fig. 4 uses 20 checkpoints over 40k iterations: 2k, 4k, …, 40k.
 *
 * @example
 *   checkpointIterations(40000, 20)        // [2000, 4000, …, 40000]
 *   checkpointIterations(100, 4, true)     // [0, 25, 50, 75, 100]
 */
export function checkpointIterations(total: number, count: number, includeInitial = false): number[] {
  if (!Number.isInteger(total) || total < 1) throw new Error(`checkpointIterations: total must be a positive integer, got ${total}`);
  if (!Number.isInteger(count) || count < 0) throw new Error(`checkpointIterations: count must be a non-negative integer, got ${count}`);
  const its = new Set<number>();
  if (includeInitial) its.add(0);
  for (let k = 1; k <= count; k++) its.add(Math.round((total * k) / count));
  return [...its].sort((a, b) => a - b);
}

/**
 * `count` log-spaced checkpoint iterations of a `total`-step run (plus 0 when `includeInitial`):
 * round(total^(k/count)) for k = 1..count, made distinct by moving each collision one step up,
 * so most checkpoints fall early, where a classifier's accuracy changes (ours; Fig. 4 needs
 * checkpoints where accuracy rises, and equally spaced ones put all but the first on the plateau).
 *
 * @example
 *   logCheckpointIterations(3000, 20, true)   // [0, 1, 2, 3, 5, 7, 11, …, 3000]
 */
export function logCheckpointIterations(total: number, count: number, includeInitial = false): number[] {
  if (!Number.isInteger(total) || total < 1) throw new Error(`logCheckpointIterations: total must be a positive integer, got ${total}`);
  if (!Number.isInteger(count) || count < 1 || count > total) throw new Error(`logCheckpointIterations: count must be an integer in 1..${total}, got ${count}`);
  const its: number[] = [];
  for (let k = 1; k <= count; k++) {
    const it = Math.max(Math.round(total ** (k / count)), (its.at(-1) ?? 0) + 1);
    its.push(it);
  }
  // Collisions pushed upwards can overshoot at the top: pull back from the end, keeping them distinct.
  its[its.length - 1] = total;
  for (let k = its.length - 2; k >= 0; k--) its[k] = Math.min(its[k]!, its[k + 1]! - 1);
  return includeInitial ? [0, ...its] : its;
}
