/**
 * Condition embedders (digest §3.3): they turn the model representation z = Φ(x) into the vector
 * that every coupling of t sees (Eq. 2–5 condition t on z through them). They are trained jointly
 * with t and are not invertible.
 *
 * - DenseEmbedder, for flat z [B, N]: widths interpolated from N to the embedding size like
 *   np.linspace(N, E, depth).astype(int); every layer but the last is dense → ActNorm →
 *   LeakyReLU(0.2); the last is a plain dense layer. (The reference's 1×1 convolutions on
 *   [B, N, 1, 1] are dense layers.)
 * - ConvEmbedder, for spatial z [B, H, W, C] (NHWC): numDown stages of conv k4 s2 p1 without bias
 *   → ActNorm → LeakyReLU(0.2), channels base·2^s capped at maxChannels; then a convolution with
 *   bias whose kernel is the remaining spatial size, giving a [B, E] vector.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { ActNorm } from './actnorm.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { Conv2d, Dense } from './layers.ts';
import { formatShape, mergePrefixed, type Buffer, type FlowComponent, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

/** Slope of the embedders' LeakyReLU (reference: 0.2). */
export const EMBEDDER_LEAKY_SLOPE = 0.2;

/** What t needs from an embedder. */
export interface ConditionEmbedder extends FlowComponent {
  /** Shape of one condition, without the batch axis: [N] or [H, W, C]. */
  readonly conditionShape: readonly number[];
  /** Size E of the embedding. */
  readonly embeddingDim: number;
  /** [B, ...conditionShape] → [B, E]. The caller owns the result. */
  embed(z: tf.Tensor): tf.Tensor2D;
}

/**
 * np.linspace(start, stop, num).astype(int): num evenly spaced values, truncated to integers.
 *
 * @example
 *   linspaceInt(10, 128, 4);   // [10, 49, 88, 128]
 */
export function linspaceInt(start: number, stop: number, num: number): number[] {
  if (num === 1) return [Math.trunc(start)];
  const step = (stop - start) / (num - 1);
  return Array.from({ length: num }, (_, i) => Math.trunc(i === num - 1 ? stop : i * step + start));
}

function checkConditionShape(z: tf.Tensor, expected: readonly number[], where: string): void {
  const got = z.shape.slice(1);
  if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
    throw new Error(`${where}: expected condition of shape ${formatShape([-1, ...expected])}, got ${formatShape(z.shape)}`);
  }
}

export interface DenseEmbedderConfig {
  /** Size N of the flat condition z. Required. */
  inputDim: number;
  /** Size E of the embedding fed to every coupling (reference: 128). */
  embeddingDim: number;
  /** Number of widths from N to E, both included: depth − 1 dense layers (reference: 4, 6 for ResNet avgpool). */
  depth: number;
}

export const DEFAULT_DENSE_EMBEDDER_CONFIG: DenseEmbedderConfig = { inputDim: 0, embeddingDim: 128, depth: 4 };

export class DenseEmbedder implements ConditionEmbedder {
  readonly className = 'DenseEmbedder';
  readonly cfg: DenseEmbedderConfig;
  /** Layer widths, from inputDim to embeddingDim. */
  readonly widths: number[];
  private readonly layers: Dense[] = [];
  private readonly norms: ActNorm[] = [];

  /**
   * @example
   *   const embedder = new DenseEmbedder({ inputDim: 10, embeddingDim: 128 });   // widths 10→49→88→128
   *   const e = embedder.embed(z);                                                // [B, 128]
   */
  constructor(config: Pick<DenseEmbedderConfig, 'inputDim'> & DeepPartial<DenseEmbedderConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    this.cfg = resolveConfig(DEFAULT_DENSE_EMBEDDER_CONFIG, config, 'DenseEmbedder');
    requireInteger(this.cfg.inputDim, 1, 'inputDim', 'DenseEmbedder');
    requireInteger(this.cfg.embeddingDim, 1, 'embeddingDim', 'DenseEmbedder');
    requireInteger(this.cfg.depth, 2, 'depth', 'DenseEmbedder');
    this.widths = linspaceInt(this.cfg.inputDim, this.cfg.embeddingDim, this.cfg.depth);
    for (let i = 0; i + 1 < this.widths.length; i++) {
      this.layers.push(new Dense(this.widths[i]!, this.widths[i + 1]!, source.child(`layers.${i}`)));
      if (i + 2 < this.widths.length) this.norms.push(new ActNorm({ dim: this.widths[i + 1]! }, source.child(`norms.${i}`)));
    }
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  get conditionShape(): readonly number[] {
    return [this.cfg.inputDim];
  }

  get embeddingDim(): number {
    return this.cfg.embeddingDim;
  }

  embed(z: tf.Tensor): tf.Tensor2D {
    checkConditionShape(z, this.conditionShape, 'DenseEmbedder');
    return tf.tidy(() => {
      let h = z as tf.Tensor2D;
      this.layers.forEach((layer, i) => {
        h = layer.apply(h);
        const norm = this.norms[i];
        if (norm) h = tf.leakyRelu(norm.apply(h), EMBEDDER_LEAKY_SLOPE) as tf.Tensor2D;
      });
      return h;
    });
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.layers.forEach((l, i) => mergePrefixed(out, `layers.${i}`, l.weights));
    this.norms.forEach((n, i) => mergePrefixed(out, `norms.${i}`, n.weights));
    return out;
  }

  buffers(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    this.norms.forEach((n, i) => mergePrefixed(out, `norms.${i}`, n.buffers()));
    return out;
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
    for (const n of this.norms) n.dispose();
  }
}

export interface ConvEmbedderConfig {
  /** Shape of one spatial condition, [H, W, C] (channels last). Required. */
  inputShape: number[];
  /** Size E of the embedding fed to every coupling (reference: 128). */
  embeddingDim: number;
  /**
   * Number of stride-2 stages (reference: set per layer, e.g. 2 for AlexNet conv5 13×13).
   * null: the most stages that leave at least 3×3 (min side), or 0 for tiny inputs.
   */
  numDown: number | null;
  /** Channels of the first stage; stage s has base·2^s (reference: 64). */
  baseChannels: number;
  /** Cap on the stage channels (reference: 1024). */
  maxChannels: number;
}

export const DEFAULT_CONV_EMBEDDER_CONFIG: ConvEmbedderConfig = {
  inputShape: [],
  embeddingDim: 128,
  numDown: null,
  baseChannels: 64,
  maxChannels: 1024,
};

/** The default number of stride-2 stages for a spatial size (see ConvEmbedderConfig.numDown). */
export function autoNumDown(height: number, width: number): number {
  let n = 0;
  while (Math.floor(Math.min(height, width) / 2 ** (n + 1)) >= 3) n++;
  return n;
}

export class ConvEmbedder implements ConditionEmbedder {
  readonly className = 'ConvEmbedder';
  readonly cfg: ConvEmbedderConfig;
  /** Resolved number of stride-2 stages. */
  readonly numDown: number;
  private readonly convs: Conv2d[] = [];
  private readonly norms: ActNorm[] = [];
  private readonly out: Conv2d;

