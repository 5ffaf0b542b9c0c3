/**
 * The explorer's Web Worker: owns TensorFlow.js and every model, so the page never freezes.
 * It loads the zoo served below /models/ (each file checked against manifest.json's sha256
 * with SubtleCrypto before it is parsed), the test subset from /api/testset.bin, and answers
 * the page's requests (protocol.ts) with the analysis library of src/analysis/.
 *
 * Images the page uploads are written into two spare slots after the test images, so every
 * analysis works on dataset indices as it does in Node.
 */
import { availableBackends, engineInfo, initEngine, tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { ImageDataset } from '../data/dataset.ts';
import { parseModelText } from '../pipeline/model-text.ts';
import type { ZooFileEntry } from '../zoo/manifest.ts';
import { ZOO_FORMAT } from '../zoo/manifest.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';
import { loadExternalModel, studiedClassifier, type StudiedModel } from './studied-model.ts';
import { splittableStages } from '../models/greybox.ts';
import type { Autoencoder } from '../models/autoencoder.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import type { ConditionalINN } from '../flows/cinn.ts';
import type { SemanticINN } from '../flows/iin.ts';
import {
  type AnalysisContext, type AnalysedLayer, type ImageArray,
  encodeMean, imagesTensor, invertWith, scoped, sliceImages, toImageArray,
} from '../analysis/context.ts';
import { layerSamples, randomPairCosine } from '../analysis/invariances.ts';
import { attackVisualization } from '../analysis/attacks.ts';
import { imageMixing } from '../analysis/mixing.ts';
import { defaultPartner } from '../analysis/semantic-modification.ts';
import { trainingDynamics } from '../analysis/training-dynamics.ts';
import { decodeTestSet, type TestSet } from './testset.ts';
import {
  predictionFromLogits,
  type AttackResult, type DynamicsCurves, type DynamicsShowResult, type EditResult, type ImageRef, type Images, type InitResult,
  type MixResult, type ModelStatus, type Prediction, type RepresentResult, type Request, type WorkerMessage,
} from './protocol.ts';

interface Snapshot {
  step: number;
  accuracy: number | null;
  entry: ZooFileEntry;
  model: StagedClassifier | null;
  /** The t trained on this snapshot at the dynamics layer, when the zoo has one. */
  tEntry: ZooFileEntry | null;
  t: ConditionalINN | null;
  phi: ((x: tf.Tensor) => tf.Tensor) | null;
}

interface State {
  manifest: ExplorerManifest;
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

let state: State | null = null;

const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<{ id: number; request: Request }>) => void) | null;
};

function progress(text: string): void {
  scope.postMessage({ id: -1, progress: text }, []);
}

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
}

function modelUrl(file: string): string {
  return `/models/${file.split('/').map(encodeURIComponent).join('/')}`;
}

