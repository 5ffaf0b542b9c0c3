/**
 * Image grids as PNG (Node only: sharp). Rows of tiles, optional row labels on the left, column
 * labels on top and a title; tiles are enlarged by an integer factor with nearest-neighbour
 * sampling so that 32-pixel images stay sharp. Text is drawn by compositing an SVG overlay.
 */
import sharp from 'sharp';
import type { Tile } from './tiles.ts';

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
