/**
 * Pair samplers for the semantic INN e (IIN; digest §4.3), browser-safe.
 *
 * A pair (x_a, x_b) comes with the index F of the factor the two images share; the factor list
 * ends with the residual (never shared), as the IIN loss expects.
 *
 * - ColorMNIST `reference` (factors digit | color | residual, as `iin/data.py::ColorfulMNISTBase`):
 *   with probability ½ factor digit: b is a uniformly drawn image of a's digit class and the two
 *   colours are independent; otherwise factor color: b is any image (it may show the same digit)
 *   and c_b = c_a.
 * - ColorMNIST `fgbg` (digit | foreground | background | residual): each factor with probability ⅓;
 *   digit: same class, all colours independent; foreground: any image, f_b = f_a, b_b independent;
 *   background: any image, b_b = b_a, f_b independent.
 * - Any labelled dataset (label | residual): b is a uniformly drawn image with a's label.
 *
 * Anchors a come from a `BatchIterator` (a permutation per epoch). In `fresh` mode (training, as
 * the reference's train split) colours and dequantisation offsets are drawn anew for every image
 * of every pair; in `frozen` mode (the test split) each anchor i always gives the same pair:
 * factor and partner come from `Random(frozenSeed)` drawn once, and images keep the dataset's own
 * colours and offsets (the reference's `ColorfulMNISTTest`). Samplers are resumable: `state()`
 * holds the iterator state and the generator state.
 */
import { Random, type RandomState } from '../engine/random.ts';
import { BatchIterator, type BatchIteratorState } from './batches.ts';
import { COLOR_MNIST_TEST_SEED, renderColorMnistImage, type ColorMnistDataset } from './color-mnist.ts';
import { imageSize, type ImageDataset } from './dataset.ts';

/** One side of a batch of pairs. */
export interface PairSide {
  /** NHWC images. */
  images: Float32Array;
  /** Dataset index of each image. */
  indices: Int32Array;
  /** Class label of each image. */
  labels: Int32Array;
  /** ColorMNIST reference: c per image [B·3]. */
  colors?: Float32Array;
  /** ColorMNIST fgbg: foreground per image [B·3]. */
  foreground?: Float32Array;
  /** ColorMNIST fgbg: background per image [B·3]. */
  background?: Float32Array;
}

export interface PairBatch {
  a: PairSide;
  b: PairSide;
  /** Index into `factorNames` of the factor each pair shares. */
  factors: Int32Array;
  /** Shape of `a.images` and `b.images`: [B, h, w, c]. */
  shape: [number, number, number, number];
  epoch: number;
  step: number;
}

export interface PairSamplerState {
  kind: string;
  iterator: BatchIteratorState;
  rng: RandomState;
}

export interface PairSamplerOptions {
  /** Pairs per batch. */
  batchSize: number;
  /** Seed of the anchor order and, in fresh mode, of partners, colours and offsets. */
  seed: number;
  /** `fresh` (training; default) or `frozen` (test split: the same pair for the same anchor). */
  mode?: 'fresh' | 'frozen';
  /** Frozen mode: seed of the per-anchor factor and partner (default 1, as the reference). */
  frozenSeed?: number;
  /** Shuffle anchors per epoch (default: true when fresh, false when frozen). */
  shuffle?: boolean;
}

export interface PairSampler {
  /** Factor names, residual last. */
  readonly factorNames: string[];
  /** Index of the residual factor (= factorNames.length − 1). */
  readonly residualIndex: number;
  next(): PairBatch;
  state(): PairSamplerState;
  setState(state: PairSamplerState): void;
}

/** Indices of every image of each class, for drawing a same-class partner. */
function indicesByClass(labels: Int32Array, classes: number): Int32Array[] {
  const counts = new Array<number>(classes).fill(0);
  for (const l of labels) if (l >= 0) counts[l]! += 1;
  const lists = counts.map((c) => new Int32Array(c));
  const fill = new Array<number>(classes).fill(0);
  labels.forEach((l, i) => {
    if (l >= 0) lists[l]![fill[l]!++] = i;
  });
  return lists;
}

/**
 * What every resumable pair sampler shares: a batch iterator and a random stream, both seeded
 * from `options.seed`, and their state for exact resume. Subclasses draw the pairs (`next`).
 */
export abstract class BaseSampler implements PairSampler {
  abstract readonly factorNames: string[];
  protected iterator: BatchIterator;
  protected rng: Random;
  protected abstract readonly kind: string;

