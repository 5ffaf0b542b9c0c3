/**
 * Training job for the autoencoder E/D that gives z̄ (digest §2.1): reconstruction NLL with a
 * learned log-variance + KL, optional PatchGAN. Evaluates reconstruction PSNR on held-out images.
 */
import { tf } from '../../engine/index.ts';
import type { RandomState } from '../../engine/random.ts';
import { BatchIterator, type BatchIteratorState } from '../../data/index.ts';
import { Autoencoder, AUTOENCODER_PRESETS, DEFAULT_AUTOENCODER_CONFIG, type AutoencoderConfig } from '../../models/autoencoder.ts';
import { parseCheckpoint, serializeCheckpoint } from '../../models/checkpoints.ts';
import { PatchDiscriminator } from '../../models/discriminator.ts';
import { AutoencoderTrainer, DEFAULT_AUTOENCODER_TRAIN_CONFIG, type AutoencoderTrainConfig } from '../../train/autoencoder-trainer.ts';
import { reconstructionPsnr } from '../../train/metrics.ts';
import { DATA_LIMITS, DEFAULT_DATA_CONFIG, gatherImages, loadData, type DataConfig, type LoadedData } from '../data-spec.ts';
import { gridPng } from '../../figures/image-grid.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../train/optimizer-state.ts';
import { TRAIN_STATE_FORMAT, type SampleImage, type TrainingJob, type TrainState } from '../job.ts';
import type { DeepPartial } from '../../config/config.ts';
import { BETA, count, nonNegative, positive, SEED, type ConfigLimits } from '../../config/limits.ts';

export interface AeJobConfig {
  data: DataConfig;
  /** Architecture (inChannels/inSize must match the data). */
  model: AutoencoderConfig;
  /** Optimisation: steps, batch size, Adam, schedule, KL weight, the optional discriminator, seed. */
  train: AutoencoderTrainConfig;
  sampleImages: number;
}

export const DEFAULT_AE_JOB_CONFIG: AeJobConfig = {
  data: DEFAULT_DATA_CONFIG,
  model: DEFAULT_AUTOENCODER_CONFIG,
  train: DEFAULT_AUTOENCODER_TRAIN_CONFIG,
  sampleImages: 8,
};

/** The allowed numbers of an AE job's config, checked before anything loads. */
export const AE_JOB_LIMITS: ConfigLimits = {
  ...DATA_LIMITS,
  'model.inSize': count(4, 4096), 'model.inChannels': count(1, 4), 'model.channels[]': count(1, 65_536),
  'model.zDim': count(1, 65_536), 'model.initStd': positive(10), 'model.logVarInit': { min: -30, max: 30 }, 'model.seed': SEED,
  'train.steps': count(1), 'train.batchSize': count(1, 65_536), 'train.learningRate': positive(1000),
  'train.beta1': BETA, 'train.beta2': BETA, 'train.decayStart': count(0), 'train.klWeight': nonNegative(),
  'train.perceptualWeight': nonNegative(), 'train.discriminator.start': count(0), 'train.discriminator.lrFactor': nonNegative(1000),
  'train.discriminator.channels[]': count(1, 65_536), 'train.seed': SEED,
  sampleImages: count(0, 1024),
};

export const AE_JOB_PRESETS: Record<'tiny' | 'default', DeepPartial<AeJobConfig>> = {
  tiny: {
    data: { limit: 512, evalImages: 64 },
    model: AUTOENCODER_PRESETS.tiny, // the model's one tiny preset (src/models/autoencoder.ts)
    train: { steps: 40, batchSize: 16, learningRate: 2e-3, decayStart: 40 },
    sampleImages: 4,
  },
  default: {},
};

/** The trainer keeps its posterior-sampling stream private; a resume must put it back. */
function trainerRng(trainer: AutoencoderTrainer): { state(): RandomState; setState(s: RandomState): void } {
  return (trainer as unknown as { rng: { state(): RandomState; setState(s: RandomState): void } }).rng;
}

export class AeJob implements TrainingJob {
  readonly kind = 'ae' as const;
  readonly totalSteps: number;
  ae: Autoencoder;
  private trainer: AutoencoderTrainer;
  private batches: BatchIterator;

