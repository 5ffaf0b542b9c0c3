/**
 * ONNX model files on disk (Node): a spec naming an .onnx file, or a folder holding exactly one
 * (with the optional model-card.json beside it), its bytes, and a reader for the external data
 * files that large exports keep next to the .onnx (`save_as_external_data`). Errors name the file
 * that is missing and what to do.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { resolveInside } from '../models/contained-path.ts';
import type { ExternalDataReader } from '../models/onnx/onnx-graph.ts';

/** The .onnx file a spec names (the file, or the one .onnx in a folder), or null when it names none. */
export function onnxFileOf(spec: string): string | null {
  if (!existsSync(spec)) return null;
  if (!statSync(spec).isDirectory()) return spec.toLowerCase().endsWith('.onnx') ? spec : null;
  if (existsSync(join(spec, 'model.json'))) return null;
  const files = readdirSync(spec).filter((f) => f.toLowerCase().endsWith('.onnx')).sort();
  if (files.length > 1) throw new Error(`${spec}: holds ${files.length} .onnx files (${files.join(', ')}); name one of them, or keep one model per folder`);
  return files.length === 1 ? join(spec, files[0]!) : null;
}

/** Reads external data files relative to the .onnx file's folder; a missing or short file is an error. */
export function externalDataReader(onnxFile: string): ExternalDataReader {
  const dir = dirname(onnxFile);
  return (location, offset, length) => {
    // Containment: an external-data location may not leave the model's folder (absolute, '..', links).
    const file = resolveInside(dir, location, onnxFile, 'external data location');
    if (!existsSync(file)) {
      throw new Error(`its data are in the external file '${location}' (${file}), which is missing; copy the data file next to ${basename(onnxFile)}`);
    }
    const size = statSync(file).size;
    const n = length < 0 ? size - offset : length;
    if (offset + n > size) throw new Error(`the external file '${location}' holds ${size} bytes but the tensor needs bytes ${offset}–${offset + n}; the file is truncated or from another export`);
    const bytes = new Uint8Array(n);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, bytes, 0, n, offset);
    } finally {
      closeSync(fd);
    }
    return bytes;
  };
}

/** The .onnx file's bytes. */
export function readOnnxBytes(onnxFile: string): Uint8Array {
  const b = readFileSync(onnxFile);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
