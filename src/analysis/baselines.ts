/**
 * The two baselines of the paper's Fig. 2 and Table 1, which invert z = Φ(x) without
 * modelling its invariances:
 * - D&B (Dosovitskiy & Brox 2016): a decoder trained to map z straight to x, here
 *   standardise(flatten(z)) → dense → LeakyReLU → dense → [s, s, C] → k × [LeakyReLU(0.2) →
 *   conv-transpose 4×4 s2] → tanh (or sigmoid for [0, 1] images), trained with the mean L1 pixel
 *   loss and Adam (their perceptual and adversarial terms are left out).
 * - M&V (Mahendran & Vedaldi 2016): gradient-based inversion of z with image priors: minimise
 *   over x = c + r·tanh(u) (c, r: centre and half-width of the value range, so x stays inside it)
 *     ‖Φ(x) − z‖² / ‖z‖²  +  λ_tv · mean TV²(x)  +  λ_ae · mean (x − D(E(x)))²
 *   with TV² the squared differences of neighbouring pixels and the last term an AE prior (x
 *   should be a point the autoencoder reproduces), Adam on u from u = 0.
 * Definitions: docs/analyses.md §9.
 */
import { tf } from '../engine/index.ts';
import { Random, type RandomState } from '../engine/random.ts';
import { restoreOptimizerState, saveOptimizerState, type SavedOptimizerTensor } from '../train/optimizer-state.ts';
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { convTranspose4x4s2 } from '../models/layers.ts';
import {
  type AnalysedLayer, type AutoencoderLike, type CommonOptions,
  encodeMean, imagesTensor, rowSize,
} from './context.ts';

export interface DirectDecoderOptions extends CommonOptions {
  /** Training steps. Default 500. */
  steps?: number;
  /** Batch size. Default 32. */
  batchSize?: number;
  /** Adam learning rate (β = 0.5, 0.9). Default 1e-3. */
  learningRate?: number;
  /** Width of the hidden dense layer. Default 256. */
  hidden?: number;
  /** Channels at the smallest resolution; halved per up-sampling (min 8). Default 64. */
  channels?: number;
  /** Number of stride-2 up-samplings. Default 3 (4×4 → 32×32). */
  upsamplings?: number;
  /**
   * Where training is saved and continued from (the report gives a folder of files): a run
   * stopped at any step and started again with the same options and data gives the same
   * losses and weights, bit for bit, as one that was never stopped.
   */
  checkpoints?: DirectDecoderCheckpoints;
}

export const DIRECT_DECODER_STATE_FORMAT = 'inntrospect-dnb-state/1';

/** Everything the next step of D&B reads, after `step` steps. */
export interface DirectDecoderState {
  format: typeof DIRECT_DECODER_STATE_FORMAT;
  step: number;
  /** The options and data that must match for the state to be continued (else training starts over). */
  key: string;
  losses: number[];
  rng: RandomState;
  /** The decoder's variables, in build order. */
  variables: SavedOptimizerTensor[];
  optimizer: SavedOptimizerTensor[];
}

/** Storage of D&B training state (IO stays with the caller: files in Node, anything in a page). */
export interface DirectDecoderCheckpoints {
  /** The saved state, or null when there is none. */
  load(): DirectDecoderState | null | Promise<DirectDecoderState | null>;
  save(state: DirectDecoderState): void | Promise<void>;
  /** Steps between saves (and always after the last). Default 100. */
  every?: number;
}

/** A trained D&B decoder. */
export interface DirectDecoder {
  decode(z: tf.Tensor): tf.Tensor4D;
  /** Training losses (mean L1), one per step. */
  losses: number[];
  dispose(): void;
}

function encodeVariable(name: string, v: tf.Tensor): SavedOptimizerTensor {
  const values = Float32Array.from(v.dataSync());
  return { name, shape: v.shape, dtype: 'float32', data: bytesToBase64(new Uint8Array(values.buffer)) };
}

function decodeSaved(saved: SavedOptimizerTensor, shape: number[]): tf.Tensor {
  const values = new Float32Array(base64ToBytes(saved.data).slice().buffer);
  if (values.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`D&B state '${saved.name}': ${values.length} values for shape [${shape.join(', ')}]`);
  return tf.tensor(values, shape, 'float32');
}

/** A short digest of z's statistics (FNV-1a over their float bits): equal for the same Φ and data. */
function zFingerprint(mean: tf.Tensor, std: tf.Tensor): string {
  let hash = 0x811c9dc5;
  for (const t of [mean, std]) {
    const bytes = new Uint8Array(Float32Array.from(t.dataSync()).buffer);
    for (const b of bytes) hash = Math.imul(hash ^ b, 0x01000193) >>> 0;
  }
  return hash.toString(16);
}

