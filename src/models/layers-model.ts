/**
 * Greybox adapter for TensorFlow.js Layers models (browser-safe; `layers-model-node.ts` loads
 * them from local files and from npm packages).
 *
 * The graph is read from the model's symbolic tensors (each produced by one node of one layer).
 * Splitting at layer L with output tensor t:
 * - Φ runs the nodes t depends on (its ancestors), from the input;
 * - Ψ runs every other node the output depends on, in topological order, starting from z = t.
 *
 * Cut rule: L is a clean cut when t is the only tensor that Ψ's nodes read from Φ's side, i.e.
 * no skip connection crosses L. In MobileNetV2 the outputs of the residual `block_N_add` layers
 * and of the projection layers that feed them are cuts; a layer inside a residual block is not,
 * because the block's `add` also reads the block's input. A layer applied more than once (shared
 * weights) or with several outputs is not a cut either. Splitting at a layer that is not a cut
 * is refused with an error naming the tensors that cross it and listing the clean cut points.
 *
 * Both halves are executed by calling each layer on concrete tensors with the call arguments
 * recorded in the graph (inference mode: batch norm uses its moving statistics), so
 * Ψ(Φ(x)) equals `model.apply(x)` up to float rounding.
 */
import * as tfl from '@tensorflow/tfjs';
import { tf } from '../engine/index.ts';
import { checkBatchShape, layerError, splittableStages, type Greybox, type LayerInfo, type SplittableModel, type StagedModel } from './greybox.ts';

type Layer = tfl.layers.Layer;
type SymbolicTensor = tfl.SymbolicTensor;

/** The fields of tfjs-layers' internal `Node` that the executor reads. */
interface LayerNode {
  inputTensors: SymbolicTensor[];
  outputTensors: SymbolicTensor[];
  outboundLayer: Layer;
  callArgs?: Record<string, unknown>;
}

interface GraphNode {
  key: string;
  layer: Layer;
  node: LayerNode;
  inputs: number[];
  outputs: number[];
  isInput: boolean;
}

interface Graph {
  /** Nodes in topological order (inputs first). */
  order: GraphNode[];
  producer: Map<number, GraphNode>;
  inputId: number;
  outputId: number;
}

function nodeOf(tensor: SymbolicTensor): LayerNode {
  const nodes = (tensor.sourceLayer as unknown as { inboundNodes: LayerNode[] }).inboundNodes;
  const node = nodes[tensor.nodeIndex];
  if (!node) throw new Error(`layers model: tensor '${tensor.name}' has no producing node`);
  return node;
}

function buildGraph(model: tfl.LayersModel, name: string): Graph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`${name}: a greybox needs a model with one input and one output, this one has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const order: GraphNode[] = [];
  const byNode = new Map<LayerNode, GraphNode>();
  const producer = new Map<number, GraphNode>();
  const visit = (tensor: SymbolicTensor): void => {
    const node = nodeOf(tensor);
    if (byNode.has(node)) return;
    const layer = node.outboundLayer;
    const g: GraphNode = {
      key: `${layer.name}#${tensor.nodeIndex}`,
      layer,
      node,
      inputs: node.inputTensors.map((t) => t.id),
      outputs: node.outputTensors.map((t) => t.id),
      isInput: layer.getClassName() === 'InputLayer',
    };
    byNode.set(node, g);
    for (const t of node.inputTensors) visit(t);
    for (const id of g.outputs) producer.set(id, g);
    order.push(g);
  };
  visit(model.outputs[0]!);
  return { order, producer, inputId: model.inputs[0]!.id, outputId: model.outputs[0]!.id };
}

function ancestors(graph: Graph, tensorId: number): Set<GraphNode> {
  const seen = new Set<GraphNode>();
  const stack = [tensorId];
  while (stack.length > 0) {
    const g = graph.producer.get(stack.pop()!);
    if (!g || seen.has(g)) continue;
    seen.add(g);
    stack.push(...g.inputs);
  }
  return seen;
}

interface CutAnalysis {
  tensorId: number;
  phiNodes: GraphNode[];
  psiNodes: GraphNode[];
  /** Tensors other than z that Ψ would need from Φ's side. */
  crossing: number[];
}

function analyseCut(graph: Graph, g: GraphNode): CutAnalysis {
  const t = g.outputs[0]!;
  const before = ancestors(graph, t);
  const phiNodes = graph.order.filter((n) => before.has(n));
  const psiNodes = graph.order.filter((n) => !before.has(n));
  const crossing = new Set<number>();
  for (const n of psiNodes) {
    for (const id of n.inputs) {
      const p = graph.producer.get(id);
      if (id !== t && p !== undefined && before.has(p)) crossing.add(id);
    }
  }
  const out = graph.producer.get(graph.outputId);
  if (out !== undefined && before.has(out) && graph.outputId !== t) crossing.add(graph.outputId);
  return { tensorId: t, phiNodes, psiNodes, crossing: [...crossing] };
}

