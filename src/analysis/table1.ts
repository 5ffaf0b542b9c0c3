/**
 * Analysis 9: the paper's Table 1 (FID of layer visualisations, ours vs D&B) extended with
 * M&V: for every layer, the Fréchet distance between images generated from z = Φ(x) and real
 * images, on the features of a fixed network (fid.ts).
 *   ours: x̄ = D(t⁻¹(v|Φ(x))), one sample per x, v ~ N(0, I); mean ± std over sampling seeds
 *   D&B:  the trained direct decoder applied to Φ(x) (deterministic: one number)
 *   M&V:  gradient inversion of Φ(x) (deterministic: one number; fewer images, it is slow)
 * plus the autoencoder's reconstructions D(E(x)) as the floor no layer can beat.
 * The conditioning images and the real reference images are disjoint halves of a random draw.
 * Definitions: docs/analyses.md §9.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { ImageDataset } from '../data/dataset.ts';
import {
  type AnalysisContext, type CommonOptions, type ImageArray,
  concatImages, encodeMean, imagesTensor, pickIndices, sampleZbar, scoped, selectLayers, toImageArray,
} from './context.ts';
import { gradientInversion, trainDirectDecoder, type DirectDecoderCheckpoints, type DirectDecoderOptions, type GradientInversionOptions } from './baselines.ts';
import { featureStats, type FeatureExtractor } from './fid.ts';
import { frechetDistance, meanStd } from './stats.ts';
import type { ProgressEvent } from '../runs/progress.ts';

export interface Table1Options extends CommonOptions {
  /** Feature network for the Fréchet distance (required: see docs/analyses.md §9 for the choice). */
  features: FeatureExtractor;
  /** Layers (default all). */
  layers?: string[];
  /** Conditioning images (and as many real reference images). Default 256. */
  images?: number;
  /** Sampling seeds for ours. Default [0, 1, 2]. */
  seeds?: number[];
  /** Data to train D&B on (ideally the training split). Default: the context's data. */
  trainData?: ImageDataset;
  /** D&B training options; `false` skips D&B. */
  dnb?: DirectDecoderOptions | false;
  /** Where each layer's D&B training is saved and continued from (the report: a folder beside it). */
  dnbCheckpoints?: (layer: string) => DirectDecoderCheckpoints;
  /** M&V options and image count (default 64); `false` skips M&V. */
  mv?: (GradientInversionOptions & { images?: number }) | false;
}

export interface Table1Row {
  layer: string;
  ours: { mean: number; std: number; perSeed: number[] };
  dnb: number | null;
  mv: number | null;
  /** M&V's final relative feature loss (how well the inversion matched z). */
  mvFeatureLoss: number | null;
  /** D&B's final training L1. */
  dnbFinalLoss: number | null;
}

export interface Table1Result {
  features: string;
  images: number;
  mvImages: number;
  seeds: number[];
  /** Fréchet distance of D(E(x)) to the real images: the floor. */
  reconstruction: number;
  rows: Table1Row[];
  /** One example per method and layer for the Fig. 2-style figure: [examples] images each. */
  examples: { inputs: ImageArray; layers: { layer: string; ours: ImageArray; dnb: ImageArray | null; mv: ImageArray | null }[] };
}

function mapImages(ctx: AnalysisContext, indices: readonly number[], batchSize: number, fn: (x: tf.Tensor4D) => tf.Tensor4D): ImageArray {
  const parts: ImageArray[] = [];
  for (let off = 0; off < indices.length; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    parts.push(scoped(() => toImageArray(fn(imagesTensor(ctx.data, chunk)), ctx.data.valueRange)));
  }
  return concatImages(parts);
}

/**
 * @example
 *   const t1 = await table1(ctx, { features: fx, images: 256, seeds: [0, 1, 2] });
 *   t1.rows.map((r) => `${r.layer}: ${r.ours.mean.toFixed(1)} ± ${r.ours.std.toFixed(1)} vs D&B ${r.dnb}`);
 */
