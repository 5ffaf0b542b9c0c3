/**
 * Analysis 3: semantic sensitivity of a layer (paper §3.2 "Interpretation by Applying the
 * Learned INNs": (e_i)_i = e(t⁻¹(v|z)); comparing the e_i for different v shows which concepts
 * z is sensitive to and which it is invariant to). The official code never composes t and e
 * (digest §4.5); this file does.
 *
 * For a layer l and a factor F: with ẑ_F = e(t⁻¹(v|Φ(x)))_F and v ~ N(0, I) varying,
 *   share_F(l)       = mean_x mean_{d∈F} Var_v ẑ_F,d  /  mean_{d∈F} Var_x e(E(x))_F,d
 *   sensitivity_F(l) = 1 − share_F(l)
 * share 1: z fixes nothing of F (all of F's variation is left to v); share 0: z fixes F.
 * Exact definitions: docs/analyses.md §3.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type AnalysedLayer, type CommonOptions, type SemanticFlowLike,
  encodeMean, forChunks, imagesTensor, pickIndices, requireSemantic, sampleZbar, scoped, selectLayers,
} from './context.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { columnVariances, groupVariances } from './stats.ts';

export interface FactorSensitivity {
  /** mean_x mean_d Var_v ẑ_F,d: the factor's variance over samples. */
  withinVariance: number;
  /** withinVariance / the factor's variance over the data. */
  share: number;
  /** 1 − share. */
  sensitivity: number;
}

export interface LayerSemanticSensitivity {
  layer: string;
  factors: Record<string, FactorSensitivity>;
}

export interface SemanticSensitivityOptions extends CommonOptions {
  /** Layers to measure (default all). */
  layers?: string[];
  /** Inputs x averaged over. Default 32. */
  inputs?: number;
  /** Samples of v per input. Default 16. */
  samples?: number;
  /** Data images for the factors' data variances. Default max(inputs, 256). */
  dataImages?: number;
}

export interface SemanticSensitivityResult {
  factorNames: string[];
  /** mean_d Var_x e(E(x))_F,d per factor. */
  dataVariance: Record<string, number>;
  layers: LayerSemanticSensitivity[];
  inputs: number;
  samples: number;
}

/** Per factor, mean over its dimensions of the variance over data images of e(E(x))_F. */
export function factorDataVariance(ctx: Pick<AnalysisContext, 'ae' | 'data'>, e: SemanticFlowLike, indices: readonly number[], batchSize = 32): Record<string, number> {
  const D = e.factorSizes.reduce((a, b) => a + b, 0);
  const all = new Float32Array(indices.length * D);
  for (let off = 0; off < indices.length; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    scoped(() => {
      const f = e.encode(encodeMean(ctx.ae, imagesTensor(ctx.data, chunk)));
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

/**
 * The factor variances over samples of one (Φ, t) pair: mean_x mean_d Var_v e(t⁻¹(v|Φ(x)))_F,d.
 * Shared by analyses 3 and 4.
 */
export function factorSampleVariance(
  ctx: Pick<AnalysisContext, 'data'>, e: SemanticFlowLike, layer: Pick<AnalysedLayer, 'phi' | 't'>,
  indices: readonly number[], n: number, rng: Random, batchSize: number, task: string, onProgress?: ProgressListener,
): Record<string, number> {
  const D = e.factorSizes.reduce((a, b) => a + b, 0);
  const acc = new Float64Array(D);
  forChunks(indices, batchSize, task, onProgress, (chunk) => {
    scoped(() => {
      const zbar = sampleZbar(layer.t, layer.phi(imagesTensor(ctx.data, chunk)), n, rng);
      const f = e.encode(zbar);
      const zhat = tf.concat(e.factorNames.map((name) => f[name]!), 1);
      const v = groupVariances(zhat.dataSync(), chunk.length, n, D);
      for (let g = 0; g < chunk.length; g++) for (let d = 0; d < D; d++) acc[d]! += v[g * D + d]!;
    });
  });
  for (let d = 0; d < D; d++) acc[d]! /= indices.length;
  return perFactor(e, acc);
}

export function toSensitivities(within: Record<string, number>, data: Record<string, number>): Record<string, FactorSensitivity> {
  const out: Record<string, FactorSensitivity> = {};
  for (const [name, w] of Object.entries(within)) {
    const share = w / data[name]!;
    out[name] = { withinVariance: w, share, sensitivity: 1 - share };
  }
  return out;
}

/**
 * Analysis 3: for each layer and each semantic factor, how much of the factor z fixes.
 *
 * @example
 *   const r = semanticSensitivity(ctx, { inputs: 32, samples: 16 });
 *   r.layers[0].factors.digit.sensitivity;   // near 1 for a layer that encodes the digit
 */
export function semanticSensitivity(ctx: AnalysisContext, options: SemanticSensitivityOptions = {}): SemanticSensitivityResult {
  const { inputs = 32, samples: n = 16, seed = 0, batchSize = 8, onProgress } = options;
  if (!Number.isInteger(n) || n < 2) throw new Error(`semanticSensitivity: samples must be an integer ≥ 2, got ${n}`);
  const e = requireSemantic(ctx, 'semanticSensitivity');
  const layers = selectLayers(ctx, options.layers);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const dataVariance = factorDataVariance(ctx, e, pickIndices(total, Math.min(total, options.dataImages ?? Math.max(inputs, 256)), rng), 32);
  const indices = pickIndices(total, inputs, rng);
  const sampleSeed = rng.nextUint32(); // the same v for every layer
  const out = layers.map((layer, li) => {
    const within = factorSampleVariance(ctx, e, layer, indices, n, new Random(sampleSeed), batchSize, `semantic ${layer.name} (${li + 1}/${layers.length})`, onProgress);
    return { layer: layer.name, factors: toSensitivities(within, dataVariance) };
  });
  return { factorNames: [...e.factorNames], dataVariance, layers: out, inputs: indices.length, samples: n };
}
