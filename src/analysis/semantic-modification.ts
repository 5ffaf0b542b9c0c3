/**
 * Analysis 6: semantic modifications (paper §3.2 Eq. 7, §4.4, Fig. 7). For an input x:
 *   (e_i)_i = e(E(x));  replace factor F by e(E(x'))_F of another image x' that differs in F;
 *   x̄* = D(e⁻¹(e*)).
 * The model's sensitivity to F (Fig. 7, last row): mean ‖f(x) − f(x̄*)‖ over the images, beside
 * the same distance to the unmodified reconstruction D(E(x)), which separates the change of F
 * from the autoencoder's own reconstruction error. Definitions: docs/analyses.md §6.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type CommonOptions, type ImageArray,
  argmaxRows, encodeMean, imagesTensor, pickIndices, requireClassifier, requireSemantic, scoped, toImageArray,
} from './context.ts';
import { mean } from './stats.ts';

/** Chooses the partner image x' for input `index` and factor `factor`. */
export type PartnerChooser = (index: number, factor: string, rng: Random) => number;

/**
 * The default partner rule: for the factor named `labelFactor` (default 'digit', or 'label') a
 * random image with a different label; for any other factor a random other image (continuous
 * factors such as colours differ almost surely).
 */
export function defaultPartner(ctx: Pick<AnalysisContext, 'data'>, labelFactors: readonly string[] = ['digit', 'label', 'class']): PartnerChooser {
  const n = ctx.data.shape[0];
  return (index, factor, rng) => {
    if (n < 2) throw new Error('semantic modification: needs at least two images');
    const byLabel = labelFactors.includes(factor) && ctx.data.labels[index]! >= 0;
    for (let tries = 0; tries < 1000; tries++) {
      const j = rng.int(n);
      if (j === index) continue;
      if (byLabel && ctx.data.labels[j] === ctx.data.labels[index]) continue;
      return j;
    }
    throw new Error(`semantic modification: found no image that differs from ${index} in '${factor}'`);
  };
}

export interface SemanticModificationOptions extends CommonOptions {
  /** Factors to modify (default: every factor but the residual). */
  factors?: string[];
  /** Inputs shown in the figure. Default 6. */
  showInputs?: number;
  /** Images over which the model's sensitivity is averaged. Default 128 (paper: the test set). */
  count?: number;
  /** Partner rule (default `defaultPartner`). */
  partner?: PartnerChooser;
  /** Distance on f's output: on the logits (default) or on softmax probabilities. */
  output?: 'logits' | 'probabilities';
}

export interface FactorModification {
  factor: string;
  /** Partner per shown input. */
  partners: number[];
  /** Partner images [shown, H, W, C]. */
  partnerImages: ImageArray;
  /** x̄* [shown, H, W, C]. */
  modified: ImageArray;
  /** mean ‖f(x) − f(x̄*)‖₂ over `count` images. */
  distance: number;
  /** mean ‖f(D(E(x))) − f(x̄*)‖₂. */
  distanceFromReconstruction: number;
  /** Share of images whose predicted class differs between D(E(x)) and x̄*. */
  predictionChangeRate: number;
}

export interface SemanticModificationResult {
  indices: number[];
  inputs: ImageArray;
  reconstructions: ImageArray;
  factors: FactorModification[];
  /** mean ‖f(x) − f(D(E(x)))‖₂: the part of `distance` the AE alone causes. */
  reconstructionDistance: number;
  output: 'logits' | 'probabilities';
}

function swapDecode(ctx: AnalysisContext, x: tf.Tensor, partner: tf.Tensor, factor: string): tf.Tensor4D {
  const e = ctx.e!;
  return tf.tidy(() => {
    const f = e.encode(encodeMean(ctx.ae, x));
    const g = e.encode(encodeMean(ctx.ae, partner));
    return ctx.ae.decode(e.decode({ ...f, [factor]: g[factor]! }));
  });
}

/**
 * Analysis 6 (Fig. 7).
 *
 * @example
 *   const r = semanticModification(ctx, { factors: ['digit', 'color'], count: 128 });
 *   r.factors.map((f) => [f.factor, f.distance]);
 */
