/**
 * Double affine coupling (RealNVP; the reference's (Conditional)DoubleVectorCouplingBlock,
 * digest §3.2 step 3 and §4.1): two affine half-couplings per block, the second on swapped
 * halves, so every dimension is transformed once per block. Conditional when conditionDim > 0
 * (the embedded z of t, Eq. 2–5), unconditional for e (Eq. 6).
 *
 * With x = [a, b], a = x[:, :⌈D/2⌉], b = x[:, ⌈D/2⌉:] and condition c (empty if unconditional):
 *   coupling 0:  s₀ = S₀([a, c]),  b' = b ⊙ exp(s₀) + T₀([a, c])
 *   coupling 1:  s₁ = S₁([b', c]), a' = a ⊙ exp(s₁) + T₁([b', c])
 *   output y = [b', a']  (the halves come out swapped, as in the reference),
 *   log|det| = Σ s₀ + Σ s₁.
 * Inverse: [b', a'] = y; a = (a' − T₁([b', c])) ⊙ exp(−s₁); b = (b' − T₀([a, c])) ⊙ exp(−s₀).
 *
 * S and T are MLPs (layers.ts `Mlp`): Linear → LeakyReLU(0.01) → [Linear → LeakyReLU(0.01)] ×
 * hiddenDepth → Linear; S ends in tanh, so each log-scale lies in (−1, 1).
 * For even D this is exactly the reference block. For odd D the reference's chunk-and-swap is
 * not invertible; here a has ⌈D/2⌉ and b has ⌊D/2⌋ dimensions and the output is [b', a'].
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveConfig, requireInteger, toJson, type DeepPartial } from './config.ts';
import { Mlp } from './layers.ts';
import { checkCondition, checkFlatShape, mergePrefixed, tidyFlow, type Buffer, type FlowResult, type InvertibleModule, type JsonObject } from './module.ts';
import { registerFlowClass } from './registry.ts';
import { WeightSource } from './weight-source.ts';

export interface DoubleCouplingConfig {
  /** Input size D (≥ 2). Required. */
  dim: number;
  /** Size C of the condition vector the nets also see; 0 makes the block unconditional. */
  conditionDim: number;
  /** Width of the hidden layers of every S and T net (reference: 1024 for t, 512 for e). */
  hiddenWidth: number;
  /** Number of hidden→hidden layers in each net; the net has hiddenDepth + 2 linear layers (reference: 2). */
  hiddenDepth: number;
}

export const DEFAULT_DOUBLE_COUPLING_CONFIG: DoubleCouplingConfig = {
  dim: 0,
  conditionDim: 0,
  hiddenWidth: 256,
  hiddenDepth: 2,
};

export class DoubleAffineCoupling implements InvertibleModule {
  readonly className = 'DoubleAffineCoupling';
  readonly cfg: DoubleCouplingConfig;
  /** Sizes of the first half a (⌈D/2⌉) and second half b (⌊D/2⌋). */
  readonly sizeA: number;
  readonly sizeB: number;
  /** Scale nets S₀, S₁ (tanh output) and shift nets T₀, T₁. */
  readonly s: [Mlp, Mlp];
  readonly t: [Mlp, Mlp];

  /**
   * @example
   *   const block = new DoubleAffineCoupling({ dim: 64, conditionDim: 128, hiddenWidth: 512 }, WeightSource.fresh(new Random(1)));
   *   const { output, logDet } = block.forward(x, embedding);
   */
  constructor(config: Pick<DoubleCouplingConfig, 'dim'> & DeepPartial<DoubleCouplingConfig>, source: WeightSource = WeightSource.fresh(new Random(0))) {
    this.cfg = resolveConfig(DEFAULT_DOUBLE_COUPLING_CONFIG, config, 'DoubleAffineCoupling');
    const { dim, conditionDim, hiddenWidth, hiddenDepth } = this.cfg;
    requireInteger(dim, 2, 'dim', 'DoubleAffineCoupling');
    requireInteger(conditionDim, 0, 'conditionDim', 'DoubleAffineCoupling');
    requireInteger(hiddenWidth, 1, 'hiddenWidth', 'DoubleAffineCoupling');
    requireInteger(hiddenDepth, 0, 'hiddenDepth', 'DoubleAffineCoupling');
    this.sizeA = Math.ceil(dim / 2);
    this.sizeB = dim - this.sizeA;
    const net = (name: string, i: number, inSize: number, outSize: number, tanh: boolean) =>
      new Mlp(inSize + conditionDim, hiddenWidth, hiddenDepth, outSize, tanh, source.child(`${name}.${i}`));
    this.s = [net('s', 0, this.sizeA, this.sizeB, true), net('s', 1, this.sizeB, this.sizeA, true)];
    this.t = [net('t', 0, this.sizeA, this.sizeB, false), net('t', 1, this.sizeB, this.sizeA, false)];
  }

