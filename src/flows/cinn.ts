/**
 * The conditional INN t of "Making Sense of CNNs" §3.1 (Eq. 1–5; reference
 * ConditionalTransformer, digest §3):
 *   v = t(z̄ | z)           forward: the invariances v of the representation z, given the AE code z̄
 *   z̄ = t⁻¹(v | z)         inverse; with v ~ N(0, I) it samples z̄ ~ p(z̄|z)   (Eq. 2)
 *   loss = mean ½‖v‖² − mean log|det ∂v/∂z̄|                                    (Eq. 3–5, losses.ts)
 *
 * Structure: a condition embedder (dense for flat z, convolutional for [H, W, C] z) computes
 * the embedding of z once, and the same embedding is fed to every block; numBlocks blocks of
 * ActNorm → DoubleAffineCoupling (conditional) → Shuffle, as the reference's
 * ConditionalFlatDoubleCouplingFlowBlock (its activation is the identity in every config).
 * The embedder is trained jointly with the flow.
 *
 * Weight names: `embedder.*` and `flow.<i>.*` (i over the 3·numBlocks blocks of the Sequence).
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { couplingStack, type CouplingFlow } from './coupling-stack.ts';
import { ConvEmbedder, DenseEmbedder, type ConditionEmbedder } from './embedders.ts';
import { flowNll } from './losses.ts';
import { mergePrefixed, tidyFlow, trainableVariables, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

export interface CinnEmbedderConfig {
  /** 'auto' picks 'dense' for a flat conditionShape [N] and 'conv' for [H, W, C]. */
  kind: 'auto' | 'dense' | 'conv';
  /** Dense embedder: number of widths from N to the embedding size, both included (reference: 4). */
  depth: number;
  /** Conv embedder: stride-2 stages; null picks the most that leave ≥ 3×3 (embedders.ts). */
  numDown: number | null;
  /** Conv embedder: channels of the first stage (reference: 64). */
  baseChannels: number;
  /** Conv embedder: cap on the stage channels (reference: 1024). */
  maxChannels: number;
}

export interface CinnConfig {
  /** Size D of z̄ (and of v). Required. */
  dim: number;
  /** Shape of one condition z without the batch axis: [N] (flat) or [H, W, C]. Required. */
  conditionShape: number[];
  /** Size of the embedding of z that every coupling sees (reference: 128). */
  embeddingDim: number;
  /** Number of ActNorm → coupling → Shuffle blocks (reference: 20). */
  numBlocks: number;
  /** Hidden width of the coupling nets (reference: 1024). */
  hiddenWidth: number;
  /** Hidden→hidden layers per coupling net (reference: 2). */
  hiddenDepth: number;
  /** The condition embedder. */
  embedder: CinnEmbedderConfig;
  /** Seed of the weight initialisation and the Shuffle permutations. */
  seed: number;
}

/**
 * Defaults sized for 2 CPU cores (digest §7: 8–12 blocks, hidden 256–512). The reference's
 * sizes are in REFERENCE_CINN_CONFIG.
 */
export const DEFAULT_CINN_CONFIG: CinnConfig = {
  dim: 0,
  conditionShape: [],
  embeddingDim: 128,
  numBlocks: 12,
  hiddenWidth: 256,
  hiddenDepth: 2,
  embedder: { kind: 'auto', depth: 4, numDown: null, baseChannels: 64, maxChannels: 1024 },
  seed: 0,
};

/** The official invariances configs (189 M parameters for D = 128: far too big for a CPU). */
export const REFERENCE_CINN_CONFIG: DeepPartial<CinnConfig> = {
  embeddingDim: 128,
  numBlocks: 20,
  hiddenWidth: 1024,
  hiddenDepth: 2,
};

/** Options of `ConditionalINN.sample`. */
export interface SampleOptions {
  /** Standard deviation of v: v ~ N(0, T²·I). The paper and the reference always use 1. */
  temperature?: number;
}

export class ConditionalINN implements InvertibleModule {
  readonly className = 'ConditionalINN';
  readonly cfg: CinnConfig;
  readonly embedder: ConditionEmbedder;
  readonly flow: CouplingFlow;

