/**
 * Image grids as PNG (Node only: sharp). Rows of tiles, optional row labels on the left, column
 * labels on top and a title; tiles are enlarged by an integer factor with nearest-neighbour
 * sampling so that 32-pixel images stay sharp. Text is drawn by compositing an SVG overlay.
 */
import sharp from 'sharp';
import { tileFromImage, type Tile } from './tiles.ts';
import type { ImageArray } from '../analysis/context.ts';
import type { ValueRange } from '../data/dataset.ts';

export interface GridOptions {
  /** Integer enlargement of every tile. Default 3. */
  scale?: number;
  /** Pixels between tiles (after scaling). Default 4. */
  gap?: number;
  /** Background RGB. Default white. */
  background?: [number, number, number];
  /** Labels left of each row. */
  rowLabels?: string[];
  /** Labels above each column. */
  columnLabels?: string[];
  /** Title above everything. */
  title?: string;
  /** Font size of labels in pixels. Default 12. */
  fontSize?: number;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Lays out rows of tiles (null leaves a cell empty) and encodes a PNG.
 *
 * @example
 *   const png = await imageGridPng([[input, rec, ...samples]], { columnLabels: ['x', 'D(E(x))', 'x̄₁'] });
 *   await writeFile('samples.png', png);
 */
export async function imageGridPng(rows: readonly (readonly (Tile | null)[])[], options: GridOptions = {}): Promise<Buffer> {
  const { scale = 3, gap = 4, background = [255, 255, 255], fontSize = 12 } = options;
  if (!Number.isInteger(scale) || scale < 1) throw new Error(`imageGridPng: scale must be a positive integer, got ${scale}`);
  const tiles = rows.flat().filter((t): t is Tile => t !== null);
  if (tiles.length === 0) throw new Error('imageGridPng: no tiles');
  const cellW = Math.max(...tiles.map((t) => t.width)) * scale;
  const cellH = Math.max(...tiles.map((t) => t.height)) * scale;
  const cols = Math.max(...rows.map((r) => r.length));
  const charW = fontSize * 0.62;
  const left = options.rowLabels?.length ? Math.ceil(Math.max(...options.rowLabels.map((l) => l.length)) * charW) + 2 * gap : 0;
  const titleH = options.title ? Math.ceil(fontSize * 1.8) : 0;
  const headH = options.columnLabels?.length ? Math.ceil(fontSize * 1.6) : 0;
  const top = titleH + headH;
  const width = left + cols * cellW + (cols + 1) * gap;
  const height = top + rows.length * cellH + (rows.length + 1) * gap;
  const raw = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) raw.set(background, p * 3);
  rows.forEach((row, r) => {
    row.forEach((tile, c) => {
      if (!tile) return;
      const x0 = left + gap + c * (cellW + gap);
      const y0 = top + gap + r * (cellH + gap);
      for (let y = 0; y < tile.height * scale; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < tile.width * scale; x++) {
          const s = (sy * tile.width + Math.floor(x / scale)) * 3;
          const d = ((y0 + y) * width + x0 + x) * 3;
          raw[d] = tile.rgb[s]!;
          raw[d + 1] = tile.rgb[s + 1]!;
          raw[d + 2] = tile.rgb[s + 2]!;
        }
      }
    });
  });
  const texts: string[] = [];
  const font = `font-family="DejaVu Sans, Arial, sans-serif" font-size="${fontSize}" fill="#222"`;
  if (options.title) texts.push(`<text x="${gap}" y="${Math.round(fontSize * 1.3)}" ${font} font-weight="bold">${escapeXml(options.title)}</text>`);
  options.columnLabels?.forEach((label, c) => {
    const x = left + gap + c * (cellW + gap) + cellW / 2;
    texts.push(`<text x="${x}" y="${titleH + Math.round(fontSize * 1.2)}" ${font} text-anchor="middle">${escapeXml(label)}</text>`);
  });
  options.rowLabels?.forEach((label, r) => {
    const y = top + gap + r * (cellH + gap) + cellH / 2 + fontSize / 3;
    texts.push(`<text x="${left - gap}" y="${y}" ${font} text-anchor="end">${escapeXml(label)}</text>`);
  });
  let img = sharp(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), { raw: { width, height, channels: 3 } });
  if (texts.length > 0) {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${texts.join('')}</svg>`;
    img = img.composite([{ input: Buffer.from(svg), top: 0, left: 0 }]);
  }
  return img.png().toBuffer();
}

/**
 * Rows of images (each a Float32Array of [n, h, w, c] in `valueRange`) as a plain grid without
 * labels: the training jobs' sample sheets (reconstructions, samples, factor swaps).
 *
 * @example
 *   const png = await gridPng([inputs, reconstructions], [8, 32, 32, 3]);
 */
export async function gridPng(rows: Float32Array[], tileShape: [number, number, number, number], options: { valueRange?: ValueRange; gap?: number } = {}): Promise<Uint8Array> {
  const [n, h, w, c] = tileShape;
  if (c !== 1 && c !== 3) throw new Error(`gridPng: images must have 1 or 3 channels, got ${c}`);
  const valueRange = options.valueRange ?? [-1, 1];
  const tiles = rows.map((data, r) => {
    if (data.length !== n * h * w * c) throw new Error(`gridPng: row ${r} has ${data.length} values, expected ${n}×${h}×${w}×${c}`);
    const images: ImageArray = { data, shape: tileShape, valueRange };
    return Array.from({ length: n }, (_, i) => tileFromImage(images, i));
  });
  return imageGridPng(tiles, { scale: 1, gap: options.gap ?? 2 });
}
