/**
 * ActNorm (Glow; used in every flow block of t and e, digest §3.2 step 1 and §4.1, and inside the
 * condition embedders): a per-channel affine map h = scale ⊙ (x + loc) with log|det| =
 * (number of positions per channel) · Σ log|scale|.
 *
 * Data-dependent initialisation: on the first forward batch, loc = −mean and scale = 1/(std+1e-6)
 * per channel (std with Bessel's correction, as torch.std), so the first batch comes out with
 * zero mean and unit variance. The `initialized` flag is saved with the model and a loaded,
 * initialised model never re-initialises.
 *
 * Batch size 1 (the reference breaks there: its squeeze() drops the batch axis and its unbiased
 * std of one value is NaN): we DEFER. While fewer than two values per channel have been seen in
 * one batch, forward applies the current parameters (identity for a new block) and leaves the
 * block uninitialised; the first batch with at least two values per channel initialises it.
 * Inverse never initialises.
 *
 * Input: [B, D] (the flow contract), or any rank with channels last ([B, H, W, C]) through
 * `apply` for the embedders, which use ActNorm as a plain normalisation layer.
 */
import { tf } from '../engine/index.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { checkFlatShape, tidyFlow, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { constant, WeightSource } from './weight-source.ts';
import { Random } from '../engine/random.ts';

export interface ActNormConfig {
  /** Number of channels: D for [B, D] input, C for [B, H, W, C]. Required. */
  dim: number;
}

export const DEFAULT_ACTNORM_CONFIG: ActNormConfig = { dim: 0 };

/** Added to the std before inverting it (reference value). */
export const ACTNORM_EPSILON = 1e-6;

export class ActNorm implements InvertibleModule {
  readonly className = 'ActNorm';
  readonly cfg: ActNormConfig;
  /** Added to the input, shape [dim]. */
  readonly loc: tf.Variable;
  /** Multiplies the shifted input, shape [dim]. */
  readonly scale: tf.Variable;
  private initializedFlag: boolean;

  /**
   * @example
   *   const norm = new ActNorm({ dim: 6 });
   *   const { output, logDet } = norm.forward(x);   // first call initialises from x
   */
  constructor(config: Pick<ActNormConfig, 'dim'> & DeepPartial<ActNormConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    this.cfg = resolveConfig(DEFAULT_ACTNORM_CONFIG, config, 'ActNorm');
    requireInteger(this.cfg.dim, 1, 'dim', 'ActNorm');
    const dim = this.cfg.dim;
    this.loc = source.variable('loc', [dim], constant(0));
    this.scale = source.variable('scale', [dim], constant(1));
    this.initializedFlag = source.floatBuffer('initialized', [1], () => new Float32Array([0]))[0] === 1;
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  /** Whether the data-dependent initialisation has happened (saved with the model). */
  get initialized(): boolean {
    return this.initializedFlag;
  }

  /**
   * Sets loc and scale from a batch (channels last) and marks the block initialised.
   * Returns false, changing nothing, when the batch has fewer than two values per channel.
   */
  initializeFrom(x: tf.Tensor): boolean {
    const count = x.size / this.cfg.dim;
    if (count < 2) return false;
    const [loc, scale] = tf.tidy(() => {
      const flat = tf.reshape(x, [count, this.cfg.dim]);
      const mean = tf.mean(flat, 0);
      const variance = tf.div(tf.sum(tf.square(tf.sub(flat, mean)), 0), count - 1);
      return [tf.neg(mean), tf.div(1, tf.add(tf.sqrt(variance), ACTNORM_EPSILON))];
    });
    this.loc.assign(loc!);
    this.scale.assign(scale!);
    tf.dispose([loc!, scale!]);
    this.initializedFlag = true;
    return true;
  }

  /** Marks the block initialised without looking at data (e.g. parameters set by hand). */
  markInitialized(): void {
    this.initializedFlag = true;
  }

  private checkChannels(x: tf.Tensor): void {
    if (x.rank < 2 || x.shape[x.rank - 1] !== this.cfg.dim) {
      throw new Error(`ActNorm: expected channels-last input with ${this.cfg.dim} channels, got shape [${x.shape.join(', ')}]`);
    }
  }

  /** log|det| of one batch element: positions per channel × Σ log|scale|. */
  private logDetPerElement(x: tf.Tensor): tf.Scalar {
    const positions = x.size / (x.shape[0]! * this.cfg.dim);
    return tf.mul(tf.sum(tf.log(tf.abs(this.scale))), positions);
  }

  /**
   * The normalisation on any channels-last tensor (initialising on first use): what the
   * embedders call. Returns scale ⊙ (x + loc).
   */
  apply(x: tf.Tensor): tf.Tensor {
    this.checkChannels(x);
    if (!this.initializedFlag) this.initializeFrom(x);
    return tf.tidy(() => tf.mul(tf.add(x, this.loc), this.scale));
  }

  forward(x: tf.Tensor2D): FlowResult {
    checkFlatShape(x.shape, this.cfg.dim, 'ActNorm');
    if (!this.initializedFlag) this.initializeFrom(x);
    return tidyFlow(() => {
      const output = tf.mul(tf.add(x, this.loc), this.scale) as tf.Tensor2D;
      const logDet = tf.add(tf.zeros([x.shape[0]]), this.logDetPerElement(x)) as tf.Tensor1D;
      return { output, logDet };
    });
  }

  inverse(y: tf.Tensor2D): FlowResult {
    checkFlatShape(y.shape, this.cfg.dim, 'ActNorm');
    return tidyFlow(() => {
      const output = tf.sub(tf.div(y, this.scale), this.loc) as tf.Tensor2D;
      const logDet = tf.sub(tf.zeros([y.shape[0]]), this.logDetPerElement(y)) as tf.Tensor1D;
      return { output, logDet };
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkFlatShape(inputShape, this.cfg.dim, 'ActNorm');
    return [...inputShape];
  }

  get weights(): Map<string, tf.Variable> {
    return new Map([['loc', this.loc], ['scale', this.scale]]);
  }

  buffers(): Map<string, Buffer> {
    return new Map([['initialized', { shape: [1], data: new Float32Array([this.initializedFlag ? 1 : 0]) }]]);
  }

  dispose(): void {
    this.loc.dispose();
    this.scale.dispose();
  }
}

registerFlowClass('ActNorm', (config, source) => new ActNorm(config as unknown as ActNormConfig, source));