export async function table1(ctx: AnalysisContext, options: Table1Options): Promise<Table1Result> {
  const { images = 256, seeds = [0, 1, 2], seed = 0, batchSize = 32, onProgress, features } = options;
  const layers = selectLayers(ctx, options.layers);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const drawn = pickIndices(total, 2 * images, rng);
  const half = Math.floor(drawn.length / 2);
  const cond = drawn.slice(0, half);
  const realIdx = drawn.slice(half, 2 * half);
  const real = featureStats(features, mapImages(ctx, realIdx, batchSize, (x) => tf.clone(x)), batchSize);
  const fd = (imgs: ImageArray) => frechetDistance(featureStats(features, imgs, batchSize), real);
  const reconstruction = fd(mapImages(ctx, cond, batchSize, (x) => ctx.ae.decode(encodeMean(ctx.ae, x))));
  const mvOptions = options.mv === false ? null : (options.mv ?? {});
  const mvCount = mvOptions ? Math.min(mvOptions.images ?? 64, cond.length) : 0;
  const mvIdx = cond.slice(0, mvCount);
  const exampleIdx = cond.slice(0, Math.min(4, cond.length));
  const [, h, w, c] = ctx.data.shape;
  // Sub-tasks report under their own names, so each task's steps stay monotone.
  const renamed = (name: string) => (onProgress ? (e: ProgressEvent) => onProgress({ ...e, task: name }) : undefined);
  const rows: Table1Row[] = [];
  const exampleLayers: Table1Result['examples']['layers'] = [];
  for (const [li, layer] of layers.entries()) {
    const task = `table 1 ${layer.name} (${li + 1}/${layers.length})`;
    const perSeed = seeds.map((s, k) => {
      const r = new Random(s);
      const v = fd(mapImages(ctx, cond, batchSize, (x) => ctx.ae.decode(sampleZbar(layer.t, layer.phi(x), 1, r))));
      onProgress?.({ task, step: k + 1, total: seeds.length + 2 });
      return v;
    });
    const ours = { ...meanStd(perSeed), perSeed };
    const oursExample = mapImages(ctx, exampleIdx, batchSize, (x) => ctx.ae.decode(sampleZbar(layer.t, layer.phi(x), 1, new Random(seeds[0] ?? 0))));
    let dnb: number | null = null;
    let dnbFinalLoss: number | null = null;
    let dnbExample: ImageArray | null = null;
    if (options.dnb !== false) {
      const dec = await trainDirectDecoder(layer, options.trainData ?? ctx.data, { seed, onProgress: renamed(`${task}: D&B`), checkpoints: options.dnbCheckpoints?.(layer.name), ...(options.dnb ?? {}) });
      dnb = fd(mapImages(ctx, cond, batchSize, (x) => dec.decode(layer.phi(x))));
      dnbExample = mapImages(ctx, exampleIdx, batchSize, (x) => dec.decode(layer.phi(x)));
      dnbFinalLoss = dec.losses[dec.losses.length - 1] ?? null;
      dec.dispose();
    }
    onProgress?.({ task, step: seeds.length + 1, total: seeds.length + 2 });
    let mv: number | null = null;
    let mvFeatureLoss: number | null = null;
    let mvExample: ImageArray | null = null;
    if (mvOptions && mvCount >= 2) {
      const lossAcc: number[] = [];
      let batchNo = 0;
      const inverted = mapImages(ctx, mvIdx, batchSize, (x) => {
        const onBatch = renamed(`${task}: M&V batch ${++batchNo}`);
        const r = gradientInversion(layer, ctx.ae, layer.phi(x), [h, w, c], ctx.data.valueRange, { onProgress: onBatch, ...mvOptions });
        lossAcc.push(r.featureLoss);
        return r.images;
      });
      mv = frechetDistance(featureStats(features, inverted, batchSize), real);
      mvFeatureLoss = lossAcc.reduce((a, b) => a + b, 0) / lossAcc.length;
      const shown = Math.min(exampleIdx.length, mvCount);
      mvExample = { ...inverted, data: inverted.data.slice(0, shown * h * w * c), shape: [shown, h, w, c] };
    }
    onProgress?.({ task, step: seeds.length + 2, total: seeds.length + 2, done: true });
    rows.push({ layer: layer.name, ours, dnb, mv, mvFeatureLoss, dnbFinalLoss });
    exampleLayers.push({ layer: layer.name, ours: oursExample, dnb: dnbExample, mv: mvExample });
  }
  return {
    features: features.name,
    images: cond.length,
    mvImages: mvCount,
    seeds: [...seeds],
    reconstruction,
    rows,
    examples: { inputs: mapImages(ctx, exampleIdx, batchSize, (x) => tf.clone(x)), layers: exampleLayers },
  };
}
