// Hand-made components with known answers for the analysis measures: a Gaussian "image" set
// whose AE is the identity on 4 pixels, t's that keep a chosen subset of z̄'s dimensions fixed
// by z and draw the rest from the data distribution, an identity e, a linear classifier.
import { tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import type { ImageDataset } from '../../src/data/dataset.ts';
import type { AnalysisContext, AutoencoderLike, ConditionalFlowLike, SemanticFlowLike } from '../../src/analysis/context.ts';

export const MEANS = [0.5, -1, 2, 0];
export const STDS = [1, 0.5, 2, 1.5];

/** n images of 2×2×1 pixels, pixel d ~ N(MEANS[d], STDS[d]²); labels = sign of pixel 0 vs its mean. */
export function gaussianImages(n: number, seed: number): ImageDataset {
  const rng = new Random(seed);
  const images = new Float32Array(n * 4);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < 4; d++) images[i * 4 + d] = MEANS[d]! + STDS[d]! * rng.normal();
    labels[i] = images[i * 4]! > MEANS[0]! ? 1 : 0;
  }
  return { name: 'gaussian', images, shape: [n, 2, 2, 1], labels, classNames: ['low', 'high'], valueRange: [-1, 1] };
}

/** E = flatten, D = reshape: z̄ is the image (a posterior of zero width: every sample is the mean). */
export const identityAe: AutoencoderLike = {
  encode: (x) => {
    const mean = tf.reshape(x, [x.shape[0]!, 4]) as tf.Tensor2D;
    return { mean, sample: () => tf.clone(mean), dispose: () => mean.dispose() };
  },
  decode: (z) => tf.reshape(z, [z.shape[0]!, 2, 2, 1]) as tf.Tensor4D,
};

/**
 * An AE whose posterior has width `posteriorStd`: E(x) = the image, a sample E(x) + posteriorStd·ε.
 * Its posterior samples vary more than its means (Var = STDS² + posteriorStd²).
 */
export function noisyAe(posteriorStd: number): AutoencoderLike {
  return {
    encode: (x) => {
      const mean = tf.reshape(x, [x.shape[0]!, 4]) as tf.Tensor2D;
      return {
        mean,
        sample: (rng: Random) => tf.tidy(() => tf.add(mean, tf.mul(rng.normalTensor(mean.shape), posteriorStd)) as tf.Tensor2D),
        dispose: () => mean.dispose(),
      };
    },
    decode: (z) => tf.reshape(z, [z.shape[0]!, 2, 2, 1]) as tf.Tensor4D,
  };
}

/**
 * t with z = z̄ (Φ = E): dimensions in `fixed` are copied from z, the others are
 * MEANS[d] + spread·STDS[d]·v_d (the data distribution for spread = 1, independent of z).
 */
export function partialFlow(fixed: readonly number[], spread = 1, stds: readonly number[] = STDS): ConditionalFlowLike {
  const mask = tf.tensor2d([[0, 1, 2, 3].map((d) => (fixed.includes(d) ? 1 : 0))]);
  const mu = tf.tensor2d([MEANS]);
  const sd = tf.tensor2d([stds.map((s) => spread * s)]);
  return {
    dim: 4,
    forward: (zbar, z) => tf.tidy(() => ({
      // The fixed dimensions carry no invariance: v_d = 0 there (not invertible, but never inverted from).
      output: tf.mul(tf.sub(1, mask), tf.div(tf.sub(zbar, mu), sd)) as tf.Tensor2D,
      logDet: tf.zeros([zbar.shape[0]]) as tf.Tensor1D,
    })),
    inverse: (v, z) => tf.tidy(() => ({
      output: tf.add(tf.mul(mask, tf.reshape(z, [z.shape[0]!, 4])), tf.mul(tf.sub(1, mask), tf.add(mu, tf.mul(sd, v)))) as tf.Tensor2D,
      logDet: tf.zeros([v.shape[0]]) as tf.Tensor1D,
    })),
  };
}

/** e = identity with factors a = dims 0–1 and b = dims 2–3. */
export const identityE: SemanticFlowLike = {
  factorNames: ['a', 'b'],
  factorSizes: [2, 2],
  encode: (zbar) => {
    const [a, b] = tf.split(zbar, [2, 2], 1) as tf.Tensor2D[];
    return { a: a!, b: b! };
  },
  decode: (f) => tf.concat([f.a!, f.b!], 1) as tf.Tensor2D,
};

/**
 * e that expands the tails of factor b: ẑ_b = y + y³ with y the standardised z̄_b (a flow that
 * stretches low-density regions). On the data Var ẑ_b,d = 1 + 6 + 15 = 22; on samples spread
 * s times wider Var = s² + 6s⁴ + 15s⁶, far more: the manifold check must flag them.
 */
export const expandingE: SemanticFlowLike = {
  factorNames: ['a', 'b'],
  factorSizes: [2, 2],
  encode: (zbar) => {
    const [a, b] = tf.split(zbar, [2, 2], 1) as tf.Tensor2D[];
    const y = tf.div(tf.sub(b!, tf.tensor2d([[MEANS[2]!, MEANS[3]!]])), tf.tensor2d([[STDS[2]!, STDS[3]!]]));
    return { a: a!, b: tf.add(y, tf.pow(y, 3)) as tf.Tensor2D };
  },
  decode: () => {
    throw new Error('expandingE: decode is not needed by the measures');
  },
};

/** A linear two-class classifier on the 4 pixels: logits = x·W. */
export function linearClassifier(): { classify: (x: tf.Tensor) => tf.Tensor2D; dispose: () => void } {
  const w = tf.tensor2d([[-1, 1], [0.5, -0.5], [0.2, 0.1], [-0.3, 0.3]]);
  return { classify: (x) => tf.matMul(tf.reshape(x, [x.shape[0]!, 4]), w) as tf.Tensor2D, dispose: () => w.dispose() };
}

export function syntheticContext(data: ImageDataset, fixed: readonly number[]): AnalysisContext {
  const phi = (x: tf.Tensor) => tf.reshape(x, [x.shape[0]!, 4]);
  return { ae: identityAe, layers: [{ name: `fix${fixed.join('')}`, phi, t: partialFlow(fixed) }], e: identityE, data, classify: linearClassifier().classify };
}
