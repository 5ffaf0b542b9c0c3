/**
 * A SqueezeNet-style CNN (Iandola et al. 2016; the model of the paper's Fig. 4, training dynamics
 * on ColorMNIST), sized for 32×32 inputs and 2 CPU cores.
 *
 * Fire module: squeeze 1×1 conv (s channels) → ReLU → [expand 1×1 (e) ‖ expand 3×3 (e)] → ReLU,
 * concatenated to 2e channels. Layout (default preset, 32 px):
 *   conv1 3×3 → ReLU (32 px) · pool1 max 2×2 (16 px) · fire2 · fire3 · pool3 (8 px) · fire4 ·
 *   fire5 · pool5 (4 px) · fire6 · fire7 · conv10 1×1 to classes · avgpool → logits
 * Deviation: an ActNorm after each conv by default (config `norm`), see below.
 * conv10 is the "last convolutional layer" the paper attaches its interpretation to. As in
 * SqueezeNet v1.1 the classifier is conv10 + global average pooling; its dropout is left out (no
 * train/eval switch here), and so is conv10's ReLU by default (`finalRelu`). Trained with softmax
 * cross-entropy.
 *
 * Every stage is named, so a Greybox can split after any of them.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { registerModel, type ModelCheckpoint } from './checkpoints.ts';
import { checkImageBatch, type ClassifierLossKind, type StagedClassifier } from './classifier.ts';
import { resolveModelConfig, type DeepPartial } from './config.ts';
import { ActNorm } from './conv-actnorm.ts';
import { Parameters, constantInit, heInit, normalInit, runStages, type Stage } from './layers.ts';

export interface SqueezeNetConfig {
  /** Input height = width in pixels; divisible by 8 (three 2×2 poolings). */
  inSize: number;
  /** Image channels. */
  inChannels: number;
  /** Output channels of conv1 (3×3, stride 1). */
  stemChannels: number;
  /** Fire modules as [squeeze, expand] pairs; a 2×2 max-pool follows the stem and every second fire. */
  fires: [number, number][];
  /** Number of classes. */
  numClasses: number;
  /**
   * Apply ReLU to conv10 before the average pool (SqueezeNet does). Off by default: trained from
   * scratch here, conv10's ReLU dies (every logit 0, loss stuck at ln 10) within the first steps.
   */
  finalRelu: boolean;
  /**
   * 'actnorm': an ActNorm (data-dependent init, as in the AE) after conv1, every squeeze and
   * every expand, before the ReLU. Original SqueezeNet has no normalisation ('none'), and from
   * scratch on ColorMNIST it sits at chance for hundreds of steps; ActNorm fixes the start.
   */
  norm: 'none' | 'actnorm';
  /** Std of conv10's N(0, std) initialisation (torchvision: 0.01); 0 means He (√(2/fan-in)). */
  headInitStd: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

export const DEFAULT_SQUEEZENET_CONFIG: SqueezeNetConfig = {
  inSize: 32,
  inChannels: 3,
  stemChannels: 32,
  fires: [[16, 32], [16, 32], [32, 64], [32, 64], [48, 96], [48, 96]],
  numClasses: 10,
  finalRelu: false,
  norm: 'actnorm',
  headInitStd: 0.01,
  seed: 0,
};

export const SQUEEZENET_PRESETS: Record<'tiny' | 'default', SqueezeNetConfig> = {
  tiny: { ...DEFAULT_SQUEEZENET_CONFIG, stemChannels: 16, fires: [[8, 16], [8, 16], [16, 32], [16, 32]] },
  default: DEFAULT_SQUEEZENET_CONFIG,
};

const conv = (x: tf.Tensor, k: tf.Variable, b: tf.Variable, pad: 'same' | 'valid' = 'same') =>
  tf.add(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, pad), b);

export class SqueezeNet implements StagedClassifier<SqueezeNetConfig> {
  readonly className = 'SqueezeNet';
  readonly config: SqueezeNetConfig;
  readonly params = new Parameters();
  readonly stages: readonly Stage[];
  readonly numClasses: number;
  readonly lossKind: ClassifierLossKind = 'softmax-ce';
  readonly inputShape: readonly number[];

