/**
 * Image tiles for figures: RGB bytes from images in a value range, heat maps from per-pixel
 * values (the variance maps of Fig. 3). Browser-safe; `image-grid.ts` lays tiles out and encodes
 * the PNG with sharp (Node).
 */
import type { ImageArray } from '../analysis/context.ts';

/** An RGB image, 8 bits per channel, row-major. */
export interface Tile {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Image `index` of an array as a tile (grey images are repeated to RGB). */
export function tileFromImage(images: ImageArray, index: number): Tile {
  const [n, h, w, c] = images.shape;
  if (!(index >= 0 && index < n)) throw new Error(`tileFromImage: index ${index} is outside 0..${n - 1}`);
  const [lo, hi] = images.valueRange;
  const rgb = new Uint8Array(h * w * 3);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) {
      const v = images.data[base + p * c + (c === 1 ? 0 : k)]!;
      rgb[p * 3 + k] = Math.round(Math.min(1, Math.max(0, (v - lo) / (hi - lo))) * 255);
    }
  }
  return { width: w, height: h, rgb };
}

// Anchors of a perceptually ordered dark-to-bright colour map (black → purple → orange → yellow).
const HEAT: [number, number, number][] = [[0, 0, 4], [59, 15, 112], [140, 41, 129], [222, 73, 104], [254, 159, 109], [252, 253, 191]];

/** A colour for t ∈ [0, 1] on the heat map. */
export function heatColor(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (HEAT.length - 1);
  const i = Math.min(HEAT.length - 2, Math.floor(x));
  const f = x - i;
  const a = HEAT[i]!;
  const b = HEAT[i + 1]!;
  return [Math.round(a[0] + f * (b[0] - a[0])), Math.round(a[1] + f * (b[1] - a[1])), Math.round(a[2] + f * (b[2] - a[2]))];
}

/**
 * Map `index` of [n, h, w] values as a heat-map tile, scaled to [0, max] (default: the largest
 * value of that map; pass one max for several maps to compare them).
 */
export function tileFromHeatmap(values: Float32Array, shape: readonly [number, number, number], index: number, max?: number): Tile {
  const [, h, w] = shape;
  const base = index * h * w;
  let top = max ?? 0;
  if (max === undefined) for (let p = 0; p < h * w; p++) top = Math.max(top, values[base + p]!);
  const rgb = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    const [r, g, b] = heatColor(top > 0 ? values[base + p]! / top : 0);
    rgb[p * 3] = r;
    rgb[p * 3 + 1] = g;
    rgb[p * 3 + 2] = b;
  }
  return { width: w, height: h, rgb };
}