  /**
   * @example
   *   const t = new ConditionalINN({ dim: 64, conditionShape: [10], numBlocks: 8, seed: 1 });
   *   const { output: v, logDet } = t.forward(zbar, z);      // v = t(z̄|z)
   *   const zbarAgain = t.inverse(v, z).output;              // z̄ = t⁻¹(v|z)
   */
  constructor(config: Pick<CinnConfig, 'dim' | 'conditionShape'> & DeepPartial<CinnConfig>, source?: WeightSource) {
    const cfg = resolveConfig(DEFAULT_CINN_CONFIG, config, 'ConditionalINN');
    this.cfg = cfg;
    requireInteger(cfg.dim, 2, 'dim', 'ConditionalINN');
    requireInteger(cfg.numBlocks, 1, 'numBlocks', 'ConditionalINN');
    const src = source ?? WeightSource.fresh(new Random(cfg.seed));
    const shape = cfg.conditionShape;
    const kind = cfg.embedder.kind === 'auto' ? (shape.length === 1 ? 'dense' : 'conv') : cfg.embedder.kind;
    if (kind === 'dense') {
      if (shape.length !== 1) throw new Error(`ConditionalINN: the dense embedder needs a flat conditionShape [N], got ${JSON.stringify(shape)}`);
      this.embedder = new DenseEmbedder({ inputDim: shape[0]!, embeddingDim: cfg.embeddingDim, depth: cfg.embedder.depth }, src.child('embedder'));
    } else if (kind === 'conv') {
      this.embedder = new ConvEmbedder({
        inputShape: shape,
        embeddingDim: cfg.embeddingDim,
        numDown: cfg.embedder.numDown,
        baseChannels: cfg.embedder.baseChannels,
        maxChannels: cfg.embedder.maxChannels,
      }, src.child('embedder'));
    } else {
      throw new Error(`ConditionalINN: embedder.kind must be 'auto', 'dense' or 'conv', got '${String(kind)}'`);
    }
    this.flow = couplingStack({
      dim: cfg.dim, conditionDim: cfg.embeddingDim, numBlocks: cfg.numBlocks, hiddenWidth: cfg.hiddenWidth, hiddenDepth: cfg.hiddenDepth,
    }, src.child('flow'));
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  get dim(): number {
    return this.cfg.dim;
  }

  /** The embedding of z that every block sees, [B, embeddingDim]. */
  embed(z: tf.Tensor): tf.Tensor2D {
    return this.embedder.embed(z);
  }

  private requireCondition(z: tf.Tensor | undefined, batch: number): tf.Tensor {
    if (z === undefined) throw new Error('ConditionalINN: needs the condition z');
    if (z.shape[0] !== batch) throw new Error(`ConditionalINN: condition batch ${z.shape[0]} differs from input batch ${batch}`);
    return z;
  }

  /** v = t(z̄ | z) and log|det ∂v/∂z̄|. */
  forward(zbar: tf.Tensor2D, z?: tf.Tensor): FlowResult {
    const cond = this.requireCondition(z, zbar.shape[0]);
    return tidyFlow(() => this.flow.forward(zbar, this.embed(cond)));
  }

  /** z̄ = t⁻¹(v | z) and −log|det ∂v/∂z̄|. */
  inverse(v: tf.Tensor2D, z?: tf.Tensor): FlowResult {
    const cond = this.requireCondition(z, v.shape[0]);
    return tidyFlow(() => this.flow.inverse(v, this.embed(cond)));
  }

  /** forward with an embedding computed by `embed` (reuse it across calls). */
  forwardEmbedded(zbar: tf.Tensor2D, embedding: tf.Tensor2D): FlowResult {
    return this.flow.forward(zbar, embedding);
  }

  /** inverse with an embedding computed by `embed`. */
  inverseEmbedded(v: tf.Tensor2D, embedding: tf.Tensor2D): FlowResult {
    return this.flow.inverse(v, embedding);
  }

  /** The training loss of Eq. (5) without its constant (see losses.ts). */
  loss(zbar: tf.Tensor2D, z: tf.Tensor): tf.Scalar {
    return tf.tidy(() => {
      const { output, logDet } = this.forward(zbar, z);
      return flowNll(output, logDet);
    });
  }

  /**
   * Samples z̄ ~ p(z̄ | z) (Eq. 2): n draws v ~ N(0, T²·I) per condition, z̄ = t⁻¹(v | z).
   * Returns [B·n, D], the n samples of condition b in rows b·n … b·n + n − 1.
   *
   * @example
   *   const zbar = t.sample(z, 8, 42);               // 8 samples for each row of z
   *   const cold = t.sample(z, 8, 42, { temperature: 0.7 });
   */
  sample(z: tf.Tensor, n = 1, seed: number | Random = 0, options: SampleOptions = {}): tf.Tensor2D {
    requireInteger(n, 1, 'n', 'ConditionalINN.sample');
    const temperature = options.temperature ?? 1;
    if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`ConditionalINN.sample: temperature must be ≥ 0, got ${temperature}`);
    const rng = typeof seed === 'number' ? new Random(seed) : seed;
    const batch = z.shape[0]!;
    const v = rng.normalTensor([batch * n, this.cfg.dim], 0, temperature) as tf.Tensor2D;
    try {
      return tf.tidy(() => {
        const embedding = this.embed(z);
        const rows = tf.tensor1d(Int32Array.from({ length: batch * n }, (_, i) => Math.floor(i / n)), 'int32');
        const repeated = n === 1 ? embedding : tf.gather(embedding, rows);
        return this.flow.inverse(v, repeated).output;
      });
    } finally {
      v.dispose();
    }
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.flow.outputShape(inputShape);
  }

  get weights(): Map<string, tf.Variable> {
    const out = mergePrefixed(new Map<string, tf.Variable>(), 'embedder', this.embedder.weights);
    return mergePrefixed(out, 'flow', this.flow.weights);
  }

  /** The embedder's variables in name order, then the flow's (packed ones when fused). */
  trainableVariables(): tf.Variable[] {
    return [...trainableVariables(this.embedder), ...trainableVariables(this.flow)];
  }

  buffers(): Map<string, Buffer> {
    const out = mergePrefixed(new Map<string, Buffer>(), 'embedder', this.embedder.buffers());
    return mergePrefixed(out, 'flow', this.flow.buffers());
  }

  dispose(): void {
    this.embedder.dispose();
    this.flow.dispose();
  }
}

registerFlowClass('ConditionalINN', (config, source) => new ConditionalINN(config as unknown as CinnConfig, source));
