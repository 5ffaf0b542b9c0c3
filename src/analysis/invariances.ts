/**
 * Analyses 1 and 2: the invariances of a layer (paper §3.2 "Visualizing Representations and
 * Invariances", Fig. 3 left) and the amount of invariance per layer (Fig. 3 right, §4.2: "the
 * amount of variance present in each selected layer when generating n samples for each of …
 * input images").
 *
 * For an input x with z = Φ(x): n samples z̄_k = t⁻¹(v_k|z), v_k ~ N(0, I) (Eq. 2), decoded
 * x̄_k = D(z̄_k). What z keeps stays constant over k; what Φ is invariant to varies.
 * Definitions of every number: docs/analyses.md §1–§2.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import {
  type AnalysisContext, type CommonOptions, type ImageArray,
  encodeMean, encodeSample, findLayer, scoped, forChunks, imagesTensor, pickIndices, rowSize, sampleZbar, selectLayers, toImageArray, concatImages,
} from './context.ts';
import { columnVariances, cosineSimilarity, groupVariances, mean, sum } from './stats.ts';

export interface LayerSamplesOptions extends CommonOptions {
  /** The analysed layer. */
  layer: string;
  /** Dataset indices of the inputs; default: `count` drawn with the seed. */
  indices?: number[];
  /** Number of inputs when `indices` is not given. Default 4. */
  count?: number;
  /** Samples n per input. Default 8 (the paper's figure shows a handful; its variance plot uses 250). */
  samples?: number;
  /** Random pairs of data images for the re-encoding reference. Default 64. */
  referencePairs?: number;
}

export interface ReencodingCheck {
  /** Per input: mean over its samples of cos(Φ(x̄_k), Φ(x)). */
  perInput: number[];
  /** Mean of `perInput`. */
  samples: number;
  /** Per input: cos(Φ(D(E(x))), Φ(x)), the AE reconstruction's similarity (an upper reference). */
  reconstruction: number;
  /** Mean cos(Φ(x_i), Φ(x_j)) over random pairs i ≠ j of data images (the chance level). */
  randomPairs: number;
}

export interface LayerSamplesResult {
  layer: string;
  indices: number[];
  samplesPerInput: number;
  /** The inputs x [count, H, W, C]. */
  inputs: ImageArray;
  /** D(E(x)) [count, H, W, C]. */
  reconstructions: ImageArray;
  /** x̄ = D(t⁻¹(v|Φ(x))) [count·n, H, W, C]; rows i·n … i·n + n − 1 belong to input i. */
  samples: ImageArray;
  /** Per-pixel mean over the n samples [count, H, W, C]. */
  meanMaps: ImageArray;
  /** Per-pixel variance over the n samples, averaged over channels: [count·H·W]. */
  varianceMaps: Float32Array;
  varianceMapShape: [number, number, number];
  reencoding: ReencodingCheck;
}

/**
 * Analysis 1: samples of one layer's invariances beside each input and its reconstruction, the
 * per-pixel mean and variance over samples, and the re-encoding check of the official demo.
 *
 * @example
 *   const r = layerSamples(ctx, { layer: 'conv3', count: 4, samples: 8, seed: 1 });
 *   r.samples.shape;   // [32, 32, 32, 3]
 */
