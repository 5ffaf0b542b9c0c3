/**
 * Reads IDX files from disk (Node only), gunzipping `.gz` files (or any file that starts with the
 * gzip signature) with node:zlib. Errors name the file and what was wrong.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isGzip, parseIdx, type IdxArray } from './idx.ts';

/**
 * @example
 *   const images = readIdxFile('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz');
 */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(`${path}: cannot read IDX file (${code === 'ENOENT' ? 'no such file' : code ?? String(error)})`);
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${path}: corrupt or truncated gzip data (${(error as Error).message})`);
    }
  }
  return parseIdx(bytes, path);
}
