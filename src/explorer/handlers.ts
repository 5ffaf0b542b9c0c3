/**
 * What the explorer's worker answers, one function per request of protocol.ts, over a loaded
 * `State`: each calls the analysis library (src/analysis) and only packs its result for the page,
 * so the page shows what the CLI and `open()` compute (test/explorer/handlers.test.ts compares
 * them). Browser-safe and free of worker globals, so the same code runs in Node tests.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { ImageDataset } from '../data/dataset.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';
import type { Pipeline } from '../pipeline/open-pipeline.ts';
import type { StudiedModel } from './studied-model.ts';
import { splittableStages } from '../models/greybox.ts';
import type { Autoencoder } from '../models/autoencoder.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import type { ConditionalINN } from '../flows/cinn.ts';
import type { SemanticINN } from '../flows/iin.ts';
import {
  type AnalysisContext, type AnalysedLayer, type ImageArray,
  encodeMean, imagesTensor, invertWith, scoped, sliceImages,
} from '../analysis/context.ts';
import { layerSamples, randomPairCosine } from '../analysis/invariances.ts';
import { attackVisualization } from '../analysis/attacks.ts';
import { imageMixing } from '../analysis/mixing.ts';
import { defaultPartner, factorWalk } from '../analysis/semantic-modification.ts';
import { trainingDynamics } from '../analysis/training-dynamics.ts';
import { snapshotCurves } from '../analysis/snapshot-curves.ts';
import type { TestSet } from './testset.ts';
import {
  predictionFromLogits,
  type AttackResult, type DynamicsCurves, type DynamicsShowResult, type EditResult, type ImageRef, type Images,
  type MixResult, type ModelStatus, type Prediction, type SampleResult, type Request,
} from './protocol.ts';

export interface Snapshot {
  step: number;
  accuracy: number | null;
  /** Loaded on first use (the dynamics mode). */
  model: StagedClassifier | null;
  /** The t trained on this snapshot at the dynamics layer, when the pipeline has one. */
  t: ConditionalINN | null;
  phi: ((x: tf.Tensor) => tf.Tensor) | null;
}

/** What the worker holds once initialised. */
export interface State {
  manifest: ExplorerManifest;
  /** Loads the snapshots lazily (the dynamics mode). */
  pipeline: Pipeline;
  test: TestSet;
  /** The test images plus two slots for the page's own images. */
  work: ImageDataset;
  /** The test images only (a view of `work`). */
  testData: ImageDataset;
  ae: Autoencoder | null;
  /** The model under study (our classifier or a model inntrospect did not train). */
  model: StudiedModel | null;
  layers: AnalysedLayer[];
  e: SemanticINN | null;
  snapshots: Snapshot[];
  dynamicsLayer: string | null;
  randomPairs: Map<string, number>;
  statuses: ModelStatus[];
}

/** The test images and two spare slots after them for the page's own images. */
export function workingImages(test: TestSet): { work: ImageDataset; testData: ImageDataset } {
  const [n, h, w, c] = test.shape;
  const work: ImageDataset = {
    name: test.name, images: new Float32Array((n + 2) * h * w * c), shape: [n + 2, h, w, c],
    labels: Int32Array.from([...test.labels, -1, -1]), classNames: test.classNames, valueRange: test.valueRange,
  };
  work.images.set(test.images);
  const testData: ImageDataset = { ...work, images: work.images.subarray(0, n * h * w * c), shape: [n, h, w, c], labels: work.labels.subarray(0, n) };
  return { work, testData };
}

export function images(a: ImageArray | tf.Tensor): Images {
  if (a instanceof tf.Tensor) return { data: Float32Array.from(a.dataSync()), shape: a.shape.slice() as Images['shape'] };
  return { data: a.data, shape: a.shape };
}

export function predictions(model: { logits(x: tf.Tensor): tf.Tensor2D } | null, x: tf.Tensor): Prediction[] | null {
  if (!model) return null;
  return scoped(() => {
    const logits = model.logits(x);
    const k = logits.shape[1];
    const values = logits.dataSync();
    return Array.from({ length: logits.shape[0] }, (_, i) => predictionFromLogits(values.subarray(i * k, (i + 1) * k)));
  });
}


