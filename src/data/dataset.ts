/**
 * The common in-memory image dataset of inntrospect (browser-safe: no file IO here).
 *
 * Images are stored NHWC in one Float32Array, the layout TensorFlow.js uses, so a batch is a
 * contiguous copy. `valueRange` says what the pixel values mean: [-1, 1] is the reference code's
 * convention for every model input (digest §2.1), [0, 1] is what image classifiers such as
 * nsfwjs's MobileNetV2 expect.
 */

export type ValueRange = readonly [-1, 1] | readonly [0, 1];

export interface ImageDataset {
  /** Short name for messages and reports, e.g. `mnist/train`, `colormnist/test`. */
  name: string;
  /** Pixels, NHWC, `shape[0]·shape[1]·shape[2]·shape[3]` values. */
  images: Float32Array;
  /** [n, height, width, channels]. */
  shape: [number, number, number, number];
  /** One class index per image, or -1 where the image has no label. */
  labels: Int32Array;
  /** `classNames[label]` names a class; empty for an unlabelled dataset. */
  classNames: string[];
  /** What the pixel values mean: [-1, 1] or [0, 1]. */
  valueRange: ValueRange;
}

/** Converts `[lo, hi]` input to one of the two supported ranges, or throws. */
export function asValueRange(range: readonly number[], where: string): ValueRange {
  if (range.length === 2 && range[0] === -1 && range[1] === 1) return [-1, 1];
  if (range.length === 2 && range[0] === 0 && range[1] === 1) return [0, 1];
  throw new Error(`${where}: value range must be [-1, 1] or [0, 1], got [${range.join(', ')}]`);
}

/** Number of values of one image. */
export function imageSize(dataset: Pick<ImageDataset, 'shape'>): number {
  return dataset.shape[1] * dataset.shape[2] * dataset.shape[3];
}

/**
 * Checks that a dataset's arrays agree with its shape and labels with its class names.
 * Throws an Error naming the dataset and the first inconsistency.
 */
export function validateDataset(dataset: ImageDataset): void {
  const [n, h, w, c] = dataset.shape;
  const where = `dataset '${dataset.name}'`;
  if (![n, h, w, c].every((d) => Number.isInteger(d) && d >= 0)) {
    throw new Error(`${where}: shape must be four non-negative integers, got [${dataset.shape.join(', ')}]`);
  }
  if (dataset.images.length !== n * h * w * c) {
    throw new Error(`${where}: images hold ${dataset.images.length} values, shape [${dataset.shape.join(', ')}] needs ${n * h * w * c}`);
  }
  if (dataset.labels.length !== n) {
    throw new Error(`${where}: ${dataset.labels.length} labels for ${n} images`);
  }
  const classes = dataset.classNames.length;
  for (let i = 0; i < n; i++) {
    const label = dataset.labels[i]!;
    if (label < -1 || (label >= 0 && label >= classes)) {
      throw new Error(`${where}: image ${i} has label ${label}, but there are ${classes} class names`);
    }
  }
}

/** Count of images per class (index = label); unlabelled images (-1) are not counted. */
export function labelHistogram(dataset: Pick<ImageDataset, 'labels' | 'classNames'>): number[] {
  const counts = new Array<number>(dataset.classNames.length).fill(0);
  for (const label of dataset.labels) if (label >= 0) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}

/**
 * Images at `indices`, copied into one NHWC Float32Array (a batch), with their labels.
 *
 * @example
 *   const { images, labels, shape } = gatherImages(mnist, iterator.next().indices);
 *   const x = tf.tensor4d(images, shape);
 */
export function gatherImages(
  dataset: ImageDataset,
  indices: ArrayLike<number>,
): { images: Float32Array; labels: Int32Array; shape: [number, number, number, number] } {
  const size = imageSize(dataset);
  const n = dataset.shape[0];
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!Number.isInteger(i) || i < 0 || i >= n) {
      throw new Error(`dataset '${dataset.name}': index ${i} is outside 0..${n - 1}`);
    }
    images.set(dataset.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = dataset.labels[i]!;
  }
  return { images, labels, shape: [indices.length, dataset.shape[1], dataset.shape[2], dataset.shape[3]] };
}

/** A new dataset holding the images at `indices` (copied), e.g. a validation split. */
export function subsetDataset(dataset: ImageDataset, indices: ArrayLike<number>, name = `${dataset.name}[subset]`): ImageDataset {
  const { images, labels, shape } = gatherImages(dataset, indices);
  return { name, images, shape, labels, classNames: [...dataset.classNames], valueRange: dataset.valueRange };
}

/** Greyscale uint8 images with labels, as read from IDX files (before any preprocessing). */
export interface RawImages {
  name: string;
  /** Pixel bytes, NHW (one channel). */
  pixels: Uint8Array;
  /** [n, height, width]. */
  shape: [number, number, number];
  labels: Int32Array;
  classNames: string[];
}

/**
 * Raw uint8 images as an ImageDataset without resizing or dequantisation:
 * [-1, 1] maps byte v to v/127.5 − 1 (edflow's MNIST convention), [0, 1] to v/255.
 */
export function rawToDataset(raw: RawImages, valueRange: ValueRange = [-1, 1]): ImageDataset {
  const images = new Float32Array(raw.pixels.length);
  const [scale, offset] = valueRange[0] === -1 ? [1 / 127.5, -1] : [1 / 255, 0];
  for (let i = 0; i < images.length; i++) images[i] = raw.pixels[i]! * scale + offset;
  return {
    name: raw.name,
    images,
    shape: [raw.shape[0], raw.shape[1], raw.shape[2], 1],
    labels: raw.labels,
    classNames: [...raw.classNames],
    valueRange,
  };
}

/**
 * `count` indices spread over the labels: a seeded shuffle within each label, then one of each
 * label in turn (unlabelled images, -1, form one more group), so a folder sorted by class still
 * shows every class. Fewer than `count` only when there are fewer images.
 *
 * @example
 *   spreadOverLabels(Int32Array.from([0, 0, 0, 1, 1, 1]), 4, 0);   // two of each label, e.g. [2, 4, 0, 5]
 */
export function spreadOverLabels(labels: ArrayLike<number>, count: number, seed: number): number[] {
  const groups = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!groups.has(l)) groups.set(l, []);
    groups.get(l)!.push(i);
  }
  // Seeded Fisher–Yates per group (xorshift32, so this stays independent of the engine).
  let state = (seed >>> 0) || 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  const lists = [...groups.keys()].sort((a, b) => a - b).map((k) => {
    const g = groups.get(k)!;
    for (let i = g.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [g[i], g[j]] = [g[j]!, g[i]!];
    }
    return g;
  });
  const out: number[] = [];
  for (let round = 0; out.length < Math.min(count, labels.length); round++) {
    for (const g of lists) if (round < g.length && out.length < count) out.push(g[round]!);
  }
  return out;
}

/** The images at `indices`, in that order, as a dataset of their own. */
export function subsetImages(ds: ImageDataset, indices: readonly number[]): ImageDataset {
  const [, h, w, c] = ds.shape;
  const size = h * w * c;
  const images = new Float32Array(indices.length * size);
  indices.forEach((idx, k) => images.set(ds.images.subarray(idx * size, (idx + 1) * size), k * size));
  return { ...ds, images, shape: [indices.length, h, w, c], labels: Int32Array.from(indices, (i) => ds.labels[i]!) };
}
