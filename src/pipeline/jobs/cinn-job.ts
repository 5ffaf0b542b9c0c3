/**
 * Training job for the conditional INN t of one layer (paper Eq. 2–5; digest §3.5): frozen AE
 * gives z̄ (a sample of q(z̄|x), as the reference), a frozen classifier split at `layer` gives
 * z = Φ(x), and t learns v = t(z̄|z) by maximum likelihood.
 */
import { tf } from '../../engine/index.ts';
import { Random } from '../../engine/random.ts';
import { BatchIterator, type BatchIteratorState } from '../../data/index.ts';
import type { Autoencoder } from '../../models/autoencoder.ts';
import { ConditionalINN, DEFAULT_CINN_CONFIG, type CinnConfig } from '../../flows/cinn.ts';
import { loadFlow, saveFlow } from '../../flows/serialize.ts';
import { cinnTrainStep, createFlowOptimizer } from '../../train/flow-train-step.ts';
import { flowNll, nllPerDimension } from '../../flows/losses.ts';
import { DATA_LIMITS, DEFAULT_DATA_CONFIG, gatherImages, loadData, type DataConfig, type LoadedData } from '../data-spec.ts';
import { gridPng } from '../../figures/image-grid.ts';
import { readModelOfKind } from '../model-files.ts';
import {
  describeCard, emitByomNote, MODEL_FINGERPRINT_FILE, openModelUnderStudy,
  type ExternalLayer, type ModelFingerprint, type ModelUnderStudy, type OpenedModel,
} from '../external-model.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../train/optimizer-state.ts';
import { adaptOptimizerState } from '../optimizer-fit.ts';
import { TRAIN_STATE_FORMAT, type SampleImage, type TrainingJob, type TrainState } from '../job.ts';
import type { DeepPartial } from '../../config/config.ts';
import { FLOW_TRAINING_LIMITS, type FlowTrainingConfig } from './flow-training-config.ts';
import { count, type ConfigLimits } from '../../config/limits.ts';

export interface CinnJobConfig {
  /** Optimisation: seed, steps, batch size, Adam (the same keys as every job's `train`). */
  train: FlowTrainingConfig;
  data: DataConfig;
  /** The trained autoencoder: a model file or its run folder. */
  ae: string;
  /**
   * The model under study: an inntrospect classifier (model file or run folder), a TensorFlow.js
   * Layers or graph model folder (model.json + shards, optional model-card.json), or a zoo id.
   * Φ(x) = model(preprocess(x)), preprocess = resize + value mapping (src/pipeline/external-model.ts).
   */
  model: string;
  /** The layer of the model whose representation z = Φ(x) conditions t. */
  layer: string;
  /** t's architecture (dim and conditionShape come from the AE and the layer). */
  cinn: Omit<CinnConfig, 'dim' | 'conditionShape' | 'seed'>;
  /** Images per sample grid. */
  sampleImages: number;
  /**
   * A trained t (model file or run folder) to start from instead of a fresh initialisation, e.g.
   * the previous checkpoint's t in Fig. 4's dynamics; it must have this job's architecture. '' = none.
   */
  init: string;
}

const { dim: _d, conditionShape: _c, seed: _s, ...CINN_ARCH } = DEFAULT_CINN_CONFIG;

export const DEFAULT_CINN_JOB_CONFIG: CinnJobConfig = {
  train: { seed: 0, steps: 4000, batchSize: 64, learningRate: 5e-4, beta1: 0.5, beta2: 0.9 },
  data: DEFAULT_DATA_CONFIG,
  ae: '',
  model: '',
  layer: '',
  cinn: CINN_ARCH,
  sampleImages: 8,
  init: '',
};

/** The allowed numbers of a cinn job's config, checked before anything loads. */
export const CINN_JOB_LIMITS: ConfigLimits = {
  ...DATA_LIMITS, ...FLOW_TRAINING_LIMITS,
  'cinn.embeddingDim': count(1, 65_536), 'cinn.numBlocks': count(1, 1000), 'cinn.hiddenWidth': count(1, 65_536), 'cinn.hiddenDepth': count(1, 100),
  'cinn.embedder.depth': count(2, 100), 'cinn.embedder.numDown': count(0, 20), 'cinn.embedder.baseChannels': count(1, 65_536), 'cinn.embedder.maxChannels': count(1, 65_536),
  sampleImages: count(0, 1024),
};

