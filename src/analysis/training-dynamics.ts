/**
 * Analysis 4: how the relevance of semantic concepts emerges during training (paper §4.2,
 * Fig. 4: "we couple 20 instances of the invertible interpretation model on the last
 * convolutional layer, each representing a checkpoint"; "the digit factor becomes increasingly
 * more relevant, with its relevance being strongly correlated to the accuracy").
 *
 * Per checkpoint: the semantic sensitivity of analysis 3 (one t per checkpoint, the same e and
 * the same data variances), the checkpoint's accuracy, and decoded samples at two checkpoints
 * (same inputs, same v); over checkpoints, Pearson and Spearman correlations of each factor's
 * sensitivity with accuracy, with bootstrap intervals; as a cross-check independent of t and e,
 * the IIN code's relevance score (shared pair covariance over total variance, digest §4.4) of
 * Φ(x) itself. Definitions: docs/analyses.md §4.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { PairBatch } from '../data/pairs.ts';
import { estimateFactorDimensions } from '../flows/factor-dims.ts';
import {
  type AnalysisContext, type AnalysedLayer, type CommonOptions, type ImageArray,
  argmaxRows, imagesTensor, invertWith, pickIndices, requireSemantic, rowSize, scoped, toImageArray,
} from './context.ts';
import { factorDataVariance, factorSampleVariances, manifoldWarnings, toSensitivities, type FactorSensitivity } from './semantic-sensitivity.ts';
import { bootstrapPaired, pearson, spearman, type Estimate } from './stats.ts';

export interface TrainingCheckpoint {
  /** Training iteration of the checkpoint. */
  iteration: number;
  /** Φ of this checkpoint at the analysed layer and the t trained on it. */
  layer: Pick<AnalysedLayer, 'phi' | 't'>;
  /** Test accuracy, if known (e.g. from the checkpoint's meta). */
  accuracy?: number;
  /** f(x) of this checkpoint, used to measure the accuracy when `accuracy` is not given. */
  classify?: (x: tf.Tensor) => tf.Tensor2D;
}

export interface TrainingDynamicsOptions extends CommonOptions {
  /** Inputs x averaged over. Default 32. */
  inputs?: number;
  /** Samples of v per input. Default 16. */
  samples?: number;
  /** Data images for the factors' data variances. Default max(inputs, 256). */
  dataImages?: number;
  /** Labelled data images for accuracies that are measured here. Default 512. */
  accuracyImages?: number;
  /** Iterations whose samples to decode. Default: the checkpoints at 10% and 90% of the run (paper: 4k and 36k of 40k). */
  showIterations?: [number, number];
  /** Inputs shown in the sample figure. Default 4. */
  showInputs?: number;
  /** Samples per shown input. Default 6. */
  showSamples?: number;
  /**
   * Pairs of images sharing a factor (indices into e's factorNames, e.g. a frozen test batch of
   * the data's pair sampler): the IIN relevance score of Φ(x) per checkpoint is computed on them.
   */
  relevancePairs?: Pick<PairBatch, 'a' | 'b' | 'factors' | 'shape'>;
  /** Bootstrap resamples of the correlation intervals. Default 2000. */
  bootstrap?: number;
}

export interface CheckpointSensitivity {
  iteration: number;
  accuracy: number | null;
  factors: Record<string, FactorSensitivity>;
  /** Per non-residual factor: the IIN relevance score of Φ(x) on `relevancePairs` (absent without them). */
  relevance?: Record<string, number>;
}

/** Correlations of one series with accuracy over checkpoints, each with its 95 % bootstrap interval. */
export interface CorrelationWithAccuracy {
  pearson: Estimate;
  spearman: Estimate;
}

export interface TrainingDynamicsResult {
  factorNames: string[];
  dataVariance: Record<string, number>;
  checkpoints: CheckpointSensitivity[];
  /** Per factor: Pearson correlation of sensitivity with accuracy over checkpoints (null without accuracies). */
  correlationWithAccuracy: Record<string, number | null>;
  /** Per factor: Pearson and Spearman of sensitivity with accuracy, with bootstrap intervals. */
  correlations: Record<string, CorrelationWithAccuracy>;
  /** Per non-residual factor: the same for the IIN relevance score of Φ(x) (empty without `relevancePairs`). */
  relevanceCorrelations: Record<string, CorrelationWithAccuracy>;
  inputs: number;
  samples: number;
  /** One line per (checkpoint, factor) outside the manifold band. */
  warnings: string[];
  /** Decoded samples at two checkpoints: the shown inputs, then rows i·n … i·n+n−1 per input. */
  shown: { iteration: number; inputs: ImageArray; samples: ImageArray; samplesPerInput: number }[];
}

/** Accuracy of f on labelled dataset images (label −1 images skipped). */
export function accuracyOn(classify: (x: tf.Tensor) => tf.Tensor2D, ctx: Pick<AnalysisContext, 'data'>, indices: readonly number[], batchSize = 64): number {
  const labelled = indices.filter((i) => ctx.data.labels[i]! >= 0);
  if (labelled.length === 0) throw new Error('accuracyOn: no labelled images');
  let correct = 0;
  for (let off = 0; off < labelled.length; off += batchSize) {
    const chunk = labelled.slice(off, off + batchSize);
    scoped(() => {
      const logits = classify(imagesTensor(ctx.data, chunk));
      argmaxRows(logits.dataSync(), chunk.length, logits.shape[1]).forEach((p, k) => {
        if (p === ctx.data.labels[chunk[k]!]) correct++;
      });
    });
  }
  return correct / labelled.length;
}

