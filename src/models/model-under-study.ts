/**
 * The model under study, whatever trained it: one adapter between the pipeline's images and any
 * model, so the cinn job, the analysis loader, the attacks and the explorer all see the same
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
 * Browser-safe: models arrive already loaded (a splittable Layers or staged model, or a graph
 * model), with what their files say about the input. Opening models from files is Node's
 * (src/pipeline/external-model.ts); the explorer's worker loads them over HTTP.
 */
import * as tfl from '@tensorflow/tfjs';
import { tf } from '../engine/index.ts';
import { layerError, type LayerInfo, type SplittableModel } from './greybox.ts';

/** How a model wants its input and what it outputs; `model-card.json` next to model.json. */
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
  /**
   * What f returns: 'logits', or 'probabilities' for a model that ends in a softmax (found from
   * the model when it says so; the attacks then use log-probabilities as logits).
   */
  output?: OutputKind;
}

export type OutputKind = 'logits' | 'probabilities';

export const MODEL_CARD_FILE = 'model-card.json';

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

export type ModelSourceKind = 'inntrospect' | 'layers' | 'zoo' | 'graph' | 'onnx';

export interface ModelUnderStudy {
  /** The spec it was opened from. */
  spec: string;
  /** A name for titles. */
  name: string;
  kind: ModelSourceKind;
  card: ModelCard;
  /** Where the card's values came from (e.g. 'model', 'model-card.json', 'zoo'). */
  cardSource: string;
  /** What `classify` returns (the card's `output`, else 'logits'). */
  outputKind: OutputKind;
  /** Notes collected while opening (the CLI prints them). */
  notes: string[];
  /** Whether Ψ (layer → output) exists; false for graph models. */
  hasPsi: boolean;
  /** Why Ψ is missing, when it is. */
  psiUnavailable?: string;
  /** Every layer (graph models: every node, with shapes from one run of the graph). */
  layers(): LayerInfo[];
  /** Every layer's name in model order, without running the model. */
  layerNames(): string[];
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

const CARD_FIELDS = ['inputSize', 'channels', 'valueRange', 'mean', 'std', 'classNames', 'output', 'description'];

/** Checks a (partial) card read from a file; the error names the file and the field. */
export function parseModelCard(json: unknown, source: string): Partial<ModelCard> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${source}: a model card must be a JSON object`);
  const o = json as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!CARD_FIELDS.includes(k)) throw new Error(`${source}: unknown field '${k}'; the fields are ${CARD_FIELDS.join(', ')}`);
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
  if (o['output'] !== undefined) {
    if (o['output'] !== 'logits' && o['output'] !== 'probabilities') throw new Error(`${source}: output must be "logits" or "probabilities" (a model that ends in a softmax), got ${JSON.stringify(o['output'])}`);
    card.output = o['output'];
  }
  return card;
}

/**
 * Merges what the model says (`fromModel`) with its card file (`fromFile`); the card must agree
 * with the model's fixed sizes. Assumptions go to `notes`.
 */
export function completeCard(fromModel: Partial<ModelCard>, fromFile: Partial<ModelCard> | null, source: string, notes: string[]): { card: ModelCard; cardSource: string } {
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
  const output = f.output ?? fromModel.output;
  if (mean) card.mean = mean;
  if (std) card.std = std;
  if (classNames) card.classNames = classNames;
  if (output) card.output = output;
  const cardSource = fromFile ? (Object.keys(fromModel).length ? `model + ${MODEL_CARD_FILE}` : MODEL_CARD_FILE) : 'model';
  return { card, cardSource };
}

/** What a model's declared input shape [batch, h, w, c] fixes of the card. */
export function cardFromInputShape(shape: readonly (number | null)[] | undefined): Partial<ModelCard> {
  const s = shape ?? [];
  const card: Partial<ModelCard> = {};
  if (s.length === 4 && (s[1] ?? -1) > 0 && (s[2] ?? -1) > 0) card.inputSize = [s[1]!, s[2]!];
  if (s.length === 4 && (s[3] === 1 || s[3] === 3)) card.channels = s[3];
  return card;
}

/** 'probabilities' when a Layers model's last layer is a softmax (a Dense with softmax activation or a Softmax layer). */
export function layersModelOutputKind(model: tfl.LayersModel): OutputKind | undefined {
  const last = model.layers[model.layers.length - 1];
  if (!last) return undefined;
  const config = last.getConfig() as { activation?: unknown };
  return last.getClassName() === 'Softmax' || config.activation === 'softmax' ? 'probabilities' : undefined;
}

/** The card of a Layers model: its input shape and softmax ending, completed by what its files say. */
export function layersModelCard(model: tfl.LayersModel, fromFile: Partial<ModelCard> | null, source: string, notes: string[]): { card: ModelCard; cardSource: string } {
  const fromModel = cardFromInputShape(model.inputs[0]!.shape);
  const output = layersModelOutputKind(model);
  if (output) fromModel.output = output;
  return completeCard(fromModel, fromFile, source, notes);
}

/** Describes the model's input for messages: '224×224×3, [0, 1], mean/std'. */
export function describeCard(card: ModelCard): string {
  return `${card.inputSize.join('×')}×${card.channels}, values in [${card.valueRange.join(', ')}]${card.mean || card.std ? ', mean/std normalised' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Layers: checks shared by every kind

/** Refuses a layer whose output is not float32 (t is conditioned on float tensors). */
export function checkFloat(z: tf.Tensor, model: string, layer: string): void {
  if (z.dtype !== 'float32') {
    throw new Error(`${model}: layer '${layer}' outputs ${z.dtype} values, not float32; t can only be conditioned on a float tensor. Pick a layer before the cast/argmax ('inntrospect layers ${model}' lists them)`);
  }
}

/**
 * Images per forward pass through the model. Analyses hand Φ batches of 64 or more; at 224×224 a
 * MobileNetV2 keeps gigabytes of activations per such batch (more than wasm's memory), so larger
 * batches run in chunks and are concatenated (still differentiable). INNTROSPECT_MODEL_BATCH
 * (Node) changes the default of 8.
 */
export function modelBatchSize(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const n = Number(env?.['INNTROSPECT_MODEL_BATCH'] ?? 8);
  return Number.isInteger(n) && n > 0 ? n : 8;
}

/** fn over x in chunks of `modelBatchSize()` images, concatenated (differentiable). */
export function chunked(x: tf.Tensor, fn: (part: tf.Tensor) => tf.Tensor): tf.Tensor {
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

/** [B, …] → [B, K]. */
export function flatten2d(y: tf.Tensor): tf.Tensor2D {
  return (y.rank === 2 ? y : tf.reshape(y, [y.shape[0]!, -1])) as tf.Tensor2D;
}

/** Where a model came from and what its input is, for the adapters below. */
export interface ModelOrigin {
  spec: string;
  kind: ModelSourceKind;
  card: ModelCard;
  cardSource: string;
  notes: string[];
}

/**
 * The adapter over a model that can be split at layers (a Layers model, a zoo model, one of our
 * staged classifiers). `release` frees the model.
 */
export function modelUnderStudyFromSplittable(origin: ModelOrigin, splittable: SplittableModel, release: () => void): ModelUnderStudy {
  const { card } = origin;
  const full = splittable.split(splittable.layers()[0]!.name);
  const pre = (x: tf.Tensor) => preprocessImages(x, card);
  const checked = new Map<string, ExternalLayer>();
  return {
    ...origin, name: splittable.name, outputKind: card.output ?? 'logits', hasPsi: true,
    layers: () => splittable.layers(),
    layerNames: () => splittable.layers().map((l) => l.name),
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

/** A node of a graph model's model.json (`modelTopology.node`). */
export interface GraphNodeJson { name: string; op: string; input?: string[] }

/** Whether a parsed model.json holds a graph model (a frozen TensorFlow graph) rather than a Layers model. */
export function isGraphModelJson(json: Record<string, unknown>): boolean {
  const topology = json['modelTopology'] as Record<string, unknown> | undefined;
  return json['format'] === 'graph-model' || Array.isArray(topology?.['node']);
}

const NON_LAYER_OPS = new Set(['Const', 'Placeholder', 'NoOp', 'Identity']);

/**
 * The nodes of a graph model's model.json, checked: each has a name and an op, names are
 * unique, and every input (`name`, `name:k` or the control input `^name`) is a node of the
 * graph. The error names the node and the input that is missing.
 */
export function graphNodes(json: Record<string, unknown>, source = 'graph model'): GraphNodeJson[] {
  const nodes = (json['modelTopology'] as { node?: unknown } | undefined)?.node ?? [];
  if (!Array.isArray(nodes)) throw new Error(`${source}: modelTopology.node must be a list of nodes`);
  const names = new Set<string>();
  nodes.forEach((n: Partial<GraphNodeJson> | null, i) => {
    if (!n || typeof n.name !== 'string' || typeof n.op !== 'string') throw new Error(`${source}: node ${i} has no name or op`);
    if (names.has(n.name)) throw new Error(`${source}: two nodes are named '${n.name}'`);
    names.add(n.name);
  });
  for (const n of nodes as GraphNodeJson[]) {
    if (n.input !== undefined && !Array.isArray(n.input)) throw new Error(`${source}: node '${n.name}': input must be a list of node names`);
    for (const input of n.input ?? []) {
      const name = typeof input === 'string' ? input.replace(/^\^/, '').replace(/:\d+$/, '') : '';
      if (!names.has(name)) throw new Error(`${source}: node '${n.name}' takes input ${JSON.stringify(input)}, which is no node of the graph`);
    }
  }
  return nodes as GraphNodeJson[];
}

/** 'probabilities' when the graph's last computing node is a Softmax. */
export function graphOutputKind(nodes: GraphNodeJson[]): OutputKind | undefined {
  const computing = nodes.filter((n) => !NON_LAYER_OPS.has(n.op));
  return computing[computing.length - 1]?.op === 'Softmax' ? 'probabilities' : undefined;
}

/** What a loaded graph model's single input fixes of the card (an error when it has several inputs). */
export function graphModelInputCard(model: tfl.GraphModel, source: string): Partial<ModelCard> {
  if (model.inputs.length !== 1) throw new Error(`${source}: a graph model needs one input, this one has ${model.inputs.length}`);
  return cardFromInputShape(model.inputs[0]!.shape);
}

/**
 * The adapter over a graph model: Φ = executing the graph up to a named node
 * (`model.execute(x, [node])`), f = executing it to its outputs. Ψ (node → output) cannot be
 * split off a frozen graph, so `psi` is absent and `psiUnavailable` says why.
 */
export function modelUnderStudyFromGraph(origin: ModelOrigin, model: tfl.GraphModel, nodes: GraphNodeJson[]): ModelUnderStudy {
  const { card, spec } = origin;
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
    ...origin, name: spec, outputKind: card.output ?? graphOutputKind(nodes) ?? 'logits', hasPsi: false, psiUnavailable,
    layers: infos,
    layerNames: () => layerNodes.map((n) => n.name),
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
