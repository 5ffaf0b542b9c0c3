/**
 * What every analysis of "Making Sense of CNNs" (§3.2, §4) works on: the autoencoder E/D that
 * gives z̄, the model under study split at each analysed layer (z = Φ(x)), one conditional INN t
 * per layer (Eq. 2: z̄ = t⁻¹(v|z)), optionally the semantic INN e (ẑ = e(z̄), Eq. 6–7), and
 * the images to analyse. The CLI builds an `AnalysisContext` from loaded run folders; tests build
 * one from tiny models. Browser-safe (no file IO).
 *
 * The component types are structural, so a test can pass a hand-made t with a known answer
 * (e.g. one that ignores z); `ConditionalINN`, `SemanticINN`, `Autoencoder` and `Greybox`
 * satisfy them as they are.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { ImageDataset, ValueRange } from '../data/dataset.ts';
import type { FlowResult } from '../flows/module.ts';
import type { Greybox } from '../models/greybox.ts';
import type { ProgressListener } from '../runs/progress.ts';

/**
 * The AE: q(z̄|x) (its mean is z̄ = E(x); `sample` draws z̄ ~ q(z̄|x), as t and e are trained on)
 * and the decoder D. `Autoencoder` satisfies this.
 */
export interface AutoencoderLike {
  encode(x: tf.Tensor): { readonly mean: tf.Tensor2D; sample(rng: Random): tf.Tensor2D; dispose(): void };
  decode(zbar: tf.Tensor): tf.Tensor4D;
}

/** t: v = t(z̄|z), z̄ = t⁻¹(v|z). `ConditionalINN` satisfies this (and its optional fast path). */
export interface ConditionalFlowLike {
  /** D = dim z̄ = dim v. */
  readonly dim: number;
  forward(zbar: tf.Tensor2D, z: tf.Tensor): FlowResult;
  inverse(v: tf.Tensor2D, z: tf.Tensor): FlowResult;
  /** Optional: the embedding of z, computed once and reused for many v (ConditionalINN). */
  embed?(z: tf.Tensor): tf.Tensor2D;
  inverseEmbedded?(v: tf.Tensor2D, embedding: tf.Tensor2D): FlowResult;
}

/** e: ẑ = e(z̄) split into named factors, residual last. `SemanticINN` satisfies this. */
export interface SemanticFlowLike {
  readonly factorNames: readonly string[];
  readonly factorSizes: readonly number[];
  encode(zbar: tf.Tensor2D): Record<string, tf.Tensor2D>;
  decode(factors: Record<string, tf.Tensor2D>): tf.Tensor2D;
}

/** One analysed layer: z = Φ(x) and the t trained on it. */
export interface AnalysedLayer {
  /** Layer name, e.g. 'conv3', 'z', 'fire7'. */
  name: string;
  /** z = Φ(x) for a batch of images; the caller owns the result. */
  phi(x: tf.Tensor): tf.Tensor;
  t: ConditionalFlowLike;
}

export interface AnalysisContext {
  ae: AutoencoderLike;
  /** The analysed layers, from the input side to the output side. */
  layers: AnalysedLayer[];
  /** f(x): the model's output (logits for a classifier); needed by attacks and modifications. */
  classify?: (x: tf.Tensor) => tf.Tensor2D;
  /**
   * What `classify` returns: 'logits' (default) or 'probabilities' (a model that ends in a
   * softmax, e.g. the nsfwjs zoo models); probabilities are turned into log-probabilities, which
   * act as logits (softmax(log p) = p), so the attacks' cross-entropy stays right.
   */
  outputKind?: 'logits' | 'probabilities';
  /** The semantic INN; needed by the semantic analyses (3, 4, 6). */
  e?: SemanticFlowLike;
  /** The images to analyse (usually the test split). */
  data: ImageDataset;
  /** Name of the model under study, for titles. */
  modelName?: string;
}

/**
 * Runs `fn` and frees every tensor it created (like tf.tidy, for functions that return plain
 * numbers and arrays rather than tensors).
 */
export function scoped<T>(fn: () => T): T {
  tf.engine().startScope();
  try {
    return fn();
  } finally {
    tf.engine().endScope();
  }
}

/** Images as plain arrays: NHWC values in `valueRange`. */
export interface ImageArray {
  data: Float32Array;
  shape: [number, number, number, number];
  valueRange: ValueRange;
}

/** Options every analysis takes. */
export interface CommonOptions {
  /** Seed of every random draw (v, image choice, partners). */
  seed?: number;
  /** Progress events (task, step, total). */
  onProgress?: ProgressListener;
  /** Rows per forward pass (memory bound). */
  batchSize?: number;
}

