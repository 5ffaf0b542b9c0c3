/**
 * Analysis 5: adversarial attacks made visible (paper §4.3, Fig. 5; the official demo's
 * `AttackFGSM`/`visualize_attacks`, digest §5.3).
 *
 * Attacks on f (softmax cross-entropy of the logits), in the data's pixel units, clipped to its
 * value range:
 *   FGSM  (Goodfellow et al.):  x_adv = clip(x + ε·sign ∇ₓ CE(f(x), y))           untargeted, y = f's prediction on x
 *                               x_adv = clip(x − ε·sign ∇ₓ CE(f(x), y_target))    targeted
 *   PGD   (Madry et al.): k steps of size α of the same, each projected back onto ‖x_adv − x‖∞ ≤ ε
 *   random: x_rand = clip(x + ε·sign(ξ)), ξ ~ N(0, I) (the demo's control)
 * Visualisation per layer: v = t(E(x)|Φ(x)) of the clean image; D(t⁻¹(v|Φ(x_adv))).
 * Batch numbers per layer: the relative change of z, the change of z̄ against the data's
 * variance, and the share of z̄'s variance explained by v. Definitions: docs/analyses.md §5.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { ValueRange } from '../data/dataset.ts';
import {
  type AnalysisContext, type CommonOptions, type ImageArray,
  argmaxRows, encodeMean, imagesTensor, invariancesOf, invertWith, pickIndices, requireClassifier, scoped, selectLayers, toImageArray,
} from './context.ts';
import { dataVariances, invariancePerLayer } from './invariances.ts';
import { mean } from './stats.ts';

export type AttackKind = 'fgsm' | 'pgd' | 'random';

export interface AttackConfig {
  /** 'fgsm', 'pgd', or 'random' (the control: a random sign perturbation of size ε). */
  kind: AttackKind;
  /** L∞ size ε in the data's pixel units. Default 0.02 (the demo's, for [-1, 1] images). */
  epsilon?: number;
  /** PGD steps. Default 10. */
  steps?: number;
  /** PGD step size α. Default 2.5·ε/steps (Madry et al.). */
  stepSize?: number;
  /** Target class for a targeted attack; untargeted (away from f's prediction) when undefined. */
  target?: number;
  /** PGD: start from a uniform random point of the ε-ball. Default false. */
  randomStart?: boolean;
  /**
   * Logit temperature of the attack's loss: CE(f(x) / T, y). Default 1 (the paper's attack).
   * 'auto' takes per image T = max(1, margin / 4), margin = the clean logits' top-two gap. Why:
   * a confident model's softmax is saturated, the loss gradient shrinks like exp(−margin) and is
   * exactly 0 in float32 once the margin passes ~100 (the zoo's classifier gets there), so FGSM
   * and PGD cannot move at all; dividing by T keeps the gradient's direction of increasing loss
   * and the arg-max (predictions are always of the unscaled f) but keeps its size representable.
   * The explorer uses 'auto' (it attacks single, often very confident images).
   */
  temperature?: number | 'auto';
}

/** The per-image temperature of `temperature: 'auto'` from clean logits [B, K]: max(1, (top − second) / 4). */
export function autoTemperature(logits: ArrayLike<number>, rows: number, cols: number): number[] {
  return Array.from({ length: rows }, (_, r) => {
    const l = Array.from({ length: cols }, (_, k) => logits[r * cols + k]!).sort((a, b) => b - a);
    return Math.max(1, ((l[0] ?? 0) - (l[1] ?? 0)) / 4);
  });
}

/** T per image of a batch for `config.temperature` (1s without one). */
export function attackTemperatures(classify: (x: tf.Tensor) => tf.Tensor2D, x: tf.Tensor4D, temperature: AttackConfig['temperature']): number[] {
  const b = x.shape[0];
  if (temperature === undefined) return new Array<number>(b).fill(1);
  if (temperature === 'auto') {
    return scoped(() => {
      const l = classify(x);
      return autoTemperature(l.dataSync(), l.shape[0], l.shape[1]);
    });
  }
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new Error(`attack temperature must be a positive number or 'auto', got ${temperature}`);
  return new Array<number>(b).fill(temperature);
}