export const CINN_JOB_PRESETS: Record<'tiny' | 'default', DeepPartial<CinnJobConfig>> = {
  tiny: {
    train: { steps: 40, batchSize: 16, learningRate: 1e-3 }, data: { limit: 512, evalImages: 64 },
    cinn: { embeddingDim: 16, numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1 }, sampleImages: 4,
  },
  default: {},
};

function toBatch(data: LoadedData['train'], indices: ArrayLike<number>): tf.Tensor4D {
  const { images, shape } = gatherImages(data, indices);
  return tf.tensor4d(images, shape);
}

export class CinnJob implements TrainingJob {
  readonly kind = 'cinn' as const;
  readonly totalSteps: number;
  t: ConditionalINN;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly greybox: ExternalLayer;
  private batches: BatchIterator;
  private readonly posteriorRng: Random;

  private constructor(
    readonly config: CinnJobConfig, private readonly ae: Autoencoder, private readonly classifier: ModelUnderStudy, greybox: ExternalLayer,
    private readonly data: LoadedData, private readonly fingerprint: ModelFingerprint,
  ) {
    this.totalSteps = config.train.steps;
    this.greybox = greybox;
    this.t = config.init ? CinnJob.warmStart(config, ae.config.zDim, greybox.zShape) : new ConditionalINN({ ...config.cinn, dim: ae.config.zDim, conditionShape: greybox.zShape, seed: config.train.seed });
    this.optimizer = createFlowOptimizer({ learningRate: config.train.learningRate, beta1: config.train.beta1, beta2: config.train.beta2 });
    this.batches = new BatchIterator({ size: data.train.shape[0], batchSize: config.train.batchSize, seed: config.train.seed + 1, dropLast: true });
    this.posteriorRng = new Random(config.train.seed + 2);
  }

  /** The t of `config.init`, checked against this job's architecture (an error names what differs). */
  private static warmStart(config: CinnJobConfig, dim: number, conditionShape: number[]): ConditionalINN {
    const t = readModelOfKind(config.init, 'cinn', 'train cinn --init').model;
    const want = { ...config.cinn, dim, conditionShape };
    const got = t.cfg as unknown as Record<string, unknown>;
    const diff = Object.entries(want).filter(([k, v]) => JSON.stringify(got[k]) !== JSON.stringify(v)).map(([k, v]) => `${k}: ${JSON.stringify(got[k])} there, ${JSON.stringify(v)} here`);
    if (diff.length > 0) {
      t.dispose();
      throw new Error(`train cinn --init ${config.init}: its t has another architecture (${diff.join('; ')})`);
    }
    return t;
  }

  static async create(config: CinnJobConfig): Promise<CinnJob> {
    if (!config.layer) throw new Error("train cinn needs a layer (--layer NAME; 'inntrospect layers <model>' lists them)");
    const ae = readModelOfKind(config.ae, 'autoencoder', 'train cinn --ae').model;
    let classifier: OpenedModel | null = null;
    try {
      classifier = await openModelUnderStudy(config.model);
      const greybox = classifier.layer(config.layer);
      const data = await loadData(config.data);
      const [, h, w, c] = data.train.shape;
      if (h !== ae.config.inSize || w !== ae.config.inSize || c !== ae.config.inChannels) {
        throw new Error(`train cinn: the data's images are ${h}×${w}×${c} but the autoencoder works on ${ae.config.inSize}×${ae.config.inSize}×${ae.config.inChannels}; set --data.size=${ae.config.inSize} (the size the AE was trained at)`);
      }
      if (data.train.shape[0] < config.train.batchSize) {
        throw new Error(`train cinn: ${data.train.shape[0]} training images are fewer than batchSize ${config.train.batchSize}; set --train.batchSize=${data.train.shape[0]} or smaller, or add images`);
      }
      const [ih, iw] = classifier.card.inputSize;
      if (ih !== h || iw !== w || classifier.card.channels !== c || classifier.kind !== 'inntrospect') {
        emitByomNote('model', `Φ(x) = ${classifier.name}(preprocess(x)): ${h}×${w}×${c} images in [-1, 1] are resized (bilinear) and mapped to the model's input (${describeCard(classifier.card)})${classifier.card.channels !== c ? `, ${c === 1 ? 'grey → RGB' : 'RGB → grey'}` : ''}`);
      }
      return new CinnJob(config, ae, classifier, greybox, data, classifier.fingerprint);
    } catch (error) {
      ae.dispose();
      classifier?.dispose();
      throw error;
    }
  }

