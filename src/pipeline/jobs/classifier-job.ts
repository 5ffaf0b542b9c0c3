/**
 * Training job for a classifier under study (the reference ColorMNIST classifier or the
 * SqueezeNet of the paper's Fig. 4), keeping equally spaced snapshots for training dynamics.
 */
import { tf } from '../../engine/index.ts';
import { BatchIterator, type BatchIteratorState } from '../../data/index.ts';
import { checkpointIterations, logCheckpointIterations, parseCheckpoint, serializeCheckpoint } from '../../models/checkpoints.ts';
import type { StagedClassifier } from '../../models/classifier.ts';
import { ColorMnistClassifier, DEFAULT_COLORMNIST_CLASSIFIER_CONFIG, type ColorMnistClassifierConfig } from '../../models/classifier-colormnist.ts';
import { DEFAULT_SQUEEZENET_CONFIG, SqueezeNet, type SqueezeNetConfig } from '../../models/squeezenet.ts';
import { ClassifierTrainer, DEFAULT_CLASSIFIER_TRAIN_CONFIG, type ClassifierTrainConfig } from '../../train/classifier-trainer.ts';
import { accuracy } from '../../train/metrics.ts';
import { DATA_LIMITS, DEFAULT_DATA_CONFIG, gatherImages, loadData, type DataConfig, type LoadedData } from '../data-spec.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../train/optimizer-state.ts';
import { TRAIN_STATE_FORMAT, type TrainingJob, type TrainState } from '../job.ts';
import type { DeepPartial } from '../../config/config.ts';
import { BETA, count, positive, SEED, type ConfigLimits } from '../../config/limits.ts';

export interface ClassifierJobConfig {
  /** 'colormnist' (the reference classifier: encoder → 64-d z → linear, BCE) or 'squeezenet'. */
  arch: string;
  data: DataConfig;
  colormnist: ColorMnistClassifierConfig;
  squeezenet: SqueezeNetConfig;
  /** Steps, batch, Adam, schedule, number of snapshots (train.checkpoints), seed. */
  train: ClassifierTrainConfig;
}

export const DEFAULT_CLASSIFIER_JOB_CONFIG: ClassifierJobConfig = {
  arch: 'colormnist',
  data: DEFAULT_DATA_CONFIG,
  colormnist: DEFAULT_COLORMNIST_CLASSIFIER_CONFIG,
  squeezenet: DEFAULT_SQUEEZENET_CONFIG,
  train: DEFAULT_CLASSIFIER_TRAIN_CONFIG,
};

/** The allowed numbers of a classifier job's config, checked before anything loads. */
export const CLASSIFIER_JOB_LIMITS: ConfigLimits = {
  ...DATA_LIMITS,
  'colormnist.inSize': count(4, 4096), 'colormnist.inChannels': count(1, 4), 'colormnist.channels[]': count(1, 65_536),
  'colormnist.zDim': count(1, 65_536), 'colormnist.numClasses': count(1, 100_000), 'colormnist.initStd': positive(10), 'colormnist.seed': SEED,
  'squeezenet.inSize': count(4, 4096), 'squeezenet.inChannels': count(1, 4), 'squeezenet.stemChannels': count(1, 65_536),
  'squeezenet.fires[][]': count(1, 65_536), 'squeezenet.numClasses': count(1, 100_000), 'squeezenet.headInitStd': positive(10), 'squeezenet.seed': SEED,
  'train.steps': count(1), 'train.batchSize': count(1, 65_536), 'train.learningRate': positive(1000),
  'train.beta1': BETA, 'train.beta2': BETA, 'train.decayStart': count(0), 'train.checkpoints': count(0, 10_000), 'train.seed': SEED,
};

export const CLASSIFIER_JOB_PRESETS: Record<'tiny' | 'default', DeepPartial<ClassifierJobConfig>> = {
  tiny: {
    data: { limit: 512, evalImages: 128 },
    colormnist: { channels: [8, 16, 32, 32] },
    squeezenet: { stemChannels: 16, fires: [[8, 16], [8, 16], [16, 32], [16, 32]] },
    train: { steps: 40, batchSize: 16, learningRate: 2e-3, decayStart: 40, checkpoints: 4 },
  },
  default: {},
};

