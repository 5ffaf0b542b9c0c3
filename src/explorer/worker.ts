/**
 * The explorer's Web Worker: owns TensorFlow.js and every model, so the page never freezes.
 * It opens the pipeline served below /models/ with the one loader (src/pipeline/open-pipeline.ts:
 * each file fetched once and checked against manifest.json's sha256 with SubtleCrypto before it
 * is parsed), reads the test subset from /api/testset.bin, and dispatches the page's requests
 * (protocol.ts) to handlers.ts, which calls the analysis library of src/analysis/.
 *
 * Images the page uploads are written into two spare slots after the test images, so every
 * analysis works on dataset indices as it does in Node.
 */
import { availableBackends, engineInfo, initEngine } from '../engine/index.ts';
import { flowFusion, setFlowFusion } from '../flows/fused-stack.ts';
import { checkManifest, openPipeline, type Pipeline } from '../pipeline/open-pipeline.ts';
import { fetchReader } from '../pipeline/fetch-reader.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';
import { loadExternalModel, studiedClassifier, type StudiedModel } from './studied-model.ts';
import type { AnalysedLayer } from '../analysis/context.ts';
import { decodeTestSet, type TestSet } from './testset.ts';
import type { InitResult, ModelStatus, Request, WorkerMessage } from './protocol.ts';
import {
  attack, dynamicsCurves, dynamicsShow, edit, mix, sample, workingImages, type Snapshot, type State,
} from './handlers.ts';

let state: State | null = null;

const scope = self as unknown as {
  postMessage(message: WorkerMessage, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<{ id: number; request: Request }>) => void) | null;
};

const reader = fetchReader('/models/');

function progress(text: string): void {
  scope.postMessage({ id: -1, progress: text }, []);
}

type Load = <T>(role: string, file: string, get: () => Promise<T>) => Promise<T | null>;

/** Loads one part, recording its status for the model list; a failure is recorded, not thrown. */
function loader(statuses: ModelStatus[]): Load {
  return async (role, file, get) => {
    const t0 = performance.now();
    try {
      const value = await get();
      statuses.push({ role, file, ok: true, millis: Math.round(performance.now() - t0) });
      return value;
    } catch (error) {
      statuses.push({ role, file, ok: false, error: error instanceof Error ? error.message : String(error) });
      return null;
    }
  };
}

/** The model under study: inntrospect's classifier, or a model it did not train (`manifest.model`). */
async function loadStudiedModel(pipeline: Pipeline, classNames: string[], statuses: ModelStatus[], load: Load): Promise<StudiedModel | null> {
  const manifest: ExplorerManifest = pipeline.manifest;
  if (manifest.classifier) {
    const classifier = await load('classifier', manifest.classifier.file, () => pipeline.classifier());
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
    const [json, weights] = await Promise.all([pipeline.bytes(entry.json), pipeline.bytes(entry.weights)]);
    const { model, notes } = await loadExternalModel(entry, new TextDecoder().decode(json), weights);
    statuses.push({ role, file: `${entry.json.file} + ${entry.weights.file}`, ok: true, millis: Math.round(performance.now() - t0), ...(notes.length ? { note: notes.join(' ') } : {}) });
    return model;
  } catch (error) {
    statuses.push({ role, file: entry.json.file, ok: false, error: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

async function init(backend: string, fusion?: 'fused' | 'unfused'): Promise<InitResult> {
  let backendNote = '';
  // Before any model is built: every t and e of this page takes that path.
  if (fusion) setFlowFusion(fusion);
  try {
    await initEngine({ backend, wasmPaths: '/wasm/' });
  } catch (error) {
    backendNote = ` (${backend} failed: ${error instanceof Error ? error.message : String(error)}; using wasm)`;
    await initEngine({ backend: 'wasm', wasmPaths: '/wasm/' });
  }
  const info = engineInfo();
  const statuses: ModelStatus[] = [];
  const base: InitResult = {
    backend: info.backend + backendNote + (flowFusion() === 'unfused' ? ' (unfused flow blocks)' : ''), backends: availableBackends(), simd: info.simd, title: '', description: '', models: statuses,
    layers: [], factors: [], classNames: [], outputNames: [], modelName: '', modelInput: '', hasClassifier: false, hasAutoencoder: false, snapshots: [], dynamicsLayer: null, testSet: null, fatal: null,
  };
  let manifest: ExplorerManifest;
  try {
    progress('reading manifest.json');
    manifest = checkManifest(JSON.parse(new TextDecoder().decode(await reader.read('manifest.json'))), 'manifest.json');
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
  const { work, testData } = workingImages(test);
  // One loader for every model: each file fetched once, checked with SubtleCrypto, parsed once.
  const pipeline = openPipeline(manifest, reader, { onLoad: (e) => (e.millis === undefined && e.error === undefined ? progress(`loading ${e.role} (${e.file})`) : undefined) });
  const load = loader(statuses);
  const ae = await load('autoencoder', manifest.ae.file, () => pipeline.autoencoder());
  const model = await loadStudiedModel(pipeline, test.classNames, statuses, load);
  const layers: AnalysedLayer[] = [];
  for (const [layer, entry] of Object.entries(manifest.cinn)) {
    const role = `t (layer ${layer})`;
    if (!model) {
      statuses.push({ role, file: entry.file, ok: false, error: 'needs the model under study, which did not load' });
      continue;
    }
    const t = await load(role, entry.file, () => pipeline.t(layer));
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
  // Run folders without an iin run have no e: an absent optional part, listed as such (not an
  // error); the modes that need e say so where they are used.
  const e = pipeline.hasSemantic
    ? await load('e (semantic INN)', manifest.iin.file, () => pipeline.semantic())
    : (statuses.push({ role: 'e (semantic INN)', file: '–', ok: true, absent: true, note: "none among the sources (train one with 'inntrospect train iin --ae <run>')" }), null);
  const dynamics = manifest.dynamics ?? [];
  const snapshots: Snapshot[] = manifest.snapshots.map((s) => ({ step: s.step, accuracy: s.metrics['testAccuracy'] ?? null, model: null, t: null, phi: null }));
  const dynamicsLayer = dynamics.length > 0 && manifest.dynamicsLayer ? manifest.dynamicsLayer : null;
  // Input side first, whatever order the manifest lists the t's in.
  if (model) {
    const order = model.layerOrder();
    layers.sort((x, y) => order.indexOf(x.name) - order.indexOf(y.name));
  }
  state = { manifest, pipeline, test, work, testData, ae, model, layers, e, snapshots, dynamicsLayer, randomPairs: new Map(), statuses };
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
    case 'init': return init(request.backend, request.fusion);
    case 'sample': return sample(ready(), request);
    case 'attack': return attack(ready(), request);
    case 'mix': return mix(ready(), request);
    case 'edit': return edit(ready(), request);
    case 'dynamicsCurves': return dynamicsCurves(ready());
    case 'dynamicsShow': return dynamicsShow(ready(), request);
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
