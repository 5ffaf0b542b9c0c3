/**
 * The public API: `open(source)` gives one object whose methods are the paper's analyses, in
 * the spirit of transformers.js's `pipeline()` and Captum's method-on-object. It loads lazily:
 * each method loads (once) only the models it uses, and every number is the one the CLI
 * command of the same name prints for the same options and seed (the CLI runs the same
 * library functions on the same images).
 *
 *     import { open } from 'inntrospect';
 *     const p = await open('zoo/colormnist');
 *     const grid = await p.layer('conv2').sample(await p.images(4), { n: 8, seed: 0 });
 *     const inv = await p.invariance({ inputs: 64 });
 *
 * Sources: a zoo folder (`zoo/colormnist` is shipped inside the package), cinn run folders
 * (the `iin` option adds an e), and with them a model inntrospect did not train
 * (`inntrospect train cinn --model <TF.js folder | zoo id>`, docs/byom.md). Node only; the
 * browser entry (src/index.browser.ts) has `openPipeline` over fetch.
 */
import { initEngine, type EngineInfo } from '../engine/index.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { type AnalysisContext, type ImageArray } from '../analysis/context.ts';
import { invariancePerLayer, layerSamples, type InvariancePerLayerOptions, type InvariancePerLayerResult, type LayerSamplesOptions, type LayerSamplesResult } from '../analysis/invariances.ts';
import { semanticSensitivity, type SemanticSensitivityOptions, type SemanticSensitivityResult } from '../analysis/semantic-sensitivity.ts';
import { trainingDynamics, type TrainingCheckpoint, type TrainingDynamicsOptions, type TrainingDynamicsResult } from '../analysis/training-dynamics.ts';
import { attackStatistics, attackVisualization, type AttackStatistics, type AttackStatisticsOptions, type AttackVisualization } from '../analysis/attacks.ts';
import { semanticModification, type SemanticModificationOptions, type SemanticModificationResult } from '../analysis/semantic-modification.ts';
import { imageMixing, type MixingOptions, type MixingResult } from '../analysis/mixing.ts';
import { checkInvertibility, type InvertibilityReport } from '../flows/invertibility-check.ts';
import { analysisFromSource, analysisImages, type AnalysisLoadOptions, type LoadedAnalysis } from '../pipeline/analysis-loader.ts';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { openSource, type OpenedSource } from '../pipeline/pipeline-source.ts';
import { checkReportOutputs, DEFAULT_REPORT_OPTIONS, writeReport, type ReportOptions, type ReportResult } from '../report/report.ts';
import { DEFAULT_FEATURES, reportFeatures } from '../report/report-features.ts';

export interface OpenOptions {
  /**
   * Progress events of loading and of every analysis this object runs.
   * @example open('zoo/colormnist', { onProgress: (e) => console.error(e.task, e.step, e.total) })
   */
  onProgress?: ProgressListener;
  /**
   * Images the analyses draw from: the first N of the source's test split (an image folder:
   * its first N). Default 512, as the CLI's `--images`.
   * @example open('zoo/colormnist', { images: 128 })
   */
  images?: number;
  /**
   * A semantic INN e (model file or iin run folder) to use instead of the source's.
   * @example open(['runs/…_cinn-z'], { iin: 'runs/…_iin' })
   */
  iin?: string;
  /**
   * Compute backend: 'wasm' (default, or $INNTROSPECT_BACKEND), 'cpu', 'torch' (after `npm run build:native`).
   * @example open('zoo/colormnist', { backend: 'cpu' })
   */
  backend?: string;
}

/** Options of `layer(name).sample(…)`: analysis 1 of docs/analyses.md (`inntrospect sample`). */
export interface SampleOptions extends Omit<LayerSamplesOptions, 'layer' | 'samples'> {
  /**
   * Samples x̄ = D(t⁻¹(v|Φ(x))) per input (the CLI's `-n, --samples`). Default 8.
   * @example p.layer('z').sample(images, { n: 16 })
   */
  n?: number;
}

