/**
 * The paper's Fig. 4 experiment as it ran it (§4.2: "SqueezeNet on ColorMNIST … three distinct
 * factors: digit class, background color and foreground color … 20 instances of the invertible
 * interpretation model on the last convolutional layer, each representing a checkpoint"):
 *
 *   1. an AE on 3-factor ColorMNIST (`colormnist-fgbg`) and a semantic INN e on it
 *      (digit | foreground | background | residual);
 *   2. SqueezeNet trained on the same data, with ≥ 20 log-spaced checkpoints (ours: most fall
 *      early, where accuracy changes; equally spaced ones would put all but one on the plateau);
 *   3. one t per checkpoint on conv10 (the last conv layer), each warm-started from the previous
 *      checkpoint's t (ours: the representation changes little between neighbours, so each t
 *      starts close to its optimum and needs fewer steps);
 *   4. analysis 4 (docs/analyses.md §4) on the held-out test split: per checkpoint the factors'
 *      captured variance and sensitivity, Pearson and Spearman with accuracy with bootstrap
 *      intervals, and the IIN relevance score of Φ(x) as a cross-check; the Fig. 4 claim.
 *
 * Node only. Stages are run folders under `runs` and resume like `reproduce colormnist`'s.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeepPartial } from '../config/config.ts';
import type { TrainingCheckpoint } from '../analysis/training-dynamics.ts';
import { colorMnistPairs } from '../data/pairs.ts';
import type { ColorMnistDataset } from '../data/color-mnist.ts';
import { splittableStages } from '../models/greybox.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { parseCheckpoint } from '../models/checkpoints.ts';
import { SqueezeNet } from '../models/squeezenet.ts';
import { readModelOfKind } from '../pipeline/model-files.ts';
import { analysisImages } from '../pipeline/analysis-loader.ts';
import { DEFAULT_DATA_CONFIG } from '../pipeline/data-spec.ts';
import type { PresetName } from '../pipeline/jobs/index.ts';
import { dynamicsFigures } from '../figures/analysis-figures.ts';
import { dynamicsClaim, type Claim } from './claims.ts';
import { writeFileAtomic, writeJsonAtomic } from '../runs/atomic-file.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { trainStage } from '../pipeline/reproduce.ts';

export type Fig4RecipeName = 'tiny' | 'quick' | 'full';

export interface Fig4Recipe {
  /** The job preset every stage starts from. */
  preset: PresetName;
  ae: DeepPartial<object>;
  iin: DeepPartial<object>;
  /** SqueezeNet's training, including its checkpoints (train.checkpoints, log spacing). */
  classifier: DeepPartial<object>;
  /** t of the first checkpoint (trained from scratch). */
  firstT: DeepPartial<object>;
  /** Steps of every later, warm-started t. */
  warmSteps: number;
  /** Inputs × samples of the measure, and test images. */
  inputs: number;
  samples: number;
  images: number;
  /** What the recipe is expected to miss, said in its output (empty: nothing known). */
  expectedMisses: string[];
}

const FGBG = { data: { dataset: 'colormnist-fgbg' } };
const T_ARCH = { cinn: { numBlocks: 4, hiddenWidth: 64, hiddenDepth: 1, embeddingDim: 32 } };

export const FIG4_RECIPES: Record<Fig4RecipeName, Fig4Recipe> = {
  // Seconds: drives the test; every number is meaningless.
  tiny: {
    preset: 'tiny',
    ae: FGBG, iin: FGBG,
    classifier: { ...FGBG, arch: 'squeezenet', train: { steps: 40, checkpoints: 5, includeInitialCheckpoint: true, checkpointSpacing: 'log' } },
    firstT: { ...FGBG, train: { steps: 10 } }, warmSteps: 4,
    inputs: 8, samples: 4, images: 64,
    expectedMisses: ['every claim: the tiny recipe only exercises the code'],
  },
  // ≤ 30 min on 2 cores (estimated from the stage timings of docs/benchmarks.md; measured only on a shared machine, docs/pipeline.md).
  quick: {
    preset: 'default',
    ae: { ...FGBG, train: { steps: 900, decayStart: 450 } },
    iin: { ...FGBG, train: { steps: 2000, learningRate: 1e-3 }, iin: { numBlocks: 8, hiddenWidth: 128, hiddenDepth: 1 } },
    classifier: { ...FGBG, arch: 'squeezenet', train: { steps: 1500, decayStart: 750, learningRate: 2e-3, checkpoints: 20, includeInitialCheckpoint: true, checkpointSpacing: 'log' } },
    firstT: { ...FGBG, ...T_ARCH, train: { steps: 300 } }, warmSteps: 80,
    inputs: 32, samples: 16, images: 1000,
    expectedMisses: [
      'Fig. 4 may miss Pearson ≥ 0.9: its t\'s (300 steps, then 80 warm-started) are short, so their samples are off the data manifold (the warnings say where) and the sensitivities are noisy',
    ],
  },
  // The shipped one (not yet run: docs/pipeline.md gives the command and its expected time).
  full: {
    preset: 'default',
    ae: { ...FGBG, train: { steps: 1800, decayStart: 900 } },
    iin: { ...FGBG, train: { steps: 5000, learningRate: 1e-3 }, iin: { numBlocks: 8, hiddenWidth: 128, hiddenDepth: 1 } },
    classifier: { ...FGBG, arch: 'squeezenet', train: { steps: 3000, decayStart: 1500, learningRate: 2e-3, checkpoints: 24, includeInitialCheckpoint: true, checkpointSpacing: 'log' } },
    firstT: { ...FGBG, ...T_ARCH, train: { steps: 1200 } }, warmSteps: 300,
    inputs: 64, samples: 32, images: 1000,
    expectedMisses: [],
  },
};

