/**
 * Analysis 3: semantic sensitivity of a layer (paper §3.2 "Interpretation by Applying the
 * Learned INNs": (e_i)_i = e(t⁻¹(v|z)); comparing the e_i for different v shows which concepts
 * z is sensitive to and which it is invariant to; Fig. 4's bars: "how much the data varies in
 * e_i and how much of this variability is captured by z"). The official code never composes t
 * and e (digest §4.5); this file does.
 *
 * For a layer l and a factor F, with ẑ = e(t⁻¹(v|Φ(x)))_F over inputs x and samples v ~ N(0, I),
 * a variance decomposition of t's own samples (law of total variance):
 *   total     Var_{x,v} ẑ  =  between Var_x E_v ẑ (captured by z)  +  within E_x Var_v ẑ (left to v)
 *   sensitivity_F(l) = captured / total ∈ [0, 1]
 * bias-corrected for the n samples per x (stats.ts `varianceDecomposition`). Besides it, the
 * manifold check total / Var_data ẑ_F (data: e of AE posterior samples) says whether t's
 * samples have e's data distribution at all. Exact definitions: docs/analyses.md §3.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type AnalysedLayer, type CommonOptions, type SemanticFlowLike,
  encodeSample, forChunks, imagesTensor, pickIndices, requireSemantic, sampleZbar, scoped, selectLayers,
} from './context.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { columnVariances, mean, varianceDecomposition } from './stats.ts';

/** The manifold check's band: total / data variance outside it raises the flag. */
export const MANIFOLD_BAND: readonly [number, number] = [0.8, 1.25];
export const OFF_MANIFOLD_MESSAGE = "t's samples are off the data manifold here: train t longer";

export interface FactorSensitivity {
  /** E_x Var_v ẑ_F (mean over F's dimensions): the variation z leaves to v (the invariant part). */
  within: number;
  /** Var_x E_v ẑ_F, bias-corrected and clamped at 0: the variation z captures. */
  captured: number;
  /** The bias-corrected Var_x E_v ẑ_F before the clamp (negative only by sampling noise). */
  capturedUnclamped: number;
  /** Var_{x,v} ẑ_F = captured + within. */
  total: number;
  /** captured / total ∈ [0, 1] (0 when total is 0). */
  sensitivity: number;
  /** total / Var_data ẑ_F: 1 when t's samples spread like e's data in this factor. */
  manifoldRatio: number;
  /** manifoldRatio outside MANIFOLD_BAND: the sensitivity describes samples e has not seen. */
  offManifold: boolean;
}

export interface LayerSemanticSensitivity {
  layer: string;
  factors: Record<string, FactorSensitivity>;
}

export interface SemanticSensitivityOptions extends CommonOptions {
  /** Layers to measure (default all). */
  layers?: string[];
  /** Inputs x averaged over (≥ 2). Default 32. */
  inputs?: number;
  /** Samples of v per input (≥ 2). Default 16. */
  samples?: number;
  /** Data images for the factors' data variances. Default max(inputs, 256). */
  dataImages?: number;
}

export interface SemanticSensitivityResult {
  factorNames: string[];
  /** Var_data ẑ_F: mean over F's dimensions of Var_x e(z̄)_F, z̄ ~ q(z̄|x) (the first bar of Fig. 4). */
  dataVariance: Record<string, number>;
  layers: LayerSemanticSensitivity[];
  inputs: number;
  samples: number;
  dataImages: number;
  /** One line per (layer, factor) outside the manifold band, for the CLI, the report and the explorer. */
  warnings: string[];
}

/**
 * Per factor, mean over its dimensions of the variance over data images of e(z̄)_F with
 * z̄ ~ q(z̄|x), one posterior sample per image (as e and t were trained).
 */
export function factorDataVariance(ctx: Pick<AnalysisContext, 'ae' | 'data'>, e: SemanticFlowLike, indices: readonly number[], rng: Random, batchSize = 32): Record<string, number> {
  const D = e.factorSizes.reduce((a, b) => a + b, 0);
  const all = new Float32Array(indices.length * D);
  for (let off = 0; off < indices.length; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    scoped(() => {
      const f = e.encode(encodeSample(ctx.ae, imagesTensor(ctx.data, chunk), rng));
      all.set(tf.concat(e.factorNames.map((n) => f[n]!), 1).dataSync() as Float32Array, off * D);
    });
  }
  return perFactor(e, columnVariances(all, indices.length, D));
}

function perFactor(e: SemanticFlowLike, perDim: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  let start = 0;
  e.factorNames.forEach((name, i) => {
    const size = e.factorSizes[i]!;
    let s = 0;
    for (let d = start; d < start + size; d++) s += perDim[d]!;
    out[name] = s / size;
    start += size;
  });
  return out;
}

/** Per factor, the within and (bias-corrected, unclamped) between variances of t's samples in e-space. */
export interface FactorSampleVariances {
  within: Record<string, number>;
  between: Record<string, number>;
}