/**
 * Builds the analysed layers from greyboxes and their t's.
 *
 * @example
 *   const model = splittableStages(classifier);
 *   const layers = layersFromGreyboxes([model.split('conv3'), model.split('z')], [tConv3, tZ]);
 */
export function layersFromGreyboxes(greyboxes: readonly Greybox[], flows: readonly ConditionalFlowLike[]): AnalysedLayer[] {
  if (greyboxes.length !== flows.length) throw new Error(`layersFromGreyboxes: ${greyboxes.length} greyboxes but ${flows.length} flows`);
  return greyboxes.map((gb, i) => ({ name: gb.layer, phi: (x: tf.Tensor) => gb.phi(x), t: flows[i]! }));
}

/** Finds a layer by name; the error lists the analysed layers. */
export function findLayer(ctx: Pick<AnalysisContext, 'layers'>, name: string): AnalysedLayer {
  const layer = ctx.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`unknown layer '${name}' (analysed layers: ${ctx.layers.map((l) => l.name).join(', ') || 'none'})`);
  return layer;
}

/** Layers named in `names` (all when undefined), in context order. */
export function selectLayers(ctx: Pick<AnalysisContext, 'layers'>, names?: readonly string[]): AnalysedLayer[] {
  if (!names || names.length === 0) return ctx.layers;
  return names.map((n) => findLayer(ctx, n));
}

export function requireSemantic(ctx: AnalysisContext, where: string): SemanticFlowLike {
  if (!ctx.e) throw new Error(`${where}: needs the semantic INN e (AnalysisContext.e)`);
  return ctx.e;
}

/** f as logits (log-probabilities for a model that outputs probabilities, see `outputKind`). */
export function requireClassifier(ctx: AnalysisContext, where: string): (x: tf.Tensor) => tf.Tensor2D {
  const f = ctx.classify;
  if (!f) throw new Error(`${where}: needs the model's output f(x) (AnalysisContext.classify)`);
  if ((ctx.outputKind ?? 'logits') === 'logits') return f;
  return (x) => tf.tidy(() => tf.log(tf.maximum(f(x), 1e-12)) as tf.Tensor2D);
}

/**
 * Which images an analysis ran on, for every output: the dataset's name says its split (e.g.
 * 'colormnist/test', or an image folder's held-out part).
 *
 * @example
 *   describeImages(ctx.data);   // '1000 images of colormnist/test'
 */
export function describeImages(data: Pick<ImageDataset, 'name' | 'shape'>, used?: number): string {
  return `${used !== undefined && used < data.shape[0] ? `${used} of ` : ''}${data.shape[0]} images of ${data.name}`;
}

/** `count` distinct image indices drawn from `rng` (all images, shuffled, when count ≥ n). */
export function pickIndices(n: number, count: number, rng: Random): number[] {
  if (n < 1) throw new Error('pickIndices: the dataset is empty');
  const perm = rng.permutation(n);
  return Array.from(perm.subarray(0, Math.min(count, n)));
}

/** A batch of the dataset's images as a tensor [B, H, W, C]. */
export function imagesTensor(data: ImageDataset, indices: readonly number[]): tf.Tensor4D {
  const [, h, w, c] = data.shape;
  const size = h * w * c;
  const out = new Float32Array(indices.length * size);
  indices.forEach((idx, k) => {
    if (!(idx >= 0 && idx < data.shape[0])) throw new Error(`image index ${idx} is outside 0..${data.shape[0] - 1}`);
    out.set(data.images.subarray(idx * size, (idx + 1) * size), k * size);
  });
  return tf.tensor4d(out, [indices.length, h, w, c]);
}

/** z̄ = E(x), the mean of q(z̄|x) (the deterministic code; digest §6 item 10). */
export function encodeMean(ae: AutoencoderLike, x: tf.Tensor): tf.Tensor2D {
  const post = ae.encode(x);
  const m = tf.clone(post.mean);
  post.dispose();
  return m;
}

/**
 * z̄ ~ q(z̄|x), one posterior sample per image: the codes t and e were trained on (the cinn and
 * iin jobs sample, as the reference does), so every data reference a measure compares t's samples
 * with is drawn the same way (docs/analyses.md, "Data references").
 */
export function encodeSample(ae: AutoencoderLike, x: tf.Tensor, rng: Random): tf.Tensor2D {
  const post = ae.encode(x);
  try {
    return post.sample(rng);
  } finally {
    post.dispose();
  }
}

