/**
 * Checks a folder of the user's images before it is decoded (Node only): every file that cannot
 * be read is listed in one error (not just the first), and images with other channel counts
 * than the rest (grey among colour, alpha) are counted in a note, since they are converted.
 */
import sharp, { type Metadata } from 'sharp';
import { listImageFolder } from '../data/node.ts';

export interface FolderReport {
  files: number;
  /** Files per kind: 'grey', 'grey+alpha', 'rgb', 'rgb+alpha', 'cmyk', … */
  kinds: Record<string, string[]>;
  /** Sizes seen, 'W×H' → count. */
  sizes: Record<string, number>;
}

function kindOf(meta: Metadata): string {
  const space = meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) <= 2 ? 'grey' : meta.space === 'cmyk' ? 'cmyk' : 'rgb';
  return meta.hasAlpha ? `${space}+alpha` : space;
}

/**
 * Reads each image's header. Throws one error naming every unreadable file and what to do.
 *
 * @example
 *   const r = await checkImageFolder('photos/');   // r.kinds.grey lists the grey images
 */
export async function checkImageFolder(dir: string): Promise<FolderReport> {
  const { files } = listImageFolder(dir);
  const kinds: Record<string, string[]> = {};
  const sizes: Record<string, number> = {};
  const bad: string[] = [];
  for (const file of files) {
    try {
      const meta = await sharp(file, { failOn: 'error' }).metadata();
      if (!meta.width || !meta.height) throw new Error('no image size in the header');
      (kinds[kindOf(meta)] ??= []).push(file);
      const size = `${meta.width}×${meta.height}`;
      sizes[size] = (sizes[size] ?? 0) + 1;
    } catch (error) {
      bad.push(`${file} (${(error as Error).message.split('\n')[0]})`);
    }
  }
  if (bad.length > 0) {
    throw new Error(`image folder ${dir}: ${bad.length} of ${files.length} files cannot be read as images; remove or re-save them (PNG/JPEG/WebP):\n  ${bad.join('\n  ')}`);
  }
  return { files: files.length, kinds, sizes };
}

/** A one-line note about conversions, or null when every image is plain RGB. */
export function conversionNote(dir: string, report: FolderReport, channels: 1 | 3): string | null {
  const parts: string[] = [];
  for (const [kind, list] of Object.entries(report.kinds)) {
    const target = channels === 3 ? 'rgb' : 'grey';
    if (kind === target) continue;
    const what = kind.endsWith('+alpha') && kind.startsWith(target) ? 'alpha dropped' : `converted to ${channels === 3 ? 'RGB' : 'grey'}${kind.endsWith('+alpha') ? ', alpha dropped' : ''}`;
    parts.push(`${list.length} ${kind} image${list.length === 1 ? '' : 's'} ${what} (e.g. ${list[0]})`);
  }
  return parts.length ? `image folder ${dir}: mixed channel counts: ${parts.join('; ')}` : null;
}