/**
 * The variance decomposition of one (Φ, t) pair's samples ẑ = e(t⁻¹(v|Φ(x))): per factor, mean
 * over its dimensions of within and between. v is drawn independently for every input (the
 * bias correction assumes it). Shared by analyses 3 and 4.
 */
export function factorSampleVariances(
  ctx: Pick<AnalysisContext, 'data'>, e: SemanticFlowLike, layer: Pick<AnalysedLayer, 'phi' | 't'>,
  indices: readonly number[], n: number, rng: Random, batchSize: number, task: string, onProgress?: ProgressListener,
): FactorSampleVariances {
  if (indices.length < 2 || n < 2) throw new Error(`semantic sensitivity: need at least 2 inputs and 2 samples each, got ${indices.length} × ${n}`);
  const D = e.factorSizes.reduce((a, b) => a + b, 0);
  const all = new Float32Array(indices.length * n * D);
  forChunks(indices, batchSize, task, onProgress, (chunk, offset) => {
    scoped(() => {
      const zbar = sampleZbar(layer.t, layer.phi(imagesTensor(ctx.data, chunk)), n, rng);
      const f = e.encode(zbar);
      all.set(tf.concat(e.factorNames.map((name) => f[name]!), 1).dataSync() as Float32Array, offset * n * D);
    });
  });
  const { within, between } = varianceDecomposition(all, indices.length, n, D);
  return { within: perFactor(e, within), between: perFactor(e, between) };
}

/**
 * Sensitivities and manifold ratios from the decomposition and the data variances. The clamp of
 * captured at 0 is the only one: the bias-corrected between-variance is an unbiased estimate of a
 * non-negative quantity and goes below 0 only by noise when z captures (almost) nothing; within is
 * a mean of variances and never negative, so captured / (captured + within) ∈ [0, 1] follows.
 */
export function toSensitivities(v: FactorSampleVariances, data: Record<string, number>): Record<string, FactorSensitivity> {
  const out: Record<string, FactorSensitivity> = {};
  for (const [name, within] of Object.entries(v.within)) {
    const capturedUnclamped = v.between[name]!;
    const captured = Math.max(0, capturedUnclamped);
    const total = captured + within;
    const manifoldRatio = total / data[name]!;
    out[name] = {
      within, captured, capturedUnclamped, total,
      sensitivity: total > 0 ? captured / total : 0,
      manifoldRatio,
      offManifold: !(manifoldRatio >= MANIFOLD_BAND[0] && manifoldRatio <= MANIFOLD_BAND[1]),
    };
  }
  return out;
}

/** One warning line per off-manifold factor of one layer or checkpoint. */
export function manifoldWarnings(where: string, factors: Record<string, FactorSensitivity>): string[] {
  return Object.entries(factors).filter(([, f]) => f.offManifold).map(([name, f]) =>
    `${where}, ${name}: Var(t's samples) / Var(data) = ${f.manifoldRatio.toFixed(2)} (outside [${MANIFOLD_BAND[0]}, ${MANIFOLD_BAND[1]}]): ${OFF_MANIFOLD_MESSAGE}`);
}

/**
 * Analysis 3: for each layer and each semantic factor, how much of the factor's variation over
 * t's samples z captures.
 *
 * @example
 *   const r = semanticSensitivity(ctx, { inputs: 32, samples: 16 });
 *   r.layers[0].factors.digit.sensitivity;   // near 1 for a layer that encodes the digit
 *   r.warnings;                              // off-manifold (layer, factor) pairs
 */
export function semanticSensitivity(ctx: AnalysisContext, options: SemanticSensitivityOptions = {}): SemanticSensitivityResult {
  const { inputs = 32, samples: n = 16, seed = 0, batchSize = 8, onProgress } = options;
  if (!Number.isInteger(n) || n < 2) throw new Error(`semanticSensitivity: samples must be an integer ≥ 2, got ${n}`);
  if (!Number.isInteger(inputs) || inputs < 2) throw new Error(`semanticSensitivity: inputs must be an integer ≥ 2, got ${inputs}`);
  const e = requireSemantic(ctx, 'semanticSensitivity');
  const layers = selectLayers(ctx, options.layers);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const dataIndices = pickIndices(total, Math.min(total, options.dataImages ?? Math.max(inputs, 256)), rng);
  const dataVariance = factorDataVariance(ctx, e, dataIndices, rng, 32);
  const indices = pickIndices(total, inputs, rng);
  const sampleSeed = rng.nextUint32(); // the same v for every layer
  const warnings: string[] = [];
  const out = layers.map((layer, li) => {
    const v = factorSampleVariances(ctx, e, layer, indices, n, new Random(sampleSeed), batchSize, `semantic ${layer.name} (${li + 1}/${layers.length})`, onProgress);
    const factors = toSensitivities(v, dataVariance);
    warnings.push(...manifoldWarnings(`layer ${layer.name}`, factors));
    return { layer: layer.name, factors };
  });
  return { factorNames: [...e.factorNames], dataVariance, layers: out, inputs: indices.length, samples: n, dataImages: dataIndices.length, warnings };
}
