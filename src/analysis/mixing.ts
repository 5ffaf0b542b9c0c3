/**
 * Analysis 7: image mixing, as the official demo's "swap" (digest §3.6): the invariances of one
 * image combined with the representation of another, x̄ = D(t⁻¹(v₁|z₂)) with
 * v₁ = t(E(x₁)|Φ(x₁)) and z₂ = Φ(x₂). The diagonal (x₁ = x₂) gives back D(E(x)).
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type CommonOptions, type ImageArray,
  encodeMean, findLayer, imagesTensor, invariancesOf, invertWith, pickIndices, repeatRows, scoped, toImageArray,
} from './context.ts';

export interface MixingOptions extends CommonOptions {
  layer: string;
  /** Images giving the invariances v₁ (rows). Default: `count` drawn with the seed. */
  invarianceIndices?: number[];
  /** Images giving the representation z₂ (columns). Default: `count` drawn with the seed. */
  representationIndices?: number[];
  /** Images per side when indices are not given. Default 4. */
  count?: number;
}

export interface MixingResult {
  layer: string;
  invarianceIndices: number[];
  representationIndices: number[];
  /** The images giving v (rows). */
  invarianceImages: ImageArray;
  /** The images giving z (columns). */
  representationImages: ImageArray;
  /** [rows·cols, H, W, C]: entry r·cols + c is D(t⁻¹(v_r|z_c)). */
  mixed: ImageArray;
}

/**
 * @example
 *   const m = imageMixing(ctx, { layer: 'z', count: 4 });   // a 4×4 grid
 */
export function imageMixing(ctx: AnalysisContext, options: MixingOptions): MixingResult {
  const layer = findLayer(ctx, options.layer);
  const { count = 4, seed = 0 } = options;
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const rowsIdx = options.invarianceIndices ?? pickIndices(total, count, rng);
  const colsIdx = options.representationIndices ?? pickIndices(total, count, rng);
  const vr = ctx.data.valueRange;
  return scoped(() => {
    const x1 = imagesTensor(ctx.data, rowsIdx);
    const x2 = imagesTensor(ctx.data, colsIdx);
    const v = invariancesOf(layer.t, encodeMean(ctx.ae, x1), layer.phi(x1));
    const r = rowsIdx.length;
    const c = colsIdx.length;
    // Row r·c + j: v of row r, z of column j.
    const vRep = repeatRows(v, c) as tf.Tensor2D;
    const z2 = layer.phi(x2);
    const zTiled = tf.tile(z2, [r, ...new Array<number>(z2.rank - 1).fill(1)]);
    const mixed = ctx.ae.decode(invertWith(layer.t, vRep, zTiled));
    options.onProgress?.({ task: 'mixing', step: 1, total: 1, done: true });
    return {
      layer: layer.name,
      invarianceIndices: rowsIdx,
      representationIndices: colsIdx,
      invarianceImages: toImageArray(x1, vr),
      representationImages: toImageArray(x2, vr),
      mixed: toImageArray(mixed, vr),
    };
  });
}