export function semanticModification(ctx: AnalysisContext, options: SemanticModificationOptions = {}): SemanticModificationResult {
  const e = requireSemantic(ctx, 'semanticModification');
  const classify = requireClassifier(ctx, 'semanticModification');
  const { showInputs = 6, count = 128, seed = 0, batchSize = 32, onProgress, output = 'logits' } = options;
  const factors = options.factors ?? e.factorNames.slice(0, -1);
  for (const f of factors) if (!e.factorNames.includes(f)) throw new Error(`semanticModification: unknown factor '${f}' (factors: ${e.factorNames.join(', ')})`);
  const partner = options.partner ?? defaultPartner(ctx);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const shown = pickIndices(total, showInputs, rng);
  const measured = pickIndices(total, count, rng);
  const vr = ctx.data.valueRange;
  const out = (x: tf.Tensor) => (output === 'logits' ? classify(x) : tf.softmax(classify(x)));
  const head = scoped(() => {
    const x = imagesTensor(ctx.data, shown);
    return { inputs: toImageArray(x, vr), reconstructions: toImageArray(ctx.ae.decode(encodeMean(ctx.ae, x)), vr) };
  });
  let recDist = 0;
  const results = factors.map((factor, fi) => {
    const partners = shown.map((i) => partner(i, factor, rng));
    const figure = scoped(() => ({
      partnerImages: toImageArray(imagesTensor(ctx.data, partners), vr),
      modified: toImageArray(swapDecode(ctx, imagesTensor(ctx.data, shown), imagesTensor(ctx.data, partners), factor), vr),
    }));
    const dist: number[] = [];
    const distRec: number[] = [];
    const recOnly: number[] = [];
    let changed = 0;
    for (let off = 0; off < measured.length; off += batchSize) {
      const chunk = measured.slice(off, off + batchSize);
      const chunkPartners = chunk.map((i) => partner(i, factor, rng));
      scoped(() => {
        const x = imagesTensor(ctx.data, chunk);
        const rec = ctx.ae.decode(encodeMean(ctx.ae, x));
        const mod = swapDecode(ctx, x, imagesTensor(ctx.data, chunkPartners), factor);
        const fx = out(x);
        const fRec = out(rec);
        const fMod = out(mod);
        dist.push(...Array.from(tf.norm(tf.sub(fx, fMod), 'euclidean', 1).dataSync()));
        distRec.push(...Array.from(tf.norm(tf.sub(fRec, fMod), 'euclidean', 1).dataSync()));
        recOnly.push(...Array.from(tf.norm(tf.sub(fx, fRec), 'euclidean', 1).dataSync()));
        const k = fRec.shape[1];
        const pr = argmaxRows(fRec.dataSync(), chunk.length, k);
        const pm = argmaxRows(fMod.dataSync(), chunk.length, k);
        changed += pr.filter((p, i) => p !== pm[i]).length;
      });
    }
    if (fi === 0) recDist = mean(recOnly);
    onProgress?.({ task: 'semantic modification', step: fi + 1, total: factors.length, done: fi + 1 === factors.length });
    return { factor, partners, ...figure, distance: mean(dist), distanceFromReconstruction: mean(distRec), predictionChangeRate: changed / measured.length };
  });
  return { indices: shown, ...head, factors: results, reconstructionDistance: recDist, output };
}

export interface FactorWalkOptions {
  /** Dataset index of the input x. */
  index: number;
  /** The factor to move (not the residual). */
  factor: string;
  /** 'towards': along e(E(x'))_F − e(E(x))_F to the partner x' (the swap at amount 1); 'random': along a seeded N(0, I) direction. */
  mode: 'towards' | 'random';
  /** Dataset index of the partner x' (mode 'towards'; ignored otherwise). */
  partner: number;
  /** How far to go: α runs from 0 to `amount` (1 reaches the partner's factor). */
  amount: number;
  /** Points of the walk, α = amount·k/(steps − 1). Default 7. */
  steps?: number;
  /** Seed of the random direction. Default 0. */
  seed?: number;
}

export interface FactorWalkResult {
  factor: string;
  alphas: number[];
  input: ImageArray;
  reconstruction: ImageArray;
  partner: ImageArray;
  /** D(e⁻¹(ê)) with ê_F = e(E(x))_F + α·direction, the other factors of x unchanged: [steps, H, W, C]. */
  walk: ImageArray;
}

/**
 * The factor walk beside the factor swap (Eq. 7 generalised): move one factor of x continuously,
 * towards another image's or along a random direction, and decode. At α = 1 towards x' it is
 * the swap of `semanticModification`. The explorer's "Semantic edits" mode shows it.
 *
 * @example
 *   const w = factorWalk(ctx, { index: 0, partner: 5, factor: 'color', mode: 'towards', amount: 1 });
 *   w.walk.shape;   // [7, 32, 32, 3]
 */
export function factorWalk(ctx: AnalysisContext, options: FactorWalkOptions): FactorWalkResult {
  const e = requireSemantic(ctx, 'factorWalk');
  const { factor, mode, amount, steps = 7, seed = 0 } = options;
  const k = e.factorNames.indexOf(factor);
  if (k < 0 || k === e.factorNames.length - 1) throw new Error(`unknown factor '${factor}' (factors: ${e.factorNames.slice(0, -1).join(', ')})`);
  if (!Number.isFinite(amount)) throw new Error(`factorWalk: the amount must be a number, got ${amount}`);
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`factorWalk: steps must be an integer ≥ 2, got ${steps}`);
  const alphas = Array.from({ length: steps }, (_, i) => (amount * i) / (steps - 1));
  const vr = ctx.data.valueRange;
  return scoped(() => {
    const x = imagesTensor(ctx.data, [options.index]);
    const xp = imagesTensor(ctx.data, [options.partner]);
    const fx = e.encode(encodeMean(ctx.ae, x));
    const own = fx[factor]!;
    const direction = mode === 'towards'
      ? tf.sub(e.encode(encodeMean(ctx.ae, xp))[factor]!, own)
      : new Random(seed).normalTensor([1, e.factorSizes[k]!]);
    const walked = tf.add(tf.tile(own, [steps, 1]), tf.mul(tf.tensor2d(alphas, [steps, 1]), direction)) as tf.Tensor2D;
    const factors = Object.fromEntries(e.factorNames.map((name) => [name, name === factor ? walked : (tf.tile(fx[name]!, [steps, 1]) as tf.Tensor2D)]));
    return {
      factor, alphas,
      input: toImageArray(x, vr),
      reconstruction: toImageArray(ctx.ae.decode(encodeMean(ctx.ae, x)), vr),
      partner: toImageArray(xp, vr),
      walk: toImageArray(ctx.ae.decode(e.decode(factors)), vr),
    };
  });
}
