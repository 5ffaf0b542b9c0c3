/**
 * The autoencoder E/D that gives z̄ (paper §3.1; reference digest §2.1, `iin/models/ae.py::Model`
 * and `iin/losses/ae.py::LossPND`).
 *
 * Encoder: n × [conv 4×4 s2 no-bias → ActNorm → LeakyReLU(0.2)], then a dense layer (the
 * reference's conv whose kernel covers the whole bottleneck) to 2·zDim = (mean, logvar) of a
 * diagonal Gaussian q(z̄|x), logvar clamped to [−30, 10].
 * Decoder: dense zDim → bottleneck·bottleneck·C (bias per channel; no norm, no activation),
 * (n−1) × [conv-transpose 4×4 s2 no-bias → ActNorm → LeakyReLU(0.2)], conv-transpose 4×4 s2 to
 * the image channels → tanh. Images are NHWC in [−1, 1].
 *
 * Loss (`autoencoderLoss`):
 *   rec = |x − x̂| (per pixel) + perceptualWeight · P(x, x̂) (per image, broadcast to every pixel)
 *   nll = Σ_all (rec / exp(s) + s) / B      s: a learned scalar log-variance (weight 'loss.logvar')
 *   kl  = Σ_dims KL(q(z̄|x) ‖ N(0, I)) / B
 *   loss = nll + klWeight · kl  (+ adaptive-weighted generator term, see train/autoencoder-trainer.ts)
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { resolveModelConfig, type DeepPartial } from './config.ts';
import { ConvTrunk, UpBlock } from './conv-actnorm.ts';
import { registerModel, type Checkpointable, type ModelCheckpoint } from './checkpoints.ts';
import { Parameters, constantInit, convTranspose4x4s2, dense, normalInit } from './layers.ts';

export interface AutoencoderConfig {
  /** Input height = width in pixels; must be divisible by 2^channels.length. Reference: 32. */
  inSize: number;
  /** Image channels (3 for ColorMNIST). */
  inChannels: number;
  /**
   * Output channels of the encoder's down stages; the decoder mirrors them. Reference:
   * [64, 128, 256, 512] (5.9 M parameters); our `default` preset halves them for 2 CPU cores.
   */
  channels: number[];
  /** Dimension of z̄. 64 in every reference config. */
  zDim: number;
  /** Std of the N(0, std) initialisation of every conv and dense kernel (reference: 0.02). */
  initStd: number;
  /**
   * Initial value of the learned scalar log-variance of the reconstruction likelihood. The
   * reference starts at 0 and has 120k steps to move it; Adam moves it by about one learning rate
   * per step, so our short CPU runs start it near its optimum log(mean |x − x̂|) ≈ −3 instead.
   */
  logVarInit: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

export const DEFAULT_AUTOENCODER_CONFIG: AutoencoderConfig = {
  inSize: 32,
  inChannels: 3,
  channels: [32, 64, 128, 256],
  zDim: 64,
  initStd: 0.02,
  logVarInit: -3,
  seed: 0,
};

/**
 * Named configurations. `tiny` trains in about a minute (tests), `default` is sized for 2 CPU
 * cores, `reference` is the published ColorMNIST AE (64-128-256-512, 5.9 M parameters).
 */
export const AUTOENCODER_PRESETS: Record<'tiny' | 'default' | 'reference', AutoencoderConfig> = {
  tiny: { ...DEFAULT_AUTOENCODER_CONFIG, channels: [8, 16, 32, 64], zDim: 16 },
  default: DEFAULT_AUTOENCODER_CONFIG,
  reference: { ...DEFAULT_AUTOENCODER_CONFIG, channels: [64, 128, 256, 512], logVarInit: 0 },
};

export const LOGVAR_MIN = -30;
export const LOGVAR_MAX = 10;

