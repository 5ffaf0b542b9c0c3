/**
 * Any model a greybox can split, from one spec string: an inntrospect classifier (model file or
 * run folder), a TensorFlow.js Layers model folder / model.json, or a zoo model id. Node only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { splittableStages, type SplittableModel } from '../models/greybox.ts';
import { loadSplittableModel, type ZooModel } from '../models/layers-model-node.ts';
import { readModelOfKind } from './model-files.ts';

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
  const { model, splittable, zoo } = await loadSplittableModel(spec);
  return { splittable, zoo, dispose: () => model.dispose() };
}