  /** z̄ (a posterior sample) and z for a batch of images. */
  private encode(x: tf.Tensor4D): { zbar: tf.Tensor2D; z: tf.Tensor } {
    return tf.tidy(() => {
      const post = this.ae.encode(x);
      const zbar = post.sample(this.posteriorRng);
      post.dispose();
      return { zbar, z: this.greybox.phi(x) };
    });
  }

  async step(): Promise<Record<string, number>> {
    const x = toBatch(this.data.train, this.batches.next().indices);
    const { zbar, z } = this.encode(x);
    try {
      const r = cinnTrainStep(this.t, this.optimizer, zbar, z);
      return { loss: r.loss, nllPerDim: r.nllPerDim, meanLogDet: r.meanLogDet };
    } finally {
      tf.dispose([x, zbar, z]);
    }
  }

  async evaluate(): Promise<Record<string, number>> {
    const test = this.data.test;
    if (!test) return {};
    let total = 0;
    let count = 0;
    const rng = new Random(this.config.train.seed + 99);
    for (let start = 0; start < test.shape[0]; start += 128) {
      const n = Math.min(128, test.shape[0] - start);
      const x = toBatch(test, Int32Array.from({ length: n }, (_, i) => start + i));
      const loss = tf.tidy(() => {
        const post = this.ae.encode(x);
        const zbar = post.sample(rng);
        const { output, logDet } = this.t.forward(zbar, this.greybox.phi(x));
        return flowNll(output, logDet).dataSync()[0]!;
      });
      x.dispose();
      total += loss * n;
      count += n;
    }
    const loss = total / count;
    return { testLoss: loss, testNllPerDim: nllPerDimension(loss, this.t.dim).nllPerDim };
  }

  /** Rows: inputs, AE reconstructions, reconstructions through t, fresh samples ×2, v swapped across the batch. */
  async samples(): Promise<SampleImage[]> {
    const source = this.data.test ?? this.data.train;
    const n = Math.min(this.config.sampleImages, source.shape[0]);
    const x = toBatch(source, Int32Array.from({ length: n }, (_, i) => i));
    const rows = tf.tidy(() => {
      const zbar = this.ae.encode(x).mean;
      const z = this.greybox.phi(x);
      const v = this.t.forward(zbar, z).output;
      const through = this.t.inverse(v, z).output;
      const fresh1 = this.t.sample(z, 1, new Random(this.config.train.seed + 5));
      const fresh2 = this.t.sample(z, 1, new Random(this.config.train.seed + 6));
      const swapped = this.t.inverse(tf.reverse(v, 0), z).output;
      return [x, this.ae.decode(zbar), this.ae.decode(through), this.ae.decode(fresh1), this.ae.decode(fresh2), this.ae.decode(swapped)]
        .map((t) => Float32Array.from(t.dataSync()));
    });
    x.dispose();
    const [, h, w, c] = source.shape;
    return [{ name: 'samples.png', bytes: await gridPng(rows, [n, h, w, c]) }];
  }

  async saveState(step: number): Promise<TrainState> {
    return {
      format: TRAIN_STATE_FORMAT, kind: this.kind, step,
      models: { t: JSON.stringify(saveFlow(this.t)) },
      optimizers: { t: await saveOptimizerState(this.optimizer) },
      random: { posterior: this.posteriorRng.state() },
      data: { batches: this.batches.state() },
    };
  }

  async restoreState(state: TrainState): Promise<void> {
    // The saved flow is exact (weights and buffers: ActNorm flags, permutations); Adam's moments
    // follow the variables by position, which loadFlow keeps.
    this.t.dispose();
    this.t = loadFlow<ConditionalINN>(JSON.parse(state.models['t']!), 'ConditionalINN');
    await restoreOptimizerState(this.optimizer, adaptOptimizerState(state.optimizers['t']!, this.t, 't'));
    this.posteriorRng.setState(state.random['posterior']!);
    this.batches = BatchIterator.fromState(state.data['batches'] as BatchIteratorState);
  }

  finalModels(): Record<string, string> {
    // The fingerprint lets the analyses and the explorer refuse a model edited after training.
    return { 'model.json': JSON.stringify(saveFlow(this.t)), [MODEL_FINGERPRINT_FILE]: JSON.stringify(this.fingerprint, null, 1) };
  }

  dispose(): void {
    this.t.dispose();
    this.optimizer.dispose();
    this.ae.dispose();
    this.classifier.dispose();
  }
}
