/**
 * Analysis 4: how the relevance of semantic concepts emerges during training (paper §4.2,
 * Fig. 4: "we couple 20 instances of the invertible interpretation model on the last
 * convolutional layer, each representing a checkpoint"; "the digit factor becomes increasingly
 * more relevant, with its relevance being strongly correlated to the accuracy").
 *
 * Per checkpoint: the semantic sensitivity of analysis 3 (one t per checkpoint, the same e and
 * the same data variances), the checkpoint's accuracy, and decoded samples at two checkpoints
 * (same inputs, same v). Definitions: docs/analyses.md §4.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type AnalysedLayer, type CommonOptions, type ImageArray,
  argmaxRows, imagesTensor, invertWith, pickIndices, requireSemantic, scoped, toImageArray,
} from './context.ts';
import { factorDataVariance, factorSampleVariance, toSensitivities, type FactorSensitivity } from './semantic-sensitivity.ts';

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
}

export interface CheckpointSensitivity {
  iteration: number;
  accuracy: number | null;
  factors: Record<string, FactorSensitivity>;
}

export interface TrainingDynamicsResult {
  factorNames: string[];
  dataVariance: Record<string, number>;
  checkpoints: CheckpointSensitivity[];
  /** Per factor: Pearson correlation of sensitivity with accuracy over checkpoints (null without accuracies). */
  correlationWithAccuracy: Record<string, number | null>;
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

/** Pearson correlation of two equally long series (null when either is constant or too short). */
export function pearson(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length || a.length < 2) return null;
  const ma = a.reduce((s, x) => s + x, 0) / a.length;
  const mb = b.reduce((s, x) => s + x, 0) / b.length;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return aa === 0 || bb === 0 ? null : ab / Math.sqrt(aa * bb);
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
  const dataVariance = factorDataVariance(ctx, e, pickIndices(total, Math.min(total, options.dataImages ?? Math.max(inputs, 256)), rng), 32);
  const indices = pickIndices(total, inputs, rng);
  const accIndices = pickIndices(total, accuracyImages, rng);
  // The same v for every checkpoint (common random numbers): differences come from z.
  const sampleSeed = rng.nextUint32();
  const results: CheckpointSensitivity[] = sorted.map((cp, k) => {
    const within = factorSampleVariance(ctx, e, cp.layer, indices, n, new Random(sampleSeed), batchSize, `dynamics ${cp.iteration} (${k + 1}/${sorted.length})`, onProgress);
    const accuracy = cp.accuracy ?? (cp.classify ? accuracyOn(cp.classify, ctx, accIndices) : null);
    return { iteration: cp.iteration, accuracy, factors: toSensitivities(within, dataVariance) };
  });
  const correlationWithAccuracy: Record<string, number | null> = {};
  const withAcc = results.filter((r) => r.accuracy !== null);
  for (const name of e.factorNames) {
    correlationWithAccuracy[name] = pearson(withAcc.map((r) => r.factors[name]!.sensitivity), withAcc.map((r) => r.accuracy!));
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
  return { factorNames: [...e.factorNames], dataVariance, checkpoints: results, correlationWithAccuracy, shown };
}
