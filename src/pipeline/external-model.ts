/**
 * Bring your own model (issue #8): one adapter between the pipeline's images and any model under
 * study, so the cinn job, the analysis loader and the attacks all see the same
 *
 *     Φ(x) = Φ_model(preprocess(x)),   f(x) = f_model(preprocess(x))
 *
 * where x is what the autoencoder works on: images in [-1, 1] at the AE's own resolution (say
 * 64×64). `preprocess` is the reference's greybox preprocessing (x in [-1, 1] at 128 px → resize →
 * [0, 1] → mean/std): bilinear resize (half-pixel centres, as torch's `interpolate(…,
 * align_corners=False)`) to the model's input size, channel conversion when the model wants grey
 * (luma) or RGB (repeat), then [-1, 1] → [0, 1] → the model's value range → (v − mean)/std. It is
 * made of differentiable tf ops, so gradients with respect to x (FGSM/PGD) run through it.
 *
 * Models (`openModelUnderStudy(spec)`, Node only):
 * - inntrospect's own classifiers (a model file or run folder): input [-1, 1] at its own size;
 *   at that size preprocess is the identity, so existing runs behave exactly as before;
 * - TensorFlow.js Layers models (a folder with model.json + weight shards, or a zoo id such as
 *   `nsfwjs-mobilenet-v2`): split at clean cuts (docs/data.md), Φ and Ψ both available;
 * - TensorFlow.js graph models (model.json with `format: "graph-model"`): Φ = executing the graph
 *   up to a named node (`model.execute(x, [node])`), f = executing it to its outputs. Ψ (node →
 *   output) is not available, so only analyses that need Φ, t and f work (sample, invariance,
 *   mix, attack); `psi` is absent and says why when asked.
 *
 * Input size and channels come from the model when it declares them; value range,
 * normalisation and class names from a model card, `model-card.json` next to model.json:
 *
 *     { "inputSize": [224, 224], "channels": 3, "valueRange": [0, 1],
 *       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "classNames": ["cat", "dog"] }
 *
 * Every field is optional when the model itself says it; without a card and without a value range
 * from the model, [0, 1] without mean/std is assumed and a note says so.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import * as tfl from '@tensorflow/tfjs';
import { tf } from '../engine/index.ts';
import { layerError, splittableStages, type LayerInfo, type SplittableModel } from '../models/greybox.ts';
import { loadSplittableModel, modelJsonPath, weightBytes, ZOO } from '../models/layers-model-node.ts';
import { readModelOfKind } from './model-files.ts';

/** How a model wants its input; see the file comment for `model-card.json`. */
export interface ModelCard {
  /** [height, width] of the model's input. */
  inputSize: [number, number];
  /** 1 (grey) or 3 (RGB). */
  channels: 1 | 3;
  /** Pixel value range the model was trained on, before mean/std: [0, 1], [0, 255], [-1, 1], … */
  valueRange: [number, number];
  /** Per-channel mean subtracted after scaling to valueRange (in valueRange units); optional. */
  mean?: number[];
  /** Per-channel standard deviation divided by after the mean; optional. */
  std?: number[];
  /** Class names of the model's outputs, for figures; optional. */
  classNames?: string[];
}

export const MODEL_CARD_FILE = 'model-card.json';

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

/** One layer of the model under study, as the pipeline uses it. */
export interface ExternalLayer {
  name: string;
  /** Shape of z without the batch axis. */
  zShape: number[];
  /** z = Φ(preprocess(x)) for x in [-1, 1] at any size; the caller owns the result. */
  phi(x: tf.Tensor): tf.Tensor;
  /** Ψ(z): the rest of the model; absent for graph models (see `psiUnavailable`). */
  psi?: (z: tf.Tensor) => tf.Tensor;
}

export type ModelSourceKind = 'inntrospect' | 'layers' | 'zoo' | 'graph';

