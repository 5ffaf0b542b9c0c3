/**
 * Shipped model files store float32 weights as float16 (half the size of the zoo); unpacking
 * restores the exact model-file text format the loaders read, with the weights rounded to half
 * precision. Integer buffers (permutations) and non-weight fields are untouched.
 */
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';
import { float32ToHalfBytes, halfBytesToFloat32 } from './float16.ts';

export const PACKED_MARKER = 'float16';

type Json = Record<string, unknown>;

function toHalfBase64(base64: string): string {
  const bytes = base64ToBytes(base64);
  return bytesToBase64(float32ToHalfBytes(new Float32Array(bytes.slice().buffer)));
}

function toFloatBase64(base64: string): string {
  return bytesToBase64(new Uint8Array(halfBytesToFloat32(base64ToBytes(base64)).buffer));
}

/** A model file's JSON with its float32 weights stored as float16 (`weightEncoding: 'float16'`). */
export function packModelText(text: string): string {
  const json = JSON.parse(text) as Json;
  if (json['weightEncoding'] === PACKED_MARKER) return text;
  if (json['format'] === 'inntrospect-model/1') {
    for (const w of Object.values(json['weights'] as Record<string, { base64: string }>)) w.base64 = toHalfBase64(w.base64);
  } else if (json['format'] === 'inntrospect.flow') {
    for (const w of json['weights'] as Array<{ dtype: string; data: string }>) if (w.dtype === 'float32') w.data = toHalfBase64(w.data);
  } else {
    throw new Error(`packModelText: not an inntrospect model file (format '${String(json['format'])}')`);
  }
  json['weightEncoding'] = PACKED_MARKER;
  return JSON.stringify(json);
}

/** The loadable model-file text of a packed (or plain) file. */
export function unpackModelText(text: string): string {
  const json = JSON.parse(text) as Json;
  if (json['weightEncoding'] !== PACKED_MARKER) return text;
  if (json['format'] === 'inntrospect-model/1') {
    for (const w of Object.values(json['weights'] as Record<string, { base64: string }>)) w.base64 = toFloatBase64(w.base64);
  } else {
    for (const w of json['weights'] as Array<{ dtype: string; data: string }>) if (w.dtype === 'float32') w.data = toFloatBase64(w.data);
  }
  delete json['weightEncoding'];
  return JSON.stringify(json);
}
