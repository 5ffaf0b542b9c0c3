import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { validateDataset } from '../../src/data/dataset.ts';
import { loadImageFolder, type ImageFolderProgress } from '../../src/data/image-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-images-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** A width×height RGB image whose left, middle and right thirds are red, green and blue. */
async function stripes(path: string, width: number, height: number, format: 'png' | 'jpeg'): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const third = Math.floor((3 * x) / width);
      data[(y * width + x) * 3 + third] = 255;
    }
  }
  const image = sharp(data, { raw: { width, height, channels: 3 } });
  await (format === 'png' ? image.png() : image.jpeg({ quality: 95 })).toFile(path);
}

async function solid(path: string, rgb: [number, number, number], format: 'png' | 'jpeg'): Promise<void> {
  const image = sharp({ create: { width: 20, height: 12, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
  await (format === 'png' ? image.png() : image.jpeg()).toFile(path);
}

test('labels come from sub-folder names; images are resized, centre-cropped and scaled', async () => {
  const dir = join(root, 'labelled');
  mkdirSync(join(dir, 'cats'), { recursive: true });
  mkdirSync(join(dir, 'dogs', 'nested'), { recursive: true });
  await stripes(join(dir, 'cats', 'wide.png'), 90, 30, 'png');
  await solid(join(dir, 'cats', 'white.PNG'), [255, 255, 255], 'png');
  await solid(join(dir, 'dogs', 'nested', 'black.jpg'), [0, 0, 0], 'jpeg');
  await solid(join(dir, 'loose.jpeg'), [255, 0, 0], 'jpeg');
  writeFileSync(join(dir, 'dogs', 'notes.txt'), 'not an image');
  const events: ImageFolderProgress[] = [];
  const ds = await loadImageFolder(dir, { size: 8, onProgress: (e) => events.push(e) });
  validateDataset(ds);
  assert.deepEqual(ds.classNames, ['cats', 'dogs']);
  assert.deepEqual(ds.files, ['cats/white.PNG', 'cats/wide.png', 'dogs/nested/black.jpg', 'loose.jpeg']);
  assert.deepEqual(Array.from(ds.labels), [0, 0, 1, -1]);
  assert.deepEqual(ds.skipped, ['dogs/notes.txt']);
  assert.deepEqual(ds.shape, [4, 8, 8, 3]);
  assert.deepEqual(events.map((e) => e.done), [1, 2, 3, 4]);
  const pixel = (i: number, y: number, x: number): number[] => Array.from(ds.images.subarray(((i * 8 + y) * 8 + x) * 3, ((i * 8 + y) * 8 + x) * 3 + 3));
  assert.deepEqual(pixel(0, 3, 3), [1, 1, 1]);
  // The 90×30 stripes become 24×8 and the centre 8×8 crop is the green third.
  for (const x of [1, 4, 6]) {
    const [r, g, b] = pixel(1, 4, x);
    assert.ok(r! < -0.9 && g! > 0.9 && b! < -0.9, `pixel (4, ${x}) = ${[r, g, b]}`);
  }
  assert.ok(pixel(2, 2, 2).every((v) => v < -0.95));
  const unit = await loadImageFolder(dir, { size: [6, 10], valueRange: [0, 1], channels: 1 });
  assert.deepEqual(unit.shape, [4, 6, 10, 1]);
  assert.ok(unit.images.every((v) => v >= 0 && v <= 1));
});

test('a folder without sub-folders is unlabelled; corrupt, empty and missing folders give clear errors', async () => {
  const flat = join(root, 'flat');
  mkdirSync(flat);
  await solid(join(flat, 'a.png'), [10, 20, 30], 'png');
  const ds = await loadImageFolder(flat, { size: 4 });
  assert.deepEqual(ds.classNames, []);
  assert.deepEqual(Array.from(ds.labels), [-1]);

  const corrupt = join(root, 'corrupt');
  mkdirSync(join(corrupt, 'x'), { recursive: true });
  writeFileSync(join(corrupt, 'x', 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\n this is not really a png'));
  await assert.rejects(loadImageFolder(corrupt, { size: 4 }), (e: Error) => e.message.includes(join(corrupt, 'x', 'broken.png')) && /cannot decode image/.test(e.message));

  const empty = join(root, 'empty');
  mkdirSync(join(empty, 'cls'), { recursive: true });
  writeFileSync(join(empty, 'cls', 'readme.md'), '');
  await assert.rejects(loadImageFolder(empty, { size: 4 }), /image folder .*empty: no images found/);
  await assert.rejects(loadImageFolder(join(root, 'absent'), { size: 4 }), /absent: does not exist/);
  await assert.rejects(loadImageFolder(flat, { size: 0 }), /size must be positive integers/);
});