export interface Fig4Options {
  recipe: Fig4RecipeName;
  /** Folder of the results (fig4.json, the figures). */
  out: string;
  /** Folder of the stages' run folders. */
  runs: string;
  seed?: number;
  onProgress?: ProgressListener;
  onStage?: (stage: string) => void;
}

export interface Fig4Result {
  recipe: Fig4RecipeName;
  expectedMisses: string[];
  images: string;
  checkpoints: number;
  claim: Claim;
  files: string[];
  /** The analysis numbers (TrainingDynamicsResult without the shown images). */
  dynamics: unknown;
}

/**
 * Runs (or resumes) the Fig. 4 experiment and writes `<out>/fig4.json` with the claim.
 *
 * @example
 *   const r = await runFig4({ recipe: 'quick', out: 'fig4', runs: 'runs/fig4' });
 *   r.claim.holds;
 */
export async function runFig4(options: Fig4Options): Promise<Fig4Result> {
  const recipe = FIG4_RECIPES[options.recipe];
  if (!recipe) throw new Error(`unknown Fig. 4 recipe '${options.recipe}'; one of: ${Object.keys(FIG4_RECIPES).join(', ')}`);
  const stageOptions = { preset: recipe.preset, out: options.out, runs: options.runs, backend: '', onProgress: options.onProgress, onStage: options.onStage };
  const ae = await trainStage('ae', 'fig4-ae', recipe.ae, [], stageOptions);
  const iin = await trainStage('iin', 'fig4-iin', recipe.iin, [`--ae=${ae.run.path}`], stageOptions);
  const clf = await trainStage('classifier', 'fig4-squeezenet', recipe.classifier, [], stageOptions);
  const snapshotDir = join(clf.run.path, 'snapshots');
  const snapshots = readdirSync(snapshotDir).filter((f) => f.endsWith('.json')).sort();
  const layer = 'conv10';
  const tRuns: Array<{ file: string; run: string }> = [];
  for (const [k, file] of snapshots.entries()) {
    const step = Number(/step-(\d+)/.exec(file)?.[1] ?? 0);
    const previous = tRuns.at(-1);
    const overrides = [`--ae=${ae.run.path}`, `--model=${join(snapshotDir, file)}`, `--layer=${layer}`];
    const stage = previous
      ? await trainStage('cinn', `fig4-t-${String(step).padStart(8, '0')}`, { ...recipe.firstT, train: { steps: recipe.warmSteps } }, [...overrides, `--init=${join(previous.run, 'model.json')}`], stageOptions)
      : await trainStage('cinn', `fig4-t-${String(step).padStart(8, '0')}`, recipe.firstT, overrides, stageOptions);
    options.onStage?.(`t ${k + 1}/${snapshots.length} (step ${step}) done`);
    tRuns.push({ file, run: stage.run.path });
  }

  options.onStage?.('Fig. 4: measuring');
  const owned: Array<{ dispose(): void }> = [];
  try {
    const aeModel = readModelOfKind(join(ae.run.path, 'model.json'), 'autoencoder', 'fig4 ae').model;
    owned.push(aeModel);
    const e = readModelOfKind(join(iin.run.path, 'model.json'), 'iin', 'fig4 iin').model;
    owned.push(e);
    const data = await analysisImages({ ...DEFAULT_DATA_CONFIG, dataset: 'colormnist-fgbg' }, recipe.images);
    const checkpoints: TrainingCheckpoint[] = tRuns.map(({ file, run }) => {
      const text = readFileSync(join(snapshotDir, file), 'utf8');
      const meta = (JSON.parse(text) as { meta?: { step?: number; testAccuracy?: number } }).meta ?? {};
      const snapshot: StagedClassifier = SqueezeNet.fromCheckpoint(parseCheckpoint(text));
      owned.push(snapshot);
      const t = readModelOfKind(join(run, 'model.json'), 'cinn', `fig4 t ${file}`).model;
      owned.push(t);
      const gb = splittableStages({ name: snapshot.className, inputShape: snapshot.inputShape, stages: snapshot.stages }).split(layer);
      return { iteration: meta.step ?? Number(/step-(\d+)/.exec(file)?.[1] ?? 0), layer: { phi: (x) => gb.phi(x), t }, classify: (x) => snapshot.logits(x) };
    });
    const pairs = colorMnistPairs(data as ColorMnistDataset, { batchSize: Math.min(1000, data.shape[0]), seed: 11, mode: 'frozen' }).next();
    mkdirSync(options.out, { recursive: true });
    const ctx = { ae: aeModel, layers: [{ name: layer, phi: checkpoints.at(-1)!.layer.phi, t: checkpoints.at(-1)!.layer.t }], e, data, modelName: 'SqueezeNet (ColorMNIST fg/bg)' };
    const dyn = await dynamicsFigures(ctx, checkpoints, {
      inputs: recipe.inputs, samples: recipe.samples, accuracyImages: data.shape[0], relevancePairs: pairs, seed: options.seed ?? 0, onProgress: options.onProgress,
    });
    const files = dyn.artefacts.map((a) => {
      const path = join(options.out, a.name);
      writeFileAtomic(path, a.bytes);
      return path;
    });
    const claim = dynamicsClaim(dyn.numbers, 'digit');
    const result: Fig4Result = {
      recipe: options.recipe, expectedMisses: recipe.expectedMisses, images: `${data.shape[0]} images of ${data.name}`,
      checkpoints: checkpoints.length, claim, files, dynamics: dyn.numbers,
    };
    writeJsonAtomic(join(options.out, 'fig4.json'), result);
    return result;
  } finally {
    owned.forEach((o) => o.dispose());
  }
}
