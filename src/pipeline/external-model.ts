/**
 * Bring your own model (issue #8), Node side: opens the model under study from files — an
 * inntrospect classifier (model file or run folder), a TensorFlow.js Layers or graph model folder
 * (model.json + weight shards, with an optional `model-card.json`), an ONNX file or a folder
 * holding one (src/models/onnx/, with the same optional card), or a zoo id such as
 * `nsfwjs-mobilenet-v2` — and hands it to the browser-safe adapter of
 * src/models/model-under-study.ts, which defines Φ(x) = model(preprocess(x)) and f likewise.
 *
 * Input size and channels come from the model when it declares them; value range,
 * normalisation, class names and the output kind from a model card next to model.json:
 *
 *     { "inputSize": [224, 224], "channels": 3, "valueRange": [0, 1],
 *       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "classNames": ["cat", "dog"] }
 *
 * Every field is optional when the model itself says it; without a card and without a value range
 * from the model, [0, 1] without mean/std is assumed and a note says so.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as tfl from '@tensorflow/tfjs';
import { splittableStages } from '../models/greybox.ts';
import { concatBytes, fileIOHandler, modelJsonPath, weightBytes, ZOO, zooArtifacts } from '../models/layers-model-node.ts';
import { splittableLayersModel } from '../models/layers-model.ts';
import {
  completeCard, graphModelInputCard, graphNodes, isGraphModelJson, layersModelCard,
  MODEL_CARD_FILE, modelUnderStudyFromGraph, modelUnderStudyFromSplittable, parseModelCard,
  type ModelCard, type ModelUnderStudy,
} from '../models/model-under-study.ts';
import { openOnnxModel } from '../models/onnx/onnx-model.ts';
import { inlineExternalData } from '../models/onnx/onnx-encode.ts';
import { readModelOfKind, resolveModelPath } from './model-files.ts';
import { resolveInside } from '../models/contained-path.ts';
import { externalDataReader, onnxFileOf, readOnnxBytes } from './onnx-files.ts';

export {
  describeCard, MODEL_CARD_FILE, modelBatchSize, parseModelCard, preprocessImages,
  type ExternalLayer, type ModelCard, type ModelSourceKind, type ModelUnderStudy, type OutputKind,
} from '../models/model-under-study.ts';

/** A message for the user that is not an error (a conversion, an assumption), shown by the CLI. */
export interface ByomNote {
  type: 'note';
  /** Where it comes from, e.g. 'data' or 'model'. */
  source: string;
  message: string;
}

export type ByomNoteListener = (note: ByomNote) => void;

const noteListeners = new Set<ByomNoteListener>();

/**
 * Subscribes to notes from data loading and model opening (grey images converted to RGB, a model
 * without a card, …). Returns the unsubscribe function. The CLI prints them; tests assert on them.
 */
export function onByomNote(listener: ByomNoteListener): () => void {
  noteListeners.add(listener);
  return () => noteListeners.delete(listener);
}

/** Reports a note to every listener. */
export function emitByomNote(source: string, message: string): void {
  for (const l of noteListeners) l({ type: 'note', source, message });
}

// ---------------------------------------------------------------------------------------------
// Model cards and graph models on disk

/** The model card next to a model.json, parsed and checked, or null when there is none. */
export function readCardFile(dir: string): Partial<ModelCard> | null {
  const file = join(dir, MODEL_CARD_FILE);
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  return parseModelCard(json, file);
}

/**
 * An IO handler for a TensorFlow.js graph model on disk (model.json with a `node` list plus
 * weight shards). Errors name the missing or short shard file and what to do.
 */