  constructor(size: number, options: PairSamplerOptions) {
    const frozen = options.mode === 'frozen';
    const root = new Random(options.seed);
    this.iterator = new BatchIterator({ size, batchSize: options.batchSize, seed: root.nextUint32(), shuffle: options.shuffle ?? !frozen });
    // A second stream seeded from the root (kept as is so existing seeds give the same pairs).
    this.rng = new Random(root.nextUint32());
  }

  get residualIndex(): number {
    return this.factorNames.length - 1;
  }

  abstract next(): PairBatch;

  state(): PairSamplerState {
    return { kind: this.kind, iterator: this.iterator.state(), rng: this.rng.state() };
  }

  setState(state: PairSamplerState): void {
    if (state.kind !== this.kind) throw new Error(`pair sampler: state is for a '${state.kind}' sampler, this is '${this.kind}'`);
    this.iterator = BatchIterator.fromState(state.iterator);
    this.rng.setState(state.rng);
  }
}

function pick(rng: Random, list: Int32Array): number {
  return list[rng.int(list.length)]!;
}

class ColorMnistPairSampler extends BaseSampler {
  readonly factorNames: string[];
  protected readonly kind: string;
  private readonly byClass: Int32Array[];
  private readonly frozen: { factor: Int32Array; partner: Int32Array } | null;

  constructor(private readonly ds: ColorMnistDataset, options: PairSamplerOptions) {
    super(ds.shape[0], options);
    this.kind = `colormnist-${ds.variant}`;
    this.factorNames = [...ds.factorNames, 'residual'];
    this.byClass = indicesByClass(ds.labels, Math.max(ds.classNames.length, 1));
    this.frozen = null;
    if (options.mode === 'frozen') {
      const rng = new Random(options.frozenSeed ?? COLOR_MNIST_TEST_SEED);
      const n = ds.shape[0];
      const factor = new Int32Array(n);
      const partner = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        factor[i] = rng.int(ds.factorNames.length);
        partner[i] = factor[i] === 0 ? pick(rng, this.byClass[ds.labels[i]!]!) : rng.int(n);
      }
      this.frozen = { factor, partner };
    }
  }

  next(): PairBatch {
    const { indices, epoch, step } = this.iterator.next();
    const ds = this.ds;
    const B = indices.length;
    const size = ds.shape[1];
    const per = size * size * 3;
    const ref = ds.variant === 'reference';
    const side = (): PairSide => ({
      images: new Float32Array(B * per),
      indices: new Int32Array(B),
      labels: new Int32Array(B),
      ...(ref ? { colors: new Float32Array(B * 3) } : { foreground: new Float32Array(B * 3), background: new Float32Array(B * 3) }),
    });
    const a = side();
    const b = side();
    const factors = new Int32Array(B);
    const rng = this.rng;
    const draw3 = (out: Float32Array, k: number): void => {
      out[3 * k] = rng.uniform();
      out[3 * k + 1] = rng.uniform();
      out[3 * k + 2] = rng.uniform();
    };
    const copy3 = (out: Float32Array, k: number, src: Float32Array, i: number): void => {
      out[3 * k] = src[3 * i]!;
      out[3 * k + 1] = src[3 * i + 1]!;
      out[3 * k + 2] = src[3 * i + 2]!;
    };
    for (let k = 0; k < B; k++) {
      const i = indices[k]!;
      let factor: number;
      let j: number;
      if (this.frozen) {
        factor = this.frozen.factor[i]!;
        j = this.frozen.partner[i]!;
      } else {
        factor = rng.int(ds.factorNames.length);
        j = factor === 0 ? pick(rng, this.byClass[ds.labels[i]!]!) : rng.int(ds.shape[0]);
      }
      factors[k] = factor;
      a.indices[k] = i;
      b.indices[k] = j;
      a.labels[k] = ds.labels[i]!;
      b.labels[k] = ds.labels[j]!;
      let offA: number;
      let offB: number;
      if (this.frozen) {
        offA = ds.offsets[i]!;
        offB = ds.offsets[j]!;
        if (ref) {
          copy3(a.colors!, k, ds.colors!, i);
          // digit: b keeps its own colour; color: b takes a's.
          copy3(b.colors!, k, ds.colors!, factor === 0 ? j : i);
        } else {
          copy3(a.foreground!, k, ds.foreground!, i);
          copy3(a.background!, k, ds.background!, i);
          copy3(b.foreground!, k, ds.foreground!, factor === 1 ? i : j);
          copy3(b.background!, k, ds.background!, factor === 2 ? i : j);
        }
      } else {
        offA = rng.uniform();
        offB = rng.uniform();
        if (ref) {
          draw3(a.colors!, k);
          if (factor === 0) draw3(b.colors!, k);
          else copy3(b.colors!, k, a.colors!, k);
        } else {
          draw3(a.foreground!, k);
          draw3(a.background!, k);
          if (factor === 1) copy3(b.foreground!, k, a.foreground!, k);
          else draw3(b.foreground!, k);
          if (factor === 2) copy3(b.background!, k, a.background!, k);
          else draw3(b.background!, k);
        }
      }
      if (ref) {
        renderColorMnistImage(ds.digits, i, size, 'reference', offA, a.colors!.subarray(3 * k, 3 * k + 3), null, a.images, k * per);
        renderColorMnistImage(ds.digits, j, size, 'reference', offB, b.colors!.subarray(3 * k, 3 * k + 3), null, b.images, k * per);
      } else {
        renderColorMnistImage(ds.digits, i, size, 'fgbg', offA, a.foreground!.subarray(3 * k, 3 * k + 3), a.background!.subarray(3 * k, 3 * k + 3), a.images, k * per);
        renderColorMnistImage(ds.digits, j, size, 'fgbg', offB, b.foreground!.subarray(3 * k, 3 * k + 3), b.background!.subarray(3 * k, 3 * k + 3), b.images, k * per);
      }
    }
    return { a, b, factors, shape: [B, size, size, 3], epoch, step };
  }
}