/**
 * Trains D&B: a decoder from z = Φ(x) straight to x on `data`.
 *
 * @example
 *   const dnb = await trainDirectDecoder(layer, trainSet, { steps: 500 });
 *   const xs = dnb.decode(layer.phi(x));
 */
export async function trainDirectDecoder(layer: Pick<AnalysedLayer, 'phi'>, data: ImageDataset, options: DirectDecoderOptions = {}): Promise<DirectDecoder> {
  const { steps = 500, batchSize = 32, learningRate = 1e-3, hidden = 256, channels = 64, upsamplings = 3, seed = 0, onProgress, checkpoints } = options;
  const [, h, w, c] = data.shape;
  const s = h / 2 ** upsamplings;
  if (!Number.isInteger(s) || s < 1 || h !== w) throw new Error(`trainDirectDecoder: images ${h}×${w} cannot be reached by ${upsamplings} doublings from a square`);
  const rng = new Random(seed);
  const zSize = tf.tidy(() => rowSize(layer.phi(imagesTensor(data, [0])).shape));
  const chans = Array.from({ length: upsamplings }, (_, i) => Math.max(8, channels >> i));
  // tf.variable keeps its initial tensor alive, so build each one inside tidy.
  const init = (shape: number[], fanIn: number) => tf.tidy(() => tf.variable(rng.normalTensor(shape, 0, Math.sqrt(2 / fanIn))));
  const zeros = (shape: number[]) => tf.tidy(() => tf.variable(tf.zeros(shape)));
  const vars: tf.Variable[] = [];
  const add = (v: tf.Variable) => (vars.push(v), v);
  const w1 = add(init([zSize, hidden], zSize));
  const b1 = add(zeros([hidden]));
  const w2 = add(init([hidden, s * s * chans[0]!], hidden));
  const b2 = add(zeros([s * s * chans[0]!]));
  const ups = chans.map((cin, i) => {
    const cout = i + 1 < chans.length ? chans[i + 1]! : c;
    return add(init([4, 4, cout, cin], 4 * cin));
  });
  const lo = data.valueRange[0];
  // z is standardised per dimension with its mean and std over (up to) 512 training images, so
  // layers whose activations are large (logits, unnormalised features) do not saturate the net.
  const n = data.shape[0];
  const statIdx = Array.from({ length: Math.min(n, 512) }, (_, i) => i);
  const [zMean, zStd] = tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let off = 0; off < statIdx.length; off += 64) {
      const zc = layer.phi(imagesTensor(data, statIdx.slice(off, off + 64)));
      parts.push(tf.reshape(zc, [zc.shape[0]!, -1]));
    }
    const { mean, variance } = tf.moments(tf.concat(parts, 0), 0);
    return [mean, tf.add(tf.sqrt(variance), 1e-6)];
  });
  const decode = (z: tf.Tensor): tf.Tensor4D => tf.tidy(() => {
    const b = z.shape[0]!;
    const zn = tf.div(tf.sub(tf.reshape(z, [b, -1]), zMean!), zStd!);
    const x = tf.leakyRelu(tf.add(tf.matMul(zn, w1), b1), 0.2);
    let y = tf.reshape(tf.add(tf.matMul(x, w2), b2), [b, s, s, chans[0]!]) as tf.Tensor4D;
    ups.forEach((k) => {
      y = convTranspose4x4s2(tf.leakyRelu(y, 0.2) as tf.Tensor4D, k as tf.Tensor4D);
    });
    return (lo === -1 ? tf.tanh(y) : tf.sigmoid(y)) as tf.Tensor4D;
  });
  const optimizer = tf.train.adam(learningRate, 0.5, 0.9);
  let losses: number[] = [];
  let first = 0;
  // A state continues only the same training: same options, same data and the same Φ (its z
  // statistics on the first images stand for both); anything else starts over.
  const key = checkpoints ? JSON.stringify({ steps, batchSize, learningRate, hidden, channels, upsamplings, seed, n, shape: data.shape, z: zFingerprint(zMean!, zStd!) }) : '';
  const saved = checkpoints ? await checkpoints.load() : null;
  if (saved && saved.format === DIRECT_DECODER_STATE_FORMAT && saved.key === key && saved.step <= steps && saved.variables.length === vars.length) {
    vars.forEach((v, i) => tf.tidy(() => v.assign(decodeSaved(saved.variables[i]!, v.shape))));
    if (saved.step > 0) await restoreOptimizerState(optimizer, saved.optimizer);
    rng.setState(saved.rng);
    losses = saved.losses.slice(0, saved.step);
    first = saved.step;
  }
  const every = Math.max(1, Math.floor(checkpoints?.every ?? 100));
  for (let step = first; step < steps; step++) {
    const idx = Array.from({ length: Math.min(batchSize, n) }, () => rng.int(n));
    const loss = tf.tidy(() => {
      const x = imagesTensor(data, idx);
      const z = layer.phi(x);
      return optimizer.minimize(() => tf.mean(tf.abs(tf.sub(decode(z), x))) as tf.Scalar, true, vars)!;
    });
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    if (checkpoints && ((step + 1) % every === 0 || step + 1 === steps)) {
      await checkpoints.save({
        format: DIRECT_DECODER_STATE_FORMAT, step: step + 1, key, losses: losses.slice(), rng: rng.state(),
        variables: vars.map((v, i) => encodeVariable(`v${i}`, v)), optimizer: await saveOptimizerState(optimizer),
      });
    }
    onProgress?.({ task: 'train D&B', step: step + 1, total: steps, metrics: { loss: losses[losses.length - 1]! }, done: step + 1 === steps });
  }
  optimizer.dispose();
  return { decode, losses, dispose: () => tf.dispose([...vars, zMean!, zStd!]) };
}

