/**
 * Training job for the semantic INN e (paper Eq. 6; IIN's FactorTrainer, digest §4.2–4.3):
 * pairs of ColorMNIST images that share a factor (digit | colour, or digit | foreground |
 * background on the fg/bg variant), z̄ from the frozen AE (a posterior sample, as the
 * reference), factor loss with ρ, residual never shared.
 */
import { tf } from '../../engine/index.ts';
import { Random } from '../../engine/random.ts';
import { colorMnistPairs, labelPairs, type ImageDataset, type PairSampler, type PairSamplerOptions, type PairSamplerState } from '../../data/index.ts';
import type { Autoencoder } from '../../models/autoencoder.ts';
import { DEFAULT_IIN_CONFIG, SemanticINN, type IinConfig } from '../../flows/iin.ts';
import { estimateFactorDimensions, estimateSharedDimensions } from '../../flows/factor-dims.ts';
import { emitByomNote } from '../external-model.ts';
import { loadFlow, saveFlow } from '../../flows/serialize.ts';
import { createFlowOptimizer, iinTrainStep } from '../../train/flow-train-step.ts';
import { DATA_LIMITS, DEFAULT_DATA_CONFIG, loadData, type DataConfig } from '../data-spec.ts';
import { filePairs, readPairFile, type PairFileSpec } from '../pair-file.ts';
import { gridPng } from '../../figures/image-grid.ts';
import { readModelOfKind } from '../model-files.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../train/optimizer-state.ts';
import { adaptOptimizerState } from '../optimizer-fit.ts';
import { TRAIN_STATE_FORMAT, type SampleImage, type TrainingJob, type TrainState } from '../job.ts';
import type { DeepPartial } from '../../config/config.ts';
import { FLOW_TRAINING_LIMITS, type FlowTrainingConfig } from './flow-training-config.ts';
import { count, type ConfigLimits } from '../../config/limits.ts';

export interface IinJobConfig {
  /** Optimisation: seed, steps, batch size, Adam (the same keys as every job's `train`). */
  train: FlowTrainingConfig;
  /**
   * ColorMNIST ('colormnist': digit | colour; 'colormnist-fgbg': digit | foreground | background),
   * or any labelled dataset (pairs share the label: sub-folders of an image folder), or an image
   * folder with `pairs`.
   */
  data: DataConfig;
  /**
   * A JSON file of pairs or per-image attributes for an image folder (docs/byom.md); '' uses the
   * dataset's own factors (ColorMNIST) or its labels.
   */
  pairs: string;
  /** The trained autoencoder (first stage): a model file or its run folder. */
  ae: string;
  /** e's architecture; factor names come from the data; sizes null = chosen by `factorSizing`. */
  iin: Omit<IinConfig, 'dim' | 'factorNames' | 'seed'>;
  /**
   * How factor sizes are chosen when `iin.factorSizes` is null, from `estimatePairs` pairs of the
   * training data encoded by the AE: 'iin' (default) the IIN code's estimate (digest §4.4,
   * `estimateFactorDimensions`: [12, 19, 33] on the shipped AE); 'shared' the dimensions each
   * factor's pairs share linearly (`estimateSharedDimensions`: recovers planted sizes, but gives a
   * class attribute that z̄ encodes nonlinearly very few, e.g. digit 1–4); 'equal' equal chunks
   * like torch.chunk. docs/flows.md compares them.
   */
  factorSizing: 'iin' | 'shared' | 'equal';
  /** Pairs the dimension estimate uses. */
  estimatePairs: number;
  sampleImages: number;
}

const { dim: _d, factorNames: _f, seed: _s, ...IIN_ARCH } = DEFAULT_IIN_CONFIG;

export const DEFAULT_IIN_JOB_CONFIG: IinJobConfig = {
  train: { seed: 0, steps: 4000, batchSize: 64, learningRate: 5e-4, beta1: 0.5, beta2: 0.9 },
  data: DEFAULT_DATA_CONFIG, pairs: '', ae: '', iin: IIN_ARCH, factorSizing: 'iin', estimatePairs: 1024, sampleImages: 8,
};