async function fetchText(url: string, what: string): Promise<Uint8Array<ArrayBuffer>> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} (${(await response.text()).trim().replace(/^\d{3} /, '')})`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The file's bytes after checking its sha256 against the manifest. */
async function fetchVerifiedBytes(entry: ZooFileEntry): Promise<Uint8Array<ArrayBuffer>> {
  const bytes = await fetchText(modelUrl(entry.file), entry.file);
  const actual = hex(await crypto.subtle.digest('SHA-256', bytes));
  if (actual !== entry.sha256) {
    throw new Error(`${entry.file} does not match manifest.json (sha256 ${actual.slice(0, 12)}…, expected ${entry.sha256.slice(0, 12)}…): it was modified or corrupted — restore it (git checkout) or rerun 'inntrospect reproduce'`);
  }
  return bytes;
}

/** The file's text after checking its sha256 against the manifest. */
async function fetchVerified(entry: ZooFileEntry): Promise<string> {
  return new TextDecoder().decode(await fetchVerifiedBytes(entry));
}

async function loadEntry(entry: ZooFileEntry, kind: 'autoencoder' | 'classifier' | 'cinn' | 'iin', role: string, statuses: ModelStatus[]): Promise<unknown> {
  const t0 = performance.now();
  progress(`loading ${role} (${entry.file})`);
  try {
    const parsed = parseModelText(await fetchVerified(entry), entry.file);
    if (parsed.kind !== kind) {
      parsed.model.dispose();
      throw new Error(`${entry.file} holds a ${parsed.kind}, expected a ${kind}`);
    }
    statuses.push({ role, file: entry.file, ok: true, millis: Math.round(performance.now() - t0) });
    return parsed.model;
  } catch (error) {
    statuses.push({ role, file: entry.file, ok: false, error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

/** The model under study: inntrospect's classifier, or a model it did not train (`manifest.model`). */
async function loadStudiedModel(manifest: ExplorerManifest, classNames: string[], statuses: ModelStatus[]): Promise<StudiedModel | null> {
  if (manifest.classifier) {
    const classifier = await loadEntry(manifest.classifier, 'classifier', 'classifier', statuses) as StagedClassifier | null;
    return classifier ? studiedClassifier(classifier, classNames) : null;
  }
  const entry = manifest.model;
  if (!entry) {
    statuses.push({ role: 'model under study', file: '–', ok: false, error: 'manifest.json names neither a classifier nor a model' });
    return null;
  }
  const t0 = performance.now();
  const role = `model under study (${entry.spec})`;
  progress(`loading ${role}`);
  try {
    const [json, weights] = await Promise.all([fetchVerified(entry.json), fetchVerifiedBytes(entry.weights)]);
    const { model, notes } = await loadExternalModel(entry, json, weights);
    statuses.push({ role, file: `${entry.json.file} + ${entry.weights.file}`, ok: true, millis: Math.round(performance.now() - t0), ...(notes.length ? { note: notes.join(' ') } : {}) });
    return model;
  } catch (error) {
    statuses.push({ role, file: entry.json.file, ok: false, error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

function images(a: ImageArray | tf.Tensor): Images {
  if (a instanceof tf.Tensor) return { data: Float32Array.from(a.dataSync()), shape: a.shape.slice() as Images['shape'] };
  return { data: a.data, shape: a.shape };
}

function predictions(model: { logits(x: tf.Tensor): tf.Tensor2D } | null, x: tf.Tensor): Prediction[] | null {
  if (!model) return null;
  return scoped(() => {
    const logits = model.logits(x);
    const k = logits.shape[1];
    const values = logits.dataSync();
    return Array.from({ length: logits.shape[0] }, (_, i) => predictionFromLogits(values.subarray(i * k, (i + 1) * k)));
  });
}

async function init(backend: string): Promise<InitResult> {
  let backendNote = '';
  try {
    await initEngine({ backend, wasmPaths: '/wasm/' });
  } catch (error) {
    backendNote = ` (${backend} failed: ${error instanceof Error ? error.message : String(error)}; using wasm)`;
    await initEngine({ backend: 'wasm', wasmPaths: '/wasm/' });
  }
  const info = engineInfo();
  const statuses: ModelStatus[] = [];
  const base: InitResult = {
    backend: info.backend + backendNote, backends: availableBackends(), simd: info.simd, title: '', description: '', models: statuses,
    layers: [], factors: [], classNames: [], outputNames: [], modelName: '', modelInput: '', hasClassifier: false, hasAutoencoder: false, snapshots: [], dynamicsLayer: null, testSet: null, fatal: null,
  };
  let manifest: ExplorerManifest;
  try {
    progress('reading manifest.json');
    manifest = JSON.parse(new TextDecoder().decode(await fetchText('/models/manifest.json', 'manifest.json'))) as ExplorerManifest;
    if (manifest.format !== ZOO_FORMAT) throw new Error(`manifest.json: unknown format '${String(manifest.format)}' (expected ${ZOO_FORMAT})`);
  } catch (error) {
    return { ...base, fatal: `The model folder has no readable zoo manifest: ${error instanceof Error ? error.message : String(error)}` };
  }
  let test: TestSet;
  try {
    progress('reading the test images');
    const response = await fetch('/api/testset.bin');
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    test = decodeTestSet(await response.arrayBuffer());
  } catch (error) {
    return { ...base, fatal: `The test images could not be loaded: ${error instanceof Error ? error.message : String(error)}` };
  }
  const [n, h, w, c] = test.shape;
  const work: ImageDataset = {
    name: test.name, images: new Float32Array((n + 2) * h * w * c), shape: [n + 2, h, w, c],
    labels: Int32Array.from([...test.labels, -1, -1]), classNames: test.classNames, valueRange: test.valueRange,
  };
  work.images.set(test.images);
  const testData: ImageDataset = { ...work, images: work.images.subarray(0, n * h * w * c), shape: [n, h, w, c], labels: work.labels.subarray(0, n) };

  const ae = await loadEntry(manifest.ae, 'autoencoder', 'autoencoder', statuses) as Autoencoder | null;
  const model = await loadStudiedModel(manifest, test.classNames, statuses);
  const layers: AnalysedLayer[] = [];
  for (const [layer, entry] of Object.entries(manifest.cinn)) {
    const role = `t (layer ${layer})`;
    if (!model) {
      statuses.push({ role, file: entry.file, ok: false, error: 'needs the model under study, which did not load' });
      continue;
    }
    const t = await loadEntry(entry, 'cinn', role, statuses) as ConditionalINN | null;
    if (!t) continue;
    let gb: ReturnType<StudiedModel['layer']>;
    try {
      gb = model.layer(layer);
      const expected = JSON.stringify(t.cfg.conditionShape);
      if (JSON.stringify(gb.zShape) !== expected) throw new Error(`t expects z of shape [${t.cfg.conditionShape.join(', ')}], layer '${layer}' gives [${gb.zShape.join(', ')}]`);
    } catch (error) {
      const s = statuses[statuses.length - 1]!;
      s.ok = false;
      s.error = error instanceof Error ? error.message : String(error);
      t.dispose();
      continue;
    }
    layers.push({ name: layer, phi: (x) => gb.phi(x), t });
  }
  // Run folders without an iin run have no e (an empty checksum in the in-memory manifest).
  const e = manifest.iin.sha256 === ''
    ? (statuses.push({ role: 'e (semantic INN)', file: '–', ok: false, error: "no semantic INN among the sources (train one with 'inntrospect train iin --ae <run>')" }), null)
    : await loadEntry(manifest.iin, 'iin', 'e (semantic INN)', statuses) as SemanticINN | null;
  const dynamics = manifest.dynamics ?? [];
  const snapshots: Snapshot[] = manifest.snapshots.map((s) => ({
    step: s.step, accuracy: s.metrics['testAccuracy'] ?? null, entry: s, model: null,
    tEntry: dynamics.find((d) => d.step === s.step) ?? null, t: null, phi: null,
  }));
  const dynamicsLayer = dynamics.length > 0 && manifest.dynamicsLayer ? manifest.dynamicsLayer : null;
  // Input side first, whatever order the manifest lists the t's in.
  if (model) {
    const order = model.layerOrder();
    layers.sort((x, y) => order.indexOf(x.name) - order.indexOf(y.name));
  }
  state = { manifest, test, work, testData, ae, model, layers, e, snapshots, dynamicsLayer, randomPairs: new Map(), statuses };
  progress('ready');
  return {
    ...base,
    title: manifest.name,
    description: manifest.description,
    layers: layers.map((l) => l.name),
    factors: e ? e.factorNames.slice(0, -1) : [],
    classNames: test.classNames,
    outputNames: model?.outputNames ?? [],
    modelName: model?.name ?? '',
    modelInput: model?.input ?? '',
    hasClassifier: model !== null,
    hasAutoencoder: ae !== null,
    snapshots: snapshots.map((s) => ({ step: s.step, accuracy: s.accuracy })),
    dynamicsLayer,
    testSet: { images: { data: test.images.slice(), shape: test.shape }, labels: Array.from(test.labels), description: test.description },
  };
}

function ready(): State {
  if (!state) throw new Error('the worker is not initialised');
  return state;
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

function context(s: State): AnalysisContext {
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

function represent(r: Extract<Request, { type: 'represent' }>): RepresentResult {
  const s = ready();
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

function attack(r: Extract<Request, { type: 'attack' }>): AttackResult {
  const s = ready();
  const t0 = performance.now();
  const classifier = needModel(s);
  const index = place(s, r.image, 0);
  const ctx = context(s);
  // A confident model's softmax is saturated: the loss gradient shrinks like exp(−margin) (~1e-17
  // for the zoo's classifier) and reaches exactly 0 in float32 once the margin passes ~100, where
  // FGSM/PGD cannot move at all. The attack's loss therefore uses logits / T with
  // T = max(1, margin / 4), which keeps the arg-max (every prediction shown is the unscaled
  // model's) and the gradient's direction of increasing loss, but keeps its size representable.
  // (It once also hid the wasm Sign kernel's 0 below 1e-7, fixed in src/engine since.)
  const temperature = scoped(() => {
    const l = Array.from(classifier.logits(imagesTensor(s.work, [index])).dataSync()).sort((a, b) => b - a);
    return Math.max(1, ((l[0] ?? 0) - (l[1] ?? 0)) / 4);
  });
  const attackCtx: AnalysisContext = { ...ctx, classify: (x) => tf.div(classifier.logits(x), temperature) as tf.Tensor2D };
  const v = attackVisualization(attackCtx, { kind: r.kind, epsilon: r.epsilon, steps: r.steps, indices: [index], seed: r.seed });
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

function mix(r: Extract<Request, { type: 'mix' }>): MixResult {
  const s = ready();
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

function edit(r: Extract<Request, { type: 'edit' }>): EditResult {
  const s = ready();
  const t0 = performance.now();
  const ae = needAe(s);
  const e = needE(s);
  const k = e.factorNames.indexOf(r.factor);
  if (k < 0 || k === e.factorNames.length - 1) throw new Error(`unknown factor '${r.factor}' (factors: ${e.factorNames.slice(0, -1).join(', ')})`);
  if (!Number.isFinite(r.amount)) throw new Error('the amount must be a number');
  const index = place(s, r.image, 0);
  const partnerIndex = place(s, r.partner, 1);
  const alphas = Array.from({ length: WALK_STEPS }, (_, i) => (r.amount * i) / (WALK_STEPS - 1));
  return scoped(() => {
    const x = imagesTensor(s.work, [index]);
    const xp = imagesTensor(s.work, [partnerIndex]);
    const fx = e.encode(encodeMean(ae, x));
    const fp = e.encode(encodeMean(ae, xp));
    const own = fx[r.factor]!;
    const direction = r.mode === 'towards'
      ? tf.sub(fp[r.factor]!, own)
      : new Random(r.seed).normalTensor([1, e.factorSizes[k]!]);
    const walked = tf.add(tf.tile(own, [WALK_STEPS, 1]), tf.mul(tf.tensor2d(alphas, [WALK_STEPS, 1]), direction)) as tf.Tensor2D;
    const factors = Object.fromEntries(e.factorNames.map((name) => [name, name === r.factor ? walked : (tf.tile(fx[name]!, [WALK_STEPS, 1]) as tf.Tensor2D)]));
    const walk = ae.decode(e.decode(factors));
    const rec = ae.decode(encodeMean(ae, x));
    return {
      factor: r.factor, input: images(x), reconstruction: images(rec), partner: images(xp), walk: images(walk), alphas,
      predictions: { input: predictions(s.model, x)?.[0] ?? null, walk: predictions(s.model, walk) },
      millis: performance.now() - t0,
    };
  });
}

async function loadSnapshots(s: State): Promise<Snapshot[]> {
  for (const snap of s.snapshots) {
    if (snap.model) continue;
    const model = await loadEntry(snap.entry, 'classifier', `snapshot step ${snap.step}`, s.statuses) as StagedClassifier | null;
    if (!model) throw new Error(s.statuses[s.statuses.length - 1]!.error ?? `snapshot ${snap.entry.file} did not load`);
    snap.model = model;
    if (snap.tEntry && s.dynamicsLayer) {
      const t = await loadEntry(snap.tEntry, 'cinn', `t of snapshot step ${snap.step} (layer ${s.dynamicsLayer})`, s.statuses) as ConditionalINN | null;
      if (!t) throw new Error(s.statuses[s.statuses.length - 1]!.error ?? `${snap.tEntry.file} did not load`);
      const gb = splittableStages({ name: `snapshot ${snap.step}`, inputShape: model.inputShape, stages: model.stages }).split(s.dynamicsLayer);
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

/** Per factor: partners for the first images and the swapped decodings x̄* = D(e⁻¹(ê*)) (Eq. 7), shared by all snapshots. */
function swappedImages(s: State, indices: number[], seed: number): { factor: string; images: tf.Tensor4D }[] {
  const ae = needAe(s);
  const e = needE(s);
  const chooser = defaultPartner({ data: s.testData });
  const rng = new Random(seed);
  return e.factorNames.slice(0, -1).map((factor) => {
    const partners = indices.map((i) => chooser(i, factor, rng));
    const images = tf.tidy(() => {
      const f = e.encode(encodeMean(ae, imagesTensor(s.testData, indices)));
      const g = e.encode(encodeMean(ae, imagesTensor(s.testData, partners)));
      return ae.decode(e.decode({ ...f, [factor]: g[factor]! }));
    });
    return { factor, images };
  });
}

async function dynamicsCurves(): Promise<DynamicsCurves> {
  const s = ready();
  const t0 = performance.now();
  const snaps = await loadSnapshots(s);
  const ae = needAe(s);
  const n = s.test.shape[0];
  const indices = Array.from({ length: Math.min(DYNAMICS_IMAGES, n) }, (_, i) => i);
  return scoped(() => {
    // Without e there are no factor swaps: accuracy (and, with snapshot t's, samples) only.
    const swaps = s.e ? swappedImages(s, indices, 1) : [];
    const rec = ae.decode(encodeMean(ae, imagesTensor(s.testData, indices)));
    const all = imagesTensor(s.testData, Array.from({ length: n }, (_, i) => i));
    const changeRate: Record<string, number[]> = {};
    const distance: Record<string, number[]> = {};
    for (const sw of swaps) {
      changeRate[sw.factor] = [];
      distance[sw.factor] = [];
    }
    const subsetAccuracy: number[] = [];
    for (const snap of snaps) {
      const model = snap.model!;
      const argmax = (t: tf.Tensor2D) => Array.from(tf.argMax(t, 1).dataSync());
      const predictedAll = argmax(model.logits(all));
      subsetAccuracy.push(predictedAll.filter((p, i) => p === s.test.labels[i]).length / n);
      const fRec = model.logits(rec);
      const pRec = argmax(fRec);
      for (const sw of swaps) {
        const fMod = model.logits(sw.images);
        const pMod = argmax(fMod);
        changeRate[sw.factor]!.push(pMod.filter((p, i) => p !== pRec[i]).length / indices.length);
        const d = Array.from(tf.norm(tf.sub(fRec, fMod), 'euclidean', 1).dataSync());
        distance[sw.factor]!.push(d.reduce((a, b) => a + b, 0) / d.length);
      }
    }
    let sensitivity: DynamicsCurves['sensitivity'] = null;
    let correlation: DynamicsCurves['correlation'] = null;
    const withT = snaps.filter((x) => x.t && x.phi);
    if (s.dynamicsLayer && withT.length > 0 && s.e) {
      // Paper Fig. 4: analysis 3 per snapshot that has a t, same inputs, same e, same data variances.
      const r = trainingDynamics({ ...context(s), data: s.testData }, withT.map((x) => ({ iteration: x.step, accuracy: x.accuracy ?? undefined, layer: { phi: x.phi!, t: x.t! } })), {
        inputs: SENSITIVITY_INPUTS, samples: SENSITIVITY_SAMPLES, seed: 1, dataImages: Math.min(n, 256), showInputs: 1, showSamples: 2,
      });
      const byStep = new Map(r.checkpoints.map((c) => [c.iteration, c]));
      sensitivity = Object.fromEntries(r.factorNames.slice(0, -1).map((f) => [f, snaps.map((x) => byStep.get(x.step)?.factors[f]?.sensitivity ?? null)]));
      correlation = Object.fromEntries(r.factorNames.slice(0, -1).map((f) => [f, r.correlationWithAccuracy[f] ?? null]));
    }
    return {
      steps: snaps.map((x) => x.step), manifestAccuracy: snaps.map((x) => x.accuracy), subsetAccuracy, changeRate, distance,
      images: indices.length, sensitivity, correlation, sensitivityInputs: SENSITIVITY_INPUTS, sensitivitySamples: SENSITIVITY_SAMPLES,
      millis: performance.now() - t0,
    };
  });
}

async function dynamicsShow(r: Extract<Request, { type: 'dynamicsShow' }>): Promise<DynamicsShowResult> {
  const s = ready();
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

/** Every ArrayBuffer inside a result, to transfer instead of copy. */
function transferables(value: unknown, out: Transferable[] = [], seen = new Set<unknown>()): Transferable[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    const buffer = value.buffer;
    if (buffer instanceof ArrayBuffer && !seen.has(buffer) && value.byteLength === buffer.byteLength) {
      seen.add(buffer);
      out.push(buffer);
    }
    return out;
  }
  for (const v of Object.values(value)) transferables(v, out, seen);
  return out;
}

async function handle(request: Request): Promise<unknown> {
  switch (request.type) {
    case 'init': return init(request.backend);
    case 'represent': return represent(request);
    case 'attack': return attack(request);
    case 'mix': return mix(request);
    case 'edit': return edit(request);
    case 'dynamicsCurves': return dynamicsCurves();
    case 'dynamicsShow': return dynamicsShow(request);
    case 'models': return state ? state.statuses.map((m) => ({ ...m })) : [];
    default: throw new Error(`unknown request '${(request as { type: string }).type}'`);
  }
}

// One request at a time, in order: tfjs is synchronous and the models are shared.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const { id, request } = event.data;
  queue = queue.then(async () => {
    try {
      const result = await handle(request);
      scope.postMessage({ id, ok: true, result }, transferables(result));
    } catch (error) {
      scope.postMessage({ id, ok: false, error: error instanceof Error ? error.message : String(error) }, []);
    }
  });
};