/** Mean softmax cross-entropy of logits against integer labels. */
export function crossEntropy(logits: tf.Tensor2D, labels: readonly number[]): tf.Scalar {
  return tf.tidy(() => {
    const y = tf.oneHot(tf.tensor1d([...labels], 'int32'), logits.shape[1]);
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

function predict(classify: (x: tf.Tensor) => tf.Tensor2D, x: tf.Tensor): number[] {
  return scoped(() => {
    const l = classify(x);
    return argmaxRows(l.dataSync(), l.shape[0], l.shape[1]);
  });
}

/**
 * Perturbs a batch of images. The caller owns the result.
 *
 * @example
 *   const xAdv = attackImages(f, x, [-1, 1], { kind: 'pgd', epsilon: 0.03, steps: 10 }, new Random(1));
 */
export function attackImages(classify: (x: tf.Tensor) => tf.Tensor2D, x: tf.Tensor4D, range: ValueRange, config: AttackConfig, rng: Random): tf.Tensor4D {
  const eps = config.epsilon ?? 0.02;
  if (!(eps >= 0)) throw new Error(`attackImages: epsilon must be ≥ 0, got ${eps}`);
  const [lo, hi] = range;
  // Clip to the value range, but never move a pixel that x already has outside it (so ε = 0 is the identity).
  const clip = (y: tf.Tensor): tf.Tensor4D => tf.tidy(() => tf.minimum(tf.maximum(y, tf.minimum(x, lo)), tf.maximum(x, hi)) as tf.Tensor4D);
  if (config.kind === 'random') {
    return tf.tidy(() => clip(tf.add(x, tf.mul(eps, tf.sign(rng.normalTensor(x.shape))))));
  }
  const targeted = config.target !== undefined;
  const labels = targeted ? new Array<number>(x.shape[0]).fill(config.target!) : predict(classify, x);
  const direction = targeted ? -1 : 1;
  const temperatures = attackTemperatures(classify, x, config.temperature);
  const scaled = temperatures.every((t) => t === 1)
    ? classify
    : (input: tf.Tensor) => tf.tidy(() => tf.div(classify(input), tf.tensor2d(temperatures, [temperatures.length, 1])) as tf.Tensor2D);
  const lossGrad = tf.grad((input: tf.Tensor) => crossEntropy(scaled(input), labels));
  const step = (current: tf.Tensor4D, size: number): tf.Tensor4D => tf.tidy(() => {
    const g = lossGrad(current);
    const moved = tf.add(current, tf.mul(direction * size, tf.sign(g)));
    const projected = tf.minimum(tf.maximum(moved, tf.sub(x, eps)), tf.add(x, eps));
    return clip(projected);
  });
  if (config.kind === 'fgsm') return step(x, eps);
  if (config.kind !== 'pgd') throw new Error(`attackImages: kind must be 'fgsm', 'pgd' or 'random', got '${String(config.kind)}'`);
  const steps = config.steps ?? 10;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`attackImages: steps must be a positive integer, got ${steps}`);
  const alpha = config.stepSize ?? (2.5 * eps) / steps;
  let current = config.randomStart
    ? tf.tidy(() => clip(tf.add(x, rng.uniformTensor(x.shape, -eps, eps))))
    : tf.clone(x);
  for (let k = 0; k < steps; k++) {
    const next = step(current, alpha);
    current.dispose();
    current = next;
  }
  return current;
}

export interface AttackVisualizationOptions extends CommonOptions, Omit<AttackConfig, 'kind'> {
  kind?: Exclude<AttackKind, 'random'>;
  /** Dataset indices; default `count` drawn with the seed. */
  indices?: number[];
  /** Inputs when `indices` is not given. Default 4. */
  count?: number;
  /** Layers (default all). */
  layers?: string[];
}

export interface PredictionSet {
  clean: number[];
  adversarial: number[];
  random: number[];
}

export interface AttackVisualization {
  indices: number[];
  config: AttackConfig;
  inputs: ImageArray;
  adversarial: ImageArray;
  random: ImageArray;
  predictions: PredictionSet;
  /** Per input: the logit temperature T of the attack's loss (1 without `temperature`). */
  temperatures: number[];
  /** Per layer: D(t⁻¹(v|Φ(x))), D(t⁻¹(v|Φ(x_adv))), D(t⁻¹(v|Φ(x_rand))) with v = t(E(x)|Φ(x)). */
  layers: { layer: string; clean: ImageArray; adversarial: ImageArray; random: ImageArray }[];
}

/**
 * Analysis 5, figure part: what an attack changes in each layer's representation.
 *
 * @example
 *   const r = attackVisualization(ctx, { kind: 'fgsm', epsilon: 0.05, count: 4 });
 */
export function attackVisualization(ctx: AnalysisContext, options: AttackVisualizationOptions = {}): AttackVisualization {
  const classify = requireClassifier(ctx, 'attackVisualization');
  const { count = 4, seed = 0, onProgress } = options;
  const rng = new Random(seed);
  const indices = options.indices ?? pickIndices(ctx.data.shape[0], count, rng);
  const config: AttackConfig = { kind: options.kind ?? 'fgsm', epsilon: options.epsilon ?? 0.02, steps: options.steps, stepSize: options.stepSize, target: options.target, randomStart: options.randomStart, temperature: options.temperature };
  const layers = selectLayers(ctx, options.layers);
  const vr = ctx.data.valueRange;
  return scoped(() => {
    const x = imagesTensor(ctx.data, indices);
    const temperatures = attackTemperatures(classify, x, config.temperature);
    const xAdv = attackImages(classify, x, vr, config, rng);
    const xRand = attackImages(classify, x, vr, { ...config, kind: 'random' }, rng);
    const zbar = encodeMean(ctx.ae, x);
    const out: AttackVisualization['layers'] = layers.map((layer, li) => {
      const v = invariancesOf(layer.t, zbar, layer.phi(x));
      const dec = (input: tf.Tensor) => toImageArray(ctx.ae.decode(invertWith(layer.t, v, layer.phi(input))), vr);
      const r = { layer: layer.name, clean: dec(x), adversarial: dec(xAdv), random: dec(xRand) };
      onProgress?.({ task: 'attack figure', step: li + 1, total: layers.length, done: li + 1 === layers.length });
      return r;
    });
    return {
      indices,
      config,
      inputs: toImageArray(x, vr),
      adversarial: toImageArray(xAdv, vr),
      random: toImageArray(xRand, vr),
      predictions: { clean: predict(classify, x), adversarial: predict(classify, xAdv), random: predict(classify, xRand) },
      temperatures,
      layers: out,
    };
  });
}

export interface AttackStatisticsOptions extends AttackVisualizationOptions {
  /** Images attacked. Default 64. */
  count?: number;
  /** Inputs and samples of the "variance explained by v" (analysis 2). Defaults 16 and 16. */
  invarianceInputs?: number;
  invarianceSamples?: number;
}

export interface LayerAttackStatistics {
  layer: string;
  /** mean_x ‖Φ(x_adv) − Φ(x)‖ / ‖Φ(x)‖. */
  representationChange: number;
  /** The same for the random-sign control. */
  representationChangeRandom: number;
  /** mean_x ‖t⁻¹(v|Φ(x_adv)) − t⁻¹(v|Φ(x))‖² / Σ_d Var_x z̄_d, v = t(E(x)|Φ(x)). */
  zbarChange: number;
  zbarChangeRandom: number;
  /** Share of z̄'s variance explained by v (analysis 2's zbarShare). */
  varianceExplainedByV: number;
}

export interface AttackStatistics {
  config: AttackConfig;
  count: number;
  /** Mean cross-entropy against the clean prediction (untargeted) or the target: before, after the attack, after the control. */
  loss: { clean: number; adversarial: number; random: number };
  /** Share of images whose predicted class changed (untargeted) or became the target (targeted). */
  successRate: number;
  successRateRandom: number;
  /** Mean ‖x_adv − x‖∞ (≤ ε). */
  meanLinf: number;
  layers: LayerAttackStatistics[];
}

/**
 * Analysis 5, numbers: over a batch, per layer, how much of the representation the attack
 * changed and how much of z̄ is left to v.
 *
 * @example
 *   const s = attackStatistics(ctx, { kind: 'pgd', epsilon: 0.03, steps: 10, count: 64 });
 */
export function attackStatistics(ctx: AnalysisContext, options: AttackStatisticsOptions = {}): AttackStatistics {
  const classify = requireClassifier(ctx, 'attackStatistics');
  const { count = 64, seed = 0, batchSize = 32, onProgress } = options;
  const rng = new Random(seed);
  const indices = options.indices ?? pickIndices(ctx.data.shape[0], count, rng);
  const config: AttackConfig = { kind: options.kind ?? 'fgsm', epsilon: options.epsilon ?? 0.02, steps: options.steps, stepSize: options.stepSize, target: options.target, randomStart: options.randomStart, temperature: options.temperature };
  const layers = selectLayers(ctx, options.layers);
  const vr = ctx.data.valueRange;
  const dataZbar = dataVariances(ctx, pickIndices(ctx.data.shape[0], Math.max(indices.length, 256), rng), rng).zbar;
  const acc = layers.map(() => ({ rep: [] as number[], repR: [] as number[], zb: [] as number[], zbR: [] as number[] }));
  const losses = { clean: [] as number[], adversarial: [] as number[], random: [] as number[] };
  let success = 0;
  let successR = 0;
  const linf: number[] = [];
  for (let off = 0; off < indices.length; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    scoped(() => {
      const x = imagesTensor(ctx.data, chunk);
      const clean = predict(classify, x);
      const labels = config.target !== undefined ? chunk.map(() => config.target!) : clean;
      const xAdv = attackImages(classify, x, vr, config, rng);
      const xRand = attackImages(classify, x, vr, { ...config, kind: 'random' }, rng);
      const w = chunk.length;
      losses.clean.push(crossEntropy(classify(x), labels).dataSync()[0]! * w);
      losses.adversarial.push(crossEntropy(classify(xAdv), labels).dataSync()[0]! * w);
      losses.random.push(crossEntropy(classify(xRand), labels).dataSync()[0]! * w);
      const hit = (p: number[]) => p.filter((c, k) => (config.target !== undefined ? c === config.target : c !== clean[k])).length;
      success += hit(predict(classify, xAdv));
      successR += hit(predict(classify, xRand));
      const d = tf.max(tf.abs(tf.sub(xAdv, x)), [1, 2, 3]).dataSync();
      linf.push(...Array.from(d));
      const zbar = encodeMean(ctx.ae, x);
      layers.forEach((layer, li) => {
        const z = layer.phi(x);
        const v = invariancesOf(layer.t, zbar, z);
        const base = invertWith(layer.t, v, z);
        const zn = tf.norm(tf.reshape(z, [w, -1]), 'euclidean', 1);
        const rel = (other: tf.Tensor) => Array.from(tf.div(tf.norm(tf.reshape(tf.sub(other, z), [w, -1]), 'euclidean', 1), tf.maximum(zn, 1e-12)).dataSync());
        const zbarDelta = (other: tf.Tensor) => Array.from(tf.div(tf.sum(tf.square(tf.sub(invertWith(layer.t, v, other), base)), 1), dataZbar).dataSync());
        const za = layer.phi(xAdv);
        const zr = layer.phi(xRand);
        acc[li]!.rep.push(...rel(za));
        acc[li]!.repR.push(...rel(zr));
        acc[li]!.zb.push(...zbarDelta(za));
        acc[li]!.zbR.push(...zbarDelta(zr));
      });
    });
    onProgress?.({ task: 'attack statistics', step: Math.min(off + batchSize, indices.length), total: indices.length });
  }
  const inv = invariancePerLayer(ctx, { layers: layers.map((l) => l.name), inputs: options.invarianceInputs ?? 16, samples: options.invarianceSamples ?? 16, seed: rng.nextUint32(), onProgress });
  const n = indices.length;
  const sumOf = (a: number[]) => a.reduce((s, x) => s + x, 0);
  onProgress?.({ task: 'attack statistics', step: n, total: n, done: true });
  return {
    config,
    count: n,
    loss: { clean: sumOf(losses.clean) / n, adversarial: sumOf(losses.adversarial) / n, random: sumOf(losses.random) / n },
    successRate: success / n,
    successRateRandom: successR / n,
    meanLinf: mean(linf),
    layers: layers.map((layer, li) => ({
      layer: layer.name,
      representationChange: mean(acc[li]!.rep),
      representationChangeRandom: mean(acc[li]!.repR),
      zbarChange: mean(acc[li]!.zb),
      zbarChangeRandom: mean(acc[li]!.zbR),
      varianceExplainedByV: inv.layers[li]!.zbarShare,
    })),
  };
}