/** Repeats each row of a batch n times (rows b·n … b·n + n − 1 are copies of row b). */
export function repeatRows(x: tf.Tensor, n: number): tf.Tensor {
  if (n === 1) return tf.clone(x);
  const b = x.shape[0]!;
  return tf.tidy(() => tf.gather(x, tf.tensor1d(Int32Array.from({ length: b * n }, (_, i) => Math.floor(i / n)), 'int32')));
}

/** z̄ = t⁻¹(v|z) for given v [B·n, D] and z [B, …]; v's rows b·n … b·n + n − 1 use z[b]. */
export function invertWith(t: ConditionalFlowLike, v: tf.Tensor2D, z: tf.Tensor): tf.Tensor2D {
  const b = z.shape[0]!;
  const n = v.shape[0] / b;
  if (!Number.isInteger(n) || n < 1) throw new Error(`invertWith: ${v.shape[0]} rows of v for ${b} conditions`);
  return tf.tidy(() => {
    if (t.embed && t.inverseEmbedded) {
      const emb = t.embed(z);
      const r = t.inverseEmbedded(v, n === 1 ? emb : (repeatRows(emb, n) as tf.Tensor2D));
      r.logDet.dispose();
      return r.output;
    }
    const r = t.inverse(v, n === 1 ? z : repeatRows(z, n));
    r.logDet.dispose();
    return r.output;
  });
}

/** v = t(z̄|z). */
export function invariancesOf(t: ConditionalFlowLike, zbar: tf.Tensor2D, z: tf.Tensor): tf.Tensor2D {
  const r = t.forward(zbar, z);
  r.logDet.dispose();
  return r.output;
}

/** n samples z̄ = t⁻¹(v|z), v ~ N(0, I) from `rng`, per row of z: [B·n, D] (Eq. 2). */
export function sampleZbar(t: ConditionalFlowLike, z: tf.Tensor, n: number, rng: Random): tf.Tensor2D {
  const v = rng.normalTensor([z.shape[0]! * n, t.dim]) as tf.Tensor2D;
  try {
    return invertWith(t, v, z);
  } finally {
    v.dispose();
  }
}

/** Copies a tensor of images into an `ImageArray` (does not dispose it). */
export function toImageArray(x: tf.Tensor, valueRange: ValueRange): ImageArray {
  if (x.rank !== 4) throw new Error(`toImageArray: expected [B, H, W, C], got [${x.shape.join(', ')}]`);
  return { data: Float32Array.from(x.dataSync() as Float32Array), shape: x.shape.slice() as [number, number, number, number], valueRange };
}

/** Concatenates image arrays along the batch axis. */
export function concatImages(parts: readonly ImageArray[]): ImageArray {
  if (parts.length === 0) throw new Error('concatImages: nothing to concatenate');
  const [, h, w, c] = parts[0]!.shape;
  const n = parts.reduce((s, p) => s + p.shape[0], 0);
  const data = new Float32Array(n * h * w * c);
  let off = 0;
  for (const p of parts) {
    if (p.shape[1] !== h || p.shape[2] !== w || p.shape[3] !== c) throw new Error('concatImages: image sizes differ');
    data.set(p.data, off);
    off += p.data.length;
  }
  return { data, shape: [n, h, w, c], valueRange: parts[0]!.valueRange };
}

/** Rows [from, to) of an image array. */
export function sliceImages(images: ImageArray, from: number, to: number): ImageArray {
  const [, h, w, c] = images.shape;
  const size = h * w * c;
  return { data: images.data.slice(from * size, to * size), shape: [to - from, h, w, c], valueRange: images.valueRange };
}

/** Runs `fn` over index chunks of at most `batchSize` and reports progress. */
export function forChunks(indices: readonly number[], batchSize: number, task: string, onProgress: ProgressListener | undefined, fn: (chunk: number[], offset: number) => void): void {
  const total = indices.length;
  for (let off = 0; off < total; off += batchSize) {
    const chunk = indices.slice(off, off + batchSize);
    fn(chunk, off);
    onProgress?.({ task, step: Math.min(off + batchSize, total), total, done: off + batchSize >= total });
  }
}

/** Argmax per row of a [B, K] array. */
export function argmaxRows(values: ArrayLike<number>, rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < cols; k++) if (values[r * cols + k]! > values[r * cols + best]!) best = k;
    out.push(best);
  }
  return out;
}

/** Total number of values per row of a tensor shape without the batch axis. */
export function rowSize(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}
