/**
 * One training step of the autoencoder (reference digest §2.1, `iin/iterators/ae.py` +
 * `iin/losses/ae.py::LossPND` with calibrate: true):
 *   G: minimise nll + klWeight·kl [+ w_d·g once the discriminator is on], z̄ sampled from q(z̄|x)
 *   D: minimise 0.5·(mean softplus(−D(x)) + mean softplus(D(x̂)))   (when enabled, from `start`)
 *   w_d = clamp(‖∇_W nll‖ / (‖∇_W g‖ + 1e-4), 0, 1e4), W = the decoder's last kernel
 * Adam(β1, β2) for both; the learning rate decays linearly to 0 from `decayStart`.
 * D runs after G here (on x̂ without gradient to the decoder), which avoids the reference's
 * update-before-backprop pitfall (digest §6.3).
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { autoencoderLoss, type Autoencoder } from '../models/autoencoder.ts';
import { resolveModelConfig, type DeepPartial } from '../models/config.ts';
import { adaptiveWeight, discriminatorLoss, generatorLoss, PatchDiscriminator } from '../models/discriminator.ts';
import { adam, linearDecay, setLearningRate } from './optim.ts';

export interface AutoencoderTrainConfig {
  /** Total optimisation steps. */
  steps: number;
  /** Images per step (reference 25). */
  batchSize: number;
  /** Adam learning rate (reference 4.5e-6 × batch = 1.125e-4). */
  learningRate: number;
  /** Adam β1 (reference 0.5). */
  beta1: number;
  /** Adam β2 (reference 0.9). */
  beta2: number;
  /** Iteration from which the learning rate decays linearly to 0 at `steps`; ≥ steps: never. */
  decayStart: number;
  /** Weight of the KL term (reference 1). */
  klWeight: number;
  /** Weight of the perceptual term (0: off; needs a feature network, see docs/models.md). */
  perceptualWeight: number;
  /** The optional PatchGAN term. */
  discriminator: {
    /** Train with the discriminator at all (off in the tiny preset). */
    enabled: boolean;
    /** Iteration from which the GAN terms are on (reference 25001). */
    start: number;
    /** D's learning rate = lrFactor × the AE's (reference d_lr_factor, 1 for ColorMNIST). */
    lrFactor: number;
    /** PatchGAN channels (pix2pix: [64, 128, 256, 512]). */
    channels: number[];
  };
  /** Seed of data order and posterior sampling. */
  seed: number;
}

/** The measured default run (docs/models.md): 1800 steps of 32, ~20 min on 2 shared cores, 29 dB. */
export const DEFAULT_AUTOENCODER_TRAIN_CONFIG: AutoencoderTrainConfig = {
  steps: 1800,
  batchSize: 32,
  learningRate: 1e-3,
  beta1: 0.5,
  beta2: 0.9,
  decayStart: 900,
  klWeight: 1,
  perceptualWeight: 0,
  discriminator: { enabled: false, start: 900, lrFactor: 1, channels: [32, 64, 128, 256] },
  seed: 0,
};

/** Numbers reported per step. */
export interface AutoencoderStepMetrics extends Record<string, number> {
  loss: number;
  nll: number;
  kl: number;
  l1: number;
  logvar: number;
  lr: number;
}

export class AutoencoderTrainer {
  readonly config: AutoencoderTrainConfig;
  readonly optimizer: tf.AdamOptimizer;
  readonly discriminator: PatchDiscriminator | null;
  readonly dOptimizer: tf.AdamOptimizer | null;
  private readonly rng: Random;

  /**
   * @param perceptual per-image distance [B] for the perceptual term (see perceptualDistance).
   * @example
   *   const trainer = new AutoencoderTrainer(ae, { ...DEFAULT_AUTOENCODER_TRAIN_CONFIG, steps: 200 });
   *   const m = trainer.step(x, 0);   // { loss, nll, kl, l1, logvar, lr }
   */
  constructor(
    readonly ae: Autoencoder,
    config: DeepPartial<AutoencoderTrainConfig> = {},
    private readonly perceptual?: (x: tf.Tensor4D, xRec: tf.Tensor4D) => tf.Tensor1D,
  ) {
    this.config = resolveModelConfig(DEFAULT_AUTOENCODER_TRAIN_CONFIG, config, 'AutoencoderTrainer');
    if (this.config.perceptualWeight > 0 && !perceptual) throw new Error('AutoencoderTrainer: perceptualWeight > 0 needs a perceptual distance');
    const c = this.config;
    this.optimizer = adam(c.learningRate, c.beta1, c.beta2);
    this.rng = new Random(c.seed + 7919);
    if (c.discriminator.enabled) {
      this.discriminator = new PatchDiscriminator({ inChannels: ae.config.inChannels, channels: c.discriminator.channels, seed: c.seed + 1 });
      this.dOptimizer = adam(c.learningRate * c.discriminator.lrFactor, c.beta1, c.beta2);
    } else {
      this.discriminator = null;
      this.dOptimizer = null;
    }
  }