/** One analysed layer: what it keeps and what it is invariant to. */
export interface LayerView {
  readonly name: string;
  /**
   * Analysis 1 (Fig. 3 left): per input x, n samples D(t⁻¹(v|Φ(x))), their mean and variance
   * maps and the re-encoding check. With `images`, every image given is an input (in order);
   * without, `count` test images drawn with the seed, as `inntrospect sample` does.
   * @example
   *   const r = await p.layer('conv2').sample(await p.images(4), { n: 8, seed: 0 });
   *   r.samples.shape;                 // [32, 32, 32, 3]: 8 per input
   */
  sample(images?: ImageDataset | ImageArray, options?: SampleOptions): Promise<LayerSamplesResult>;
  /**
   * Analysis 7 (`inntrospect mix`): D(t⁻¹(v_row | z_column)), the invariances of one image with the representation of another.
   * @example
   *   const m = await p.layer('z').mix({ count: 4 });   // a 4×4 grid in m.mixed
   */
  mix(options?: Omit<MixingOptions, 'layer'>): Promise<MixingResult>;
}

/** An FGSM/PGD attack made visible (analysis 5, `inntrospect attack`). */
export interface AttackResult {
  /** A few inputs: the adversarial and random-sign images and what each layer's t sees of them. */
  visualization: AttackVisualization;
  /** Over `count` images: success rates and the share of each layer's representation the attack changes. */
  statistics: AttackStatistics;
}

/** The invertibility self-check of one t or of e (`inntrospect check`). */
export interface CheckResult extends InvertibilityReport {
  /** 't (layer z)' or 'e (semantic INN)'. */
  part: string;
}

function asDataset(images: ImageDataset | ImageArray): ImageDataset {
  if ('images' in images) return images;
  const n = images.shape[0];
  return { name: 'images', images: images.data, shape: images.shape, labels: new Int32Array(n).fill(-1), classNames: [], valueRange: images.valueRange };
}

type Needs = Pick<AnalysisLoadOptions, 'layers' | 'semantic' | 'checkpoints'>;

/** Options of `p.report(…)`: those of `inntrospect report`, with its defaults. */
export interface PipelineReportOptions extends Partial<Omit<ReportOptions, 'out' | 'features' | 'source'>> {
  /**
   * The HTML file to write; its numbers go beside it (model.html → model.json). Refused when it
   * (or that .json) exists and is not an earlier report.
   * @example p.report({ out: 'report/colormnist.html' })
   */
  out: string;
  /**
   * Feature network of Table 1's Fréchet distance as `<model>:<layer>`. Default nsfwjs-mobilenet-v2:dense_1.
   * @example p.report({ out: 'r.html', features: 'nsfwjs-mobilenet-v2:dense_1' })
   */
  features?: string;
}

/** What `open()` returns. Free its models with `dispose()`. */
export class InntrospectPipeline {
  private data: ImageDataset | null = null;

  private constructor(
    /** The source as resolved: a zoo folder (below the package for the shipped zoo) or run folders. */
    readonly source: string[],
    /** The opened source: its lazy pipeline (zoo folders and run folders alike). */
    private readonly opened: OpenedSource,
    private readonly options: OpenOptions,
    /** The compute backend in use. */
    readonly engine: EngineInfo,
    /** Layers with a t. */
    readonly layers: string[],
  ) {}

  /** See `open`. */
  static async open(source: string | string[], options: OpenOptions = {}): Promise<InntrospectPipeline> {
    const engine = await initEngine({ backend: options.backend });
    const opened = await openSource(Array.isArray(source) ? source : [source], { iin: options.iin }).catch((error: unknown) => {
      throw new Error(`open: ${error instanceof Error ? error.message : String(error)}`);
    });
    const resolved = opened.resolved.kind === 'zoo' ? [opened.resolved.dir] : opened.resolved.paths;
    return new InntrospectPipeline(resolved, opened, options, engine, opened.pipeline.layerNames);
  }

  private get imageCount(): number {
    const n = this.options.images ?? 512;
    if (!Number.isInteger(n) || n < 1) throw new Error(`open: images must be a positive integer, got ${n}`);
    return n;
  }

  private async loaded(needs: Needs): Promise<LoadedAnalysis> {
    this.data ??= await analysisImages(this.opened.data, this.imageCount);
    return analysisFromSource(this.opened, { images: this.imageCount, data: this.data, ...needs });
  }