function needAe(s: State): Autoencoder {
  if (!s.ae) throw new Error('this needs the autoencoder, which did not load (see the model list)');
  return s.ae;
}

function needModel(s: State): StudiedModel {
  if (!s.model) throw new Error('this needs the model under study, which did not load (see the model list)');
  return s.model;
}

function needE(s: State): SemanticINN {
  if (!s.e) throw new Error('this needs the semantic INN e, which did not load (see the model list)');
  return s.e;
}

/** Dataset index of an image reference; the page's own images go into spare slot `slot` (0 or 1). */
function place(s: State, ref: ImageRef, slot: 0 | 1): number {
  const [n, h, w, c] = s.test.shape;
  if ('test' in ref) {
    if (!(Number.isInteger(ref.test) && ref.test >= 0 && ref.test < n)) throw new Error(`test image ${ref.test} does not exist (0..${n - 1})`);
    return ref.test;
  }
  const size = h * w * c;
  if (ref.pixels.length !== size) throw new Error(`an uploaded image must be ${h}×${w}×${c} (${size} values), got ${ref.pixels.length}`);
  s.work.images.set(ref.pixels, (n + slot) * size);
  return n + slot;
}

export function context(s: State): AnalysisContext {
  const model = s.model;
  return {
    ae: needAe(s), layers: s.layers, data: s.work, e: s.e ?? undefined, modelName: model?.name ?? 'model',
    classify: model ? (x) => model.logits(x) : undefined,
  };
}

function layerByName(s: State, name: string): AnalysedLayer {
  const layer = s.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`no t is loaded for layer '${name}' (loaded: ${s.layers.map((l) => l.name).join(', ') || 'none'})`);
  return layer;
}

export function sample(s: State, r: Extract<Request, { type: 'sample' }>): SampleResult {
  const t0 = performance.now();
  const layer = layerByName(s, r.layer);
  const index = place(s, r.image, 0);
  const result = layerSamples(context(s), { layer: r.layer, indices: [index], samples: r.samples, seed: r.seed, referencePairs: 0 });
  let randomPairs = s.randomPairs.get(r.layer);
  if (randomPairs === undefined) {
    randomPairs = randomPairCosine({ ...context(s), data: s.testData }, layer.phi, 64, new Random(7));
    s.randomPairs.set(r.layer, randomPairs);
  }
  const prediction = scoped(() => predictions(s.model, imagesTensor(s.work, [index]))?.[0] ?? null);
  const [, h, w] = result.varianceMapShape;
  let varianceMax = 0;
  for (const v of result.varianceMaps) varianceMax = Math.max(varianceMax, v);
  return {
    layer: r.layer,
    input: images(result.inputs),
    reconstruction: images(result.reconstructions),
    samples: images(result.samples),
    mean: images(result.meanMaps),
    variance: result.varianceMaps,
    varianceShape: [h, w],
    varianceMax,
    reencoding: { samples: result.reencoding.samples, perSample: result.reencoding.perInput, reconstruction: result.reencoding.reconstruction, randomPairs },
    prediction,
    millis: performance.now() - t0,
  };
}

