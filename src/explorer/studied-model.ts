/**
 * The model under study as the explorer's worker uses it, whoever trained it: inntrospect's own
 * classifier (from a zoo or a classifier run), or a model loaded from the repacked model.json and
 * weights the server makes of a zoo id or a TensorFlow.js Layers/graph model folder, or the
 * .onnx file of an ONNX model
 * (src/pipeline/run-sources.ts). Either way the worker sees Φ per layer and f as logits, through the same
 * adapter (src/models/model-under-study.ts) as `inntrospect train cinn` and the analysis commands,
 * so the page shows what the CLI computes. Browser-safe.
 */
import * as tfl from '@tensorflow/tfjs';
import { tf } from '../engine/index.ts';
import { splittableStages } from '../models/greybox.ts';
import { splittableLayersModel } from '../models/layers-model.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import {
  completeCard, describeCard, graphModelInputCard, graphNodes, layersModelCard,
  modelUnderStudyFromGraph, modelUnderStudyFromSplittable, type ModelCard, type ModelUnderStudy,
} from '../models/model-under-study.ts';
import { openOnnxModel } from '../models/onnx/onnx-model.ts';
import type { ExternalModelEntry } from '../zoo/pipeline-manifest.ts';

export interface StudiedModel {
  /** For titles. */
  name: string;
  /** f(x) as logits (log-probabilities for a model that ends in a softmax), [B, K]. */
  logits(x: tf.Tensor): tf.Tensor2D;
  /** Names of f's outputs, when known. */
  outputNames: string[];
  /** Φ at a layer (x in [-1, 1] at the AE's size); an unknown layer's error lists the valid ones. */
  layer(name: string): { zShape: number[]; phi(x: tf.Tensor): tf.Tensor };
  /** Layer names from the input side. */
  layerOrder(): string[];
  /** The model's input, for the page: '224×224×3, values in [0, 1]'. */
  input: string;
  dispose(): void;
}

/** inntrospect's own staged classifier (its input is the AE's images, so no preprocessing). */
export function studiedClassifier(classifier: StagedClassifier, outputNames: string[]): StudiedModel {
  const splittable = splittableStages({ name: 'classifier', inputShape: classifier.inputShape, stages: classifier.stages });
  return {
    name: classifier.className,
    logits: (x) => classifier.logits(x),
    outputNames,
    layer: (name) => splittable.split(name),
    layerOrder: () => ['input', ...classifier.stages.map((s) => s.name)],
    input: `${classifier.inputShape.join('×')}, values in [-1, 1]`,
    dispose: () => classifier.dispose(),
  };
}

/** A model under study of the shared adapter (any kind), its probabilities turned into log-probabilities. */
export function studiedExternal(model: ModelUnderStudy): StudiedModel {
  const probabilities = model.outputKind === 'probabilities';
  const { card } = model;
  return {
    name: model.name,
    logits: (x) => (probabilities ? tf.tidy(() => tf.log(tf.maximum(model.classify(x), 1e-12)) as tf.Tensor2D) : model.classify(x)),
    outputNames: card.classNames ?? [],
    layer: (name) => model.layer(name),
    layerOrder: () => model.layerNames(),
    input: `${describeCard(card)}${probabilities ? ', outputs probabilities' : ''}`,
    dispose: () => model.dispose(),
  };
}

/**
 * Loads an external model from its two verified files (model.json text and the weights' bytes).
 * Notes (assumptions the card leaves open) are returned for the model list.
 */
export async function loadExternalModel(entry: ExternalModelEntry, jsonText: string, weights: Uint8Array): Promise<{ model: StudiedModel; notes: string[] }> {
  if (entry.format === 'onnx') {
    // The .onnx bytes themselves (external data inlined by the server), through the CLI's code.
    const model = openOnnxModel(weights, { spec: entry.spec, source: entry.spec, cardFile: entry.card });
    return { model: studiedExternal(model), notes: model.notes };
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(jsonText) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${entry.json.file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const manifest = json['weightsManifest'] as { weights: tfl.io.WeightsManifestEntry[] }[] | undefined;
  const artifacts: tfl.io.ModelArtifacts = {
    modelTopology: json['modelTopology'] as object,
    weightSpecs: (manifest ?? []).flatMap((g) => g.weights),
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    format: json['format'] as string | undefined,
    signature: json['signature'] as object | undefined,
    userDefinedMetadata: json['userDefinedMetadata'] as Record<string, object> | undefined,
    modelInitializer: json['modelInitializer'] as object | undefined,
  };
  const handler: tfl.io.IOHandler = { load: async () => artifacts };
  const notes: string[] = [];
  const fromFiles: Partial<ModelCard> | null = entry.card;
  if (entry.format === 'graph') {
    const graph = await tfl.loadGraphModel(handler);
    try {
      const { card, cardSource } = completeCard(graphModelInputCard(graph, entry.spec), fromFiles, entry.spec, notes);
      return { model: studiedExternal(modelUnderStudyFromGraph({ spec: entry.spec, kind: 'graph', card, cardSource, notes }, graph, graphNodes(json))), notes };
    } catch (error) {
      graph.dispose();
      throw error;
    }
  }
  const layers = await tfl.loadLayersModel(handler);
  try {
    const { card, cardSource } = layersModelCard(layers, fromFiles, entry.spec, notes);
    const splittable = splittableLayersModel(layers, entry.spec);
    const kind = entry.cardSource.startsWith('zoo') ? 'zoo' : 'layers';
    return { model: studiedExternal(modelUnderStudyFromSplittable({ spec: entry.spec, kind, card, cardSource: entry.cardSource || cardSource, notes }, splittable, () => layers.dispose())), notes };
  } catch (error) {
    layers.dispose();
    throw error;
  }
}
