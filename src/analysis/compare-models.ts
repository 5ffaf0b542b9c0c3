/**
 * Analysis 8: two models on the same inputs (the method of the paper's Fig. 6: samples
 * x̄ = D(t⁻¹(v|z)) conditioned on the representations z of two models side by side, with the
 * same v for both, so differences come from z alone). Both t's must share the AE.
 */
import { Random } from '../engine/random.ts';
import { tf } from '../engine/index.ts';
import {
  type AnalysedLayer, type AnalysisContext, type CommonOptions, type ImageArray,
  imagesTensor, invertWith, pickIndices, scoped, toImageArray,
} from './context.ts';

export interface CompareModelsOptions extends CommonOptions {
  /** Dataset indices; default `count` drawn with the seed. */
  indices?: number[];
  /** Inputs when indices are not given. Default 4. */
  count?: number;
  /** Samples per input and model. Default 4. */
  samples?: number;
}

export interface ComparedModel {
  /** A label for the figure, e.g. 'standard' and 'stylized'. */
  name: string;
  layer: Pick<AnalysedLayer, 'name' | 'phi' | 't'>;
}

export interface CompareModelsResult {
  indices: number[];
  inputs: ImageArray;
  samplesPerInput: number;
  /** Per model: [count·n] samples, rows i·n … i·n + n − 1 for input i (same v across models). */
  models: { name: string; layer: string; samples: ImageArray }[];
}

/**
 * @example
 *   compareModels(ctx, [{ name: 'A', layer: layerA }, { name: 'B', layer: layerB }], { count: 4 });
 */
export function compareModels(ctx: Pick<AnalysisContext, 'ae' | 'data'>, models: readonly ComparedModel[], options: CompareModelsOptions = {}): CompareModelsResult {
  if (models.length < 1) throw new Error('compareModels: no models');
  const { count = 4, samples: n = 4, seed = 0 } = options;
  const rng = new Random(seed);
  const indices = options.indices ?? pickIndices(ctx.data.shape[0], count, rng);
  const dims = new Set(models.map((m) => m.layer.t.dim));
  if (dims.size !== 1) throw new Error(`compareModels: the t's have different dimensions (${[...dims].join(', ')}); they must share one AE`);
  const vr = ctx.data.valueRange;
  return scoped(() => {
    const x = imagesTensor(ctx.data, indices);
    const v = rng.normalTensor([indices.length * n, models[0]!.layer.t.dim]) as tf.Tensor2D;
    const out = models.map((m, k) => {
      const images = toImageArray(ctx.ae.decode(invertWith(m.layer.t, v, m.layer.phi(x))), vr);
      options.onProgress?.({ task: 'compare models', step: k + 1, total: models.length, done: k + 1 === models.length });
      return { name: m.name, layer: m.layer.name, samples: images };
    });
    return { indices, inputs: toImageArray(x, vr), samplesPerInput: n, models: out };
  });
}