  private lossTerms(x: tf.Tensor4D, keep: { xRec?: tf.Tensor4D }) {
    const post = this.ae.encode(x);
    const z = post.sample(this.rng);
    const xRec = this.ae.decode(z);
    if (keep) keep.xRec = xRec;
    const terms = autoencoderLoss(x, xRec, post, this.ae.logVar, {
      klWeight: this.config.klWeight,
      perceptualWeight: this.config.perceptualWeight,
      perceptual: this.perceptual,
    });
    post.dispose();
    return terms;
  }

  /** One step on a batch x [B, H, W, C] in [−1, 1]; `iteration` drives the schedules. */
  step(x: tf.Tensor4D, iteration: number): AutoencoderStepMetrics {
    const c = this.config;
    if (!this.ae.initialized) this.ae.initialize(x);
    const lr = linearDecay(c.learningRate, iteration, c.decayStart, c.steps);
    setLearningRate(this.optimizer, lr);
    const gan = this.discriminator !== null && iteration >= c.discriminator.start;

    let wD = 0;
    const rngState = this.rng.state();
    if (gan) {
      // Adaptive weight from gradient norms at the last decoder kernel; the same ε as the step below.
      const W = this.ae.lastDecoderKernel;
      const norms = tf.tidy(() => {
        const gNll = tf.variableGrads(() => this.lossTerms(x, {}).nll, [W]).grads[W.name]!;
        this.rng.setState(rngState);
        const gG = tf.variableGrads(() => {
          const keep: { xRec?: tf.Tensor4D } = {};
          this.lossTerms(x, keep);
          return generatorLoss(this.discriminator!.logits(keep.xRec!));
        }, [W]).grads[W.name]!;
        return [tf.norm(gNll).dataSync()[0]!, tf.norm(gG).dataSync()[0]!];
      });
      wD = adaptiveWeight(norms[0]!, norms[1]!);
      this.rng.setState(rngState);
    }

    const out: { nll?: tf.Scalar; kl?: tf.Scalar; l1?: tf.Scalar; g?: tf.Scalar; xRec?: tf.Tensor4D } = {};
    const cost = this.optimizer.minimize(() => {
      const keep: { xRec?: tf.Tensor4D } = {};
      const terms = this.lossTerms(x, keep);
      out.nll = tf.keep(terms.nll);
      out.kl = tf.keep(terms.kl);
      out.l1 = tf.keep(terms.l1);
      if (!gan) return terms.loss;
      out.xRec = tf.keep(keep.xRec!);
      const g = generatorLoss(this.discriminator!.logits(keep.xRec!));
      out.g = tf.keep(g);
      return tf.add(terms.loss, tf.mul(wD, g)) as tf.Scalar;
    }, true, this.ae.trainableVariables())!;

    const metrics: AutoencoderStepMetrics = {
      loss: cost.dataSync()[0]!,
      nll: out.nll!.dataSync()[0]!,
      kl: out.kl!.dataSync()[0]!,
      l1: out.l1!.dataSync()[0]!,
      logvar: this.ae.logVar.dataSync()[0]!,
      lr,
    };
    if (gan) {
      setLearningRate(this.dOptimizer!, lr * c.discriminator.lrFactor);
      // x̂ is a plain tensor here: D's step computes gradients for D's variables only.
      const fake = out.xRec!;
      const dCost = this.dOptimizer!.minimize(
        () => discriminatorLoss(this.discriminator!.logits(x), this.discriminator!.logits(fake)),
        true, this.discriminator!.trainableVariables(),
      )!;
      metrics['g'] = out.g!.dataSync()[0]!;
      metrics['dLoss'] = dCost.dataSync()[0]!;
      metrics['dWeight'] = wD;
      tf.dispose(dCost);
    }
    tf.dispose([cost, out.nll!, out.kl!, out.l1!, ...(out.g ? [out.g] : []), ...(out.xRec ? [out.xRec] : [])]);
    return metrics;
  }

  /** Optimizer-independent state to resume (sampling stream). */
  rngState() {
    return this.rng.state();
  }

  dispose(): void {
    this.optimizer.dispose();
    this.dOptimizer?.dispose();
    this.discriminator?.dispose();
  }
}