  /**
   * @example
   *   const embedder = new ConvEmbedder({ inputShape: [13, 13, 256], numDown: 2 });   // 13→6→3, then a 3×3 conv
   *   const e = embedder.embed(z);                                                    // [B, 128]
   */
  constructor(config: Pick<ConvEmbedderConfig, 'inputShape'> & DeepPartial<ConvEmbedderConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    this.cfg = resolveConfig(DEFAULT_CONV_EMBEDDER_CONFIG, config, 'ConvEmbedder');
    const { inputShape, embeddingDim, baseChannels, maxChannels } = this.cfg;
    if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new Error(`ConvEmbedder: inputShape must be [H, W, C] with positive integers, got ${JSON.stringify(inputShape)}`);
    }
    requireInteger(embeddingDim, 1, 'embeddingDim', 'ConvEmbedder');
    requireInteger(baseChannels, 1, 'baseChannels', 'ConvEmbedder');
    requireInteger(maxChannels, 1, 'maxChannels', 'ConvEmbedder');
    const [height, width, channels] = inputShape as [number, number, number];
    this.numDown = this.cfg.numDown ?? autoNumDown(height, width);
    requireInteger(this.numDown, 0, 'numDown', 'ConvEmbedder');
    let size: [number, number] = [height, width];
    let inChannels = channels;
    for (let s = 0; s < this.numDown; s++) {
      const outChannels = Math.min(baseChannels * 2 ** s, maxChannels);
      const conv = new Conv2d(inChannels, outChannels, [4, 4], 2, 1, source.child(`stages.${s}.conv`), false);
      size = conv.outputSize(size);
      if (size[0] < 1 || size[1] < 1) {
        throw new Error(`ConvEmbedder: ${this.numDown} stride-2 stages are too many for a ${height}×${width} input`);
      }
      this.convs.push(conv);
      this.norms.push(new ActNorm({ dim: outChannels }, source.child(`stages.${s}.norm`)));
      inChannels = outChannels;
    }
    this.out = new Conv2d(inChannels, embeddingDim, size, 1, 0, source.child('out'), true);
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  get conditionShape(): readonly number[] {
    return this.cfg.inputShape;
  }

  get embeddingDim(): number {
    return this.cfg.embeddingDim;
  }

  embed(z: tf.Tensor): tf.Tensor2D {
    checkConditionShape(z, this.conditionShape, 'ConvEmbedder');
    return tf.tidy(() => {
      let h = z as tf.Tensor4D;
      this.convs.forEach((conv, s) => {
        h = tf.leakyRelu(this.norms[s]!.apply(conv.apply(h)), EMBEDDER_LEAKY_SLOPE) as tf.Tensor4D;
      });
      return tf.reshape(this.out.apply(h), [z.shape[0]!, this.cfg.embeddingDim]);
    });
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.convs.forEach((c, s) => mergePrefixed(out, `stages.${s}.conv`, c.weights));
    this.norms.forEach((n, s) => mergePrefixed(out, `stages.${s}.norm`, n.weights));
    mergePrefixed(out, 'out', this.out.weights);
    return out;
  }

  buffers(): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    this.norms.forEach((n, s) => mergePrefixed(out, `stages.${s}.norm`, n.buffers()));
    return out;
  }

  dispose(): void {
    for (const c of this.convs) c.dispose();
    for (const n of this.norms) n.dispose();
    this.out.dispose();
  }
}

registerFlowClass('DenseEmbedder', (config, source) => new DenseEmbedder(config as unknown as DenseEmbedderConfig, source));
registerFlowClass('ConvEmbedder', (config, source) => new ConvEmbedder(config as unknown as ConvEmbedderConfig, source));