/** The diagonal Gaussian q(z̄|x). Owns its two tensors; call dispose(). */
export class Posterior {
  constructor(
    /** [B, zDim] */
    readonly mean: tf.Tensor2D,
    /** [B, zDim], clamped to [−30, 10]. */
    readonly logVar: tf.Tensor2D,
  ) {}

  /** mean + exp(logVar / 2) · ε, ε ~ N(0, I) drawn from `rng`. */
  sample(rng: Random): tf.Tensor2D {
    return tf.tidy(() => {
      const eps = rng.normalTensor(this.mean.shape);
      return tf.add(this.mean, tf.mul(tf.exp(tf.mul(this.logVar, 0.5)), eps)) as tf.Tensor2D;
    });
  }

  /** The mode (= mean). Returns a new tensor the caller owns. */
  mode(): tf.Tensor2D {
    return tf.clone(this.mean);
  }

  /** KL(q ‖ N(0, I)) summed over dimensions: [B]. 0.5 · Σ (μ² + σ² − 1 − log σ²). */
  kl(): tf.Tensor1D {
    return tf.tidy(() => tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.square(this.mean), tf.exp(this.logVar)), tf.add(1, this.logVar)), 1)) as tf.Tensor1D);
  }

  dispose(): void {
    tf.dispose([this.mean, this.logVar]);
  }
}

/** The small ActNorm autoencoder of the reference. */
export class Autoencoder implements Checkpointable<AutoencoderConfig> {
  readonly className = 'Autoencoder';
  readonly config: AutoencoderConfig;
  readonly params = new Parameters();
  /** Side of the bottleneck feature map: inSize / 2^stages. */
  readonly bottleneck: number;
  private readonly encoderTrunk: ConvTrunk;
  private readonly decoderBlocks: UpBlock[];

  /**
   * @example
   *   const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
   *   const post = ae.encode(x);               // x: [B, 32, 32, 3] in [-1, 1]
   *   const xRec = ae.decode(post.mean);       // [B, 32, 32, 3]
   */
  constructor(config: DeepPartial<AutoencoderConfig> = {}) {
    const cfg = resolveModelConfig(DEFAULT_AUTOENCODER_CONFIG, config, 'Autoencoder');
    this.config = cfg;
    const n = cfg.channels.length;
    if (n < 1) throw new Error('Autoencoder: channels must list at least one stage');
    if (cfg.inSize % 2 ** n !== 0) throw new Error(`Autoencoder: inSize ${cfg.inSize} is not divisible by 2^${n} (one halving per entry of channels)`);
    this.bottleneck = cfg.inSize / 2 ** n;
    const rng = new Random(cfg.seed);
    const p = this.params;
    const last = cfg.channels[n - 1]!;
    const flat = this.bottleneck * this.bottleneck * last;
    this.encoderTrunk = new ConvTrunk(p, rng, 'enc', cfg.inChannels, cfg.channels, cfg.initStd);
    p.add('enc.dense.kernel', [flat, 2 * cfg.zDim], normalInit(rng, cfg.initStd));
    p.add('enc.dense.bias', [2 * cfg.zDim], constantInit(0));
    p.add('dec.dense.kernel', [cfg.zDim, flat], normalInit(rng, cfg.initStd));
    p.add('dec.dense.bias', [last], constantInit(0));
    this.decoderBlocks = [];
    for (let i = n - 1; i >= 1; i--) {
      this.decoderBlocks.push(new UpBlock(p, rng, `dec.${n - 1 - i}`, cfg.channels[i]!, cfg.channels[i - 1]!, cfg.initStd));
    }
    p.add('dec.image.kernel', [4, 4, cfg.inChannels, cfg.channels[0]!], normalInit(rng, cfg.initStd));
    p.add('loss.logvar', [], constantInit(cfg.logVarInit));
  }

  /** The learned scalar log-variance of the reconstruction likelihood. */
  get logVar(): tf.Variable {
    return this.params.get('loss.logvar');
  }