  private constructor(readonly config: AeJobConfig, private readonly data: LoadedData) {
    this.totalSteps = config.train.steps;
    const [, h, w, c] = data.train.shape;
    if (h !== config.model.inSize || w !== config.model.inSize || c !== config.model.inChannels) {
      throw new Error(`train ae: the data's images are ${h}×${w}×${c} but model.inSize=${config.model.inSize}, model.inChannels=${config.model.inChannels}`);
    }
    this.ae = new Autoencoder(config.model);
    this.trainer = new AutoencoderTrainer(this.ae, config.train);
    this.batches = new BatchIterator({ size: data.train.shape[0], batchSize: config.train.batchSize, seed: config.train.seed + 1, dropLast: true });
  }

  static async create(config: AeJobConfig): Promise<AeJob> {
    return new AeJob(config, await loadData(config.data));
  }

  async step(iteration: number): Promise<Record<string, number>> {
    const { images, shape } = gatherImages(this.data.train, this.batches.next().indices);
    const x = tf.tensor4d(images, shape);
    try {
      return { ...this.trainer.step(x, iteration) };
    } finally {
      x.dispose();
    }
  }

  async evaluate(): Promise<Record<string, number>> {
    if (!this.data.test) return {};
    const r = reconstructionPsnr(this.ae, this.data.test);
    return { psnr: r.meanPsnr, datasetPsnr: r.datasetPsnr, l1: r.l1 };
  }

  async samples(): Promise<SampleImage[]> {
    const source = this.data.test ?? this.data.train;
    const n = Math.min(this.config.sampleImages, source.shape[0]);
    const { images, shape } = gatherImages(source, Int32Array.from({ length: n }, (_, i) => i));
    const rows = tf.tidy(() => {
      const x = tf.tensor4d(images, shape);
      const prior = tf.randomNormal([n, this.ae.config.zDim], 0, 1, 'float32', 7);
      return [images, Float32Array.from(this.ae.reconstruct(x).dataSync()), Float32Array.from(this.ae.decode(prior).dataSync())];
    });
    return [{ name: 'reconstructions.png', bytes: await gridPng(rows, shape) }];
  }

  async saveState(step: number): Promise<TrainState> {
    const t = this.trainer;
    return {
      format: TRAIN_STATE_FORMAT, kind: this.kind, step,
      models: {
        ae: serializeCheckpoint(this.ae.checkpoint({ step })),
        ...(t.discriminator ? { discriminator: serializeCheckpoint(t.discriminator.checkpoint()) } : {}),
      },
      optimizers: {
        ae: await saveOptimizerState(t.optimizer),
        ...(t.dOptimizer ? { discriminator: await saveOptimizerState(t.dOptimizer) } : {}),
      },
      random: { posterior: trainerRng(t).state() },
      data: { batches: this.batches.state() },
    };
  }

  async restoreState(state: TrainState): Promise<void> {
    this.trainer.dispose();
    this.ae.dispose();
    this.ae = Autoencoder.fromCheckpoint(parseCheckpoint(state.models['ae']!));
    this.trainer = new AutoencoderTrainer(this.ae, this.config.train);
    await restoreOptimizerState(this.trainer.optimizer, state.optimizers['ae']!);
    if (this.trainer.discriminator && state.models['discriminator']) {
      const saved = PatchDiscriminator.fromCheckpoint(parseCheckpoint(state.models['discriminator']));
      const target = this.trainer.discriminator.trainableVariables();
      saved.trainableVariables().forEach((v, i) => target[i]!.assign(v));
      saved.dispose();
      await restoreOptimizerState(this.trainer.dOptimizer!, state.optimizers['discriminator']!);
    }
    trainerRng(this.trainer).setState(state.random['posterior']!);
    this.batches = BatchIterator.fromState(state.data['batches'] as BatchIteratorState);
  }

  finalModels(): Record<string, string> {
    return { 'model.json': serializeCheckpoint(this.ae.checkpoint({ steps: this.totalSteps })) };
  }

  dispose(): void {
    this.trainer.dispose();
    this.ae.dispose();
  }
}
