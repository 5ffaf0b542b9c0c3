/**
 * A folder of the user's own images as an ImageDataset (Node only; decoding with `sharp`).
 *
 * Layout: `dir/<class>/<image>` gives labelled images, classes sorted by folder name (as
 * torchvision's ImageFolder); image files directly in `dir` are unlabelled (label −1). Without
 * sub-folders every image is unlabelled and `classNames` is empty. Files: .png, .jpg, .jpeg,
 * .webp (case-insensitive); other files are skipped and counted.
 *
 * Each image is converted to sRGB (or grey for 1 channel), alpha dropped, resized so that it
 * covers height×width with its aspect ratio kept, and centre-cropped (sharp's `fit: 'cover'`,
 * default Lanczos-3 kernel), then scaled to the value range.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import type { ImageDataset, ValueRange } from './dataset.ts';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

export interface ImageFolderProgress {
  type: 'image';
  /** Images decoded so far. */
  done: number;
  total: number;
  file: string;
}

export interface ImageFolderOptions {
  /** Output size: one number for a square, or [height, width]. */
  size: number | [number, number];
  /** 3 (RGB, default) or 1 (grey). */
  channels?: 1 | 3;
  /** Value range (default [-1, 1]); [0, 1] for classifiers trained that way (e.g. nsfwjs). */
  valueRange?: ValueRange;
  /** Called after each decoded image. */
  onProgress?: (event: ImageFolderProgress) => void;
  /** Top-level sub-folders to leave out (a held-out split inside the folder). */
  exclude?: string[];
}

export interface ImageFolderDataset extends ImageDataset {
  /** Path of each image relative to the folder. */
  files: string[];
  /** Files skipped because of their extension. */
  skipped: string[];
}

function isImage(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/**
 * Whether `path` (named like an image) is a regular file; a FIFO, socket or device would block
 * or never end when read, so it is an error naming the file.
 */
function checkRegular(dir: string, path: string): void {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new Error(`image folder ${dir}: ${path} cannot be read (a broken link?); remove it or fix it`);
  }
  if (stat.isFile()) return;
  const kind = stat.isFIFO() ? 'a FIFO (named pipe)' : stat.isSocket() ? 'a socket' : stat.isCharacterDevice() || stat.isBlockDevice() ? 'a device' : 'not a file';
  throw new Error(`image folder ${dir}: ${path} is ${kind}, not an image file; remove it or move it out of the folder`);
}

/**
 * Lists images under `dir` with labels from sub-folder names (no decoding); top-level
 * sub-folders named in `exclude` (e.g. a held-out `test/`) are left out.
 */
export function listImageFolder(dir: string, exclude: readonly string[] = []): { files: string[]; labels: number[]; classNames: string[]; skipped: string[] } {
  if (!existsSync(dir)) throw new Error(`image folder ${dir}: does not exist`);
  if (!statSync(dir).isDirectory()) throw new Error(`image folder ${dir}: is not a folder`);
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  const classNames: string[] = [];
  const walk = (folder: string, label: number): void => {
    for (const e of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const path = join(folder, e.name);
      if (e.isDirectory()) walk(path, label);
      else if (isImage(e.name)) {
        checkRegular(dir, path);
        files.push(path);
        labels.push(label);
      } else skipped.push(path);
    }
  };
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith('.') && !exclude.includes(e.name)) {
      classNames.push(e.name);
      walk(join(dir, e.name), classNames.length - 1);
    }
  }
  for (const e of entries) {
    if (e.isDirectory()) continue;
    if (isImage(e.name)) {
      checkRegular(dir, join(dir, e.name));
      files.push(join(dir, e.name));
      labels.push(-1);
    } else if (e.isFile()) skipped.push(join(dir, e.name));
  }
  if (files.length === 0) {
    throw new Error(`image folder ${dir}: no images found (looked for ${IMAGE_EXTENSIONS.join(', ')} in it and its sub-folders)`);
  }
  return { files, labels, classNames, skipped };
}

/**
 * Decodes one image file to `channels` channels at height×width (cover + centre crop),
 * returned as bytes, HWC.
 */
export async function decodeImageFile(file: string, height: number, width: number, channels: 1 | 3): Promise<Uint8Array> {
  let data: Buffer;
  let info: OutputInfo;
  try {
    let pipeline = sharp(file, { failOn: 'error' }).rotate().resize(width, height, { fit: 'cover', position: 'centre' });
    pipeline = channels === 1 ? pipeline.greyscale() : pipeline.toColourspace('srgb');
    ({ data, info } = await pipeline.removeAlpha().raw().toBuffer({ resolveWithObject: true }));
  } catch (error) {
    throw new Error(`${file}: cannot decode image (${(error as Error).message})`);
  }
  if (info.width !== width || info.height !== height) {
    throw new Error(`${file}: decoded to ${info.width}×${info.height}, expected ${width}×${height}`);
  }
  if (info.channels === channels) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (info.channels === 1 && channels === 3) {
    const out = new Uint8Array(height * width * 3);
    for (let p = 0; p < height * width; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = data[p]!;
    return out;
  }
  throw new Error(`${file}: decoded to ${info.channels} channels, expected ${channels}`);
}

/**
 * @example
 *   const ds = await loadImageFolder('photos/', { size: 224, valueRange: [0, 1] });
 *   ds.classNames;   // ['cats', 'dogs'] from photos/cats/*.jpg, photos/dogs/*.png
 */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolderDataset> {
  const [height, width] = typeof options.size === 'number' ? [options.size, options.size] : options.size;
  if (![height, width].every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`image folder ${dir}: size must be positive integers, got ${JSON.stringify(options.size)}`);
  }
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new Error(`image folder ${dir}: channels must be 1 or 3, got ${String(channels)}`);
  const valueRange = options.valueRange ?? [-1, 1];
  const { files, labels, classNames, skipped } = listImageFolder(dir, options.exclude);
  const per = height * width * channels;
  const images = new Float32Array(files.length * per);
  const [scale, offset] = valueRange[0] === -1 ? [1 / 127.5, -1] : [1 / 255, 0];
  for (let k = 0; k < files.length; k++) {
    const bytes = await decodeImageFile(files[k]!, height, width, channels);
    const base = k * per;
    for (let p = 0; p < per; p++) images[base + p] = bytes[p]! * scale + offset;
    options.onProgress?.({ type: 'image', done: k + 1, total: files.length, file: files[k]! });
  }
  return {
    name: `folder:${dir}`,
    images,
    shape: [files.length, height, width, channels],
    labels: Int32Array.from(labels),
    classNames,
    valueRange,
    files: files.map((f) => relative(dir, f)),
    skipped: skipped.map((f) => relative(dir, f)),
  };
}
