/**
 * The PatchGAN discriminator of the reference AE loss (digest §2.1; pix2pix's NLayerDiscriminator):
 *   conv 4×4 s2 (C → c0, bias) → LReLU(0.2)
 *   for k = 1..n−1: conv 4×4 s2 (no bias) → BatchNorm → LReLU(0.2)
 *   conv 4×4 s1 p1 (no bias) → BatchNorm → LReLU(0.2)
 *   conv 4×4 s1 p1 (→ 1, bias): one logit per patch.
 * Init N(0, 0.02); BatchNorm γ ~ N(1, 0.02), β = 0. BatchNorm always uses the batch's own
 * statistics: the discriminator is only ever run in training, so no running averages are kept.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { registerModel, type Checkpointable, type ModelCheckpoint } from './checkpoints.ts';
import { resolveModelConfig, type DeepPartial } from './config.ts';
import { LEAKY_SLOPE } from './conv-actnorm.ts';
import { Parameters, PAD_4x4_S2, constantInit, normalInit } from './layers.ts';

export interface DiscriminatorConfig {
  /** Image channels. */
  inChannels: number;
  /** Channels of the stride-2 convs then the stride-1 conv (pix2pix: [64, 128, 256, 512]). */
  channels: number[];
  /** Seed of the weight initialisation. */
  seed: number;
}

export const DEFAULT_DISCRIMINATOR_CONFIG: DiscriminatorConfig = {
  inChannels: 3,
  channels: [32, 64, 128, 256],
  seed: 1,
};

export class PatchDiscriminator implements Checkpointable<DiscriminatorConfig> {
  readonly className = 'PatchDiscriminator';
  readonly config: DiscriminatorConfig;
  readonly params = new Parameters();

  constructor(config: DeepPartial<DiscriminatorConfig> = {}) {
    const cfg = resolveModelConfig(DEFAULT_DISCRIMINATOR_CONFIG, config, 'PatchDiscriminator');
    if (cfg.channels.length < 2) throw new Error('PatchDiscriminator: channels needs at least two entries');
    this.config = cfg;
    const rng = new Random(cfg.seed);
    const p = this.params;
    let c = cfg.inChannels;
    cfg.channels.forEach((out, i) => {
      p.add(`conv${i}.kernel`, [4, 4, c, out], normalInit(rng, 0.02));
      if (i === 0) p.add('conv0.bias', [out], constantInit(0));
      else {
        p.add(`bn${i}.gamma`, [out], normalInit(rng, 0.02, 1));
        p.add(`bn${i}.beta`, [out], constantInit(0));
      }
      c = out;
    });
    p.add('out.kernel', [4, 4, c, 1], normalInit(rng, 0.02));
    p.add('out.bias', [1], constantInit(0));
  }

  /** Patch logits [B, h, w, 1] for images [B, H, W, C] in [−1, 1]. */
  logits(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.params;
      const n = this.config.channels.length;
      let h: tf.Tensor4D = x;
      for (let i = 0; i < n; i++) {
        const strided = i < n - 1;
        h = tf.conv2d(h, p.get(`conv${i}.kernel`) as tf.Tensor4D, strided ? 2 : 1, strided ? PAD_4x4_S2 : [[0, 0], [1, 1], [1, 1], [0, 0]]);
        if (i === 0) h = tf.add(h, p.get('conv0.bias'));
        else {
          const { mean, variance } = tf.moments(h, [0, 1, 2]);
          h = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, 1e-5))), p.get(`bn${i}.gamma`)), p.get(`bn${i}.beta`));
        }
        h = tf.leakyRelu(h, LEAKY_SLOPE);
      }
      h = tf.conv2d(h, p.get('out.kernel') as tf.Tensor4D, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
      return tf.add(h, p.get('out.bias'));
    });
  }

  trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  checkpoint(meta?: Record<string, unknown>): ModelCheckpoint<DiscriminatorConfig> {
    return { className: this.className, config: structuredClone(this.config), weights: this.params.toWeights(), meta: meta ?? {} };
  }

  static fromCheckpoint(ckpt: ModelCheckpoint): PatchDiscriminator {
    const d = new PatchDiscriminator(ckpt.config as DiscriminatorConfig);
    d.params.loadWeights(ckpt.weights, 'PatchDiscriminator.fromCheckpoint');
    return d;
  }

  dispose(): void {
    this.params.dispose();
  }
}

registerModel('PatchDiscriminator', (c) => PatchDiscriminator.fromCheckpoint(c));

/** Non-saturating D loss: 0.5 · (mean softplus(−D(x)) + mean softplus(D(x̂))). */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits)))) as tf.Scalar);
}

/** Generator term g = −mean D(x̂) (the reference's, added with the adaptive weight). */
export function generatorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(fakeLogits)) as tf.Scalar);
}

/** w = clamp(‖∇nll‖ / (‖∇g‖ + 1e-4), 0, 1e4), both gradients at the decoder's last kernel. */
export function adaptiveWeight(nllGradNorm: number, gGradNorm: number): number {
  return Math.min(Math.max(nllGradNorm / (gGradNorm + 1e-4), 0), 1e4);
}