  /**
   * @example
   *   const net = new SqueezeNet(SQUEEZENET_PRESETS.tiny);
   *   stageNames(net)   // ['conv1', 'pool1', 'fire2', 'fire3', 'pool3', 'fire4', 'fire5', 'conv10', 'avgpool']
   */
  constructor(config: DeepPartial<SqueezeNetConfig> = {}) {
    const cfg = resolveModelConfig(DEFAULT_SQUEEZENET_CONFIG, config, 'SqueezeNet');
    this.config = cfg;
    this.numClasses = cfg.numClasses;
    this.inputShape = [cfg.inSize, cfg.inSize, cfg.inChannels];
    const pools = 1 + Math.floor((cfg.fires.length - 1) / 2);
    if (cfg.inSize % 2 ** pools !== 0) throw new Error(`SqueezeNet: inSize ${cfg.inSize} is not divisible by 2^${pools} (pools)`);
    const rng = new Random(cfg.seed);
    const p = this.params;
    const stages: Stage[] = [];
    const maxPool: Stage['apply'] = (h) => tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid');
    if (cfg.norm !== 'none' && cfg.norm !== 'actnorm') throw new Error(`SqueezeNet: norm must be 'none' or 'actnorm', got '${String(cfg.norm)}'`);
    const normed = (name: string, channels: number): ((h: tf.Tensor) => tf.Tensor) => {
      if (cfg.norm === 'none') return (h) => h;
      const an = new ActNorm(p, `${name}.norm`, channels);
      return (h) => an.apply(h);
    };

    p.add('conv1.kernel', [3, 3, cfg.inChannels, cfg.stemChannels], heInit(rng, 9 * cfg.inChannels));
    p.add('conv1.bias', [cfg.stemChannels], constantInit(0));
    const norm1 = normed('conv1', cfg.stemChannels);
    stages.push({ name: 'conv1', apply: (h) => tf.relu(norm1(conv(h, p.get('conv1.kernel'), p.get('conv1.bias')))) });
    stages.push({ name: 'pool1', apply: maxPool });

    let c = cfg.stemChannels;
    cfg.fires.forEach(([s, e], i) => {
      const name = `fire${i + 2}`;
      p.add(`${name}.squeeze.kernel`, [1, 1, c, s], heInit(rng, c));
      p.add(`${name}.squeeze.bias`, [s], constantInit(0));
      p.add(`${name}.expand1.kernel`, [1, 1, s, e], heInit(rng, s));
      p.add(`${name}.expand1.bias`, [e], constantInit(0));
      p.add(`${name}.expand3.kernel`, [3, 3, s, e], heInit(rng, 9 * s));
      p.add(`${name}.expand3.bias`, [e], constantInit(0));
      const normS = normed(`${name}.squeeze`, s);
      const normE = normed(`${name}.expand`, 2 * e);
      stages.push({
        name,
        apply: (h) => {
          const sq = tf.relu(normS(conv(h, p.get(`${name}.squeeze.kernel`), p.get(`${name}.squeeze.bias`))));
          const e1 = conv(sq, p.get(`${name}.expand1.kernel`), p.get(`${name}.expand1.bias`));
          const e3 = conv(sq, p.get(`${name}.expand3.kernel`), p.get(`${name}.expand3.bias`));
          return tf.relu(normE(tf.concat([e1, e3], 3)));
        },
      });
      c = 2 * e;
      // Pool after every second fire, except after the last.
      if (i % 2 === 1 && i < cfg.fires.length - 1) stages.push({ name: `pool${i + 2}`, apply: maxPool });
    });

    p.add('conv10.kernel', [1, 1, c, cfg.numClasses], cfg.headInitStd > 0 ? normalInit(rng, cfg.headInitStd) : heInit(rng, c));
    p.add('conv10.bias', [cfg.numClasses], constantInit(0));
    stages.push({
      name: 'conv10',
      apply: (h) => {
        const y = conv(h, p.get('conv10.kernel'), p.get('conv10.bias'));
        return cfg.finalRelu ? tf.relu(y) : y;
      },
    });
    stages.push({ name: 'avgpool', apply: (h) => tf.mean(h, [1, 2]) });
    this.stages = stages;
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    checkImageBatch(x, this.inputShape, 'SqueezeNet');
    return runStages(this.stages, x) as tf.Tensor2D;
  }

  trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  checkpoint(meta?: Record<string, unknown>): ModelCheckpoint<SqueezeNetConfig> {
    return { className: this.className, config: structuredClone(this.config), weights: this.params.toWeights(), meta: meta ?? {} };
  }

  static fromCheckpoint(ckpt: ModelCheckpoint): SqueezeNet {
    if (ckpt.className !== 'SqueezeNet') throw new Error(`SqueezeNet.fromCheckpoint: checkpoint is a '${ckpt.className}'`);
    const model = new SqueezeNet(ckpt.config as SqueezeNetConfig);
    model.params.loadWeights(ckpt.weights, 'SqueezeNet.fromCheckpoint');
    return model;
  }

  dispose(): void {
    this.params.dispose();
  }
}

registerModel('SqueezeNet', (c) => SqueezeNet.fromCheckpoint(c));