/**
 * Pairs on ColorMNIST: 2 factors (digit | color) on the `reference` variant, 3 (digit |
 * foreground | background) on `fgbg`; residual last.
 *
 * @example
 *   const pairs = colorMnistPairs(train, { batchSize: 32, seed: 3 });
 *   const { a, b, factors } = pairs.next();
 */
export function colorMnistPairs(ds: ColorMnistDataset, options: PairSamplerOptions): PairSampler {
  return new ColorMnistPairSampler(ds, options);
}

class LabelPairSampler extends BaseSampler {
  readonly factorNames = ['label', 'residual'];
  protected readonly kind = 'label';
  private readonly byClass: Int32Array[];
  private readonly anchors: Int32Array;
  private readonly frozenPartner: Int32Array | null;

  constructor(private readonly ds: ImageDataset, options: PairSamplerOptions) {
    const anchors = Int32Array.from(Array.from(ds.labels.keys()).filter((i) => ds.labels[i]! >= 0));
    if (anchors.length === 0) throw new Error(`pair sampler: dataset '${ds.name}' has no labelled images, so no pair can share a label`);
    super(anchors.length, options);
    this.anchors = anchors;
    this.byClass = indicesByClass(ds.labels, ds.classNames.length);
    this.frozenPartner = null;
    if (options.mode === 'frozen') {
      const rng = new Random(options.frozenSeed ?? COLOR_MNIST_TEST_SEED);
      this.frozenPartner = Int32Array.from(anchors, (i) => pick(rng, this.byClass[ds.labels[i]!]!));
    }
  }

  next(): PairBatch {
    const { indices, epoch, step } = this.iterator.next();
    const ds = this.ds;
    const B = indices.length;
    const per = imageSize(ds);
    const side = (): PairSide => ({ images: new Float32Array(B * per), indices: new Int32Array(B), labels: new Int32Array(B) });
    const a = side();
    const b = side();
    for (let k = 0; k < B; k++) {
      const i = this.anchors[indices[k]!]!;
      const j = this.frozenPartner ? this.frozenPartner[indices[k]!]! : pick(this.rng, this.byClass[ds.labels[i]!]!);
      a.indices[k] = i;
      b.indices[k] = j;
      a.labels[k] = ds.labels[i]!;
      b.labels[k] = ds.labels[j]!;
      a.images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
      b.images.set(ds.images.subarray(j * per, (j + 1) * per), k * per);
    }
    return { a, b, factors: new Int32Array(B), shape: [B, ds.shape[1], ds.shape[2], ds.shape[3]], epoch, step };
  }
}

/**
 * Pairs on any labelled dataset: both images have the same label (factor 0 'label', residual 1).
 * Unlabelled images (label −1) are never used.
 */
export function labelPairs(ds: ImageDataset, options: PairSamplerOptions): PairSampler {
  return new LabelPairSampler(ds, options);
}
