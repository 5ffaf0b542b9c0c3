// Held-out images of an image folder (docs/data.md "Held-out images"): a `test/` sub-folder, a
// `train/` + `test/` layout, data.testFolder, or a seeded held-out fraction; the parts never
// overlap, the dataset names say which images they are, the analyses take the held-out part,
// and a pair file's entries naming held-out images are skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_DATA_CONFIG, folderSplit, loadData } from '../../src/pipeline/data-spec.ts';
import { analysisImages } from '../../src/pipeline/analysis-loader.ts';
import { parsePairFile } from '../../src/pipeline/pair-file.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-split-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

async function folder(dir: string, classes: Record<string, number>): Promise<void> {
  for (const [cls, count] of Object.entries(classes)) {
    mkdirSync(join(dir, cls), { recursive: true });
    for (let i = 0; i < count; i++) {
      await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 20 * i, g: cls.length * 30, b: 100 } } }).png().toFile(join(dir, cls, `${i}.png`));
    }
  }
}

const config = (over: Partial<typeof DEFAULT_DATA_CONFIG>) => ({ ...DEFAULT_DATA_CONFIG, dataset: 'folder', size: 8, ...over });

test('a seeded fraction is held out: disjoint, reproducible, named; the analyses take it', async () => {
  const dir = join(root, 'plain');
  await folder(dir, { cats: 10, dogs: 10 });
  const a = await folderSplit(config({ folder: dir, testFraction: 0.25, testSeed: 3 }));
  const b = await folderSplit(config({ folder: dir, testFraction: 0.25, testSeed: 3 }));
  assert.equal(a.test.shape[0], 5);
  assert.equal(a.train.shape[0], 15);
  assert.deepEqual(a.test.files, b.test.files);
  assert.equal(a.train.files.filter((f) => a.test.files.includes(f)).length, 0);
  assert.deepEqual(a.train.heldOut, a.test.files);
  assert.match(a.test.name, /held-out 25 %, seed 3/);
  const other = await folderSplit(config({ folder: dir, testFraction: 0.25, testSeed: 4 }));
  assert.notDeepEqual(other.test.files, a.test.files);
  const loaded = await loadData(config({ folder: dir, testFraction: 0.25, testSeed: 3 }));
  assert.equal(loaded.train.shape[0], 15);
  assert.equal(loaded.test!.shape[0], 5);
  const analysed = await analysisImages(config({ folder: dir, testFraction: 0.25, testSeed: 3 }), 3);
  assert.equal(analysed.shape[0], 3);
  assert.match(analysed.name, /held-out/);
  const none = await analysisImages(config({ folder: dir, testFraction: 0 }), 4);
  assert.match(none.name, /training images: no held-out split/);
  await assert.rejects(folderSplit(config({ folder: dir, testFraction: 1 })), /data.testFraction must be in \[0, 1\), got 1/);
  // A run config from before folders had a split (no testFraction key) trained on every image.
  const { testFraction: _f, ...old } = config({ folder: dir });
  assert.equal((await folderSplit(old as never)).train.shape[0], 20);
});

test('a test/ sub-folder, a train/ + test/ layout and data.testFolder are held out as they are', async () => {
  const dir = join(root, 'inner');
  await folder(dir, { cats: 4, dogs: 3 });
  await folder(join(dir, 'test'), { dogs: 2 });
  const s = await folderSplit(config({ folder: dir }));
  assert.deepEqual(s.train.classNames, ['cats', 'dogs']);
  assert.equal(s.train.shape[0], 7);
  assert.equal(s.test.shape[0], 2);
  assert.deepEqual(Array.from(s.test.labels), [1, 1], 'labels by class name of the training part');
  assert.match(s.test.name, /test\/ sub-folder/);
  const tt = join(root, 'tt');
  await folder(join(tt, 'train'), { a: 3, b: 3 });
  await folder(join(tt, 'test'), { a: 1, b: 1 });
  const t = await folderSplit(config({ folder: tt }));
  assert.deepEqual([t.train.shape[0], t.test.shape[0]], [6, 2]);
  const explicit = await folderSplit(config({ folder: join(root, 'plain'), testFolder: join(dir, 'test') }));
  assert.deepEqual([explicit.train.shape[0], explicit.test.shape[0]], [20, 2]);
  assert.match(explicit.test.name, /data.testFolder/);
  await assert.rejects(folderSplit(config({ folder: join(tt, 'train'), testFolder: join(root, 'plain') })), /class folder\(s\) cats, dogs are not classes of the training images/);
});

test('pair-file entries naming held-out images are skipped, not trained on', () => {
  const spec = parsePairFile({ attributes: { 'x/1.png': { c: 1 }, 'x/2.png': { c: 1 }, 'x/3.png': { c: 2 } } }, ['x/1.png', 'x/2.png'], 'pairs.json', ['x/3.png']);
  assert.deepEqual(spec.factors, ['c']);
  const pairs = parsePairFile({ pairs: [{ a: 'x/1.png', b: 'x/2.png', factor: 'c' }, { a: 'x/1.png', b: 'x/3.png', factor: 'c' }] }, ['x/1.png', 'x/2.png'], 'pairs.json', ['x/3.png']);
  assert.equal(pairs.pairs!.length, 1);
});