/** The allowed numbers of an iin job's config, checked before anything loads. */
export const IIN_JOB_LIMITS: ConfigLimits = {
  ...DATA_LIMITS, ...FLOW_TRAINING_LIMITS,
  'iin.factorSizes[]': count(1, 65_536), 'iin.numBlocks': count(1, 1000), 'iin.hiddenWidth': count(1, 65_536), 'iin.hiddenDepth': count(1, 100),
  'iin.rho': { min: 0, max: 1, maxExclusive: true },
  sampleImages: count(0, 1024),
  estimatePairs: count(2, 1_000_000),
};

export const IIN_JOB_PRESETS: Record<'tiny' | 'default', DeepPartial<IinJobConfig>> = {
  tiny: { train: { steps: 40, batchSize: 16, learningRate: 1e-3 }, data: { limit: 512, evalImages: 64 }, iin: { numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1 }, sampleImages: 4 },
  default: {},
};

export class IinJob implements TrainingJob {
  readonly kind = 'iin' as const;
  readonly totalSteps: number;
  e: SemanticINN;
  private readonly optimizer: tf.AdamOptimizer;
  private readonly pairs: PairSampler;
  private readonly posteriorRng: Random;

  /** The dimension estimate behind e's factor sizes (null for explicit or equal sizes). */
  readonly factorDimEstimate: { method: 'iin' | 'shared'; scores: number[]; sizes: number[] } | null;

  private constructor(readonly config: IinJobConfig, private readonly ae: Autoencoder, private readonly data: ImageDataset, private readonly test: ImageDataset | null, private readonly pairFile: PairFileSpec | null) {
    this.totalSteps = config.train.steps;
    this.pairs = this.sampler(data, { batchSize: config.train.batchSize, seed: config.train.seed + 1 });
    // A run config from before factorSizing existed used equal chunks: resuming it keeps them.
    const sizing = config.factorSizing ?? 'equal';
    if (!['iin', 'shared', 'equal'].includes(sizing)) throw new Error(`train iin: factorSizing must be 'iin', 'shared' or 'equal', got '${String(sizing)}'`);
    this.factorDimEstimate = config.iin.factorSizes === null && sizing !== 'equal' ? this.estimateSizes(sizing) : null;
    const factorSizes = config.iin.factorSizes ?? this.factorDimEstimate?.sizes ?? null;
    this.e = new SemanticINN({ ...config.iin, factorSizes, dim: ae.config.zDim, factorNames: [...this.pairs.factorNames], seed: config.train.seed });
    this.optimizer = createFlowOptimizer({ learningRate: config.train.learningRate, beta1: config.train.beta1, beta2: config.train.beta2 });
    this.posteriorRng = new Random(config.train.seed + 2);
  }

  static async create(config: IinJobConfig): Promise<IinJob> {
    const ae = readModelOfKind(config.ae, 'autoencoder', 'train iin --ae').model;
    try {
      const data = await loadData(config.data);
      const pairFile = config.pairs ? readPairFile(config.pairs, data.train) : null;
      // A pair file names images of the training folder, so it has no separate test split.
      const test = pairFile ? null : data.test;
      const job = new IinJob(config, ae, data.train, test, pairFile);
      return job;
    } catch (error) {
      ae.dispose();
      throw error;
    }
  }

