/**
 * Builds an AnalysisContext (src/analysis/context.ts) from files (Node only): a zoo folder, or
 * cinn run folders (each one's config names its AE, classifier and layer). Everything loaded is
 * freed by `dispose()`.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AnalysedLayer, AnalysisContext } from '../analysis/context.ts';
import type { TrainingCheckpoint } from '../analysis/training-dynamics.ts';
import { splittableStages } from '../models/greybox.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { openZooFolder, isZooFolder, resolveSourcePath } from './zoo-source.ts';
import type { Pipeline } from './open-pipeline.ts';
import type { SemanticFlowLike } from '../analysis/context.ts';
import { colorMnistPairs, labelPairs, type PairBatch } from '../data/pairs.ts';
import type { ColorMnistDataset } from '../data/color-mnist.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { ZooManifest } from '../zoo/manifest.ts';
import { DEFAULT_DATA_CONFIG, folderSplit, loadData, type DataConfig } from './data-spec.ts';
import { subsetDataset } from '../data/dataset.ts';
import { emitByomNote } from './external-model.ts';
import { readModelOfKind } from './model-files.ts';
import { checkFingerprint, openModelUnderStudy } from './external-model.ts';
import { readJsonFile } from '../runs/json-file.ts';

export interface LoadedAnalysis {
  context: AnalysisContext;
  /** Classifier snapshots with their t (training dynamics), when the source has them. */
  checkpoints: TrainingCheckpoint[];
  manifest?: ZooManifest;
  /** Files of a zoo folder read, each once (manifest names). */
  filesRead?: readonly string[];
  /**
   * `count` frozen pairs of the analysed images that share one of e's factors (the data's own
   * pair sampler), for the IIN relevance cross-check of Fig. 4; absent when the data has no
   * pairs for e's factors.
   */
  relevancePairs?: (count: number) => PairBatch;
  dispose(): void;
}

/** Frozen pairs of `data` sharing e's factors, when the data's own sampler names the same factors. */
export function relevancePairsFor(data: ImageDataset, e: SemanticFlowLike | undefined): ((count: number) => PairBatch) | undefined {
  if (!e) return undefined;
  const sampler = (count: number) => {
    const options = { batchSize: Math.min(count, data.shape[0]), seed: 11, mode: 'frozen' as const };
    if ('colors' in data || 'foreground' in data) return colorMnistPairs(data as ColorMnistDataset, options);
    return data.labels.some((l) => l >= 0) ? labelPairs(data, options) : null;
  };
  const probe = sampler(2);
  if (!probe || probe.factorNames.join() !== e.factorNames.join()) return undefined;
  return (count) => sampler(count)!.next();
}

export interface AnalysisLoadOptions {
  /** Test images to analyse (the first N of the test split). */
  images: number;
  /** A semantic INN (model file or run folder) when the source has none. */
  iin?: string;
  /** Layers whose t to load (default: all). Zoo folders load nothing else. */
  layers?: string[];
  /** Load the semantic INN e (default true; false when the analysis does not use it). */
  semantic?: boolean;
  /** Load the classifier snapshots and their t's (default true; only the dynamics analysis uses them). */
  checkpoints?: boolean;
  /** Called with each file name read from a zoo folder (tests count reads). */
  onRead?: (file: string) => void;
}

function splitClassifier(classifier: StagedClassifier) {
  return splittableStages({ name: classifier.className, inputShape: classifier.inputShape, stages: classifier.stages });
}

/**
 * The first `images` images to analyse: the test split (for an image folder its held-out part,
 * docs/data.md "Held-out images"); a folder run with data.testFraction = 0 and no test folder
 * has none, and its training images are analysed, with a note saying so.
 */
export async function analysisImages(data: DataConfig, images: number) {
  if (data.dataset === 'folder') {
    const { train, test } = await folderSplit(data);
    if (test.shape[0] > 0) return test.shape[0] > images ? { ...subsetDataset(test, Int32Array.from({ length: images }, (_, i) => i), test.name), files: test.files.slice(0, images) } : test;
    emitByomNote('data', `image folder ${data.folder} has no held-out images (data.testFraction 0, no test/ sub-folder or data.testFolder): analysing its first ${Math.min(images, train.shape[0])} training images, which t and the AE were trained on`);
    return subsetDataset(train, Int32Array.from({ length: Math.min(images, train.shape[0]) }, (_, i) => i), `${train.name} (training images: no held-out split)`);
  }
  const loaded = await loadData({ ...data, limit: 1, evalImages: images });
  if (!loaded.test) throw new Error(`data '${data.dataset}' has no test split to analyse`);
  return loaded.test;
}

async function fromZoo(dir: string, options: AnalysisLoadOptions): Promise<LoadedAnalysis> {
  const pipeline = openZooFolder(dir, { onRead: options.onRead });
  try {
    const loaded = await analysisFromPipeline(pipeline, dir, options);
    return { ...loaded, dispose: () => { loaded.dispose(); pipeline.dispose(); } };
  } catch (error) {
    pipeline.dispose();
    throw error;
  }
}

/**
 * The analysis context of an open zoo pipeline with only what `options` asks for loaded. The
 * pipeline keeps its models (so later calls reuse them); `dispose()` frees only what this call
 * loaded besides (an `--iin` e).
 */