export interface ModelUnderStudy {
  /** The spec it was opened from. */
  spec: string;
  /** A name for titles. */
  name: string;
  kind: ModelSourceKind;
  card: ModelCard;
  /** Where the card's values came from (e.g. 'model', 'model-card.json', 'zoo'). */
  cardSource: string;
  /** Notes collected while opening (also sent to `onByomNote` listeners). */
  notes: string[];
  /** Whether Ψ (layer → output) exists; false for graph models. */
  hasPsi: boolean;
  /** Why Ψ is missing, when it is. */
  psiUnavailable?: string;
  /** Every layer (graph models: every node). */
  layers(): LayerInfo[];
  /** The layer's Φ (and Ψ); unknown layers list the valid ones; non-float outputs are refused. */
  layer(name: string): ExternalLayer;
  /** x in [-1, 1] (any size, 1 or 3 channels) → the model's input. Differentiable. */
  preprocess(x: tf.Tensor): tf.Tensor4D;
  /** f(preprocess(x)) as [B, K] (the model's output, flattened per row). */
  classify(x: tf.Tensor): tf.Tensor2D;
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

/**
 * The greybox preprocessing: x in [-1, 1] → bilinear resize to card.inputSize → card.channels →
 * [0, 1] → card.valueRange → (v − mean)/std. Identity (a clone) when nothing changes.
 *
 * @example
 *   const input = preprocessImages(x, { inputSize: [224, 224], channels: 3, valueRange: [0, 1] });
 */
export function preprocessImages(x: tf.Tensor, card: ModelCard): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`preprocess: expected images [B, H, W, C], got [${x.shape.join(', ')}]`);
  return tf.tidy(() => {
    let h = x as tf.Tensor4D;
    const [, height, width, channels] = h.shape;
    const [th, tw] = card.inputSize;
    if (height !== th || width !== tw) h = tf.image.resizeBilinear(h, [th, tw], false, true);
    if (channels !== card.channels) {
      if (channels === 1 && card.channels === 3) h = tf.tile(h, [1, 1, 1, 3]);
      else if (channels === 3 && card.channels === 1) h = tf.sum(tf.mul(h, tf.tensor1d([0.299, 0.587, 0.114])), 3, true) as tf.Tensor4D;
      else throw new Error(`preprocess: cannot convert ${channels}-channel images to the model's ${card.channels} channels`);
    }
    const [lo, hi] = card.valueRange;
    // [-1, 1] → [0, 1] → [lo, hi] in one affine map.
    const scale = (hi - lo) / 2;
    const offset = lo + scale;
    if (scale !== 1 || offset !== 0) h = tf.add(tf.mul(h, scale), offset);
    if (card.mean) h = tf.sub(h, tf.tensor1d(card.mean));
    if (card.std) h = tf.div(h, tf.tensor1d(card.std));
    return h === x ? tf.clone(h) : h;
  });
}

// ---------------------------------------------------------------------------------------------
// Model cards

function isPair(v: unknown): v is [number, number] {
  return Array.isArray(v) && v.length === 2 && v.every((n) => typeof n === 'number' && Number.isFinite(n));
}

