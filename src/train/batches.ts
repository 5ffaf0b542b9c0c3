/**
 * A seeded batch sampler over an in-memory image dataset: each epoch is a fresh permutation
 * drawn from its own Random; batches never straddle epochs (the last partial batch of an
 * epoch is dropped), and `state()` resumes the exact sequence.
 */
import { tf } from '../engine/index.ts';
import { Random, type RandomState } from '../engine/random.ts';

/** What the sampler needs of a dataset (src/data's ImageDataset has these fields). */
export interface LabeledImages {
  /** NHWC pixels. */
  images: Float32Array;
  /** [n, height, width, channels] */
  shape: [number, number, number, number];
  /** One class index per image. */
  labels: Int32Array;
}

export interface Batch {
  x: tf.Tensor4D;
  labels: tf.Tensor1D;
}

export interface BatchSamplerState {
  rng: RandomState;
  order: number[];
  position: number;
}

export class BatchSampler {
  private readonly rng: Random;
  private order: Int32Array = new Int32Array(0);
  private position = 0;
  private readonly imageSize: number;

  constructor(readonly data: LabeledImages, readonly batchSize: number, seed: number) {
    const n = data.shape[0];
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > n) throw new Error(`BatchSampler: batch size ${batchSize} must be in 1..${n}`);
    this.rng = new Random(seed);
    this.imageSize = data.shape[1] * data.shape[2] * data.shape[3];
  }

  /** Indices of the next batch. */
  nextIndices(): Int32Array {
    if (this.position + this.batchSize > this.order.length) {
      this.order = this.rng.permutation(this.data.shape[0]);
      this.position = 0;
    }
    const idx = this.order.slice(this.position, this.position + this.batchSize);
    this.position += this.batchSize;
    return idx;
  }

  /** The next batch as tensors (the caller disposes them). */
  next(): Batch {
    return batchAt(this.data, this.nextIndices());
  }

  state(): BatchSamplerState {
    return { rng: this.rng.state(), order: Array.from(this.order), position: this.position };
  }

  setState(s: BatchSamplerState): void {
    this.rng.setState(s.rng);
    this.order = Int32Array.from(s.order);
    this.position = s.position;
  }
}

/** Images and labels at `indices` as tensors. */
export function batchAt(data: LabeledImages, indices: ArrayLike<number>): Batch {
  const [, h, w, c] = data.shape;
  const size = h * w * c;
  const images = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(data.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = data.labels[i]!;
  }
  return { x: tf.tensor4d(images, [indices.length, h, w, c]), labels: tf.tensor1d(labels, 'int32') };
}

/** Consecutive batches [start, start + batchSize) covering images 0..limit−1 (for evaluation). */
export function* sequentialBatches(data: LabeledImages, batchSize: number, limit = data.shape[0]): Generator<Batch> {
  const n = Math.min(limit, data.shape[0]);
  for (let start = 0; start < n; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, n - start) }, (_, k) => start + k);
    yield batchAt(data, idx);
  }
}
