/**
 * The building blocks of the small autoencoder and the ColorMNIST classifier (reference digest
 * §2.1, `iin/models/ae.py`): per-channel ActNorm with data-dependent initialisation, and the
 * down/up stages "conv 4×4 stride 2 without bias → ActNorm → LeakyReLU(0.2)".
 *
 * ActNorm: y = scale · (x + loc) per channel. On the first batch it sees, loc = −mean and
 * scale = 1/(std + 1e-6) over batch and space, so that the first batch comes out with zero mean and
 * unit variance (Kingma & Dhariwal, Glow). The `initialized` flag is a saved buffer: a loaded model
 * never re-initialises. A single-element batch does not initialise (it passes through with the
 * current loc and scale): one image has no batch statistics, and shape probes such as the
 * greybox's run on one all-zero image, which would otherwise set scale = 1e6.
 */
import { tf } from '../engine/index.ts';
import type { Random } from '../engine/random.ts';
import { Parameters, constantInit, conv4x4s2, convTranspose4x4s2, normalInit } from './layers.ts';

export const LEAKY_SLOPE = 0.2;

export class ActNorm {
  readonly loc: tf.Variable;
  readonly scale: tf.Variable;
  private readonly flag: { data: Float32Array };

  constructor(params: Parameters, readonly name: string, readonly channels: number) {
    this.loc = params.add(`${name}.loc`, [channels], constantInit(0));
    this.scale = params.add(`${name}.scale`, [channels], constantInit(1));
    this.flag = params.addBuffer(`${name}.initialized`, [1], new Float32Array([0]));
  }

  get initialized(): boolean {
    return this.flag.data[0] === 1;
  }

  /** Sets loc and scale from a batch (NHWC or [B, C]) and marks the layer initialised. */
  initializeFrom(x: tf.Tensor): void {
    tf.tidy(() => {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const { mean, variance } = tf.moments(x, axes);
      this.loc.assign(tf.neg(mean) as tf.Tensor1D);
      this.scale.assign(tf.div(1, tf.add(tf.sqrt(variance), 1e-6)) as tf.Tensor1D);
    });
    this.flag.data[0] = 1;
  }

  /** Applies the layer; on its first call with a batch of ≥ 2 (uninitialised) it first initialises from `x`. */
  apply(x: tf.Tensor): tf.Tensor {
    if (!this.initialized && x.shape[0]! >= 2) this.initializeFrom(x);
    return tf.mul(tf.add(x, this.loc), this.scale);
  }
}

/** Encoder stage: conv 4×4 s2 (no bias) → ActNorm → LeakyReLU(0.2). Halves H and W. */
export class DownBlock {
  readonly kernel: tf.Variable;
  readonly norm: ActNorm;

  constructor(params: Parameters, rng: Random, readonly name: string, inChannels: number, outChannels: number, initStd: number) {
    this.kernel = params.add(`${name}.conv.kernel`, [4, 4, inChannels, outChannels], normalInit(rng, initStd));
    this.norm = new ActNorm(params, `${name}.norm`, outChannels);
  }

  apply(x: tf.Tensor): tf.Tensor4D {
    return tf.leakyRelu(this.norm.apply(conv4x4s2(x as tf.Tensor4D, this.kernel as tf.Tensor4D)), LEAKY_SLOPE) as tf.Tensor4D;
  }
}

/** Decoder stage: conv-transpose 4×4 s2 (no bias) → ActNorm → LeakyReLU(0.2). Doubles H and W. */
export class UpBlock {
  readonly kernel: tf.Variable;
  readonly norm: ActNorm;

  constructor(params: Parameters, rng: Random, readonly name: string, inChannels: number, outChannels: number, initStd: number) {
    this.kernel = params.add(`${name}.convT.kernel`, [4, 4, outChannels, inChannels], normalInit(rng, initStd));
    this.norm = new ActNorm(params, `${name}.norm`, outChannels);
  }

  apply(x: tf.Tensor): tf.Tensor4D {
    return tf.leakyRelu(this.norm.apply(convTranspose4x4s2(x as tf.Tensor4D, this.kernel as tf.Tensor4D)), LEAKY_SLOPE) as tf.Tensor4D;
  }
}

/**
 * The reference encoder trunk shared by the AE and the ColorMNIST classifier: one DownBlock per
 * entry of `channels`, 32 px → 32 / 2^n px.
 */
export class ConvTrunk {
  readonly blocks: DownBlock[];

  constructor(params: Parameters, rng: Random, prefix: string, inChannels: number, channels: readonly number[], initStd: number) {
    let c = inChannels;
    this.blocks = channels.map((out, i) => {
      const block = new DownBlock(params, rng, `${prefix}.${i}`, c, out, initStd);
      c = out;
      return block;
    });
  }
}