function buildClassifier(config: ClassifierJobConfig): StagedClassifier {
  if (config.arch === 'colormnist') return new ColorMnistClassifier(config.colormnist);
  if (config.arch === 'squeezenet') return new SqueezeNet(config.squeezenet);
  throw new Error(`config key 'arch': unknown classifier '${config.arch}'; one of: colormnist, squeezenet`);
}

function fromText(text: string): StagedClassifier {
  const ckpt = parseCheckpoint(text);
  return ckpt.className === 'SqueezeNet' ? SqueezeNet.fromCheckpoint(ckpt) : ColorMnistClassifier.fromCheckpoint(ckpt);
}

export class ClassifierJob implements TrainingJob {
  readonly kind = 'classifier' as const;
  readonly totalSteps: number;
  readonly snapshotIterations: readonly number[];
  model: StagedClassifier;
  private trainer: ClassifierTrainer;
  private batches: BatchIterator;

  private constructor(readonly config: ClassifierJobConfig, private readonly data: LoadedData) {
    this.totalSteps = config.train.steps;
    this.model = buildClassifier(config);
    const [, h, w, c] = data.train.shape;
    const expected = this.model.inputShape;
    if (h !== expected[0] || w !== expected[1] || c !== expected[2]) {
      throw new Error(`train classifier: the data's images are ${h}×${w}×${c} but the ${config.arch} classifier expects ${expected.join('×')}`);
    }
    this.trainer = new ClassifierTrainer(this.model, config.train);
    this.batches = new BatchIterator({ size: data.train.shape[0], batchSize: config.train.batchSize, seed: config.train.seed + 1, dropLast: true });
    const spacing = config.train.checkpointSpacing ?? 'equal';
    if (spacing !== 'equal' && spacing !== 'log') throw new Error(`config key 'train.checkpointSpacing': must be 'equal' or 'log', got '${String(spacing)}'`);
    this.snapshotIterations = (spacing === 'log' ? logCheckpointIterations : checkpointIterations)(config.train.steps, config.train.checkpoints, config.train.includeInitialCheckpoint);
  }

  static async create(config: ClassifierJobConfig): Promise<ClassifierJob> {
    return new ClassifierJob(config, await loadData(config.data));
  }

  async step(iteration: number): Promise<Record<string, number>> {
    const { images, labels, shape } = gatherImages(this.data.train, this.batches.next().indices);
    const x = tf.tensor4d(images, shape);
    const y = tf.tensor1d(labels, 'int32');
    try {
      return { ...this.trainer.step(x, y, iteration) };
    } finally {
      tf.dispose([x, y]);
    }
  }

  async evaluate(): Promise<Record<string, number>> {
    return this.data.test ? { testAccuracy: accuracy(this.model, this.data.test) } : {};
  }

  snapshot(iteration: number): Record<string, string> {
    const meta: Record<string, unknown> = { step: iteration };
    if (this.data.test) meta['testAccuracy'] = accuracy(this.model, this.data.test);
    return { 'model.json': serializeCheckpoint(this.model.checkpoint(meta)) };
  }

  async saveState(step: number): Promise<TrainState> {
    return {
      format: TRAIN_STATE_FORMAT, kind: this.kind, step,
      models: { model: serializeCheckpoint(this.model.checkpoint({ step })) },
      optimizers: { model: await saveOptimizerState(this.trainer.optimizer) },
      random: {},
      data: { batches: this.batches.state() },
    };
  }

  async restoreState(state: TrainState): Promise<void> {
    this.trainer.dispose();
    this.model.dispose();
    this.model = fromText(state.models['model']!);
    this.trainer = new ClassifierTrainer(this.model, this.config.train);
    await restoreOptimizerState(this.trainer.optimizer, state.optimizers['model']!);
    this.batches = BatchIterator.fromState(state.data['batches'] as BatchIteratorState);
  }

  finalModels(): Record<string, string> {
    const meta: Record<string, unknown> = { steps: this.totalSteps };
    if (this.data.test) meta['testAccuracy'] = accuracy(this.model, this.data.test);
    return { 'model.json': serializeCheckpoint(this.model.checkpoint(meta)) };
  }

  dispose(): void {
    this.trainer.dispose();
    this.model.dispose();
  }
}