/**
 * The IIN code's relevance score of a representation (digest §4.4, `dim_callback`): per
 * non-residual factor, the covariance shared within the pairs that share it over the total
 * variance, on Φ(x) of the pairs' images.
 */
export function relevanceScores(phi: (x: tf.Tensor) => tf.Tensor, pairs: Pick<PairBatch, 'a' | 'b' | 'factors' | 'shape'>, factorNames: readonly string[]): Record<string, number> {
  const [za, zb, size] = scoped(() => {
    const a = phi(tf.tensor4d(pairs.a.images, pairs.shape));
    const b = phi(tf.tensor4d(pairs.b.images, pairs.shape));
    return [Float32Array.from(a.dataSync()), Float32Array.from(b.dataSync()), rowSize(a.shape)] as const;
  });
  const rows = (z: Float32Array) => Array.from({ length: pairs.shape[0] }, (_, i) => z.subarray(i * size, (i + 1) * size));
  const { scores } = estimateFactorDimensions(rows(za), rows(zb), pairs.factors, factorNames.length);
  return Object.fromEntries(factorNames.slice(0, -1).map((f, k) => [f, scores[k]!]));
}

function correlate(series: number[], accuracy: number[], rng: Random, resamples: number): CorrelationWithAccuracy {
  const next = () => rng.uniform();
  return { pearson: bootstrapPaired(series, accuracy, pearson, next, resamples), spearman: bootstrapPaired(series, accuracy, spearman, next, resamples) };
}

/**
 * Analysis 4 (Fig. 4).
 *
 * @example
 *   const r = trainingDynamics(ctx, checkpoints.map((c) => ({ iteration: c.step, accuracy: c.acc, layer: { phi: c.phi, t: c.t } })));
 *   r.checkpoints.map((c) => c.factors.digit.sensitivity);
 */
export function trainingDynamics(ctx: AnalysisContext, checkpoints: readonly TrainingCheckpoint[], options: TrainingDynamicsOptions = {}): TrainingDynamicsResult {
  const { inputs = 32, samples: n = 16, seed = 0, batchSize = 8, onProgress, accuracyImages = 512, showInputs = 4, showSamples = 6 } = options;
  if (checkpoints.length === 0) throw new Error('trainingDynamics: no checkpoints');
  const e = requireSemantic(ctx, 'trainingDynamics');
  const sorted = [...checkpoints].sort((a, b) => a.iteration - b.iteration);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const dataVariance = factorDataVariance(ctx, e, pickIndices(total, Math.min(total, options.dataImages ?? Math.max(inputs, 256)), rng), rng, 32);
  const indices = pickIndices(total, inputs, rng);
  const accIndices = pickIndices(total, accuracyImages, rng);
  // The same v for every checkpoint (common random numbers): differences come from z.
  const sampleSeed = rng.nextUint32();
  const warnings: string[] = [];
  const results: CheckpointSensitivity[] = sorted.map((cp, k) => {
    const v = factorSampleVariances(ctx, e, cp.layer, indices, n, new Random(sampleSeed), batchSize, `dynamics ${cp.iteration} (${k + 1}/${sorted.length})`, onProgress);
    const accuracy = cp.accuracy ?? (cp.classify ? accuracyOn(cp.classify, ctx, accIndices) : null);
    const factors = toSensitivities(v, dataVariance);
    warnings.push(...manifoldWarnings(`checkpoint ${cp.iteration}`, factors));
    const relevance = options.relevancePairs ? relevanceScores(cp.layer.phi, options.relevancePairs, e.factorNames) : undefined;
    return { iteration: cp.iteration, accuracy, factors, ...(relevance ? { relevance } : {}) };
  });
  const correlationWithAccuracy: Record<string, number | null> = {};
  const correlations: Record<string, CorrelationWithAccuracy> = {};
  const relevanceCorrelations: Record<string, CorrelationWithAccuracy> = {};
  const withAcc = results.filter((r) => r.accuracy !== null);
  const acc = withAcc.map((r) => r.accuracy!);
  const bootRng = new Random(seed + 7);
  for (const name of e.factorNames) {
    const series = withAcc.map((r) => r.factors[name]!.sensitivity);
    correlationWithAccuracy[name] = pearson(series, acc);
    correlations[name] = correlate(series, acc, bootRng, options.bootstrap ?? 2000);
    if (options.relevancePairs && name !== e.factorNames.at(-1)) relevanceCorrelations[name] = correlate(withAcc.map((r) => r.relevance![name]!), acc, bootRng, options.bootstrap ?? 2000);
  }
  const last = sorted[sorted.length - 1]!.iteration;
  const nearest = (it: number) => sorted.reduce((best, c) => (Math.abs(c.iteration - it) < Math.abs(best.iteration - it) ? c : best), sorted[0]!);
  const show = options.showIterations ?? [0.1 * last, 0.9 * last];
  const showIdx = pickIndices(total, showInputs, rng);
  const vSeed = rng.nextUint32();
  const shown = show.map((it) => {
    const cp = nearest(it);
    return scoped(() => {
      const x = imagesTensor(ctx.data, showIdx);
      const v = new Random(vSeed).normalTensor([showIdx.length * showSamples, cp.layer.t.dim]) as tf.Tensor2D;
      const images = ctx.ae.decode(invertWith(cp.layer.t, v, cp.layer.phi(x)));
      return { iteration: cp.iteration, inputs: toImageArray(x, ctx.data.valueRange), samples: toImageArray(images, ctx.data.valueRange), samplesPerInput: showSamples };
    });
  });
  return { factorNames: [...e.factorNames], dataVariance, checkpoints: results, correlationWithAccuracy, correlations, relevanceCorrelations, inputs: indices.length, samples: n, warnings, shown };
}