  /**
   * Factor sizes from the data: frozen pairs of the training data, z̄ = E(x) (the posterior
   * mode, as the IIN code's dim_callback), then the IIN code's softmax ('iin') or the
   * shared-dimension count ('shared'); every factor gets at least one dimension, from the residual.
   */
  private estimateSizes(method: 'iin' | 'shared'): { method: 'iin' | 'shared'; scores: number[]; sizes: number[] } | null {
    const wanted = this.config.estimatePairs ?? DEFAULT_IIN_JOB_CONFIG.estimatePairs;
    if (!Number.isInteger(wanted) || wanted < 2) throw new Error(`train iin: estimatePairs must be an integer ≥ 2, got ${wanted}`);
    const batch = this.sampler(this.data, { batchSize: Math.min(wanted, this.data.shape[0]), seed: this.config.train.seed + 5, mode: 'frozen' }).next();
    // The sampler may give fewer pairs than asked (only images that share something are anchors).
    const count = batch.shape[0];
    const zDim = this.ae.config.zDim;
    const missing = this.pairs.factorNames.slice(0, -1).filter((_, f) => !batch.factors.includes(f));
    if (count < 2 * zDim || missing.length > 0) {
      emitByomNote('e', `factor sizes: equal chunks, because ${missing.length > 0 ? `no pair shares ${missing.join(', ')}` : `${count} pairs are too few to estimate them for a ${zDim}-dimensional z̄ (needs ≥ ${2 * zDim})`}; give --iin.factorSizes=[…] to choose them`);
      return null;
    }
    const rows = (images: Float32Array) => {
      const out: Float32Array[] = [];
      const per = batch.shape[1] * batch.shape[2] * batch.shape[3];
      for (let off = 0; off < count; off += 128) {
        const n = Math.min(128, count - off);
        const z = tf.tidy(() => {
          const post = this.ae.encode(tf.tensor4d(images.subarray(off * per, (off + n) * per), [n, batch.shape[1], batch.shape[2], batch.shape[3]]));
          const m = tf.clone(post.mean);
          post.dispose();
          return m;
        });
        const values = z.dataSync() as Float32Array;
        const d = z.shape[1];
        for (let i = 0; i < n; i++) out.push(values.slice(i * d, (i + 1) * d));
        z.dispose();
      }
      return out;
    };
    const za = rows(batch.a.images);
    const zb = rows(batch.b.images);
    const k = this.pairs.factorNames.length;
    const est = method === 'shared'
      ? (() => { const r = estimateSharedDimensions(za, zb, batch.factors, k); return { scores: r.shared, sizes: r.sizes }; })()
      : estimateFactorDimensions(za, zb, batch.factors, k);
    const sizes = [...est.sizes];
    for (let f = 0; f < sizes.length - 1; f++) {
      if (sizes[f]! < 1) {
        sizes[sizes.length - 1]! -= 1 - sizes[f]!;
        sizes[f] = 1;
      }
    }
    if (sizes.at(-1)! < 1) throw new Error(`train iin: z̄ has ${this.ae.config.zDim} dimensions, too few for ${sizes.length} factors`);
    emitByomNote('e', `factor sizes from the data (${method === 'shared' ? 'shared dimensions' : "the IIN code's estimate"}, ${count} pairs; scores ${est.scores.map((x) => x.toFixed(3)).join(', ')}): ${this.pairs.factorNames.map((n, i) => `${n} ${sizes[i]}`).join(', ')}`);
    return { method, scores: est.scores, sizes };
  }

  /** The pair sampler for this job's data: the pair file, ColorMNIST's factors, or shared labels. */
  private sampler(ds: ImageDataset, options: PairSamplerOptions): PairSampler {
    if (this.pairFile) return filePairs(ds, this.pairFile, options);
    if ('colors' in ds || 'foreground' in ds) return colorMnistPairs(ds as Parameters<typeof colorMnistPairs>[0], options);
    if (ds.labels.some((l) => l >= 0)) return labelPairs(ds, options);
    throw new Error(`train iin: '${ds.name}' has no factors to pair on; put the images in sub-folders (one per class) or give --pairs FILE.json (docs/byom.md)`);
  }

  private encode(images: Float32Array, shape: [number, number, number, number]): tf.Tensor2D {
    return tf.tidy(() => {
      const post = this.ae.encode(tf.tensor4d(images, shape));
      const zbar = post.sample(this.posteriorRng);
      post.dispose();
      return zbar;
    });
  }

