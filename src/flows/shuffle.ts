/**
 * Shuffle (digest §3.2 step 4, §4.1): a fixed permutation of the D dimensions between flow
 * blocks, so each coupling sees a different split. y[:, i] = x[:, perm[i]]; log|det| = 0.
 * The reference draws it unseeded; here it comes from our seeded `Random` and is saved with the
 * model (buffer `permutation`), so a loaded model permutes exactly as the trained one.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { checkFlatShape, tidyFlow, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

export interface ShuffleConfig {
  /** Input size D. Required. */
  dim: number;
}

export const DEFAULT_SHUFFLE_CONFIG: ShuffleConfig = { dim: 0 };

function checkPermutation(perm: Int32Array, dim: number): void {
  const seen = new Uint8Array(dim);
  for (const p of perm) {
    if (!(p >= 0 && p < dim) || seen[p]) throw new Error(`Shuffle: 'permutation' is not a permutation of 0..${dim - 1}`);
    seen[p] = 1;
  }
}

export class Shuffle implements InvertibleModule {
  readonly className = 'Shuffle';
  readonly cfg: ShuffleConfig;
  private readonly perm: Int32Array;
  private readonly permTensor: tf.Tensor1D;
  private readonly inversePermTensor: tf.Tensor1D;

  /**
   * The permutation is drawn from the source's generator (or read from a saved model).
   *
   * @example
   *   const shuffle = new Shuffle({ dim: 6 }, WeightSource.fresh(new Random(7)));
   *   shuffle.permutation;   // Int32Array [3, 0, 5, ...]
   */
  constructor(config: Pick<ShuffleConfig, 'dim'> & DeepPartial<ShuffleConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    this.cfg = resolveConfig(DEFAULT_SHUFFLE_CONFIG, config, 'Shuffle');
    const dim = this.cfg.dim;
    requireInteger(dim, 1, 'dim', 'Shuffle');
    this.perm = source.intBuffer('permutation', [dim], () => source.random.permutation(dim));
    checkPermutation(this.perm, dim);
    const inverse = new Int32Array(dim);
    this.perm.forEach((p, i) => { inverse[p] = i; });
    // Kept, in case a caller builds the block inside tf.tidy.
    this.permTensor = tf.keep(tf.tensor1d(this.perm, 'int32'));
    this.inversePermTensor = tf.keep(tf.tensor1d(inverse, 'int32'));
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  /** A copy of the permutation: output i takes input perm[i]. */
  get permutation(): Int32Array {
    return Int32Array.from(this.perm);
  }

  forward(x: tf.Tensor2D): FlowResult {
    checkFlatShape(x.shape, this.cfg.dim, 'Shuffle');
    return tidyFlow(() => ({ output: tf.gather(x, this.permTensor, 1), logDet: tf.zeros([x.shape[0]]) as tf.Tensor1D }));
  }

  inverse(y: tf.Tensor2D): FlowResult {
    checkFlatShape(y.shape, this.cfg.dim, 'Shuffle');
    return tidyFlow(() => ({ output: tf.gather(y, this.inversePermTensor, 1), logDet: tf.zeros([y.shape[0]]) as tf.Tensor1D }));
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkFlatShape(inputShape, this.cfg.dim, 'Shuffle');
    return [...inputShape];
  }

  get weights(): Map<string, tf.Variable> {
    return new Map();
  }

  buffers(): Map<string, Buffer> {
    return new Map([['permutation', { shape: [this.cfg.dim], data: Int32Array.from(this.perm) }]]);
  }

  dispose(): void {
    this.permTensor.dispose();
    this.inversePermTensor.dispose();
  }
}

registerFlowClass('Shuffle', (config, source) => new Shuffle(config as unknown as ShuffleConfig, source));