function execute(nodes: GraphNode[], seed: Map<number, tf.Tensor>, resultId: number, what: string): tf.Tensor {
  return tf.tidy(() => {
    const values = new Map(seed);
    for (const g of nodes) {
      if (g.isInput) continue;
      const inputs = g.inputs.map((id) => {
        const v = values.get(id);
        if (v === undefined) throw new Error(`${what}: layer '${g.layer.name}' needs a tensor that was not computed (internal error)`);
        return v;
      });
      const out = g.layer.apply(inputs.length === 1 ? inputs[0]! : inputs, { ...(g.node.callArgs ?? {}) }) as tf.Tensor | tf.Tensor[];
      const outs = Array.isArray(out) ? out : [out];
      g.outputs.forEach((id, k) => values.set(id, outs[k]!));
    }
    const result = values.get(resultId);
    if (result === undefined) throw new Error(`${what}: the result tensor was not computed (internal error)`);
    return result;
  });
}

function shapeOf(t: SymbolicTensor): number[] {
  return t.shape.slice(1).map((d) => (d === null ? -1 : d));
}

/**
 * Makes a Layers model splittable at any clean cut.
 *
 * @example
 *   const sm = splittableLayersModel(mobilenet, 'nsfwjs-mobilenet-v2');
 *   sm.layers().filter((l) => l.cut).map((l) => l.name);   // clean cut points
 *   const gb = sm.split('block_13_expand');                 // throws: not a clean cut, lists valid ones
 */
export function splittableLayersModel(model: tfl.LayersModel, name = model.name): SplittableModel {
  const graph = buildGraph(model, name);
  const inputShape = shapeOf(model.inputs[0]!);
  const outputTensor = model.outputs[0]!;
  const nodesOfLayer = new Map<Layer, GraphNode[]>();
  for (const g of graph.order) nodesOfLayer.set(g.layer, [...(nodesOfLayer.get(g.layer) ?? []), g]);
  const tensorName = (id: number): string => graph.producer.get(id)?.layer.name ?? `tensor ${id}`;

  const info = (layer: Layer): { info: LayerInfo; cut?: CutAnalysis } => {
    const nodes = nodesOfLayer.get(layer) ?? [];
    const base = { name: layer.name, className: layer.getClassName() };
    if (nodes.length === 0) return { info: { ...base, outputShape: [], cut: false, reason: 'not used to compute the output' } };
    const first = nodes[0]!;
    const outputShape = shapeOf(first.node.outputTensors[0]!);
    if (nodes.length > 1) return { info: { ...base, outputShape, cut: false, reason: `applied ${nodes.length} times (shared weights)` } };
    if (first.outputs.length !== 1) return { info: { ...base, outputShape, cut: false, reason: `has ${first.outputs.length} outputs` } };
    const cut = analyseCut(graph, first);
    if (cut.crossing.length > 0) {
      const needed = cut.crossing.map(tensorName).join(', ');
      return { info: { ...base, outputShape, cut: false, reason: `a skip connection crosses it: the rest of the model also needs ${needed}` }, cut };
    }
    return { info: { ...base, outputShape, cut: true }, cut };
  };

  let cache: Map<string, { info: LayerInfo; cut?: CutAnalysis }> | null = null;
  const all = (): Map<string, { info: LayerInfo; cut?: CutAnalysis }> => {
    if (cache === null) cache = new Map(model.layers.map((l) => [l.name, info(l)]));
    return cache;
  };
  const layers = (): LayerInfo[] => [...all().values()].map((v) => v.info);

  return {
    name,
    inputShape,
    layers,
    split(layer: string): Greybox {
      const entry = all().get(layer);
      if (entry === undefined) throw layerError(name, layer, layers());
      if (!entry.info.cut || entry.cut === undefined) {
        throw layerError(name, layer, layers(), `layer '${layer}' is not a clean cut (${entry.info.reason})`);
      }
      const { tensorId, phiNodes, psiNodes } = entry.cut;
      const zShape = entry.info.outputShape;
      return {
        modelName: name,
        layer,
        inputShape,
        zShape,
        outputShape: shapeOf(outputTensor),
        phi: (x) => {
          checkBatchShape(x, inputShape, `${name} Φ (input)`);
          return execute(phiNodes, new Map([[graph.inputId, x]]), tensorId, `${name} Φ`);
        },
        psi: (z) => {
          checkBatchShape(z, zShape, `${name} Ψ (layer '${layer}')`);
          return execute(psiNodes, new Map([[tensorId, z]]), graph.outputId, `${name} Ψ`);
        },
        f: (x) => {
          checkBatchShape(x, inputShape, `${name} f (input)`);
          return model.apply(x, { training: false }) as tf.Tensor;
        },
      };
    },
  };
}

/** Loads a Layers model over http(s) (browser or any fetch-capable runtime): `url` points at model.json. */
export async function loadLayersModelUrl(url: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(url);
}

function isLayersModel(model: unknown): model is tfl.LayersModel {
  return model instanceof tfl.LayersModel;
}

function isSplittable(model: unknown): model is SplittableModel {
  return typeof (model as SplittableModel).split === 'function' && typeof (model as SplittableModel).layers === 'function';
}

/**
 * Splits any supported model at `layer`: a SplittableModel, a tfjs Layers model, or a staged
 * model of our own.
 *
 * @example
 *   const gb = greybox(classifier, 'conv3');      // StagedClassifier
 *   const gb2 = greybox(mobilenet, 'block_12_add'); // tf.LayersModel
 */
export function greybox(model: SplittableModel | tfl.LayersModel | StagedModel, layer: string): Greybox {
  if (isLayersModel(model)) return splittableLayersModel(model).split(layer);
  if (isSplittable(model)) return model.split(layer);
  return splittableStages(model).split(layer);
}