  async step(): Promise<Record<string, number>> {
    const batch = this.pairs.next();
    const za = this.encode(batch.a.images, batch.shape);
    const zb = this.encode(batch.b.images, batch.shape);
    try {
      const r = iinTrainStep(this.e, this.optimizer, za, zb, Array.from(batch.factors));
      return { loss: r.loss, lossPerDim: r.lossPerDim };
    } finally {
      tf.dispose([za, zb]);
    }
  }

  /** Mean correlation of each factor between pair members sharing it, on test pairs. */
  async evaluate(): Promise<Record<string, number>> {
    if (!this.test) return {};
    const sampler = this.sampler(this.test, { batchSize: Math.min(256, this.test.shape[0]), seed: 1, mode: 'frozen' });
    const batch = sampler.next();
    const result: Record<string, number> = {};
    tf.tidy(() => {
      const fa = this.e.encode(this.ae.encode(tf.tensor4d(batch.a.images, batch.shape)).mean);
      const fb = this.e.encode(this.ae.encode(tf.tensor4d(batch.b.images, batch.shape)).mean);
      this.pairs.factorNames.forEach((name, k) => {
        if (k === this.pairs.residualIndex) return;
        const rows = Array.from(batch.factors).map((f, i) => (f === k ? i : -1)).filter((i) => i >= 0);
        if (rows.length < 2) return;
        const idx = tf.tensor1d(rows, 'int32');
        const a = tf.gather(fa[name]!, idx);
        const b = tf.gather(fb[name]!, idx);
        const center = (t: tf.Tensor) => tf.sub(t, tf.mean(t, 0));
        const ca = center(a);
        const cb = center(b);
        const corr = tf.div(tf.sum(tf.mul(ca, cb), 0), tf.add(tf.sqrt(tf.mul(tf.sum(tf.square(ca), 0), tf.sum(tf.square(cb), 0))), 1e-8));
        result[`corr_${name}`] = tf.mean(corr).dataSync()[0]!;
      });
    });
    return result;
  }

  /** Rows: image a, image b, then a with each factor swapped in from b, decoded. */
  async samples(): Promise<SampleImage[]> {
    const source = this.test ?? this.data;
    const sampler = this.sampler(source, { batchSize: Math.min(this.config.sampleImages, source.shape[0]), seed: 3, mode: 'frozen' });
    const batch = sampler.next();
    const rows = tf.tidy(() => {
      const fa = this.e.encode(this.ae.encode(tf.tensor4d(batch.a.images, batch.shape)).mean);
      const fb = this.e.encode(this.ae.encode(tf.tensor4d(batch.b.images, batch.shape)).mean);
      const swaps = this.pairs.factorNames.filter((_, k) => k !== this.pairs.residualIndex).map((name) => {
        const mixed = { ...fa, [name]: fb[name]! };
        return Float32Array.from(this.ae.decode(this.e.decode(mixed)).dataSync());
      });
      return [batch.a.images, batch.b.images, ...swaps];
    });
    return [{ name: 'factor-swaps.png', bytes: await gridPng(rows, batch.shape) }];
  }

  async saveState(step: number): Promise<TrainState> {
    return {
      format: TRAIN_STATE_FORMAT, kind: this.kind, step,
      models: { e: JSON.stringify(saveFlow(this.e)) },
      optimizers: { e: await saveOptimizerState(this.optimizer) },
      random: { posterior: this.posteriorRng.state() },
      data: { pairs: this.pairs.state() },
    };
  }

  async restoreState(state: TrainState): Promise<void> {
    this.e.dispose();
    this.e = loadFlow<SemanticINN>(JSON.parse(state.models['e']!), 'SemanticINN');
    await restoreOptimizerState(this.optimizer, adaptOptimizerState(state.optimizers['e']!, this.e, 'e'));
    this.posteriorRng.setState(state.random['posterior']!);
    this.pairs.setState(state.data['pairs'] as PairSamplerState);
  }

  finalModels(): Record<string, string> {
    return { 'model.json': JSON.stringify(saveFlow(this.e)) };
  }

  dispose(): void {
    this.e.dispose();
    this.optimizer.dispose();
    this.ae.dispose();
  }
}