  /** The decoder's last kernel: where the adaptive GAN weight measures gradient norms. */
  get lastDecoderKernel(): tf.Variable {
    return this.params.get('dec.image.kernel');
  }

  /** Variables of encoder and decoder and the loss log-variance. */
  trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  private checkInput(x: tf.Tensor): void {
    const { inSize, inChannels } = this.config;
    const s = x.shape;
    if (s.length !== 4 || s[1] !== inSize || s[2] !== inSize || s[3] !== inChannels) {
      throw new Error(`Autoencoder.encode: expected images [B, ${inSize}, ${inSize}, ${inChannels}], got [${s.join(', ')}]`);
    }
  }

  /** q(z̄|x) for images [B, H, W, C] in [−1, 1]. */
  encode(x: tf.Tensor): Posterior {
    this.checkInput(x);
    const [mean, logVar] = tf.tidy(() => {
      let h = x as tf.Tensor4D;
      for (const block of this.encoderTrunk.blocks) h = block.apply(h);
      const b = h.shape[0];
      const out = dense(tf.reshape(h, [b, -1]) as tf.Tensor2D, this.params.get('enc.dense.kernel') as tf.Tensor2D, this.params.get('enc.dense.bias') as tf.Tensor1D);
      const [m, lv] = tf.split(out, 2, 1);
      return [m as tf.Tensor2D, tf.clipByValue(lv!, LOGVAR_MIN, LOGVAR_MAX) as tf.Tensor2D];
    });
    return new Posterior(mean!, logVar!);
  }

  /** x̂ = D(z̄) for codes [B, zDim]: images [B, H, W, C] in (−1, 1). */
  decode(z: tf.Tensor): tf.Tensor4D {
    const { zDim, channels, inSize } = this.config;
    if (z.shape.length !== 2 || z.shape[1] !== zDim) throw new Error(`Autoencoder.decode: expected codes [B, ${zDim}], got [${z.shape.join(', ')}]`);
    return tf.tidy(() => {
      const b = z.shape[0]!;
      const last = channels[channels.length - 1]!;
      let h = tf.reshape(tf.matMul(z as tf.Tensor2D, this.params.get('dec.dense.kernel') as tf.Tensor2D), [b, this.bottleneck, this.bottleneck, last]) as tf.Tensor4D;
      h = tf.add(h, this.params.get('dec.dense.bias'));
      for (const block of this.decoderBlocks) h = block.apply(h);
      const out = tf.tanh(convTranspose4x4s2(h, this.params.get('dec.image.kernel') as tf.Tensor4D)) as tf.Tensor4D;
      if (out.shape[1] !== inSize) throw new Error(`Autoencoder.decode: produced ${out.shape[1]} px, expected ${inSize}`);
      return out;
    });
  }

  /** D(mean of q(z̄|x)): the deterministic reconstruction. */
  reconstruct(x: tf.Tensor): tf.Tensor4D {
    const post = this.encode(x);
    const out = this.decode(post.mean);
    post.dispose();
    return out;
  }

  /** Runs one forward pass so every ActNorm initialises from `x` (no-op once initialised). */
  initialize(x: tf.Tensor): void {
    tf.dispose(this.reconstruct(x));
  }

  /** True when every ActNorm has been initialised (from data or a checkpoint). */
  get initialized(): boolean {
    return this.params.names().filter((n) => n.endsWith('.initialized')).every((n) => this.params.buffer(n).data[0] === 1);
  }

  checkpoint(meta?: Record<string, unknown>): ModelCheckpoint<AutoencoderConfig> {
    return { className: this.className, config: structuredClone(this.config), weights: this.params.toWeights(), meta: meta ?? {} };
  }

  static fromCheckpoint(ckpt: ModelCheckpoint): Autoencoder {
    if (ckpt.className !== 'Autoencoder') throw new Error(`Autoencoder.fromCheckpoint: checkpoint is a '${ckpt.className}'`);
    const ae = new Autoencoder(ckpt.config as AutoencoderConfig);
    ae.params.loadWeights(ckpt.weights, 'Autoencoder.fromCheckpoint');
    return ae;
  }

