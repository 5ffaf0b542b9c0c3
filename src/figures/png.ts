/** SVG → PNG with sharp (Node only). */
import sharp from 'sharp';

/** Rasterises an SVG string at `density` dpi (72 = 1 px per SVG unit; default 144, i.e. 2×). */
export async function svgToPng(svg: string, density = 144): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density }).flatten({ background: '#ffffff' }).png().toBuffer();
}
