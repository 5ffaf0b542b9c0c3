/**
 * An ONNX file as the model under study: the adapter of src/models/model-under-study.ts over an
 * ONNX program (program.ts), so train cinn, the analyses, the report and the explorer see
 *
 *     Φ(x) = Φ_node(preprocess(x)),   f(x) = graph(preprocess(x)),   Ψ = rest of the graph at clean cuts.
 *
 * The model's NCHW input is fed as the NHWC images preprocess makes (no transpose: the runner
 * stores 4-D activations NHWC, values.ts); Φ at a node with a 4-D output returns [B, H, W, C]
 * with the model's own channel order, other outputs as the model has them. Browser-safe: the
 * caller hands over the file's bytes (and, in Node, a reader for external data).
 */
import { tf } from '../../engine/index.ts';
import type { LayerInfo } from '../greybox.ts';
import {
  checkFloat, chunked, completeCard, flatten2d, preprocessImages,
  type ExternalLayer, type ModelCard, type ModelUnderStudy, type OutputKind,
} from '../model-under-study.ts';
import { parseOnnx, type ExternalDataReader, type OnnxGraph } from './onnx-graph.ts';
import { loadOnnxProgram, type OnnxCut, type OnnxProgram } from './program.ts';

/** What `inntrospect layers` prints about an ONNX file beyond its layers. */
export interface OnnxFacts {
  opset: number;
  irVersion: number;
  producer: string;
  inputName: string;
  /** The input as the file declares it ([batch, C, H, W], symbolic dimensions by name). */
  inputDims: (number | string)[];
}

export type OnnxModelUnderStudy = ModelUnderStudy & { onnx: OnnxFacts; program: OnnxProgram };

/** What the file's input fixes of the card; an input that is not an image batch is an error. */
export function onnxInputCard(graph: OnnxGraph): Partial<ModelCard> {
  const { input, source } = graph;
  const dims = input.dims;
  if (!dims || dims.length !== 4) {
    const shape = dims ? `[${dims.join(', ')}]` : 'no declared shape';
    throw new Error(`${source}: the input '${input.name}' has ${dims ? `rank ${dims.length}` : 'no rank'} (${shape}); a model card describes image inputs [batch, channels, height, width] (rank 4, NCHW, as torch.onnx.export writes them), so this model cannot be studied`);
  }
  if (input.elemType !== 'FLOAT') throw new Error(`${source}: the input '${input.name}' holds ${input.elemType} values; a model under study takes FLOAT images`);
  const card: Partial<ModelCard> = {};
  const [, c, h, w] = dims;
  if (typeof c === 'number') {
    if (c !== 1 && c !== 3) throw new Error(`${source}: the input '${input.name}' has ${c} channels ([${dims.join(', ')}]); a model under study takes grey (1) or RGB (3) images in NCHW order`);
    card.channels = c;
  }
  if (typeof h === 'number' && typeof w === 'number') card.inputSize = [h, w];
  return card;
}

/** 'probabilities' when the graph's last node is a Softmax. */
function outputKindOf(graph: OnnxGraph): OutputKind | undefined {
  return graph.nodes[graph.nodes.length - 1]?.opType === 'Softmax' ? 'probabilities' : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length]!;
}

/** The names closest to `name` (edit distance, case-insensitive), at most `n`. */
export function closeNames(name: string, names: string[], n = 5): string[] {
  const key = name.toLowerCase();
  return names
    .map((c) => ({ c, d: editDistance(key, c.toLowerCase()) - (c.toLowerCase().includes(key) ? key.length : 0) }))
    .sort((a, b) => a.d - b.d)
    .slice(0, n)
    .map((e) => e.c);
}

export interface OpenOnnxOptions {
  /** The spec the user gave (for titles and messages). */
  spec: string;
  /** The .onnx file's path or name, for messages. */
  source: string;
  /** model-card.json's fields, or null. */
  cardFile: Partial<ModelCard> | null;
  /** Reads external data next to the file (Node); absent in the browser. */
  external?: ExternalDataReader;
}

/**
 * Opens an ONNX model from its bytes: parses it, completes the card, loads the program.
 *
 * @example
 *   const m = openOnnxModel(readFileSync('cnn.onnx'), { spec: 'cnn.onnx', source: 'cnn.onnx', cardFile: null });
 *   const z = m.layer('/conv2/Conv').phi(x);       // x: [B, H, W, C] in [-1, 1]; z: [B, h, w, c]
 */
export function openOnnxModel(bytes: Uint8Array, options: OpenOnnxOptions): OnnxModelUnderStudy {
  const { spec, source } = options;
  const graph = parseOnnx(bytes, source, options.external);
  const notes: string[] = [];
  const fromModel = onnxInputCard(graph);
  const output = outputKindOf(graph);
  if (output) fromModel.output = output;
  const { card, cardSource } = completeCard(fromModel, options.cardFile, source, notes);
  const program = loadOnnxProgram(graph, [card.channels, card.inputSize[0], card.inputSize[1]]);
  const pre = (x: tf.Tensor) => preprocessImages(x, card);
  const facts: OnnxFacts = { opset: graph.opset, irVersion: graph.irVersion, producer: graph.producer, inputName: graph.input.name, inputDims: graph.input.dims ?? [] };
  const infos: LayerInfo[] = program.cuts.map((c) => ({
    name: c.name, className: c.opType, outputShape: c.shape, cut: c.clean,
    ...(c.clean ? {} : { reason: `Φ only: ${c.reason}` }),
  }));
  // A 4-D output (stored NHWC) goes back to the model's NCHW order, so f flattens as the model would.
  const outputNhwc = program.cut(program.outputName)?.nhwc ?? false;
  const checked = new Map<string, ExternalLayer>();
  const find = (name: string): OnnxCut => {
    const cut = program.cut(name);
    if (cut) return cut;
    const close = closeNames(name, program.cuts.map((c) => c.name));
    throw new Error(`${spec}: no node '${name}' (${program.cuts.length} nodes; the closest names are ${close.join(', ')}); 'inntrospect layers ${spec}' lists them all`);
  };
  return {
    spec, name: spec, kind: 'onnx', card, cardSource, notes, onnx: facts, program,
    outputKind: card.output ?? 'logits',
    hasPsi: true,
    psiUnavailable: `${spec}: Ψ (node → output) exists only at clean cuts, where nothing else computed from the image passes around the node; elsewhere the analyses that need only Φ, t and f run (sample, invariance, mix, attack)`,
    layers: () => infos,
    layerNames: () => program.cuts.map((c) => c.name),
    layer(name: string): ExternalLayer {
      const cached = checked.get(name);
      if (cached) return cached;
      const cut = find(name);
      tf.tidy(() => checkFloat(program.run(tf.zeros([1, card.inputSize[0], card.inputSize[1], card.channels]), cut.output), spec, name));
      const layer: ExternalLayer = {
        name: cut.name, zShape: cut.shape,
        phi: (x) => chunked(x, (part) => program.run(pre(part), cut.output)),
        ...(cut.clean ? { psi: (z: tf.Tensor) => program.runFrom(cut.name, z) } : {}),
      };
      checked.set(name, layer);
      return layer;
    },
    preprocess: pre,
    classify: (x) => chunked(x, (part) => flatten2d(outputNhwc ? tf.transpose(program.run(pre(part)), [0, 3, 1, 2]) : program.run(pre(part)))) as tf.Tensor2D,
    dispose: () => program.dispose(),
  };
}
