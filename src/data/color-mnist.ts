/**
 * ColorMNIST (browser-safe; plain typed-array loops, no tf).
 *
 * Variant `reference` — exactly `iin/data.py::ColorfulMNIST*` (digest §4.3, §5.1): MNIST →
 * Base32 (bilinear resize 28→32, one dequantisation offset per image, [-1, 1]) → multiply by one
 * colour c ~ U[0,1]³ per image. The background (≈ −1) becomes −c and the stroke (≈ +1) becomes +c;
 * in [0, 1] display terms bg = (1 − c)/2, stroke = (1 + c)/2. One colour drives both.
 *
 * Variant `fgbg` — the paper's description (§4: "both background and foreground have random,
 * independent colors"): foreground f and background b ~ U[0,1]³ independently per image, in [0, 1]
 * display terms; with t = (v + u)/256 the dequantised grey level in [0, 1),
 * x = 2·(b + t·(f − b)) − 1, so the background is 2b − 1 and the stroke ≈ 2f − 1. Factors: digit,
 * foreground colour, background colour.
 *
 * Draw order (one `Random(seed)`), per image in index order: the offset u, then c (reference) or
 * f then b (fgbg). The test split is frozen by its seed (default 1, as the reference's
 * `RandomState(1)`); the reference re-draws colours and offsets on every access during training,
 * which `recolorColorMnist` reproduces per epoch.
 */
import { Random } from '../engine/random.ts';
import type { ImageDataset, RawImages } from './dataset.ts';
import { resizeAndCropU8 } from './preprocess.ts';

export type ColorMnistVariant = 'reference' | 'fgbg';

/** Seed that freezes the test split (the reference uses `np.random.RandomState(1)`). */
export const COLOR_MNIST_TEST_SEED = 1;

export interface ColorMnistDataset extends ImageDataset {
  variant: ColorMnistVariant;
  /** The resized 32×32 grey digits as bytes, [n, size, size], before dequantisation and colour. */
  digits: Uint8Array;
  /** Dequantisation offset u ∈ [0, 1) per image. */
  offsets: Float32Array;
  /** `reference`: colour c per image, [n·3] in [0, 1]; `fgbg`: null. */
  colors: Float32Array | null;
  /** `fgbg`: stroke colour per image, [n·3] in [0, 1] display terms; `reference`: null. */
  foreground: Float32Array | null;
  /** `fgbg`: background colour per image, [n·3] in [0, 1] display terms; `reference`: null. */
  background: Float32Array | null;
  /** The factors the pair samplers use, in order, residual excluded. */
  factorNames: string[];
  /** Seed the colours and offsets were drawn with. */
  seed: number;
}

export interface ColorMnistOptions {
  /** `reference` (one colour, the released code) or `fgbg` (independent fg/bg colours, the paper). */
  variant?: ColorMnistVariant;
  /** Seed of offsets and colours. Default 0; use COLOR_MNIST_TEST_SEED for the frozen test split. */
  seed?: number;
  /** Side length (the reference: 32). */
  size?: number;
  /** Dataset name; default `color<raw name>` plus `-fgbg` for that variant. */
  name?: string;
}

/**
 * Renders one ColorMNIST image into `out` at `outOffset` (size·size·3 values, HWC).
 * `colorA` is c (reference) or the foreground f (fgbg); `colorB` is the background (fgbg only).
 */