  private async context(needs: Needs, data?: ImageDataset): Promise<{ ctx: AnalysisContext; checkpoints: TrainingCheckpoint[] }> {
    const loaded = await this.loaded(needs);
    return { ctx: data ? { ...loaded.context, data } : loaded.context, checkpoints: loaded.checkpoints };
  }

  private progress<T extends { onProgress?: ProgressListener }>(options: T): T {
    return options.onProgress || !this.options.onProgress ? options : { ...options, onProgress: this.options.onProgress };
  }

  /**
   * The images the analyses draw from (all `images` of `open`, or the first `count`).
   * @example const x = await p.images(4);   // 4 ColorMNIST test images with labels
   */
  async images(count?: number): Promise<ImageDataset> {
    const { ctx } = await this.context({ layers: [], semantic: false, checkpoints: false });
    const data = ctx.data;
    if (count === undefined || count >= data.shape[0]) return data;
    if (!Number.isInteger(count) || count < 1) throw new Error(`images: count must be a positive integer, got ${count}`);
    const [, h, w, c] = data.shape;
    return { ...data, images: data.images.slice(0, count * h * w * c), shape: [count, h, w, c], labels: data.labels.slice(0, count) };
  }

  /**
   * One layer's view; an unknown name lists the layers that have a t.
   * @example p.layer('conv2')
   */
  layer(name: string): LayerView {
    if (!this.layers.includes(name)) throw new Error(`unknown layer '${name}' (layers with a t: ${this.layers.join(', ') || 'none'})`);
    return {
      name,
      sample: async (images, options = {}) => {
        const { n, ...rest } = options;
        const data = images ? asDataset(images) : undefined;
        const { ctx } = await this.context({ layers: [name], semantic: false, checkpoints: false }, data);
        const indices = rest.indices ?? (data ? Array.from({ length: data.shape[0] }, (_, i) => i) : undefined);
        return layerSamples(ctx, this.progress({ ...rest, indices, layer: name, samples: n }));
      },
      mix: async (options = {}) => {
        const { ctx } = await this.context({ layers: [name], semantic: false, checkpoints: false });
        return imageMixing(ctx, this.progress({ ...options, layer: name }));
      },
    };
  }

  /**
   * Analysis 2 (Fig. 3 right, `inntrospect invariance`): how much of z̄ and of the image each layer leaves to v.
   * @example
   *   const inv = await p.invariance({ inputs: 64 });
   *   inv.layers.map((l) => [l.layer, l.zbarShare]);
   */
  async invariance(options: InvariancePerLayerOptions = {}): Promise<InvariancePerLayerResult> {
    const { ctx } = await this.context({ layers: options.layers, semantic: false, checkpoints: false });
    return invariancePerLayer(ctx, this.progress(options));
  }

  /**
   * Analysis 3 (`inntrospect semantic`): per layer and factor (digit, colour), how much of the factor z fixes.
   * @example
   *   const s = await p.semantic({ inputs: 64 });
   *   s.layers[0].factors['digit'].sensitivity;
   */
  async semantic(options: SemanticSensitivityOptions = {}): Promise<SemanticSensitivityResult> {
    const { ctx } = await this.context({ layers: options.layers, checkpoints: false });
    return semanticSensitivity(ctx, this.progress(options));
  }

  /**
   * Analysis 4 (Fig. 4, `inntrospect dynamics`): the semantic sensitivity of every classifier snapshot, with its accuracy.
   * @example
   *   const d = await p.dynamics({ inputs: 32 });
   *   d.correlationWithAccuracy['digit'];
   */
  async dynamics(options: TrainingDynamicsOptions = {}): Promise<TrainingDynamicsResult> {
    const { ctx, checkpoints } = await this.context({ layers: [] });
    if (checkpoints.length === 0) throw new Error('dynamics needs classifier snapshots with a t each (a zoo folder made by inntrospect reproduce)');
    return trainingDynamics(ctx, checkpoints, this.progress(options));
  }