export function attack(s: State, r: Extract<Request, { type: 'attack' }>): AttackResult {
  const t0 = performance.now();
  const classifier = needModel(s);
  const index = place(s, r.image, 0);
  const ctx = context(s);
  // The temperature is the library's 'auto' option (src/analysis/attacks.ts says why).
  const v = attackVisualization(ctx, { kind: r.kind, epsilon: r.epsilon, steps: r.steps, indices: [index], seed: r.seed, temperature: 'auto' });
  const temperature = v.temperatures[0]!;
  return scoped(() => {
    const tensor = (a: ImageArray) => tf.tensor4d(a.data, a.shape);
    const [clean, adversarial, random] = predictions(classifier, tf.concat([tensor(v.inputs), tensor(v.adversarial), tensor(v.random)]))!;
    const xAdv = tensor(v.adversarial);
    const rec = ctx.ae.decode(encodeMean(ctx.ae, xAdv));
    let linf = 0;
    for (let i = 0; i < v.inputs.data.length; i++) linf = Math.max(linf, Math.abs(v.adversarial.data[i]! - v.inputs.data[i]!));
    const seen = v.layers.length > 0 ? predictions(classifier, tf.concat(v.layers.map((l) => tensor(l.adversarial))))! : [];
    return {
      input: images(v.inputs), adversarial: images(v.adversarial), random: images(v.random), adversarialReconstruction: images(rec),
      predictions: { clean: clean!, adversarial: adversarial!, random: random! },
      layers: v.layers.map((l, i) => ({ layer: l.layer, clean: images(l.clean), adversarial: images(l.adversarial), random: images(l.random), predictionAdversarial: seen[i]! })),
      linf,
      temperature,
      millis: performance.now() - t0,
    };
  });
}

export function mix(s: State, r: Extract<Request, { type: 'mix' }>): MixResult {
  const t0 = performance.now();
  layerByName(s, r.layer);
  const a = place(s, r.a, 0);
  const b = place(s, r.b, 1);
  const m = imageMixing(context(s), { layer: r.layer, invarianceIndices: [a, b], representationIndices: [a, b] });
  const p = scoped(() => ({
    inputs: predictions(s.model, imagesTensor(s.work, [a, b])),
    mixed: predictions(s.model, tf.tensor4d(m.mixed.data, m.mixed.shape)),
  }));
  return {
    layer: r.layer, a: images(sliceImages(m.invarianceImages, 0, 1)), b: images(sliceImages(m.invarianceImages, 1, 2)), mixed: images(m.mixed),
    predictions: { a: p.inputs?.[0] ?? null, b: p.inputs?.[1] ?? null, mixed: p.mixed },
    millis: performance.now() - t0,
  };
}

const WALK_STEPS = 7;

export function edit(s: State, r: Extract<Request, { type: 'edit' }>): EditResult {
  const t0 = performance.now();
  needAe(s);
  needE(s);
  const index = place(s, r.image, 0);
  const partnerIndex = place(s, r.partner, 1);
  const w = factorWalk(context(s), { index, partner: partnerIndex, factor: r.factor, mode: r.mode, amount: r.amount, steps: WALK_STEPS, seed: r.seed });
  return scoped(() => ({
    factor: r.factor, input: images(w.input), reconstruction: images(w.reconstruction), partner: images(w.partner), walk: images(w.walk), alphas: w.alphas,
    predictions: { input: predictions(s.model, imagesTensor(s.work, [index]))?.[0] ?? null, walk: predictions(s.model, tf.tensor4d(w.walk.data, w.walk.shape)) },
    millis: performance.now() - t0,
  }));
}

/** Loads every snapshot (and its t) once through the pipeline; a failure names the snapshot. */
async function loadSnapshots(s: State): Promise<Snapshot[]> {
  for (const snap of s.snapshots) {
    if (snap.model) continue;
    const { classifier, t } = await s.pipeline.snapshot(snap.step);
    snap.model = classifier;
    if (t && s.dynamicsLayer) {
      const gb = splittableStages({ name: `snapshot ${snap.step}`, inputShape: classifier.inputShape, stages: classifier.stages }).split(s.dynamicsLayer);
      snap.t = t;
      snap.phi = (x) => gb.phi(x);
    }
  }
  return s.snapshots;
}

const SENSITIVITY_INPUTS = 16;
const SENSITIVITY_SAMPLES = 16;
const DYNAMICS_SAMPLES = 8;

const DYNAMICS_IMAGES = 64;