/** Checks a (partial) card read from a file; the error names the file and the field. */
export function parseModelCard(json: unknown, source: string): Partial<ModelCard> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: a model card must be a JSON object`);
  const o = json as Record<string, unknown>;
  const known = ['inputSize', 'channels', 'valueRange', 'mean', 'std', 'classNames', 'description'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new Error(`${source}: unknown field '${k}'; the fields are ${known.join(', ')}`);
  const card: Partial<ModelCard> = {};
  if (o['inputSize'] !== undefined) {
    const s = typeof o['inputSize'] === 'number' ? [o['inputSize'], o['inputSize']] : o['inputSize'];
    if (!isPair(s) || !s.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`${source}: inputSize must be [height, width] (positive integers) or one number, got ${JSON.stringify(o['inputSize'])}`);
    card.inputSize = s;
  }
  if (o['channels'] !== undefined) {
    if (o['channels'] !== 1 && o['channels'] !== 3) throw new Error(`${source}: channels must be 1 or 3, got ${JSON.stringify(o['channels'])}`);
    card.channels = o['channels'];
  }
  if (o['valueRange'] !== undefined) {
    if (!isPair(o['valueRange']) || !(o['valueRange'][0] < o['valueRange'][1])) throw new Error(`${source}: valueRange must be [low, high] with low < high, got ${JSON.stringify(o['valueRange'])}`);
    card.valueRange = o['valueRange'];
  }
  for (const k of ['mean', 'std'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length === 0 || !v.every((n) => typeof n === 'number' && Number.isFinite(n))) throw new Error(`${source}: ${k} must be a list of numbers (one per channel), got ${JSON.stringify(v)}`);
    if (k === 'std' && v.some((n) => n <= 0)) throw new Error(`${source}: std must be positive, got ${JSON.stringify(v)}`);
    card[k] = v as number[];
  }
  if (o['classNames'] !== undefined) {
    if (!Array.isArray(o['classNames']) || !o['classNames'].every((n) => typeof n === 'string')) throw new Error(`${source}: classNames must be a list of strings`);
    card.classNames = o['classNames'] as string[];
  }
  return card;
}

function readCardFile(dir: string): Partial<ModelCard> | null {
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

/** Merges what the model says with the card; the card must agree with the model's fixed sizes. */
function completeCard(fromModel: Partial<ModelCard>, fromFile: Partial<ModelCard> | null, source: string, notes: string[]): { card: ModelCard; cardSource: string } {
  const f = fromFile ?? {};
  for (const k of ['inputSize', 'channels'] as const) {
    if (fromModel[k] !== undefined && f[k] !== undefined && JSON.stringify(fromModel[k]) !== JSON.stringify(f[k])) {
      throw new Error(`${source}: ${MODEL_CARD_FILE} says ${k} ${JSON.stringify(f[k])} but the model's input is ${JSON.stringify(fromModel[k])}; fix or remove the field`);
    }
  }
  const inputSize = fromModel.inputSize ?? f.inputSize;
  const channels = fromModel.channels ?? f.channels;
  if (!inputSize) throw new Error(`${source}: the model does not fix its input size; write a ${MODEL_CARD_FILE} next to model.json with "inputSize": [height, width]`);
  if (!channels) throw new Error(`${source}: the model does not fix its input channels; write a ${MODEL_CARD_FILE} next to model.json with "channels": 1 or 3`);
  let valueRange = f.valueRange ?? fromModel.valueRange;
  if (!valueRange) {
    valueRange = [0, 1];
    notes.push(`${source}: no ${MODEL_CARD_FILE} gives the input value range; assuming pixels in [0, 1] without mean/std (write one next to model.json if the model was trained otherwise)`);
  }
  for (const k of ['mean', 'std'] as const) {
    const v = f[k] ?? fromModel[k];
    if (v && v.length !== channels && v.length !== 1) throw new Error(`${source}: ${k} has ${v.length} values but the model takes ${channels} channels`);
  }
  const card: ModelCard = { inputSize, channels, valueRange };
  const mean = f.mean ?? fromModel.mean;
  const std = f.std ?? fromModel.std;
  const classNames = f.classNames ?? fromModel.classNames;
  if (mean) card.mean = mean;
  if (std) card.std = std;
  if (classNames) card.classNames = classNames;
  const cardSource = fromFile ? (Object.keys(fromModel).length ? `model + ${MODEL_CARD_FILE}` : MODEL_CARD_FILE) : 'model';
  return { card, cardSource };
}

// ---------------------------------------------------------------------------------------------
// Layers: checks shared by every kind

function checkFloat(z: tf.Tensor, model: string, layer: string): void {
  if (z.dtype !== 'float32') {
    throw new Error(`${model}: layer '${layer}' outputs ${z.dtype} values, not float32; t can only be conditioned on a float tensor. Pick a layer before the cast/argmax ('inntrospect layers ${model}' lists them)`);
  }
}

/**
 * Images per forward pass through the model. Analyses hand Φ batches of 64 or more; at 224×224 a
 * MobileNetV2 keeps gigabytes of activations per such batch (more than wasm's memory), so larger
 * batches run in chunks and are concatenated (still differentiable). INNTROSPECT_MODEL_BATCH
 * changes the default of 8.
 */
export function modelBatchSize(): number {
  const n = Number(process.env['INNTROSPECT_MODEL_BATCH'] ?? 8);
  return Number.isInteger(n) && n > 0 ? n : 8;
}

function chunked(x: tf.Tensor, fn: (part: tf.Tensor) => tf.Tensor): tf.Tensor {
  const b = x.shape[0]!;
  const size = modelBatchSize();
  if (b <= size) return tf.tidy(() => fn(x));
  return tf.tidy(() => {
    const parts: tf.Tensor[] = [];
    for (let start = 0; start < b; start += size) {
      parts.push(tf.tidy(() => fn(tf.slice(x, start, Math.min(size, b - start)))));
    }
    return tf.concat(parts, 0);
  });
}

function flatten2d(y: tf.Tensor): tf.Tensor2D {
  return (y.rank === 2 ? y : tf.reshape(y, [y.shape[0]!, -1])) as tf.Tensor2D;
}

