/**
 * Save and load flow components as plain data: `{format, version, className, config, weights}`.
 * The object is JSON-able as it is (weights are base64 strings of little-endian float32/int32),
 * so the Node CLI writes it to a file (io-node.ts) and the browser reads it with JSON.parse.
 * Weights include the non-trainable buffers (ActNorm's `initialized`, Shuffle's `permutation`),
 * and a loaded model gives bit-identical outputs.
 */
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';
import './actnorm.ts';
import './coupling.ts';
import './shuffle.ts';
import './sequence.ts';
import './embedders.ts';
import './cinn.ts';
import './iin.ts';
import type { Buffer, FlowComponent, JsonObject } from './module.ts';
import { buildFlowComponent } from './registry.ts';
import { WeightSource, type SavedValues } from './weight-source.ts';

export const SAVED_FLOW_FORMAT = 'inntrospect.flow';
export const SAVED_FLOW_VERSION = 1;

/** One named array. */
export interface SavedTensor {
  /** Dotted name ('flow.0.loc'). */
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** false for buffers (ActNorm's `initialized`, Shuffle's `permutation`). */
  trainable: boolean;
  /** The values, little-endian, base64. */
  data: string;
}

/** A saved component: plain JSON. */
export interface SavedFlow {
  format: typeof SAVED_FLOW_FORMAT;
  version: number;
  className: string;
  config: JsonObject;
  weights: SavedTensor[];
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function arrayToBase64(data: Float32Array | Int32Array): string {
  const bytes = new Uint8Array(data.byteLength);
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  } else {
    const view = new DataView(bytes.buffer);
    data.forEach((v, i) => (data instanceof Float32Array ? view.setFloat32(4 * i, v, true) : view.setInt32(4 * i, v, true)));
  }
  return bytesToBase64(bytes);
}

function base64ToArray(text: string, dtype: 'float32' | 'int32', size: number, name: string): Float32Array | Int32Array {
  const bytes = base64ToBytes(text);
  if (bytes.length !== 4 * size) throw new Error(`loading weights: '${name}' holds ${bytes.length / 4} values, its shape needs ${size}`);
  const view = new DataView(bytes.buffer);
  const out = dtype === 'float32' ? new Float32Array(size) : new Int32Array(size);
  if (LITTLE_ENDIAN) {
    out.set(dtype === 'float32' ? new Float32Array(bytes.buffer) : new Int32Array(bytes.buffer));
  } else {
    for (let i = 0; i < size; i++) out[i] = dtype === 'float32' ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  }
  return out;
}

/**
 * A plain-data snapshot of a component (weights and buffers copied).
 *
 * @example
 *   const saved = saveFlow(t);
 *   const text = JSON.stringify(saved);
 */
export function saveFlow(component: FlowComponent): SavedFlow {
  const weights: SavedTensor[] = [];
  for (const [name, v] of component.weights) {
    weights.push({ name, shape: [...v.shape], dtype: 'float32', trainable: true, data: arrayToBase64(v.dataSync() as Float32Array) });
  }
  for (const [name, b] of component.buffers()) {
    weights.push({ name, shape: [...b.shape], dtype: b.data instanceof Int32Array ? 'int32' : 'float32', trainable: false, data: arrayToBase64(b.data) });
  }
  weights.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return {
    format: SAVED_FLOW_FORMAT,
    version: SAVED_FLOW_VERSION,
    className: component.className,
    config: structuredClone(component.config),
    weights,
  };
}

/**
 * The saved arrays by name, decoded (what `loadFlow` builds from).
 *
 * @example
 *   decodeSavedWeights(saveFlow(shuffle)).get('permutation')!.data;   // Int32Array
 */
export function decodeSavedWeights(saved: SavedFlow): SavedValues {
  const out: SavedValues = new Map<string, Buffer>();
  for (const w of saved.weights) {
    if (typeof w.name !== 'string' || !Array.isArray(w.shape) || (w.dtype !== 'float32' && w.dtype !== 'int32') || typeof w.data !== 'string') {
      throw new Error(`loading weights: malformed entry ${JSON.stringify(w).slice(0, 120)}`);
    }
    if (out.has(w.name)) throw new Error(`loading weights: '${w.name}' appears twice`);
    const size = w.shape.reduce((a, b) => a * b, 1);
    out.set(w.name, { shape: [...w.shape], data: base64ToArray(w.data, w.dtype, size, w.name) });
  }
  return out;
}

function checkSaved(saved: unknown): SavedFlow {
  const s = saved as Partial<SavedFlow> | null;
  if (!s || typeof s !== 'object' || s.format !== SAVED_FLOW_FORMAT) {
    throw new Error(`loadFlow: not a saved inntrospect flow (format must be '${SAVED_FLOW_FORMAT}')`);
  }
  if (s.version !== SAVED_FLOW_VERSION) throw new Error(`loadFlow: saved format version ${String(s.version)}, this code reads version ${SAVED_FLOW_VERSION}`);
  if (typeof s.className !== 'string' || !s.config || typeof s.config !== 'object' || !Array.isArray(s.weights)) {
    throw new Error('loadFlow: a saved flow needs className, config and weights');
  }
  return s as SavedFlow;
}

/**
 * Rebuilds a component from `saveFlow`'s data (or its JSON.parse). With `expectedClass`, a
 * different saved class is an error. The built model takes every weight from the data.
 *
 * @example
 *   const t = loadFlow<ConditionalINN>(JSON.parse(text), 'ConditionalINN');
 */
export function loadFlow<T extends FlowComponent = FlowComponent>(saved: unknown, expectedClass?: string): T {
  const s = checkSaved(saved);
  if (expectedClass !== undefined && s.className !== expectedClass) {
    throw new Error(`loadFlow: expected a saved '${expectedClass}', got '${s.className}'`);
  }
  const source = WeightSource.fromSaved(decodeSavedWeights(s));
  let component: FlowComponent | null = null;
  try {
    component = buildFlowComponent(s.className, s.config, source);
    source.assertAllUsed();
  } catch (error) {
    if (component) component.dispose();
    else source.disposeCreated();
    throw error;
  }
  return component as T;
}