export async function dynamicsCurves(s: State): Promise<DynamicsCurves> {
  const t0 = performance.now();
  const snaps = await loadSnapshots(s);
  const ae = needAe(s);
  const n = s.test.shape[0];
  const curves = snapshotCurves({ ae, e: s.e ?? undefined, data: s.testData }, snaps.map((x) => ({ classify: (input: tf.Tensor) => x.model!.logits(input) })), { images: DYNAMICS_IMAGES, seed: 1 });
  return scoped(() => {
    let sensitivity: DynamicsCurves['sensitivity'] = null;
    let correlation: DynamicsCurves['correlation'] = null;
    let manifoldWarnings: string[] = [];
    const withT = snaps.filter((x) => x.t && x.phi);
    if (s.dynamicsLayer && withT.length > 0 && s.e) {
      // Paper Fig. 4: analysis 3 per snapshot that has a t, same inputs, same e, same data variances.
      const r = trainingDynamics({ ...context(s), data: s.testData }, withT.map((x) => ({ iteration: x.step, accuracy: x.accuracy ?? undefined, layer: { phi: x.phi!, t: x.t! } })), {
        inputs: SENSITIVITY_INPUTS, samples: SENSITIVITY_SAMPLES, seed: 1, dataImages: Math.min(n, 256), showInputs: 1, showSamples: 2,
      });
      const byStep = new Map(r.checkpoints.map((c) => [c.iteration, c]));
      sensitivity = Object.fromEntries(r.factorNames.slice(0, -1).map((f) => [f, snaps.map((x) => byStep.get(x.step)?.factors[f]?.sensitivity ?? null)]));
      correlation = Object.fromEntries(r.factorNames.slice(0, -1).map((f) => [f, r.correlationWithAccuracy[f] ?? null]));
      manifoldWarnings = r.warnings;
    }
    return {
      steps: snaps.map((x) => x.step), manifestAccuracy: snaps.map((x) => x.accuracy), subsetAccuracy: curves.accuracy, changeRate: curves.changeRate, distance: curves.distance,
      images: curves.images, sensitivity, correlation, manifoldWarnings, sensitivityInputs: SENSITIVITY_INPUTS, sensitivitySamples: SENSITIVITY_SAMPLES,
      millis: performance.now() - t0,
    };
  });
}

export async function dynamicsShow(s: State, r: Extract<Request, { type: 'dynamicsShow' }>): Promise<DynamicsShowResult> {
  const t0 = performance.now();
  const snaps = await loadSnapshots(s);
  const snap = snaps[r.snapshot];
  if (!snap) throw new Error(`snapshot ${r.snapshot} does not exist (0..${snaps.length - 1})`);
  const ae = needAe(s);
  const e = s.e;
  const index = place(s, r.image, 0);
  return scoped(() => {
    const x = imagesTensor(s.work, [index]);
    const rec = ae.decode(encodeMean(ae, x));
    const chooser = defaultPartner({ data: s.testData });
    const captions = ['x', 'D(E(x))'];
    const parts: tf.Tensor[] = [x, rec];
    for (const factor of e ? e.factorNames.slice(0, -1) : []) {
      // A fixed partner per image and factor, so moving the slider changes only the snapshot.
      const partner = chooser(index, factor, new Random(1000 + index));
      const f = e!.encode(encodeMean(ae, x));
      const g = e!.encode(encodeMean(ae, imagesTensor(s.testData, [partner])));
      parts.push(ae.decode(e!.decode({ ...f, [factor]: g[factor]! })));
      captions.push(`${factor} from #${partner}`);
    }
    const batch = tf.concat(parts);
    let samples: Images | null = null;
    if (snap.t && snap.phi) {
      // The same v for every snapshot, so the slider changes only the snapshot.
      const v = new Random(4242).normalTensor([DYNAMICS_SAMPLES, snap.t.dim]) as tf.Tensor2D;
      samples = images(ae.decode(invertWith(snap.t, v, snap.phi(x))));
    }
    return { step: snap.step, images: images(batch), captions, predictions: predictions(snap.model, batch)!, samples, layer: snap.t ? s.dynamicsLayer : null, millis: performance.now() - t0 };
  });
}

