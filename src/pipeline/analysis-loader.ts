/**
 * Builds an AnalysisContext (src/analysis/context.ts) from files (Node only): a zoo folder, or
 * run folders (each cinn run's config names its AE, model and layer; an iin run among them is
 * e), both resolved and loaded by src/pipeline/pipeline-source.ts. Everything loaded is freed
 * by `dispose()`.
 */
import type { AnalysedLayer, AnalysisContext } from '../analysis/context.ts';
import type { TrainingCheckpoint } from '../analysis/training-dynamics.ts';
import { splittableStages } from '../models/greybox.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { openSource, type OpenedSource } from './pipeline-source.ts';
import type { SemanticFlowLike } from '../analysis/context.ts';
import { colorMnistPairs, labelPairs, type PairBatch } from '../data/pairs.ts';
import type { ColorMnistDataset } from '../data/color-mnist.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { ZooManifest } from '../zoo/manifest.ts';
import { folderSplit, loadData, type DataConfig } from './data-spec.ts';
import { subsetDataset } from '../data/dataset.ts';
import { emitByomNote } from './external-model.ts';

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

/**
 * The analysis context of an opened source with only what `options` asks for loaded. The
 * source keeps its models (so later calls reuse them, and `source.dispose()` frees them); the
 * result's `dispose()` frees nothing of the source's. (`options.iin` is the source's own:
 * `openSource(…, { iin })`.)
 */
export async function analysisFromSource(source: OpenedSource, options: Omit<AnalysisLoadOptions, 'iin'> & { data?: ImageDataset }): Promise<LoadedAnalysis> {
  const { pipeline } = source;
  const m = pipeline.manifest;
  // Only what the analysis needs: each file is read, checked and parsed once, when first used.
  const names = options.layers ?? pipeline.layerNames;
  for (const name of names) if (!m.cinn[name]) throw new Error(`unknown layer '${name}' (layers with a t: ${pipeline.layerNames.join(', ') || 'none'})`);
  const [ae, studied, e] = await Promise.all([
    pipeline.autoencoder(),
    source.modelUnderStudy(),
    options.semantic === false ? Promise.resolve(undefined) : source.semantic(),
  ]);
  // inntrospect's classifier split at its stages, or a model it did not train through the cinn job's adapter.
  const classifier = studied ? null : await pipeline.classifier();
  const split = classifier ? splitClassifier(classifier) : null;
  const layers: AnalysedLayer[] = [];
  for (const name of names) {
    const t = await pipeline.t(name);
    const view = studied ? studied.layer(name) : split!.split(name);
    layers.push({ name, phi: (x) => view.phi(x), t });
  }
  const checkpoints: TrainingCheckpoint[] = [];
  if (options.checkpoints !== false) {
    for (const entry of m.dynamics) {
      const snapshotEntry = m.snapshots.find((s) => s.step === entry.step);
      if (!snapshotEntry) throw new Error(`${pipeline.manifest.name}: no snapshot for dynamics step ${entry.step}`);
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
  let data = options.data ?? await analysisImages(source.data, options.images);
  const classNames = studied?.card.classNames;
  if (classNames && data.labels.every((l) => l < 0)) data = { ...data, classNames };
  const modelName = studied ? studied.name : m.configs['classifier'] ? 'ColorMNIST classifier' : classifier!.className;
  return {
    // A model that ends in a softmax outputs probabilities; the analyses take their log as logits.
    context: studied
      ? { ae, layers, classify: (x) => studied.classify(x), outputKind: studied.outputKind, e: e ?? undefined, data, modelName }
      : { ae, layers, classify: (x) => classifier!.logits(x), e: e ?? undefined, data, modelName },
    checkpoints,
    // A zoo's own manifest (its provenance goes into the report); run folders have an in-memory one only.
    ...(source.resolved.kind === 'zoo' ? { manifest: m as ZooManifest } : {}),
    filesRead: pipeline.filesRead,
    relevancePairs: relevancePairsFor(data, e ?? undefined),
    dispose: () => undefined,
  };
}

/**
 * Opens `sources` (a zoo folder, or run folders: src/pipeline/pipeline-source.ts) and builds
 * the analysis context; `dispose()` frees everything it loaded.
 *
 * @example
 *   const { context, dispose } = await loadAnalysis(['zoo/colormnist'], { images: 256 });
 */
export async function loadAnalysis(sources: string[], options: AnalysisLoadOptions): Promise<LoadedAnalysis> {
  const source = await openSource(sources, { onRead: options.onRead, iin: options.iin });
  try {
    const loaded = await analysisFromSource(source, options);
    return { ...loaded, dispose: () => { loaded.dispose(); source.dispose(); } };
  } catch (error) {
    source.dispose();
    throw error;
  }
}
