/**
 * Any model a greybox can split, from one spec string: an inntrospect classifier (model file or
 * run folder), a TensorFlow.js Layers model folder / model.json, or a zoo model id; a TensorFlow.js
 * graph model lists its nodes (Φ only, see external-model.ts) but cannot be split. Node only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { splittableStages, type SplittableModel } from '../models/greybox.ts';
import { loadSplittableModel, type ZooModel } from '../models/layers-model-node.ts';
import { readModelOfKind } from './model-files.ts';
import type { OnnxFacts, OnnxModelUnderStudy } from '../models/onnx/onnx-model.ts';
import { openModelUnderStudy } from './external-model.ts';
import { onnxFileOf } from './onnx-files.ts';

/** A TensorFlow.js graph model folder / model.json (format 'graph-model' or a node list). */
function isGraphModel(spec: string): boolean {
  if (!existsSync(spec)) return false;
  const file = statSync(spec).isDirectory() ? join(spec, 'model.json') : spec;
  if (!existsSync(file)) return false;
  try {
    const json = JSON.parse(readFileSync(file, 'utf8')) as { format?: string; modelTopology?: { node?: unknown } };
    return json.format === 'graph-model' || Array.isArray(json.modelTopology?.node);
  } catch {
    return false;
  }
}

export interface SplittableSource {
  splittable: SplittableModel;
  zoo?: ZooModel;
  /** An ONNX file's opset, producer and input. */
  onnx?: OnnxFacts;
  dispose(): void;
}

function isOwnModelFile(spec: string): boolean {
  if (!existsSync(spec)) return false;
  const file = statSync(spec).isDirectory() ? join(spec, 'model.json') : spec;
  if (!existsSync(file)) return false;
  const head = readFileSync(file, 'utf8').slice(0, 200);
  return head.includes('"format":"inntrospect-model/1"');
}

export async function loadSplittable(spec: string): Promise<SplittableSource> {
  if (isOwnModelFile(spec)) {
    const { model } = readModelOfKind(spec, 'classifier', 'model');
    return {
      splittable: splittableStages({ name: model.className, inputShape: model.inputShape, stages: model.stages }),
      dispose: () => model.dispose(),
    };
  }
  if (onnxFileOf(spec)) {
    // ONNX: Φ at every node, Ψ at the clean cuts (the rest of the graph from there).
    const m = (await openModelUnderStudy(spec)) as unknown as OnnxModelUnderStudy;
    const inputShape = [...m.card.inputSize, m.card.channels];
    const splittable: SplittableModel = {
      name: m.name, inputShape,
      layers: () => m.layers(),
      split: (layer) => {
        const l = m.layer(layer);
        if (!l.psi) throw new Error(`${spec}: node '${layer}' is not a clean cut (${m.layers().find((i) => i.name === l.name)?.reason ?? ''}); Ψ exists only at clean cuts`);
        const outputShape = m.program.cuts.find((c) => c.output === m.program.outputName)!.shape;
        const { program } = m;
        const cut = program.cut(layer)!;
        return {
          modelName: m.name, layer, inputShape, zShape: l.zShape, outputShape,
          phi: (x) => program.run(x, cut.output), psi: l.psi, f: (x) => program.run(x),
        };
      },
    };
    return { splittable, onnx: m.onnx, dispose: () => m.dispose() };
  }
  if (isGraphModel(spec)) {
    // Graph models have Φ (to any node) but no Ψ: list their nodes; splitting says why not.
    const m = await openModelUnderStudy(spec);
    const splittable: SplittableModel = {
      name: m.name,
      inputShape: [...m.card.inputSize, m.card.channels],
      layers: () => m.layers(),
      split: () => { throw new Error(m.psiUnavailable ?? `${spec}: cannot be split`); },
    };
    return { splittable, dispose: () => m.dispose() };
  }
  const { model, splittable, zoo } = await loadSplittableModel(spec);
  return { splittable, zoo, dispose: () => model.dispose() };
}