export function layerSamples(ctx: AnalysisContext, options: LayerSamplesOptions): LayerSamplesResult {
  const { layer: name, count = 4, samples: n = 8, referencePairs = 64, seed = 0, onProgress } = options;
  if (!Number.isInteger(n) || n < 2) throw new Error(`layerSamples: samples must be an integer ≥ 2, got ${n}`);
  const layer = findLayer(ctx, name);
  const rng = new Random(seed);
  const indices = options.indices ?? pickIndices(ctx.data.shape[0], count, rng);
  const vr = ctx.data.valueRange;
  const [, h, w, c] = ctx.data.shape;
  const task = `samples ${name}`;
  const result = scoped(() => {
    const x = imagesTensor(ctx.data, indices);
    const z = layer.phi(x);
    const zbar = encodeMean(ctx.ae, x);
    const rec = ctx.ae.decode(zbar);
    const zbarSamples = sampleZbar(layer.t, z, n, rng);
    const xs = ctx.ae.decode(zbarSamples);
    onProgress?.({ task, step: 1, total: 3 });
    const { mean: m, variance } = tf.moments(tf.reshape(xs, [indices.length, n, h, w, c]), 1);
    const varMap = tf.mean(tf.mul(variance, n / (n - 1)), 3);
    // Re-encoding: Φ of every decoded sample against z of its input.
    const zs = layer.phi(xs);
    const zRec = layer.phi(rec);
    onProgress?.({ task, step: 2, total: 3 });
    return {
      inputs: toImageArray(x, vr),
      reconstructions: toImageArray(rec, vr),
      samples: toImageArray(xs, vr),
      meanMaps: toImageArray(m, vr),
      varianceMaps: Float32Array.from(varMap.dataSync() as Float32Array),
      z: Float32Array.from(z.dataSync()),
      zs: Float32Array.from(zs.dataSync()),
      zRec: Float32Array.from(zRec.dataSync()),
      zSize: rowSize(z.shape),
    };
  });
  const { zSize } = result;
  const row = (a: Float32Array, i: number) => a.subarray(i * zSize, (i + 1) * zSize);
  const perInput = indices.map((_, i) => mean(Array.from({ length: n }, (_, k) => cosineSimilarity(row(result.zs, i * n + k), row(result.z, i)))));
  const reconstruction = mean(indices.map((_, i) => cosineSimilarity(row(result.zRec, i), row(result.z, i))));
  const randomPairs = randomPairCosine(ctx, layer.phi, referencePairs, rng);
  onProgress?.({ task, step: 3, total: 3, done: true });
  return {
    layer: name,
    indices,
    samplesPerInput: n,
    inputs: result.inputs,
    reconstructions: result.reconstructions,
    samples: result.samples,
    meanMaps: result.meanMaps,
    varianceMaps: result.varianceMaps,
    varianceMapShape: [indices.length, h, w],
    reencoding: { perInput, samples: mean(perInput), reconstruction, randomPairs },
  };
}

/** Mean cos(Φ(x_i), Φ(x_j)) over `pairs` random pairs of distinct data images. */
export function randomPairCosine(ctx: AnalysisContext, phi: (x: tf.Tensor) => tf.Tensor, pairs: number, rng: Random): number {
  const total = ctx.data.shape[0];
  if (total < 2 || pairs < 1) return NaN;
  const a: number[] = [];
  const b: number[] = [];
  for (let p = 0; p < pairs; p++) {
    const i = rng.int(total);
    let j = rng.int(total - 1);
    if (j >= i) j += 1;
    a.push(i);
    b.push(j);
  }
  const [za, zb, size] = scoped(() => {
    const ta = phi(imagesTensor(ctx.data, a));
    const tb = phi(imagesTensor(ctx.data, b));
    return [Float32Array.from(ta.dataSync()), Float32Array.from(tb.dataSync()), rowSize(ta.shape)] as const;
  });
  return mean(a.map((_, k) => cosineSimilarity(za.subarray(k * size, (k + 1) * size), zb.subarray(k * size, (k + 1) * size))));
}

export interface InvariancePerLayerOptions extends CommonOptions {
  /** Layers to measure (default: all, in context order). */
  layers?: string[];
  /** Inputs x averaged over. Default 32 (paper: 100). */
  inputs?: number;
  /** Samples n per input. Default 16 (paper: 250). */
  samples?: number;
  /** Data images for the data variances. Default max(inputs, 256), capped at the dataset size. */
  dataImages?: number;
}

export interface LayerInvariance {
  layer: string;
  /** V_z̄(l) = mean_x Σ_d Var_k t⁻¹(v_k|Φ(x))_d. */
  zbarVariance: number;
  /** V_z̄(l) / Σ_d Var_data z̄_d (z̄ ~ q(z̄|x)): the share of z̄'s variance left to v ("variance explained by v"). */
  zbarShare: number;
  /** V_img(l) = mean_x mean_{pixels, channels} Var_k D(t⁻¹(v_k|Φ(x))). */
  imageVariance: number;
  /** V_img(l) / mean_{pixels, channels} Var_data D(z̄), z̄ ~ q(z̄|x). */
  imageShare: number;
}

