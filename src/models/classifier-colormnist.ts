/**
 * The reference ColorMNIST classifier (reference digest §5.1, `iin/models/clf.py`,
 * `configs/cmnist_clf.yaml`): the autoencoder's encoder trunk (conv 4×4 s2 no-bias → ActNorm →
 * LeakyReLU(0.2) per stage), a dense layer to a 64-d representation z with no nonlinearity (the
 * representation the paper interprets), then a linear layer to 10 logits. Trained with
 * binary cross-entropy on one-hot labels and Adam(β = 0.5, 0.9).
 *
 * Stages (greybox split points): conv0 … conv{n−1}, z, logits.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { registerModel, type ModelCheckpoint } from './checkpoints.ts';
import { checkImageBatch, type ClassifierLossKind, type StagedClassifier } from './classifier.ts';
import { resolveModelConfig, type DeepPartial } from './config.ts';
import { ConvTrunk } from './conv-actnorm.ts';
import { Parameters, constantInit, dense, normalInit, runStages, type Stage } from './layers.ts';

export interface ColorMnistClassifierConfig {
  /** Input height = width in pixels; divisible by 2^channels.length. */
  inSize: number;
  /** Image channels. */
  inChannels: number;
  /** Output channels of the down stages (reference: the AE's [64, 128, 256, 512]). */
  channels: number[];
  /** Dimension of the representation z (reference: 64). */
  zDim: number;
  /** Number of classes. */
  numClasses: number;
  /** Std of the N(0, std) kernel initialisation (reference 0.02). */
  initStd: number;
  /** Seed of the weight initialisation. */
  seed: number;
}

export const DEFAULT_COLORMNIST_CLASSIFIER_CONFIG: ColorMnistClassifierConfig = {
  inSize: 32,
  inChannels: 3,
  channels: [32, 64, 128, 256],
  zDim: 64,
  numClasses: 10,
  initStd: 0.02,
  seed: 0,
};

export const COLORMNIST_CLASSIFIER_PRESETS: Record<'tiny' | 'default' | 'reference', ColorMnistClassifierConfig> = {
  tiny: { ...DEFAULT_COLORMNIST_CLASSIFIER_CONFIG, channels: [8, 16, 32, 32] },
  default: DEFAULT_COLORMNIST_CLASSIFIER_CONFIG,
  reference: { ...DEFAULT_COLORMNIST_CLASSIFIER_CONFIG, channels: [64, 128, 256, 512] },
};

export class ColorMnistClassifier implements StagedClassifier<ColorMnistClassifierConfig> {
  readonly className = 'ColorMnistClassifier';
  readonly config: ColorMnistClassifierConfig;
  readonly params = new Parameters();
  readonly stages: readonly Stage[];
  readonly numClasses: number;
  readonly lossKind: ClassifierLossKind = 'bce-onehot';
  readonly inputShape: readonly number[];

  /**
   * @example
   *   const clf = new ColorMnistClassifier({ channels: [8, 16, 32, 32] });
   *   const z = activationAt(clf, x, 'z');     // [B, 64]
   */
  constructor(config: DeepPartial<ColorMnistClassifierConfig> = {}) {
    const cfg = resolveModelConfig(DEFAULT_COLORMNIST_CLASSIFIER_CONFIG, config, 'ColorMnistClassifier');
    this.config = cfg;
    this.numClasses = cfg.numClasses;
    this.inputShape = [cfg.inSize, cfg.inSize, cfg.inChannels];
    const n = cfg.channels.length;
    if (cfg.inSize % 2 ** n !== 0) throw new Error(`ColorMnistClassifier: inSize ${cfg.inSize} is not divisible by 2^${n}`);
    const side = cfg.inSize / 2 ** n;
    const rng = new Random(cfg.seed);
    const p = this.params;
    const trunk = new ConvTrunk(p, rng, 'enc', cfg.inChannels, cfg.channels, cfg.initStd);
    const flat = side * side * cfg.channels[n - 1]!;
    p.add('z.kernel', [flat, cfg.zDim], normalInit(rng, cfg.initStd));
    p.add('z.bias', [cfg.zDim], constantInit(0));
    p.add('logits.kernel', [cfg.zDim, cfg.numClasses], normalInit(rng, cfg.initStd));
    p.add('logits.bias', [cfg.numClasses], constantInit(0));
    this.stages = [
      ...trunk.blocks.map((block, i): Stage => ({ name: `conv${i}`, apply: (h) => block.apply(h) })),
      { name: 'z', apply: (h) => dense(tf.reshape(h, [h.shape[0]!, -1]) as tf.Tensor2D, p.get('z.kernel') as tf.Tensor2D, p.get('z.bias') as tf.Tensor1D) },
      { name: 'logits', apply: (h) => dense(h as tf.Tensor2D, p.get('logits.kernel') as tf.Tensor2D, p.get('logits.bias') as tf.Tensor1D) },
    ];
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    checkImageBatch(x, this.inputShape, 'ColorMnistClassifier');
    return runStages(this.stages, x) as tf.Tensor2D;
  }

  trainableVariables(): tf.Variable[] {
    return this.params.trainable();
  }

  checkpoint(meta?: Record<string, unknown>): ModelCheckpoint<ColorMnistClassifierConfig> {
    return { className: this.className, config: structuredClone(this.config), weights: this.params.toWeights(), meta: meta ?? {} };
  }

  static fromCheckpoint(ckpt: ModelCheckpoint): ColorMnistClassifier {
    if (ckpt.className !== 'ColorMnistClassifier') throw new Error(`ColorMnistClassifier.fromCheckpoint: checkpoint is a '${ckpt.className}'`);
    const model = new ColorMnistClassifier(ckpt.config as ColorMnistClassifierConfig);
    model.params.loadWeights(ckpt.weights, 'ColorMnistClassifier.fromCheckpoint');
    return model;
  }

  dispose(): void {
    this.params.dispose();
  }
}

registerModel('ColorMnistClassifier', (c) => ColorMnistClassifier.fromCheckpoint(c));