  get config(): JsonObject {
    return toJson(this.cfg);
  }

  private conditionerInput(h: tf.Tensor2D, condition: tf.Tensor | undefined): tf.Tensor2D {
    return condition === undefined ? h : tf.concat([h, condition as tf.Tensor2D], 1);
  }

  private check(x: tf.Tensor2D, condition: tf.Tensor | undefined): void {
    checkFlatShape(x.shape, this.cfg.dim, 'DoubleAffineCoupling');
    checkCondition(condition, this.cfg.conditionDim, x.shape[0], 'DoubleAffineCoupling');
  }

  forward(x: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    this.check(x, condition);
    return tidyFlow(() => {
      const [a, b] = tf.split(x, [this.sizeA, this.sizeB], 1) as [tf.Tensor2D, tf.Tensor2D];
      const h0 = this.conditionerInput(a, condition);
      const s0 = this.s[0].apply(h0);
      const b1 = tf.add(tf.mul(b, tf.exp(s0)), this.t[0].apply(h0)) as tf.Tensor2D;
      const h1 = this.conditionerInput(b1, condition);
      const s1 = this.s[1].apply(h1);
      const a1 = tf.add(tf.mul(a, tf.exp(s1)), this.t[1].apply(h1)) as tf.Tensor2D;
      const output = tf.concat([b1, a1], 1) as tf.Tensor2D;
      const logDet = tf.add(tf.sum(s0, 1), tf.sum(s1, 1)) as tf.Tensor1D;
      return { output, logDet };
    });
  }

  inverse(y: tf.Tensor2D, condition?: tf.Tensor): FlowResult {
    this.check(y, condition);
    return tidyFlow(() => {
      const [b1, a1] = tf.split(y, [this.sizeB, this.sizeA], 1) as [tf.Tensor2D, tf.Tensor2D];
      const h1 = this.conditionerInput(b1, condition);
      const s1 = this.s[1].apply(h1);
      const a = tf.mul(tf.sub(a1, this.t[1].apply(h1)), tf.exp(tf.neg(s1))) as tf.Tensor2D;
      const h0 = this.conditionerInput(a, condition);
      const s0 = this.s[0].apply(h0);
      const b = tf.mul(tf.sub(b1, this.t[0].apply(h0)), tf.exp(tf.neg(s0)));
      const output = tf.concat([a, b], 1) as tf.Tensor2D;
      const logDet = tf.neg(tf.add(tf.sum(s0, 1), tf.sum(s1, 1))) as tf.Tensor1D;
      return { output, logDet };
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    checkFlatShape(inputShape, this.cfg.dim, 'DoubleAffineCoupling');
    return [...inputShape];
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.s.forEach((net, i) => mergePrefixed(out, `s.${i}`, net.weights));
    this.t.forEach((net, i) => mergePrefixed(out, `t.${i}`, net.weights));
    return out;
  }

  buffers(): Map<string, Buffer> {
    return new Map();
  }

  dispose(): void {
    for (const net of [...this.s, ...this.t]) net.dispose();
  }
}

registerFlowClass('DoubleAffineCoupling', (config, source) => new DoubleAffineCoupling(config as unknown as DoubleCouplingConfig, source));
