/**
 * A seeded, resumable batch iterator (browser-safe). Each epoch is a fresh permutation drawn from
 * one `Random`; `state()` records the generator as of the epoch's start plus the position, so
 * `BatchIterator.fromState(state)` continues with exactly the batches the original would give.
 */
import { Random, type RandomState } from '../engine/random.ts';

export interface BatchIteratorOptions {
  /** Number of items (dataset size). */
  size: number;
  /** Items per batch. */
  batchSize: number;
  /** Seed of the shuffles. */
  seed: number;
  /** Shuffle each epoch (default true); false gives 0..size-1 in order. */
  shuffle?: boolean;
  /** Drop the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
}

export interface BatchIteratorState {
  size: number;
  batchSize: number;
  shuffle: boolean;
  dropLast: boolean;
  /** Epochs started so far minus one (0 during the first epoch). */
  epoch: number;
  /** Items of the current epoch already delivered. */
  position: number;
  /** Batches delivered in all. */
  step: number;
  /** Generator state at the start of the current epoch (before its permutation was drawn). */
  epochStart: RandomState;
}

export interface Batch {
  /** Item indices of this batch. */
  indices: Int32Array;
  /** Epoch the batch belongs to (0-based). */
  epoch: number;
  /** Batch number counted over all epochs (0-based). */
  step: number;
}

/**
 * @example
 *   const it = new BatchIterator({ size: ds.shape[0], batchSize: 64, seed: 1 });
 *   const { indices } = it.next();
 *   const saved = it.state();            // JSON-serialisable
 *   const resumed = BatchIterator.fromState(saved);   // same batches from here on
 */
export class BatchIterator {
  private readonly rng: Random;
  private order: Int32Array = new Int32Array(0);
  private epochStart: RandomState;
  private epochIndex = -1;
  private position = 0;
  private steps = 0;
  readonly size: number;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;

  constructor(options: BatchIteratorOptions) {
    const { size, batchSize } = options;
    if (!Number.isInteger(size) || size <= 0) throw new Error(`BatchIterator: size must be a positive integer, got ${size}`);
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new Error(`BatchIterator: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.size = size;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && batchSize > size) {
      throw new Error(`BatchIterator: batchSize ${batchSize} exceeds size ${size} with dropLast, so no batch would ever be produced`);
    }
    this.rng = new Random(options.seed);
    this.epochStart = this.rng.state();
  }

  static fromState(state: BatchIteratorState): BatchIterator {
    const it = new BatchIterator({ size: state.size, batchSize: state.batchSize, seed: 0, shuffle: state.shuffle, dropLast: state.dropLast });
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > state.size) {
      throw new Error(`BatchIterator.fromState: position ${state.position} is outside 0..${state.size}`);
    }
    it.rng.setState(state.epochStart);
    it.epochIndex = state.epoch - 1;
    it.startEpoch();
    it.position = state.position;
    it.steps = state.step;
    return it;
  }

  private startEpoch(): void {
    this.epochStart = this.rng.state();
    this.epochIndex += 1;
    this.position = 0;
    if (this.shuffle) this.order = this.rng.permutation(this.size);
    else if (this.order.length !== this.size) this.order = Int32Array.from({ length: this.size }, (_, i) => i);
  }

  /** The next batch; starts a new epoch (new permutation) when the current one is used up. */
  next(): Batch {
    const remaining = this.size - this.position;
    if (this.epochIndex < 0 || remaining === 0 || (this.dropLast && remaining < this.batchSize)) this.startEpoch();
    const end = Math.min(this.position + this.batchSize, this.size);
    const indices = this.order.slice(this.position, end);
    this.position = end;
    return { indices, epoch: this.epochIndex, step: this.steps++ };
  }

  /** Number of batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  state(): BatchIteratorState {
    return {
      size: this.size,
      batchSize: this.batchSize,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      epoch: Math.max(this.epochIndex, 0),
      position: this.epochIndex < 0 ? 0 : this.position,
      step: this.steps,
      epochStart: this.epochStart,
    };
  }
}