export interface InvariancePerLayerResult {
  layers: LayerInvariance[];
  /** Σ_d Var_data z̄_d over the data images, one posterior sample z̄ ~ q(z̄|x) each. */
  dataZbarVariance: number;
  /** mean_{pixels, channels} Var_data D(z̄) over the same posterior samples. */
  dataImageVariance: number;
  inputs: number;
  samples: number;
}

/**
 * Analysis 2: the invariance of every layer, in z̄ space and in image space, as absolute
 * variances and as shares of the data's variance (docs/analyses.md §2).
 *
 * @example
 *   const r = invariancePerLayer(ctx, { inputs: 32, samples: 16 });
 *   r.layers.map((l) => l.zbarShare);   // grows with depth for a typical CNN
 */
export function invariancePerLayer(ctx: AnalysisContext, options: InvariancePerLayerOptions = {}): InvariancePerLayerResult {
  const { inputs = 32, samples: n = 16, seed = 0, batchSize = 8, onProgress } = options;
  if (!Number.isInteger(n) || n < 2) throw new Error(`invariancePerLayer: samples must be an integer ≥ 2, got ${n}`);
  const layers = selectLayers(ctx, options.layers);
  const rng = new Random(seed);
  const total = ctx.data.shape[0];
  const dataCount = Math.min(total, options.dataImages ?? Math.max(inputs, 256));
  const data = dataVariances(ctx, pickIndices(total, dataCount, rng), rng, batchSize);
  const indices = pickIndices(total, inputs, rng);
  const out: LayerInvariance[] = [];
  const sampleSeed = rng.nextUint32(); // the same v for every layer (common random numbers)
  layers.forEach((layer, li) => {
    const layerRng = new Random(sampleSeed);
    let zbarSum = 0;
    let imageSum = 0;
    forChunks(indices, batchSize, `invariance ${layer.name} (${li + 1}/${layers.length})`, onProgress, (chunk) => {
      const [zv, iv] = scoped(() => {
        const x = imagesTensor(ctx.data, chunk);
        const zbar = sampleZbar(layer.t, layer.phi(x), n, layerRng);
        const images = ctx.ae.decode(zbar);
        const zVar = groupVariances(zbar.dataSync(), chunk.length, n, zbar.shape[1]);
        const imgVar = groupVariances(images.dataSync(), chunk.length, n, rowSize(images.shape));
        return [sum(zVar), mean(imgVar) * chunk.length] as const;
      });
      zbarSum += zv;
      imageSum += iv;
    });
    const zbarVariance = zbarSum / indices.length;
    const imageVariance = imageSum / indices.length;
    out.push({ layer: layer.name, zbarVariance, zbarShare: zbarVariance / data.zbar, imageVariance, imageShare: imageVariance / data.image });
  });
  return { layers: out, dataZbarVariance: data.zbar, dataImageVariance: data.image, inputs: indices.length, samples: n };
}

/**
 * Σ_d Var_data z̄_d and mean_pixels Var_data D(z̄) over the given images, with z̄ ~ q(z̄|x) one
 * posterior sample per image: t is trained on posterior samples, so a t that ignores z and
 * matches its training distribution gives V_z̄ / Σ_d Var_data z̄_d = 1 (the posterior means
 * vary less than the samples, which put shares above 1 for such a t).
 */
export function dataVariances(ctx: Pick<AnalysisContext, 'ae' | 'data'>, indices: readonly number[], rng: Random, batchSize = 32): { zbar: number; image: number } {
  const codes: ImageArray[] = [];
  const zbars: Float32Array[] = [];
  for (let off = 0; off < indices.length; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    scoped(() => {
      const zbar = encodeSample(ctx.ae, imagesTensor(ctx.data, chunk), rng);
      zbars.push(Float32Array.from(zbar.dataSync()));
      codes.push(toImageArray(ctx.ae.decode(zbar), ctx.data.valueRange));
    });
  }
  const dim = zbars[0]!.length / Math.min(batchSize, indices.length);
  const all = new Float32Array(indices.length * dim);
  let off = 0;
  for (const z of zbars) {
    all.set(z, off);
    off += z.length;
  }
  const images = concatImages(codes);
  return {
    zbar: sum(columnVariances(all, indices.length, dim)),
    image: mean(columnVariances(images.data, indices.length, images.data.length / indices.length)),
  };
}