export function renderColorMnistImage(
  digits: Uint8Array,
  index: number,
  size: number,
  variant: ColorMnistVariant,
  offset: number,
  colorA: ArrayLike<number>,
  colorB: ArrayLike<number> | null,
  out: Float32Array,
  outOffset: number,
): void {
  const pixels = size * size;
  const src = index * pixels;
  let dst = outOffset;
  if (variant === 'reference') {
    const c0 = colorA[0]!, c1 = colorA[1]!, c2 = colorA[2]!;
    for (let p = 0; p < pixels; p++) {
      const g = ((digits[src + p]! + offset) / 256) * 2 - 1;
      out[dst++] = g * c0;
      out[dst++] = g * c1;
      out[dst++] = g * c2;
    }
  } else {
    if (colorB === null) throw new Error('renderColorMnistImage: the fgbg variant needs a background colour');
    const f0 = colorA[0]!, f1 = colorA[1]!, f2 = colorA[2]!;
    const b0 = colorB[0]!, b1 = colorB[1]!, b2 = colorB[2]!;
    for (let p = 0; p < pixels; p++) {
      const t = (digits[src + p]! + offset) / 256;
      out[dst++] = 2 * (b0 + t * (f0 - b0)) - 1;
      out[dst++] = 2 * (b1 + t * (f1 - b1)) - 1;
      out[dst++] = 2 * (b2 + t * (f2 - b2)) - 1;
    }
  }
}

function drawAndRender(ds: ColorMnistDataset, rng: Random): void {
  const n = ds.shape[0];
  const size = ds.shape[1];
  const perImage = size * size * 3;
  for (let i = 0; i < n; i++) {
    const u = Math.fround(rng.uniform()); // as stored, so images can be re-rendered from `offsets`
    ds.offsets[i] = u;
    if (ds.variant === 'reference') {
      const c = ds.colors!.subarray(3 * i, 3 * i + 3);
      c[0] = rng.uniform();
      c[1] = rng.uniform();
      c[2] = rng.uniform();
      renderColorMnistImage(ds.digits, i, size, 'reference', u, c, null, ds.images, i * perImage);
    } else {
      const f = ds.foreground!.subarray(3 * i, 3 * i + 3);
      const b = ds.background!.subarray(3 * i, 3 * i + 3);
      f[0] = rng.uniform();
      f[1] = rng.uniform();
      f[2] = rng.uniform();
      b[0] = rng.uniform();
      b[1] = rng.uniform();
      b[2] = rng.uniform();
      renderColorMnistImage(ds.digits, i, size, 'fgbg', u, f, b, ds.images, i * perImage);
    }
  }
}

/**
 * Builds ColorMNIST from raw MNIST (60k images: about a second).
 *
 * @example
 *   const test = buildColorMnist(loadMnistRaw('test'), { seed: COLOR_MNIST_TEST_SEED });
 *   const fgbg = buildColorMnist(loadMnistRaw('train'), { variant: 'fgbg', seed: 7 });
 */
export function buildColorMnist(raw: RawImages, options: ColorMnistOptions = {}): ColorMnistDataset {
  const variant = options.variant ?? 'reference';
  if (variant !== 'reference' && variant !== 'fgbg') {
    throw new Error(`ColorMNIST: unknown variant '${String(variant)}' (use 'reference' or 'fgbg')`);
  }
  const size = options.size ?? 32;
  const seed = options.seed ?? 0;
  const [n, h, w] = raw.shape;
  const digits = resizeAndCropU8(raw.pixels, n, h, w, size);
  const ds: ColorMnistDataset = {
    name: options.name ?? `color${raw.name}${variant === 'fgbg' ? '-fgbg' : ''}`,
    images: new Float32Array(n * size * size * 3),
    shape: [n, size, size, 3],
    labels: raw.labels,
    classNames: [...raw.classNames],
    valueRange: [-1, 1],
    variant,
    digits,
    offsets: new Float32Array(n),
    colors: variant === 'reference' ? new Float32Array(n * 3) : null,
    foreground: variant === 'fgbg' ? new Float32Array(n * 3) : null,
    background: variant === 'fgbg' ? new Float32Array(n * 3) : null,
    factorNames: variant === 'reference' ? ['digit', 'color'] : ['digit', 'foreground', 'background'],
    seed,
  };
  drawAndRender(ds, new Random(seed));
  return ds;
}

/**
 * Redraws every offset and colour in place from `seed` (no reallocation): the reference's
 * training set draws fresh colours at every access, so a trainer calls this once per epoch.
 */
export function recolorColorMnist(ds: ColorMnistDataset, seed: number): void {
  ds.seed = seed;
  drawAndRender(ds, new Random(seed));
}
