/**
 * The explorer's test images on the wire: a small subset of a labelled image dataset as one
 * binary response. Browser-safe (the page's worker decodes it); the server encodes it.
 *
 * Layout (little-endian): uint32 header length H, H bytes of UTF-8 JSON (`TestSetHeader`),
 * zero padding to a multiple of 4, float32 images [n, h, w, c] (NHWC), int32 labels [n].
 */
import type { ImageDataset, ValueRange } from '../data/dataset.ts';

export interface TestSetHeader {
  name: string;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
  classNames: string[];
  valueRange: ValueRange;
  /** Which dataset indices these are (the first n of the split). */
  indices: number[];
  /** How the images were made, shown in the page. */
  description: string;
}

export interface TestSet extends TestSetHeader {
  images: Float32Array;
  labels: Int32Array;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** The first `count` images of a dataset as one binary payload. */
export function encodeTestSet(ds: ImageDataset, count: number, description: string): Uint8Array {
  const n = Math.min(count, ds.shape[0]);
  const [, h, w, c] = ds.shape;
  const header: TestSetHeader = {
    name: ds.name, shape: [n, h, w, c], classNames: ds.classNames, valueRange: ds.valueRange,
    indices: Array.from({ length: n }, (_, i) => i), description,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const imagesOffset = align4(4 + json.length);
  const imageBytes = n * h * w * c * 4;
  const out = new Uint8Array(imagesOffset + imageBytes + n * 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  out.set(json, 4);
  const images = new Float32Array(out.buffer, imagesOffset, n * h * w * c);
  images.set(ds.images.subarray(0, n * h * w * c));
  new Int32Array(out.buffer, imagesOffset + imageBytes, n).set(ds.labels.subarray(0, n));
  return out;
}

/** Decodes `encodeTestSet`'s payload; throws with what is wrong. */
export function decodeTestSet(buffer: ArrayBuffer): TestSet {
  if (buffer.byteLength < 4) throw new Error('test set: the response is empty');
  const view = new DataView(buffer);
  const headerLength = view.getUint32(0, true);
  if (4 + headerLength > buffer.byteLength) throw new Error('test set: truncated header');
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength))) as TestSetHeader;
  const [n, h, w, c] = header.shape;
  const imagesOffset = align4(4 + headerLength);
  const expected = imagesOffset + n * h * w * c * 4 + n * 4;
  if (buffer.byteLength !== expected) throw new Error(`test set: ${buffer.byteLength} bytes, expected ${expected} for shape [${header.shape.join(', ')}]`);
  return {
    ...header,
    images: new Float32Array(buffer.slice(imagesOffset, imagesOffset + n * h * w * c * 4)),
    labels: new Int32Array(buffer.slice(imagesOffset + n * h * w * c * 4)),
  };
}
