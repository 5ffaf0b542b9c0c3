import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, parseIdx } from '../../src/data/idx.ts';
import { readIdxFile } from '../../src/data/idx-node.ts';
import { readIdxPair } from '../../src/data/mnist.ts';

const dir = mkdtempSync(join(tmpdir(), 'inntrospect-idx-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const images = encodeIdx('uint8', [3, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
const labels = encodeIdx('uint8', [3], [0, 9, 4]);

test('a good IDX file parses; plain and gzipped files read the same', () => {
  const parsed = parseIdx(images, 'mem');
  assert.equal(parsed.type, 'uint8');
  assert.deepEqual(parsed.shape, [3, 2, 2]);
  assert.deepEqual(Array.from(parsed.data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
  writeFileSync(join(dir, 'plain-idx3-ubyte'), images);
  writeFileSync(join(dir, 'zipped-idx3-ubyte.gz'), gzipSync(images));
  assert.deepEqual(Array.from(readIdxFile(join(dir, 'plain-idx3-ubyte')).data), Array.from(parsed.data));
  assert.deepEqual(Array.from(readIdxFile(join(dir, 'zipped-idx3-ubyte.gz')).data), Array.from(parsed.data));
  const floats = parseIdx(encodeIdx('float32', [2], [1.5, -2]), 'f');
  assert.deepEqual(Array.from(floats.data), [1.5, -2]);
  const ints = parseIdx(encodeIdx('int32', [2], [-7, 70000]), 'i');
  assert.deepEqual(Array.from(ints.data), [-7, 70000]);
});

test('truncated, wrong-magic and wrong-size files give errors that name the file', () => {
  const file = (name: string, bytes: Uint8Array): string => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const truncated = file('truncated-idx3-ubyte', images.subarray(0, images.length - 3));
  assert.throws(() => readIdxFile(truncated), (e: Error) => e.message.includes(truncated) && /truncated/.test(e.message) && /needs 28/.test(e.message));
  const header = file('header-idx3-ubyte', images.subarray(0, 6));
  assert.throws(() => readIdxFile(header), (e: Error) => e.message.includes(header) && /truncated IDX header/.test(e.message));
  const magic = images.slice();
  magic[0] = 0x50;
  magic[1] = 0x4b; // a zip file, say
  const wrongMagic = file('magic-idx3-ubyte', magic);
  assert.throws(() => readIdxFile(wrongMagic), (e: Error) => e.message.includes(wrongMagic) && /not an IDX file: magic bytes 50 4b 08 03/.test(e.message));
  const badType = images.slice();
  badType[2] = 0x42;
  assert.throws(() => parseIdx(badType, 'type.idx'), /type\.idx: not an IDX file/);
  const long = new Uint8Array(images.length + 5);
  long.set(images);
  const trailing = file('long-idx3-ubyte', long);
  assert.throws(() => readIdxFile(trailing), (e: Error) => e.message.includes(trailing) && /trailing bytes/.test(e.message));
  const gz = gzipSync(images);
  const badGzip = file('bad-idx3-ubyte.gz', gz.subarray(0, gz.length - 10));
  assert.throws(() => readIdxFile(badGzip), (e: Error) => e.message.includes(badGzip) && /corrupt or truncated gzip/.test(e.message));
  assert.throws(() => readIdxFile(join(dir, 'absent')), /absent: cannot read IDX file \(no such file\)/);
  assert.throws(() => parseIdx(gz, 'raw.gz'), /raw\.gz: is gzip-compressed/);
});

test('an images/labels pair must agree in count, type and classes', () => {
  const pair = mkdtempSync(join(dir, 'pair-'));
  writeFileSync(join(pair, 'train-images-idx3-ubyte'), images);
  writeFileSync(join(pair, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
  const raw = readIdxPair(pair, 'train', 'tiny', ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  assert.deepEqual(raw.shape, [3, 2, 2]);
  assert.deepEqual(Array.from(raw.labels), [0, 9, 4]);
  assert.throws(() => readIdxPair(pair, 'train', 'tiny', ['a', 'b']), /train-labels-idx1-ubyte\.gz: label 9 at index 1 is not a class 0\.\.1/);
  writeFileSync(join(pair, 'test-labels'), labels);
  writeFileSync(join(pair, 't10k-images-idx3-ubyte'), images);
  writeFileSync(join(pair, 't10k-labels-idx1-ubyte'), encodeIdx('uint8', [2], [1, 2]));
  assert.throws(() => readIdxPair(pair, 'test', 'tiny', ['0', '1', '2']), /t10k-images-idx3-ubyte has 3 images but .*t10k-labels-idx1-ubyte has 2 labels/);
  writeFileSync(join(pair, 't10k-labels-idx1-ubyte'), encodeIdx('uint8', [3, 1], [1, 2, 0]));
  assert.throws(() => readIdxPair(pair, 'test', 'tiny', ['0', '1', '2']), /expected uint8 labels of shape \[n\], got uint8 \[3, 1\]/);
  const empty = mkdtempSync(join(dir, 'empty-'));
  assert.throws(() => readIdxPair(empty, 'train', 'tiny', ['0']), /tiny: missing file .*train-images-idx3-ubyte \(or train-images-idx3-ubyte\.gz\)/);
});