  dispose(): void {
    this.params.dispose();
  }
}

registerModel('Autoencoder', (c) => Autoencoder.fromCheckpoint(c));

/** Options of the AE loss. */
export interface AutoencoderLossOptions {
  /** Weight of the KL term (reference 1.0). */
  klWeight?: number;
  /** Weight of the perceptual term; 0 turns it off (default). */
  perceptualWeight?: number;
  /** Per-image perceptual distance [B] (see perceptualDistance); required when perceptualWeight > 0. */
  perceptual?: (x: tf.Tensor4D, xRec: tf.Tensor4D) => tf.Tensor1D;
}

export interface AutoencoderLossTerms {
  /** nll + klWeight · kl */
  loss: tf.Scalar;
  nll: tf.Scalar;
  kl: tf.Scalar;
  /** mean |x − x̂| per pixel (for logging). */
  l1: tf.Scalar;
}

/**
 * The reference VAE loss (digest §2.1): learned-scale L1 likelihood plus KL, both summed over
 * the image or the code and averaged over the batch. All returned tensors are new.
 *
 * @example
 *   const terms = autoencoderLoss(x, xRec, post, ae.logVar, { klWeight: 1 });
 */
export function autoencoderLoss(x: tf.Tensor4D, xRec: tf.Tensor4D, posterior: Posterior, logVar: tf.Tensor, options: AutoencoderLossOptions = {}): AutoencoderLossTerms {
  const klWeight = options.klWeight ?? 1;
  const pw = options.perceptualWeight ?? 0;
  return tf.tidy(() => {
    const b = x.shape[0];
    const abs = tf.abs(tf.sub(x, xRec));
    let rec: tf.Tensor = abs;
    if (pw > 0) {
      if (!options.perceptual) throw new Error('autoencoderLoss: perceptualWeight > 0 needs a perceptual distance function');
      rec = tf.add(rec, tf.mul(pw, tf.reshape(options.perceptual(x, xRec), [b, 1, 1, 1])));
    }
    const perPixel = tf.add(tf.div(rec, tf.exp(logVar)), logVar);
    const nll = tf.div(tf.sum(perPixel), b) as tf.Scalar;
    const kl = tf.div(tf.sum(posterior.kl()), b) as tf.Scalar;
    const loss = tf.add(nll, tf.mul(klWeight, kl)) as tf.Scalar;
    return { loss, nll, kl, l1: tf.mean(abs) as tf.Scalar };
  });
}

/**
 * An LPIPS-like distance from any feature extractor (LPIPS's VGG weights are not available
 * offline; use e.g. the stages of our ColorMNIST classifier): each feature map is normalised to
 * unit length over channels, and the squared differences are averaged over space and summed
 * over maps (LPIPS with uniform channel weights). Returns [B].
 */
export function perceptualDistance(features: (x: tf.Tensor4D) => tf.Tensor[]): (x: tf.Tensor4D, xRec: tf.Tensor4D) => tf.Tensor1D {
  return (x, xRec) => tf.tidy(() => {
    const fa = features(x);
    const fb = features(xRec);
    const norm = (f: tf.Tensor) => tf.div(f, tf.add(tf.sqrt(tf.sum(tf.square(f), -1, true)), 1e-10));
    let d: tf.Tensor = tf.zeros([x.shape[0]]);
    fa.forEach((a, i) => {
      const diff = tf.square(tf.sub(norm(a), norm(fb[i]!)));
      const axes = diff.shape.slice(1).map((_, k) => k + 1);
      const spatial = axes.slice(0, -1);
      d = tf.add(d, spatial.length ? tf.sum(tf.mean(diff, spatial), -1) : tf.sum(diff, -1));
    });
    return d as tf.Tensor1D;
  });
}
