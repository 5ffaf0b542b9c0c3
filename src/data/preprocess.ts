/**
 * The reference's image preprocessing in plain typed-array loops (browser-safe, no tf):
 * `iin/data.py::Base32` = uint8 image → albumentations SmallestMaxSize(32) + CenterCrop(32) →
 * dequantise with one uniform offset per image, (v + u)/256, u ~ U[0, 1) → ×2 − 1 (digest §2.1).
 *
 * Resizing is bilinear with OpenCV's INTER_LINEAR conventions (albumentations' default):
 * half-pixel centres, source coordinates clamped at the border, results rounded to the nearest
 * byte because the reference resizes uint8 images.
 */
import { Random } from '../engine/random.ts';
import type { ImageDataset, RawImages } from './dataset.ts';

/** Output size of SmallestMaxSize(size): the shorter side becomes `size`, aspect kept (rounded). */
export function smallestMaxSize(height: number, width: number, size: number): [number, number] {
  if (height <= width) return [size, Math.max(1, Math.round((width * size) / height))];
  return [Math.max(1, Math.round((height * size) / width)), size];
}

interface Taps {
  i0: Int32Array;
  i1: Int32Array;
  f: Float32Array;
}

function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    let base = Math.floor(src);
    let frac = src - base;
    if (base < 0) {
      base = 0;
      frac = 0;
    }
    if (base >= inSize - 1) {
      base = inSize - 1;
      frac = 0;
    }
    i0[o] = base;
    i1[o] = Math.min(base + 1, inSize - 1);
    f[o] = frac;
  }
  return { i0, i1, f };
}

/**
 * Resizes `count` single-channel uint8 images of size h×w (packed NHW) to the smallest side
 * `size` and centre-crops to size×size (SmallestMaxSize + CenterCrop). Returns packed bytes.
 */
export function resizeAndCropU8(pixels: Uint8Array, count: number, height: number, width: number, size: number): Uint8Array {
  if (pixels.length !== count * height * width) {
    throw new Error(`resizeAndCropU8: ${pixels.length} bytes for ${count} images of ${height}×${width}`);
  }
  const [rh, rw] = smallestMaxSize(height, width, size);
  const top = Math.floor((rh - size) / 2);
  const left = Math.floor((rw - size) / 2);
  const ty = bilinearTaps(height, rh);
  const tx = bilinearTaps(width, rw);
  // The map is the same for every image: four source offsets and weights per output pixel.
  const outPixels = size * size;
  const tap = new Int32Array(4 * outPixels);
  const weight = new Float64Array(4 * outPixels);
  for (let y = 0; y < size; y++) {
    const yy = y + top;
    const fy = ty.f[yy]!;
    for (let x = 0; x < size; x++) {
      const xx = x + left;
      const fx = tx.f[xx]!;
      const k = 4 * (y * size + x);
      tap[k] = ty.i0[yy]! * width + tx.i0[xx]!;
      tap[k + 1] = ty.i0[yy]! * width + tx.i1[xx]!;
      tap[k + 2] = ty.i1[yy]! * width + tx.i0[xx]!;
      tap[k + 3] = ty.i1[yy]! * width + tx.i1[xx]!;
      weight[k] = (1 - fy) * (1 - fx);
      weight[k + 1] = (1 - fy) * fx;
      weight[k + 2] = fy * (1 - fx);
      weight[k + 3] = fy * fx;
    }
  }
  const out = new Uint8Array(count * outPixels);
  const inStride = height * width;
  for (let n = 0; n < count; n++) {
    const src = n * inStride;
    const dst = n * outPixels;
    for (let p = 0, k = 0; p < outPixels; p++, k += 4) {
      const v =
        pixels[src + tap[k]!]! * weight[k]! + pixels[src + tap[k + 1]!]! * weight[k + 1]! +
        pixels[src + tap[k + 2]!]! * weight[k + 2]! + pixels[src + tap[k + 3]!]! * weight[k + 3]!;
      out[dst + p] = (v + 0.5) | 0; // round half up; v ≥ 0
    }
  }
  return out;
}

/** Options of `base32`. */
export interface Base32Options {
  /** Output side length (the reference: 32). */
  size?: number;
  /** Seed of the dequantisation offsets; the same seed gives the same dataset. */
  seed?: number;
  /** Dataset name; default `<raw name>@<size>`. */
  name?: string;
}

/**
 * The reference's `Base32` preprocessing of greyscale images: resize + crop to size×size,
 * dequantise with one offset u ~ U[0,1) per image, map to [-1, 1]: x = (v + u)/256·2 − 1.
 * Returns an [n, size, size, 1] dataset and the per-image offsets.
 *
 * @example
 *   const mnist32 = base32(loadMnistRaw('train'), { seed: 0 });
 */
export function base32(raw: RawImages, options: Base32Options = {}): ImageDataset & { offsets: Float32Array } {
  const size = options.size ?? 32;
  const rng = new Random(options.seed ?? 0);
  const [n, h, w] = raw.shape;
  const bytes = resizeAndCropU8(raw.pixels, n, h, w, size);
  const pixelsPerImage = size * size;
  const images = new Float32Array(n * pixelsPerImage);
  const offsets = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.fround(rng.uniform());
    offsets[i] = u;
    const base = i * pixelsPerImage;
    for (let p = 0; p < pixelsPerImage; p++) images[base + p] = ((bytes[base + p]! + u) / 256) * 2 - 1;
  }
  return {
    name: options.name ?? `${raw.name}@${size}`,
    images,
    shape: [n, size, size, 1],
    labels: raw.labels,
    classNames: [...raw.classNames],
    valueRange: [-1, 1],
    offsets,
  };
}
