/**
 * Fréchet distance between generated and real images on the features of a fixed network (the
 * formula of the FID, Heusel et al. 2017; the paper's Table 1 uses Inception's pool_3, digest
 * §5.4, which is not available offline). Which network gives the features is the caller's
 * choice, passed as a `FeatureExtractor`; docs/analyses.md §9 documents the project's choice.
 */
import { tf } from '../engine/index.ts';
import type { ValueRange } from '../data/dataset.ts';
import type { ImageArray } from './context.ts';
import { scoped } from './context.ts';
import { frechetDistance, gaussianStats, type GaussianStats } from './stats.ts';

/** Images [B, H, W, C] in the data's value range → features [B, F]. The caller owns the result. */
export interface FeatureExtractor {
  /** Name for the JSON output, e.g. 'nsfwjs-mobilenet-v2/global_average_pooling2d_1'. */
  name: string;
  features(x: tf.Tensor4D): tf.Tensor2D;
}

export interface ImageFeatureOptions {
  /** Resize the images to [H, W] (bilinear) before the network. Default: no resize. */
  size?: [number, number];
  /** The data's value range (what the images come in). */
  from: ValueRange;
  /** The network's value range. Default: the same. */
  to?: ValueRange;
  /** Repeat a single channel to 3 (grey images into an RGB network). Default false. */
  greyToRgb?: boolean;
}

/**
 * Wraps Φ of any network (e.g. a greybox of the nsfwjs MobileNetV2 split at its global average
 * pool) as a feature extractor: resize, map the value range, flatten Φ's output.
 *
 * @example
 *   const fx = featureExtractor('mobilenet-v2/gap', (x) => gb.phi(x), { size: [224, 224], from: [-1, 1], to: [0, 1] });
 */
export function featureExtractor(name: string, phi: (x: tf.Tensor) => tf.Tensor, options: ImageFeatureOptions): FeatureExtractor {
  const to = options.to ?? options.from;
  return {
    name,
    features: (x) => tf.tidy(() => {
      let h: tf.Tensor4D = x;
      if (options.greyToRgb && h.shape[3] === 1) h = tf.tile(h, [1, 1, 1, 3]);
      if (options.size) h = tf.image.resizeBilinear(h, options.size, false, true);
      if (to[0] !== options.from[0]) h = to[0] === 0 ? tf.mul(tf.add(h, 1), 0.5) : tf.sub(tf.mul(h, 2), 1);
      const f = phi(h);
      return tf.reshape(f, [f.shape[0]!, -1]) as tf.Tensor2D;
    }),
  };
}

/** Mean and covariance of the features of a set of images. */
export function featureStats(extractor: FeatureExtractor, images: ImageArray, batchSize = 64): GaussianStats {
  const [n, h, w, c] = images.shape;
  const size = h * w * c;
  const chunks: Float32Array[] = [];
  let dim = 0;
  for (let off = 0; off < n; off += batchSize) {
    const m = Math.min(batchSize, n - off);
    scoped(() => {
      const f = extractor.features(tf.tensor4d(images.data.subarray(off * size, (off + m) * size), [m, h, w, c]));
      dim = f.shape[1];
      chunks.push(Float32Array.from(f.dataSync() as Float32Array));
    });
  }
  const all = new Float32Array(n * dim);
  let off = 0;
  for (const ch of chunks) {
    all.set(ch, off);
    off += ch.length;
  }
  return gaussianStats(all, n, dim);
}

/**
 * Fréchet distance between two image sets on the extractor's features.
 *
 * @example
 *   const fd = imageFrechetDistance(fx, generated, realImages);
 */
export function imageFrechetDistance(extractor: FeatureExtractor, a: ImageArray, b: ImageArray | GaussianStats, batchSize = 64): number {
  const sa = featureStats(extractor, a, batchSize);
  const sb = 'cov' in b ? b : featureStats(extractor, b, batchSize);
  return frechetDistance(sa, sb);
}
