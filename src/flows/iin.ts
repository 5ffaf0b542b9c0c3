/**
 * The semantic INN e of "Making Sense of CNNs" §3.2 (Eq. 6), built as IIN's FactorTransformer
 * (Esser et al., CVPR 2020; digest §4): an unconditional flow ẑ = e(z̄) whose output is split into
 * named factors (ẑ_F)_F, the last one the residual. It is trained on pairs (z̄ᵃ, z̄ᵇ) that share
 * known factors with the factor loss of Eq. (6) (losses.ts `factorLoss`), so that shared
 * semantic concepts land in their factor and everything else in the residual.
 *
 * Structure: numBlocks blocks of ActNorm → DoubleAffineCoupling (unconditional) → Shuffle
 * (reference EfficientVRNVP). Factor sizes are explicit or equal chunks as torch.chunk makes them
 * (chunk size ⌈D/n⌉, the last chunk smaller: 64 into 3 → [22, 22, 20]).
 *
 * Weight names: `flow.<i>.*`.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { couplingStack, type CouplingFlow } from './coupling-stack.ts';
import { factorLoss, factorShareMask, flowNll, type SharedFactors } from './losses.ts';
import { mergePrefixed, trainableVariables, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

export interface IinConfig {
  /** Size D of z̄ (and ẑ). Required. */
  dim: number;
  /** Factor names in output order; the last is the residual, which pairs never share. */
  factorNames: string[];
  /** Sizes of the factors (summing to dim), or null for equal chunks like torch.chunk. */
  factorSizes: number[] | null;
  /** Number of ActNorm → coupling → Shuffle blocks (reference: 12). */
  numBlocks: number;
  /** Hidden width of the coupling nets (reference: 512). */
  hiddenWidth: number;
  /** Hidden→hidden layers per coupling net (reference: 2). */
  hiddenDepth: number;
  /** Correlation ρ of a shared factor between pair members in the loss of Eq. (6) (reference: 0.975). */
  rho: number;
  /** Seed of the weight initialisation and the Shuffle permutations. */
  seed: number;
}

/** Defaults sized for 2 CPU cores (digest §7: hidden 128–256); REFERENCE_IIN_CONFIG has the reference's. */
export const DEFAULT_IIN_CONFIG: IinConfig = {
  dim: 0,
  factorNames: ['factor0', 'factor1', 'residual'],
  factorSizes: null,
  numBlocks: 12,
  hiddenWidth: 256,
  hiddenDepth: 2,
  rho: 0.975,
  seed: 0,
};

export const REFERENCE_IIN_CONFIG: DeepPartial<IinConfig> = { numBlocks: 12, hiddenWidth: 512, hiddenDepth: 2, rho: 0.975 };

/**
 * torch.chunk's sizes for splitting `dim` into `n` chunks; throws when torch.chunk would return
 * fewer than n chunks (e.g. 6 into 4 gives [2, 2, 2]).
 *
 * @example
 *   chunkSizes(64, 3);   // [22, 22, 20]
 *   chunkSizes(64, 5);   // [13, 13, 13, 13, 12]
 */
export function chunkSizes(dim: number, n: number): number[] {
  const size = Math.ceil(dim / n);
  const sizes: number[] = [];
  for (let left = dim; left > 0; left -= size) sizes.push(Math.min(size, left));
  if (sizes.length !== n) {
    throw new Error(`chunkSizes: ${dim} dimensions split like torch.chunk give ${sizes.length} chunks [${sizes.join(', ')}], not ${n}; give factorSizes explicitly`);
  }
  return sizes;
}

/** Factors by name, each [B, size]. */
export type Factors = Record<string, tf.Tensor2D>;

export class SemanticINN implements InvertibleModule {
  readonly className = 'SemanticINN';
  readonly cfg: IinConfig;
  readonly flow: CouplingFlow;
  /** Resolved factor sizes, in the order of factorNames. */
  readonly factorSizes: number[];