function fromSplittable(spec: string, kind: ModelSourceKind, splittable: SplittableModel, card: ModelCard, cardSource: string, notes: string[], release: () => void): ModelUnderStudy {
  const full = splittable.split(splittable.layers()[0]!.name);
  const pre = (x: tf.Tensor) => preprocessImages(x, card);
  const checked = new Map<string, ExternalLayer>();
  return {
    spec, name: splittable.name, kind, card, cardSource, notes, hasPsi: true,
    layers: () => splittable.layers(),
    layer(name: string): ExternalLayer {
      const cached = checked.get(name);
      if (cached) return cached;
      const gb = splittable.split(name);
      tf.tidy(() => checkFloat(gb.phi(tf.zeros([1, ...card.inputSize, card.channels])), splittable.name, name));
      const layer: ExternalLayer = {
        name, zShape: gb.zShape,
        phi: (x) => chunked(x, (part) => gb.phi(pre(part))),
        psi: (z) => gb.psi(z),
      };
      checked.set(name, layer);
      return layer;
    },
    preprocess: pre,
    classify: (x) => chunked(x, (part) => flatten2d(full.f(pre(part)))) as tf.Tensor2D,
    dispose: release,
  };
}

// ---------------------------------------------------------------------------------------------
// Graph models

interface GraphNodeJson { name: string; op: string; input?: string[] }

/**
 * An IO handler for a TensorFlow.js graph model on disk (model.json with a `node` list plus
 * weight shards). Errors name the missing or short shard file and what to do.
 */
