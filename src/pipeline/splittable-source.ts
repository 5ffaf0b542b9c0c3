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
import { openModelUnderStudy } from './external-model.ts';

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