  /**
   * @example
   *   const e = new SemanticINN({ dim: 64, factorNames: ['digit', 'color', 'residual'], factorSizes: [22, 11, 31] });
   *   const { digit, color, residual } = e.encode(zbar);
   *   const zbarAgain = e.decode({ digit, color, residual });
   */
  constructor(config: Pick<IinConfig, 'dim'> & DeepPartial<IinConfig>, source?: WeightSource) {
    const cfg = resolveConfig(DEFAULT_IIN_CONFIG, config, 'SemanticINN');
    this.cfg = cfg;
    requireInteger(cfg.dim, 2, 'dim', 'SemanticINN');
    requireInteger(cfg.numBlocks, 1, 'numBlocks', 'SemanticINN');
    const names = cfg.factorNames;
    if (!Array.isArray(names) || names.length < 1 || names.some((n) => typeof n !== 'string' || n === '')) {
      throw new Error(`SemanticINN: factorNames must be a non-empty list of names, got ${JSON.stringify(names)}`);
    }
    if (new Set(names).size !== names.length) throw new Error(`SemanticINN: factorNames must be distinct, got ${JSON.stringify(names)}`);
    if (cfg.factorSizes === null) {
      this.factorSizes = chunkSizes(cfg.dim, names.length);
    } else {
      const sizes = cfg.factorSizes;
      const ok = Array.isArray(sizes) && sizes.length === names.length && sizes.every((s) => Number.isInteger(s) && s >= 1);
      const sum = ok ? sizes.reduce((a, b) => a + b, 0) : NaN;
      if (!ok || sum !== cfg.dim) {
        throw new Error(`SemanticINN: factorSizes must be ${names.length} positive integers summing to dim ${cfg.dim}, got ${JSON.stringify(sizes)}`);
      }
      this.factorSizes = [...sizes];
    }
    if (!(cfg.rho > -1 && cfg.rho < 1)) throw new Error(`SemanticINN: rho must lie in (−1, 1), got ${cfg.rho}`);
    const src = source ?? WeightSource.fresh(new Random(cfg.seed));
    this.flow = couplingStack({
      dim: cfg.dim, conditionDim: 0, numBlocks: cfg.numBlocks, hiddenWidth: cfg.hiddenWidth, hiddenDepth: cfg.hiddenDepth,
    }, src.child('flow'));
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  get dim(): number {
    return this.cfg.dim;
  }

  get factorNames(): readonly string[] {
    return this.cfg.factorNames;
  }

  /** Index of a factor by name; throws listing the names for an unknown one. */
  factorIndex(name: string): number {
    const i = this.cfg.factorNames.indexOf(name);
    if (i < 0) throw new Error(`SemanticINN: unknown factor '${name}' (factors: ${this.cfg.factorNames.join(', ')})`);
    return i;
  }

  /** ẑ = e(z̄) and log|det ∂ẑ/∂z̄|. */
  forward(zbar: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    if (condition !== undefined) throw new Error('SemanticINN: e is unconditional, got a condition');
    return this.flow.forward(zbar);
  }

  /** z̄ = e⁻¹(ẑ) and −log|det ∂ẑ/∂z̄|. */
  inverse(zhat: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    if (condition !== undefined) throw new Error('SemanticINN: e is unconditional, got a condition');
    return this.flow.inverse(zhat);
  }

  /** Splits ẑ [B, D] into its factors by name. */
  split(zhat: tf.Tensor2D): Factors {
    const parts = tf.split(zhat, this.factorSizes, 1) as tf.Tensor2D[];
    return Object.fromEntries(this.cfg.factorNames.map((name, i) => [name, parts[i]!]));
  }

  /** Joins factors (every name present, shapes [B, size]) into ẑ [B, D]. */
  join(factors: Factors): tf.Tensor2D {
    const parts = this.cfg.factorNames.map((name, i) => {
      const f = factors[name];
      if (!f) throw new Error(`SemanticINN: factor '${name}' is missing (factors: ${this.cfg.factorNames.join(', ')})`);
      if (f.rank !== 2 || f.shape[1] !== this.factorSizes[i]) {
        throw new Error(`SemanticINN: factor '${name}' must have shape [B, ${this.factorSizes[i]}], got [${f.shape.join(', ')}]`);
      }
      return f;
    });
    const extra = Object.keys(factors).filter((k) => !this.cfg.factorNames.includes(k));
    if (extra.length > 0) throw new Error(`SemanticINN: unknown factors ${extra.join(', ')} (factors: ${this.cfg.factorNames.join(', ')})`);
    return tf.concat(parts, 1);
  }

  /**
   * The factors of e(z̄) by name (paper: (e_i)_i = e(z̄)). The caller owns the tensors.
   *
   * @example
   *   const { digit } = e.encode(zbar);
   */
  encode(zbar: tf.Tensor2D): Factors {
    const { output, logDet } = this.forward(zbar);
    logDet.dispose();
    const factors = this.split(output);
    output.dispose();
    return factors;
  }

  /**
   * z̄ = e⁻¹ of the joined factors (paper Eq. 7: modify factors, then decode).
   *
   * @example
   *   const f = e.encode(zbar); const g = e.encode(other);
   *   const swapped = e.decode({ ...f, digit: g.digit });
   */
  decode(factors: Factors): tf.Tensor2D {
    return tf.tidy(() => this.inverse(this.join(factors)).output);
  }

  /** Share mask [B, D] for the pairs' shared factors (indices or names). */
  shareMask(shared: ReadonlyArray<number | string | readonly (number | string)[]>): tf.Tensor2D {
    const toIndex = (f: number | string) => (typeof f === 'string' ? this.factorIndex(f) : f);
    const asIndices: SharedFactors = shared.map((s) => (Array.isArray(s) ? s.map(toIndex) : toIndex(s as number | string)));
    return factorShareMask(this.factorSizes, asIndices);
  }

  /**
   * The pair loss of Eq. (6): both members go through e in one batch.
   *
   * @example
   *   const loss = e.pairLoss(zbarA, zbarB, ['digit', 'color', -1]);
   */
  pairLoss(zbarA: tf.Tensor2D, zbarB: tf.Tensor2D, shared: ReadonlyArray<number | string | readonly (number | string)[]>): tf.Scalar {
    const batch = zbarA.shape[0];
    if (zbarB.shape[0] !== batch || shared.length !== batch) {
      throw new Error(`SemanticINN.pairLoss: got ${batch} a's, ${zbarB.shape[0]} b's and ${shared.length} share entries`);
    }
    return tf.tidy(() => {
      const mask = this.shareMask(shared);
      const { output, logDet } = this.forward(tf.concat([zbarA, zbarB], 0));
      const [za, zb] = tf.split(output, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
      const [la, lb] = tf.split(logDet, 2, 0) as [tf.Tensor1D, tf.Tensor1D];
      return factorLoss(za, zb, la, lb, mask, this.cfg.rho);
    });
  }

  /** The unsupervised IIN loss (no pairs): Eq. (5)'s form on ẑ. */
  loss(zbar: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => {
      const { output, logDet } = this.forward(zbar);
      return flowNll(output, logDet);
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    return this.flow.outputShape(inputShape);
  }

  get weights(): Map<string, tf.Variable> {
    return mergePrefixed(new Map<string, tf.Variable>(), 'flow', this.flow.weights);
  }

  /** The flow's variables (packed ones when fused). */
  trainableVariables(): tf.Variable[] {
    return trainableVariables(this.flow);
  }

  buffers(): Map<string, Buffer> {
    return mergePrefixed(new Map<string, Buffer>(), 'flow', this.flow.buffers());
  }

  dispose(): void {
    this.flow.dispose();
  }
}

registerFlowClass('SemanticINN', (config, source) => new SemanticINN(config as unknown as IinConfig, source));