export function graphModelFileHandler(path: string): tfl.io.IOHandler {
  return {
    load: async (): Promise<tfl.io.ModelArtifacts> => {
      const jsonPath = modelJsonPath(path);
      const json = JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>;
      const manifest = (json['weightsManifest'] ?? []) as { paths: string[]; weights: Parameters<typeof weightBytes>[0] }[];
      const buffers: Uint8Array[] = [];
      for (const group of manifest) {
        const parts = group.paths.map((p) => {
          const file = join(dirname(jsonPath), p);
          if (!existsSync(file)) throw new Error(`${jsonPath}: weight shard '${p}' (${file}) is missing; copy every file model.json's weightsManifest names next to it`);
          return readFileSync(file);
        });
        const bytes = parts.reduce((s, b) => s + b.byteLength, 0);
        const need = weightBytes(group.weights);
        if (need !== null && need !== bytes) throw new Error(`${jsonPath}: weight shards ${group.paths.join(', ')} hold ${bytes} bytes but the manifest needs ${need}; the files are truncated or from another model`);
        buffers.push(...parts.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
      }
      const total = buffers.reduce((s, b) => s + b.byteLength, 0);
      const weightData = new Uint8Array(total);
      let at = 0;
      for (const b of buffers) {
        weightData.set(b, at);
        at += b.byteLength;
      }
      return {
        modelTopology: json['modelTopology'] as object,
        weightSpecs: manifest.flatMap((g) => g.weights) as tfl.io.WeightsManifestEntry[],
        weightData: weightData.buffer,
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

function isGraphModelJson(json: Record<string, unknown>): boolean {
  const topology = json['modelTopology'] as Record<string, unknown> | undefined;
  return json['format'] === 'graph-model' || Array.isArray(topology?.['node']);
}

const NON_LAYER_OPS = new Set(['Const', 'Placeholder', 'NoOp', 'Identity']);

async function openGraphModel(spec: string, jsonPath: string, json: Record<string, unknown>, notes: string[]): Promise<ModelUnderStudy> {
  const model = await tfl.loadGraphModel(graphModelFileHandler(jsonPath));
  const nodes = ((json['modelTopology'] as { node?: GraphNodeJson[] }).node ?? []);
  if (model.inputs.length !== 1) {
    model.dispose();
    throw new Error(`${jsonPath}: a graph model needs one input, this one has ${model.inputs.length}`);
  }
  const input = model.inputs[0]!;
  const shape = input.shape ?? [];
  const fromModel: Partial<ModelCard> = {};
  if (shape.length === 4 && (shape[1] ?? -1) > 0 && (shape[2] ?? -1) > 0) fromModel.inputSize = [shape[1]!, shape[2]!];
  if (shape.length === 4 && (shape[3] === 1 || shape[3] === 3)) fromModel.channels = shape[3];
  const { card, cardSource } = completeCard(fromModel, readCardFile(dirname(jsonPath)), jsonPath, notes);
  const pre = (x: tf.Tensor) => preprocessImages(x, card);
  const psiUnavailable = `${spec} is a TensorFlow.js graph model: Φ runs the graph to a node, but Ψ (node → output) cannot be split off a frozen graph; analyses that need only Φ, t and f work (sample, invariance, mix, attack)`;
  const layerNodes = nodes.filter((n) => !NON_LAYER_OPS.has(n.op));
  let infoCache: LayerInfo[] | null = null;
  // Output shapes from one execution of every node on a zero image (batch of one).
  const infos = (): LayerInfo[] => {
    if (infoCache) return infoCache;
    const shapes = tf.tidy(() => {
      const outs = model.execute(tf.zeros([1, ...card.inputSize, card.channels]), layerNodes.map((n) => n.name));
      return (Array.isArray(outs) ? outs : [outs]).map((t) => t.shape.slice(1));
    });
    infoCache = layerNodes.map((n, i) => ({ name: n.name, className: n.op, outputShape: shapes[i] as number[], cut: true }));
    return infoCache;
  };
  const checked = new Map<string, ExternalLayer>();
  const exec = (x: tf.Tensor, node?: string): tf.Tensor => {
    const out = node ? model.execute(x, [node]) : model.execute(x);
    return Array.isArray(out) ? out[0]! : out;
  };
  return {
    spec, name: spec, kind: 'graph', card, cardSource, notes, hasPsi: false, psiUnavailable,
    layers: infos,
    layer(name: string): ExternalLayer {
      const cached = checked.get(name);
      if (cached) return cached;
      if (!layerNodes.some((n) => n.name === name)) throw layerError(spec, name, infos(), `unknown node '${name}'`);
      const zShape = tf.tidy(() => {
        const z = exec(tf.zeros([1, ...card.inputSize, card.channels]), name);
        checkFloat(z, spec, name);
        return z.shape.slice(1);
      });
      const layer: ExternalLayer = { name, zShape, phi: (x) => chunked(x, (part) => exec(pre(part), name)) };
      checked.set(name, layer);
      return layer;
    },
    preprocess: pre,
    classify: (x) => chunked(x, (part) => flatten2d(exec(pre(part)))) as tf.Tensor2D,
    dispose: () => model.dispose(),
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
export async function openModelUnderStudy(spec: string): Promise<ModelUnderStudy> {
  if (!spec) throw new Error("no model given: --model takes an inntrospect classifier (run folder or model file), a TensorFlow.js model folder with model.json, or a zoo id such as 'nsfwjs-mobilenet-v2'");
  const notes: string[] = [];
  const finish = (m: ModelUnderStudy): ModelUnderStudy => {
    for (const n of notes) emitByomNote('model', n);
    return m;
  };
  if (isOwnModelFile(spec)) {
    const { model } = readModelOfKind(spec, 'classifier', 'model');
    const [h, w, c] = model.inputShape;
    const card: ModelCard = { inputSize: [h!, w!], channels: c === 1 ? 1 : 3, valueRange: [-1, 1] };
    const splittable = splittableStages({ name: model.className, inputShape: model.inputShape, stages: model.stages });
    return finish(fromSplittable(spec, 'inntrospect', splittable, card, 'inntrospect model', notes, () => model.dispose()));
  }
  const zoo = ZOO[spec];
  if (zoo) {
    const { model, splittable } = await loadSplittableModel(spec);
    const card: ModelCard = { inputSize: [zoo.inputShape[0], zoo.inputShape[1]], channels: 3, valueRange: zoo.inputRange, classNames: zoo.classNames };
    return finish(fromSplittable(spec, 'zoo', splittable, card, `zoo (${zoo.package})`, notes, () => model.dispose()));
  }
  if (!existsSync(spec)) {
    throw new Error(`model '${spec}' does not exist; give an inntrospect classifier (run folder or model file), a folder with a TensorFlow.js model.json, or a zoo id (${Object.keys(ZOO).join(', ')})`);
  }
  const jsonPath = modelJsonPath(spec);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(jsonPath, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${jsonPath}: not valid JSON (${(error as Error).message})`);
  }
  if (isGraphModelJson(json)) return finish(await openGraphModel(spec, jsonPath, json, notes));
  const { model, splittable } = await loadSplittableModel(resolve(spec));
  const shape = model.inputs[0]!.shape;
  const fromModel: Partial<ModelCard> = {};
  if (shape.length === 4 && (shape[1] ?? -1) > 0 && (shape[2] ?? -1) > 0) fromModel.inputSize = [shape[1]!, shape[2]!];
  if (shape.length === 4 && (shape[3] === 1 || shape[3] === 3)) fromModel.channels = shape[3];
  let completed;
  try {
    completed = completeCard(fromModel, readCardFile(dirname(jsonPath)), jsonPath, notes);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return finish(fromSplittable(spec, 'layers', splittable, completed.card, completed.cardSource, notes, () => model.dispose()));
}

/** Describes the model's input for messages: '224×224×3, [0, 1], mean/std'. */
export function describeCard(card: ModelCard): string {
  return `${card.inputSize.join('×')}×${card.channels}, values in [${card.valueRange.join(', ')}]${card.mean || card.std ? ', mean/std normalised' : ''}`;
}
