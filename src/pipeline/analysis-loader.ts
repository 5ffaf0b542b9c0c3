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
import type { Autoencoder } from '../models/autoencoder.ts';
import type { ConditionalINN } from '../flows/cinn.ts';
import type { SemanticINN } from '../flows/iin.ts';
import { Zoo } from '../zoo/zoo-files.ts';
import type { ZooManifest } from '../zoo/manifest.ts';
import { DEFAULT_DATA_CONFIG, loadData, type DataConfig } from './data-spec.ts';
import { readModelOfKind } from './model-files.ts';
import { checkFingerprint, openModelUnderStudy } from './external-model.ts';
import { readJsonFile } from '../runs/json-file.ts';

export interface LoadedAnalysis {
  context: AnalysisContext;
  /** Classifier snapshots with their t (training dynamics), when the source has them. */
  checkpoints: TrainingCheckpoint[];
  manifest?: ZooManifest;
  dispose(): void;
}

export interface AnalysisLoadOptions {
  /** Test images to analyse (the first N of the test split). */
  images: number;
  /** A semantic INN (model file or run folder) when the source has none. */
  iin?: string;
}

function splitClassifier(classifier: StagedClassifier) {
  return splittableStages({ name: classifier.className, inputShape: classifier.inputShape, stages: classifier.stages });
}

/** The first `images` images to analyse: the test split, or for an image folder (no held-out split) its first images. */
export async function analysisImages(data: DataConfig, images: number) {
  if (data.dataset === 'folder') {
    // The user's own images have no held-out split: analyse the first N of the folder.
    return (await loadData({ ...data, limit: images, evalImages: 0 })).train;
  }
  const loaded = await loadData({ ...data, limit: 1, evalImages: images });
  if (!loaded.test) throw new Error(`data '${data.dataset}' has no test split to analyse`);
  return loaded.test;
}

async function fromZoo(dir: string, options: AnalysisLoadOptions): Promise<LoadedAnalysis> {
  const zoo = Zoo.open(dir);
  const m = zoo.manifest;
  const owned: Array<{ dispose(): void }> = [];
  const load = <T extends { dispose(): void }>(entry: Parameters<Zoo['load']>[0]): T => {
    const model = zoo.load(entry).model as unknown as T;
    owned.push(model);
    return model;
  };
  const ae = load<Autoencoder>(m.ae);
  const classifier = load<StagedClassifier>(m.classifier);
  const split = splitClassifier(classifier);
  const layers: AnalysedLayer[] = Object.entries(m.cinn).map(([name, entry]) => {
    const gb = split.split(name);
    return { name, phi: (x) => gb.phi(x), t: load<ConditionalINN>(entry) };
  });
  const e = options.iin ? readModelOfKind(options.iin, 'iin', '--iin').model : load<SemanticINN>(m.iin);
  if (options.iin) owned.push(e);
  const checkpoints: TrainingCheckpoint[] = m.dynamics.map((entry) => {
    const snapshotEntry = m.snapshots.find((s) => s.step === entry.step);
    if (!snapshotEntry) throw new Error(`zoo ${dir}: no snapshot for dynamics step ${entry.step}`);
    const snapshot = load<StagedClassifier>(snapshotEntry);
    const gb = splitClassifier(snapshot).split(m.dynamicsLayer);
    return {
      iteration: entry.step,
      layer: { phi: (x) => gb.phi(x), t: load<ConditionalINN>(entry) },
      accuracy: snapshotEntry.metrics['testAccuracy'],
      classify: (x) => snapshot.logits(x),
    };
  });
  const data = await analysisImages({ ...DEFAULT_DATA_CONFIG, dataset: 'colormnist' }, options.images);
  return {
    context: { ae, layers, classify: (x) => classifier.logits(x), e, data, modelName: m.configs['classifier'] ? 'ColorMNIST classifier' : classifier.className },
    checkpoints,
    manifest: m,
    dispose: () => owned.forEach((o) => o.dispose()),
  };
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
    const layers = runs.map((run, i) => {
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
  for (const s of sources) if (!existsSync(s)) throw new Error(`'${s}' does not exist`);
  if (sources.length === 1 && statSync(sources[0]!).isDirectory() && existsSync(join(sources[0]!, 'manifest.json'))) {
    return fromZoo(sources[0]!, options);
  }
  return fromCinnRuns(sources, options);
}