  /**
   * Analysis 5 (Fig. 5, `inntrospect attack`): FGSM/PGD, what each layer sees, and the batch statistics.
   * `showInputs` (default 4) inputs are visualised, as in the CLI's figure.
   * @example
   *   const a = await p.attack({ kind: 'pgd', epsilon: 0.1, count: 64 });
   *   a.statistics.successRate;
   */
  async attack(options: AttackStatisticsOptions & { showInputs?: number } = {}): Promise<AttackResult> {
    const { ctx } = await this.context({ layers: options.layers, semantic: false, checkpoints: false });
    const o = this.progress(options);
    const visualization = attackVisualization(ctx, { ...o, count: options.showInputs ?? 4, indices: undefined });
    return { visualization, statistics: attackStatistics(ctx, o) };
  }

  /**
   * Analysis 6 (Fig. 7, `inntrospect modify`): swap one factor of e(E(x)) for another image's, decode, and the model's sensitivity.
   * @example
   *   const m = await p.modify({ factors: ['colour'], count: 256 });
   *   m.factors[0].predictionChangeRate;
   */
  async modify(options: SemanticModificationOptions = {}): Promise<SemanticModificationResult> {
    const { ctx } = await this.context({ layers: [], checkpoints: false });
    return semanticModification(ctx, this.progress(options));
  }

  /**
   * The invertibility self-check (`inntrospect check`) of every t (or those named) and of e.
   * @example
   *   const checks = await p.check({ layers: ['z'], semantic: false });
   *   checks[0].roundTripError;          // < 1e-4
   */
  async check(options: { layers?: string[]; semantic?: boolean; samples?: number } = {}): Promise<CheckResult[]> {
    const { ctx } = await this.context({ layers: options.layers, semantic: options.semantic ?? true, checkpoints: false });
    const out: CheckResult[] = [];
    for (const l of ctx.layers) {
      const t = l.t as Parameters<typeof checkInvertibility>[0] & { dim: number; cfg?: { conditionShape: number[] } };
      out.push({ part: `t (layer ${l.name})`, ...checkInvertibility(t, { dim: t.dim, conditionShape: t.cfg?.conditionShape, samples: options.samples }) });
    }
    if (options.semantic !== false && ctx.e) {
      const e = ctx.e as unknown as Parameters<typeof checkInvertibility>[0] & { dim: number };
      out.push({ part: 'e (semantic INN)', ...checkInvertibility(e, { dim: e.dim, samples: options.samples }) });
    }
    return out;
  }

  /**
   * The analysis context itself (AE, layers, f, e, images) for the library functions of src/analysis
   * (table1, compareModels, …) that have no method here.
   * @example
   *   const ctx = await p.analysisContext({ layers: ['z'] });
   *   await table1(ctx, { layers: ['z'], features });
   */
  async analysisContext(needs: Needs = {}): Promise<AnalysisContext> {
    return (await this.context(needs)).ctx;
  }

  /**
   * The self-contained HTML report with the paper's claims checked (`inntrospect report`), on
   * the images of `open` (the CLI's `--images`, 1024 there).
   * @example
   *   const r = await p.report({ out: 'report/colormnist.html', tableSeeds: [0] });
   *   r.claims.map((c) => [c.id, c.holds]);
   */
  async report(options: PipelineReportOptions): Promise<ReportResult> {
    // Before anything loads: the outputs must not replace a file that is not an earlier report.
    checkReportOutputs(options.out);
    mkdirSync(dirname(options.out), { recursive: true });
    const { features: spec, ...rest } = options;
    const loaded = await this.loaded({});
    const features = await reportFeatures(spec ?? DEFAULT_FEATURES);
    try {
      return await writeReport(loaded, this.progress({ ...DEFAULT_REPORT_OPTIONS, ...rest, features: features.features, source: this.source.join(' ') }));
    } finally {
      features.dispose();
    }
  }

  /** Frees every model loaded. */
  dispose(): void {
    this.opened.dispose();
  }
}

/**
 * Opens a pipeline: a zoo folder, or cinn run folders (the `iin` option names an e for them).
 * Nothing but the manifest is read until a method needs it.
 *
 * @example
 *   import { open } from 'inntrospect';
 *   const p = await open('zoo/colormnist', { onProgress: (e) => console.error(e.task) });
 *   const grid = await p.layer('conv2').sample(await p.images(4), { n: 8, seed: 0 });
 *   const inv = await p.invariance({ inputs: 64 });
 *   p.dispose();
 */
export function open(source: string | string[], options: OpenOptions = {}): Promise<InntrospectPipeline> {
  return InntrospectPipeline.open(source, options);
}
