/**
 * Image grids as PNG (Node only, via sharp): training samples in run folders. Images are NHWC
 * floats in the dataset's value range; each row of the grid is one group of images.
 */
import sharp from 'sharp';

export interface GridOptions {
  /** Value range of the pixels. Default [-1, 1]. */
  valueRange?: readonly [number, number];
  /** Pixels between tiles. Default 2. */
  gap?: number;
}

/**
 * Lays out `rows` (each a Float32Array of images [n, h, w, c]) as a grid, one row per entry.
 *
 * @example
 *   const png = await gridPng([inputs, reconstructions], [8, 32, 32, 3]);
 */
export async function gridPng(rows: Float32Array[], tileShape: [number, number, number, number], options: GridOptions = {}): Promise<Uint8Array> {
  const [n, h, w, c] = tileShape;
  if (c !== 1 && c !== 3) throw new Error(`gridPng: images must have 1 or 3 channels, got ${c}`);
  const [low, high] = options.valueRange ?? [-1, 1];
  const gap = options.gap ?? 2;
  const width = n * w + (n + 1) * gap;
  const height = rows.length * h + (rows.length + 1) * gap;
  const out = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((images, r) => {
    if (images.length !== n * h * w * c) throw new Error(`gridPng: row ${r} has ${images.length} values, expected ${n}×${h}×${w}×${c}`);
    for (let k = 0; k < n; k++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const px = ((gap + r * (h + gap) + y) * width + gap + k * (w + gap) + x) * 3;
          const src = ((k * h + y) * w + x) * c;
          for (let ch = 0; ch < 3; ch++) {
            const v = images[src + (c === 1 ? 0 : ch)]!;
            out[px + ch] = Math.max(0, Math.min(255, Math.round(((v - low) / (high - low)) * 255)));
          }
        }
      }
    }
  });
  return new Uint8Array(await sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer());
}