export interface GradientInversionOptions extends CommonOptions {
  /** Adam steps. Default 200. */
  steps?: number;
  /** Adam learning rate on u. Default 0.05. */
  learningRate?: number;
  /** Weight of the total-variation prior. Default 0.05. */
  tvWeight?: number;
  /** Weight of the AE prior; 0 turns it off. Default 0.1. */
  aeWeight?: number;
}

export interface GradientInversionResult {
  /** The inverted images (caller owns). */
  images: tf.Tensor4D;
  /** Final per-image feature loss ‖Φ(x) − z‖² / ‖z‖² (mean). */
  featureLoss: number;
  /** Total loss per step. */
  losses: number[];
}

/**
 * M&V: invert targets z by gradient descent on the image, with TV and AE priors.
 *
 * @example
 *   const r = gradientInversion(layer, ctx.ae, layer.phi(x), [32, 32, 3], [-1, 1], { steps: 200 });
 */
export function gradientInversion(
  layer: Pick<AnalysedLayer, 'phi'>, ae: AutoencoderLike | null, target: tf.Tensor, imageShape: [number, number, number],
  valueRange: readonly [number, number], options: GradientInversionOptions = {},
): GradientInversionResult {
  const { steps = 200, learningRate = 0.05, tvWeight = 0.05, aeWeight = 0.1, onProgress } = options;
  const b = target.shape[0]!;
  const [lo, hi] = valueRange;
  const centre = (lo + hi) / 2;
  const half = (hi - lo) / 2;
  const u = tf.tidy(() => tf.variable(tf.zeros([b, ...imageShape])));
  const toImage = () => tf.add(centre, tf.mul(half, tf.tanh(u))) as tf.Tensor4D;
  const targetFlat = tf.reshape(target, [b, -1]);
  const targetNorm = tf.tidy(() => tf.maximum(tf.sum(tf.square(targetFlat), 1), 1e-12));
  const featureLoss = (x: tf.Tensor4D) => tf.mean(tf.div(tf.sum(tf.square(tf.sub(tf.reshape(layer.phi(x), [b, -1]), targetFlat)), 1), targetNorm));
  const optimizer = tf.train.adam(learningRate);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tf.tidy(() => optimizer.minimize(() => {
      const x = toImage();
      let l = featureLoss(x);
      if (tvWeight > 0) {
        const dh = tf.sub(tf.slice(x, [0, 1, 0, 0], [-1, -1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, imageShape[0] - 1, -1, -1]));
        const dw = tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, -1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, imageShape[1] - 1, -1]));
        l = tf.add(l, tf.mul(tvWeight, tf.add(tf.mean(tf.square(dh)), tf.mean(tf.square(dw)))));
      }
      if (ae && aeWeight > 0) l = tf.add(l, tf.mul(aeWeight, tf.mean(tf.square(tf.sub(x, ae.decode(encodeMean(ae, x)))))));
      return l as tf.Scalar;
    }, true, [u])!);
    losses.push(loss.dataSync()[0]!);
    loss.dispose();
    onProgress?.({ task: 'M&V inversion', step: step + 1, total: steps, metrics: { loss: losses[losses.length - 1]! }, done: step + 1 === steps });
  }
  const images = tf.tidy(() => toImage());
  const finalLoss = tf.tidy(() => featureLoss(images).dataSync()[0]!);
  optimizer.dispose();
  tf.dispose([u, targetFlat, targetNorm]);
  return { images, featureLoss: finalLoss, losses };
}