export async function analysisFromPipeline(pipeline: Pipeline, dir: string, options: AnalysisLoadOptions & { data?: ImageDataset }): Promise<LoadedAnalysis> {
  const m = pipeline.manifest;
  const owned: Array<{ dispose(): void }> = [];
  try {
    // Only what the analysis needs: each file is read, checked and parsed once, when first used.
    const names = options.layers ?? pipeline.layerNames;
    const [ae, classifier, e] = await Promise.all([
      pipeline.autoencoder(),
      pipeline.classifier(),
      options.iin ? Promise.resolve(readModelOfKind(options.iin, 'iin', '--iin').model) : options.semantic === false ? Promise.resolve(undefined) : pipeline.semantic(),
    ]);
    if (options.iin && e) owned.push(e);
    const split = splitClassifier(classifier);
    const layers: AnalysedLayer[] = [];
    for (const name of names) {
      const t = await pipeline.t(name);
      const gb = split.split(name);
      layers.push({ name, phi: (x) => gb.phi(x), t });
    }
    const checkpoints: TrainingCheckpoint[] = [];
    if (options.checkpoints !== false) {
      for (const entry of m.dynamics) {
        const snapshotEntry = m.snapshots.find((s) => s.step === entry.step);
        if (!snapshotEntry) throw new Error(`zoo ${dir}: no snapshot for dynamics step ${entry.step}`);
        const { classifier: snapshot, t } = await pipeline.snapshot(entry.step);
        const gb = splitClassifier(snapshot).split(m.dynamicsLayer);
        checkpoints.push({
          iteration: entry.step,
          layer: { phi: (x) => gb.phi(x), t: t! },
          accuracy: snapshotEntry.metrics['testAccuracy'],
          classify: (x) => snapshot.logits(x),
        });
      }
    }
    const data = options.data ?? await analysisImages({ ...DEFAULT_DATA_CONFIG, dataset: 'colormnist' }, options.images);
    return {
      context: { ae, layers, classify: (x) => classifier.logits(x), e: e ?? undefined, data, modelName: m.configs['classifier'] ? 'ColorMNIST classifier' : classifier.className },
      checkpoints,
      manifest: m as ZooManifest,
      filesRead: pipeline.filesRead,
      relevancePairs: relevancePairsFor(data, e ?? undefined),
      dispose: () => owned.forEach((o) => o.dispose()),
    };
  } catch (error) {
    owned.forEach((o) => o.dispose());
    throw error;
  }
}

interface CinnRunConfig { ae: string; model: string; layer: string; data: DataConfig }

async function fromCinnRuns(runs: string[], options: AnalysisLoadOptions): Promise<LoadedAnalysis> {
  const configs = runs.map((run) => {
    const file = join(run, 'config.json');
    if (!existsSync(file)) throw new Error(`${run} is neither a zoo folder nor a cinn run folder (no config.json)`);
    const config = readJsonFile<Partial<CinnRunConfig>>(file, 'run config');
    if (!config.layer || !config.ae || !config.model) throw new Error(`${run} is not a cinn run (its config has no ae/model/layer)`);
    return config as CinnRunConfig;
  });
  const first = configs[0]!;
  for (const c of configs) {
    if (c.ae !== first.ae || c.model !== first.model) throw new Error('the cinn runs must share one AE and one classifier (their configs differ)');
  }
  const owned: Array<{ dispose(): void }> = [];
  const ae = readModelOfKind(first.ae, 'autoencoder', 'ae').model;
  owned.push(ae);
  try {
    // The same adapter as the cinn job: Φ(x) = model(preprocess(x)), f likewise.
    const model = await openModelUnderStudy(first.model);
    owned.push(model);
    // A model edited since t was trained would pair t with another Φ: refuse, saying what changed.
    for (const run of runs) checkFingerprint(run, model.fingerprint);
    const wanted = options.layers;
    if (wanted) {
      const have = configs.map((c) => c.layer);
      for (const name of wanted) if (!have.includes(name)) throw new Error(`unknown layer '${name}' (layers of these cinn runs: ${have.join(', ')})`);
    }
    const layers = runs.flatMap((run, i) => (wanted && !wanted.includes(configs[i]!.layer) ? [] : [i])).map((i) => {
      const run = runs[i]!;
      const t = readModelOfKind(run, 'cinn', run).model;
      owned.push(t);
      const layer = model.layer(configs[i]!.layer);
      return { name: configs[i]!.layer, phi: (x: Parameters<AnalysedLayer['phi']>[0]) => layer.phi(x), t } as AnalysedLayer;
    });
    const e = options.iin ? readModelOfKind(options.iin, 'iin', '--iin').model : undefined;
    if (e) owned.push(e);
    let data = await analysisImages(first.data, options.images);
    const classNames = model.card.classNames;
    if (classNames && data.labels.every((l) => l < 0)) data = { ...data, classNames };
    return {
      // A model that ends in a softmax outputs probabilities; the analyses take their log as logits.
      context: { ae, layers, classify: (x) => model.classify(x), outputKind: model.outputKind, e, data, modelName: model.name },
      checkpoints: [],
      dispose: () => owned.forEach((o) => o.dispose()),
    };
  } catch (error) {
    owned.forEach((o) => o.dispose());
    throw error;
  }
}

/**
 * @example
 *   const { context, dispose } = await loadAnalysis(['zoo/colormnist'], { images: 256 });
 */
export async function loadAnalysis(sources: string[], options: AnalysisLoadOptions): Promise<LoadedAnalysis> {
  if (sources.length === 0) throw new Error('nothing to analyse: give a zoo folder or cinn run folders');
  sources = sources.map(resolveSourcePath);
  for (const s of sources) if (!existsSync(s)) throw new Error(`'${s}' does not exist`);
  if (sources.length === 1 && statSync(sources[0]!).isDirectory() && isZooFolder(sources[0]!)) {
    return fromZoo(sources[0]!, options);
  }
  return fromCinnRuns(sources, options);
}