export function graphModelFileHandler(path: string): tfl.io.IOHandler {
  return {
    load: async (): Promise<tfl.io.ModelArtifacts> => {
      const jsonPath = modelJsonPath(path);
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`${jsonPath}: not valid JSON (${(error as Error).message})`);
      }
      // Dangling node references are named here, before tfjs meets them.
      graphNodes(json, jsonPath);
      const manifest = (json['weightsManifest'] ?? []) as { paths: string[]; weights: Parameters<typeof weightBytes>[0] }[];
      if (!Array.isArray(manifest) || !manifest.every((g) => Array.isArray(g?.paths) && Array.isArray(g?.weights))) {
        throw new Error(`${jsonPath}: 'weightsManifest' must be a list of {paths, weights} groups`);
      }
      const buffers: Uint8Array[] = [];
      for (const [gi, group] of manifest.entries()) {
        const parts = group.paths.map((p, pi) => {
          const file = resolveInside(dirname(jsonPath), p, jsonPath, `weightsManifest[${gi}].paths[${pi}]`);
          if (!existsSync(file)) throw new Error(`${jsonPath}: weight shard '${p}' (${file}) is missing; copy every file model.json's weightsManifest names next to it`);
          return readFileSync(file);
        });
        const bytes = parts.reduce((s, b) => s + b.byteLength, 0);
        const need = weightBytes(group.weights);
        if (need !== null && need !== bytes) throw new Error(`${jsonPath}: weight shards ${group.paths.join(', ')} hold ${bytes} bytes but the manifest needs ${need}; the files are truncated or from another model`);
        buffers.push(...parts.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
      }
      return {
        modelTopology: json['modelTopology'] as object,
        weightSpecs: manifest.flatMap((g) => g.weights) as tfl.io.WeightsManifestEntry[],
        weightData: concatBytes(buffers),
        format: json['format'] as string | undefined,
        generatedBy: json['generatedBy'] as string | undefined,
        convertedBy: json['convertedBy'] as string | null | undefined,
        signature: json['signature'] as object | undefined,
        userDefinedMetadata: json['userDefinedMetadata'] as Record<string, object> | undefined,
        modelInitializer: json['modelInitializer'] as object | undefined,
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Opening a model

function isOwnModelFile(spec: string): boolean {
  if (!existsSync(spec)) return false;
  const file = statSync(spec).isDirectory() ? join(spec, 'model.json') : spec;
  if (!existsSync(file)) return false;
  return readFileSync(file, 'utf8').slice(0, 200).includes('"format":"inntrospect-model/1"');
}

/** A model's files as read once: its artifacts (weights concatenated) and what its card says. */
interface ModelFiles {
  kind: 'zoo' | 'layers' | 'graph';
  /** For messages: model.json's path, or the zoo bundle's. */
  source: string;
  artifacts: tfl.io.ModelArtifacts;
  /** The zoo entry's facts or model-card.json's fields; null when there is no card. */
  card: Partial<ModelCard> | null;
  /** Where `card` came from ('zoo (nsfwjs)', 'model-card.json', '' for none). */
  cardSource: string;
}

/** Reads a zoo model (from its npm package) or a TensorFlow.js model folder, checking every shard. */
async function readModelFiles(spec: string, kind: 'zoo' | 'layers' | 'graph'): Promise<ModelFiles> {
  if (kind === 'zoo') {
    const zoo = ZOO[spec]!;
    return {
      kind, source: spec, artifacts: zooArtifacts(spec),
      card: { inputSize: [zoo.inputShape[0], zoo.inputShape[1]], channels: 3, valueRange: zoo.inputRange, classNames: zoo.classNames },
      cardSource: `zoo (${zoo.package})`,
    };
  }
  const jsonPath = modelJsonPath(spec);
  const artifacts = await (kind === 'graph' ? graphModelFileHandler(jsonPath) : fileIOHandler(jsonPath)).load!();
  const card = readCardFile(dirname(jsonPath));
  return { kind, source: jsonPath, artifacts, card, cardSource: card ? MODEL_CARD_FILE : '' };
}

function sha256(bytes: Uint8Array | ArrayBuffer): string {
  return createHash('sha256').update(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).digest('hex');
}

/**
 * An ONNX file's bytes, the same with any external data moved inside (what the explorer serves),
 * its card file and fingerprint: the sha256 of the self-contained bytes, so that editing an
 * external data file is caught too (without external data: the .onnx file's own sha256).
 */
function readOnnxFiles(spec: string): { file: string; bytes: Uint8Array; inlined: Uint8Array; card: Partial<ModelCard> | null; fingerprint: ModelFingerprint } {
  const file = onnxFileOf(spec)!;
  const bytes = readOnnxBytes(file);
  const inlined = inlineExternalData(bytes, file, externalDataReader(file));
  const card = readCardFile(dirname(file));
  return { file, bytes, inlined, card, fingerprint: { spec, kind: 'onnx', weightsSha256: sha256(inlined), card } };
}

function fingerprintOf(spec: string, files: ModelFiles): ModelFingerprint {
  return { spec, kind: files.kind, weightsSha256: sha256(files.artifacts.weightData as ArrayBuffer), card: files.card };
}

/** A model under study opened from files, with the fingerprint of the bytes it was built from. */
export type OpenedModel = ModelUnderStudy & { fingerprint: ModelFingerprint };

/**
 * Opens the model under study from a spec: an inntrospect classifier (model file or run folder),
 * a TensorFlow.js Layers or graph model folder / model.json, or a zoo id. Notes (assumptions,
 * conversions) are returned and sent to `onByomNote` listeners.
 *
 * @example
 *   const m = await openModelUnderStudy('nsfwjs-mobilenet-v2');
 *   const conv = m.layer('block_6_expand_relu');
 *   const z = conv.phi(x);            // x: [B, 64, 64, 3] in [-1, 1]
 */
export async function openModelUnderStudy(spec: string): Promise<OpenedModel> {
  if (!spec) throw new Error("no model given: --model takes an inntrospect classifier (run folder or model file), a TensorFlow.js model folder with model.json, or a zoo id such as 'nsfwjs-mobilenet-v2'");
  const notes: string[] = [];
  const finish = (m: ModelUnderStudy, fingerprint: ModelFingerprint): OpenedModel => {
    for (const n of notes) emitByomNote('model', n);
    return { ...m, fingerprint };
  };
  const kind = modelSpecKind(spec);
  if (kind === 'inntrospect') {
    const { model, path } = readModelOfKind(spec, 'classifier', 'model');
    const [h, w, c] = model.inputShape;
    const card: ModelCard = { inputSize: [h!, w!], channels: c === 1 ? 1 : 3, valueRange: [-1, 1] };
    const splittable = splittableStages({ name: model.className, inputShape: model.inputShape, stages: model.stages });
    const fingerprint: ModelFingerprint = { spec, kind, weightsSha256: sha256(readFileSync(path)), card: null };
    return finish(modelUnderStudyFromSplittable({ spec, kind, card, cardSource: 'inntrospect model', notes }, splittable, () => model.dispose()), fingerprint);
  }
  if (kind === 'onnx') {
    const { file, inlined, card, fingerprint } = readOnnxFiles(spec);
    const m = openOnnxModel(inlined, { spec, source: file, cardFile: card });
    notes.push(...m.notes);
    return finish(m, fingerprint);
  }
  const files = await readModelFiles(spec, kind);
  const handler: tfl.io.IOHandler = { load: async () => files.artifacts };
  if (kind === 'graph') {
    const model = await tfl.loadGraphModel(handler);
    try {
      const { card, cardSource } = completeCard(graphModelInputCard(model, files.source), files.card, files.source, notes);
      return finish(modelUnderStudyFromGraph({ spec, kind, card, cardSource, notes }, model, graphNodes({ modelTopology: files.artifacts.modelTopology }, files.source)), fingerprintOf(spec, files));
    } catch (error) {
      model.dispose();
      throw error;
    }
  }
  const model = await tfl.loadLayersModel(handler);
  try {
    const { card, cardSource } = layersModelCard(model, files.card, files.source, notes);
    const splittable = splittableLayersModel(model, spec);
    return finish(modelUnderStudyFromSplittable({ spec, kind, card, cardSource: kind === 'zoo' ? files.cardSource : cardSource, notes }, splittable, () => model.dispose()), fingerprintOf(spec, files));
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** The model.json a spec (folder or file) names, parsed; errors say what is missing or broken. */
function readModelJson(spec: string): { jsonPath: string; json: Record<string, unknown> } {
  if (!existsSync(spec)) {
    throw new Error(`model '${spec}' does not exist; give an inntrospect classifier (run folder or model file), a folder with a TensorFlow.js model.json, an .onnx file (or a folder with one), or a zoo id (${Object.keys(ZOO).join(', ')})`);
  }
  const jsonPath = modelJsonPath(spec);
  try {
    return { jsonPath, json: JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown> };
  } catch (error) {
    throw new Error(`${jsonPath}: not valid JSON (${(error as Error).message})`);
  }
}

/** Which kind of model a spec names, without loading it. */
export function modelSpecKind(spec: string): 'inntrospect' | 'zoo' | 'layers' | 'graph' | 'onnx' {
  if (isOwnModelFile(spec)) return 'inntrospect';
  if (ZOO[spec]) return 'zoo';
  if (onnxFileOf(spec)) return 'onnx';
  return isGraphModelJson(readModelJson(spec).json) ? 'graph' : 'layers';
}

/** A model the project did not train, as the explorer serves it: one model.json and one weights file. */
export interface BrowserModelFiles {
  /** 'onnx': `weights` is the .onnx file and `json` a small descriptor naming it. */
  format: 'layers' | 'graph' | 'onnx';
  /** model.json whose weights manifest names `weightsFile` as its one group. */
  json: Uint8Array;
  weights: Uint8Array;
  /** What the files say beyond the model's own input shape (the zoo entry or model-card.json). */
  card: Partial<ModelCard> | null;
  cardSource: string;
  /** The fingerprint of these bytes (checked against the cinn runs' records). */
  fingerprint: ModelFingerprint;
}

/**
 * Reads a zoo model (from its npm package) or a TensorFlow.js model folder, checks every weight
 * shard, and repacks it for the browser: the weights of every group concatenated into one file,
 * so the page fetches (and checksums) two files whatever the model's shard layout.
 *
 * @example
 *   const files = await browserModelFiles('nsfwjs-mobilenet-v2', 'weights.bin');
 */
export async function browserModelFiles(spec: string, weightsFile: string): Promise<BrowserModelFiles> {
  const kind = modelSpecKind(spec);
  if (kind === 'inntrospect') throw new Error(`${spec} is an inntrospect model file, served as it is`);
  if (kind === 'onnx') {
    // The page gets the .onnx bytes as they are (external data inlined) and runs the same code.
    const { file, inlined, card, fingerprint } = readOnnxFiles(spec);
    const json = new TextEncoder().encode(JSON.stringify({ format: 'onnx', file: weightsFile, source: file }));
    return { format: 'onnx', json, weights: inlined, card, cardSource: card ? MODEL_CARD_FILE : '', fingerprint };
  }
  const files = await readModelFiles(spec, kind);
  const { artifacts, card, cardSource } = files;
  const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
  const json = {
    format: artifacts.format ?? (kind === 'graph' ? 'graph-model' : 'layers-model'),
    generatedBy: artifacts.generatedBy, convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    signature: artifacts.signature, userDefinedMetadata: artifacts.userDefinedMetadata, modelInitializer: artifacts.modelInitializer,
    weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
  };
  return { format: kind === 'graph' ? 'graph' : 'layers', json: new TextEncoder().encode(JSON.stringify(json)), weights, card, cardSource, fingerprint: fingerprintOf(spec, files) };
}

/** Written next to a cinn run's model.json: which model (weights and card) its t was trained on. */
export const MODEL_FINGERPRINT_FILE = 'model-under-study.json';

/** The identity of a model under study: its spec, the sha256 of its weights, and its card. */
export interface ModelFingerprint {
  spec: string;
  kind: 'inntrospect' | 'zoo' | 'layers' | 'graph' | 'onnx';
  /** sha256 of the weights (all shards concatenated in manifest order; our own models: the model file; ONNX: the file with its external data inside). */
  weightsSha256: string;
  /** What the model's files say of its input and output (the zoo entry or model-card.json), null when nothing. */
  card: Partial<ModelCard> | null;
}

/**
 * Fingerprints the model a spec names, so that a t can later be checked against the Φ it was
 * trained with (a model folder or its card edited after `train cinn` would pair t with another Φ).
 */
export async function modelFingerprint(spec: string): Promise<ModelFingerprint> {
  const kind = modelSpecKind(spec);
  if (kind === 'inntrospect') return { spec, kind, weightsSha256: sha256(readFileSync(resolveModelPath(spec))), card: null };
  if (kind === 'onnx') return readOnnxFiles(spec).fingerprint;
  return fingerprintOf(spec, await readModelFiles(spec, kind));
}

/**
 * Checks a cinn run's recorded fingerprint against the model as it is now (runs trained before
 * fingerprints were recorded are not checked); the error says what changed and what to do.
 */
export function checkFingerprint(run: string, current: ModelFingerprint): void {
  const file = join(run, MODEL_FINGERPRINT_FILE);
  if (!existsSync(file)) return;
  const recorded = JSON.parse(readFileSync(file, 'utf8')) as ModelFingerprint;
  const changes: string[] = [];
  if (recorded.weightsSha256 !== current.weightsSha256) changes.push(`its weights (sha256 ${recorded.weightsSha256.slice(0, 12)}… then, ${current.weightsSha256.slice(0, 12)}… now)`);
  if (JSON.stringify(recorded.card) !== JSON.stringify(current.card)) changes.push(`its ${current.kind === 'zoo' ? 'zoo entry' : MODEL_CARD_FILE} (${JSON.stringify(recorded.card)} then, ${JSON.stringify(current.card)} now)`);
  if (changes.length > 0) {
    throw new Error(`${run}: t was trained on ${recorded.spec}, which has changed since: ${changes.join('; ')}. t describes the old Φ; retrain it ('inntrospect train cinn …') or restore the model's files`);
  }
}
