/**
 * Reads any model file inntrospect writes — autoencoder, classifier (src/models checkpoints) or
 * flow (t, e) — from a path or a run folder, and says what it is. Node only.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import '../models/autoencoder.ts';
import '../models/classifier-colormnist.ts';
import '../models/squeezenet.ts';
import { Autoencoder } from '../models/autoencoder.ts';
import { loadModel, parseCheckpoint } from '../models/checkpoints.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { loadFlow, SAVED_FLOW_FORMAT } from '../flows/serialize.ts';
import { ConditionalINN } from '../flows/cinn.ts';
import { SemanticINN } from '../flows/iin.ts';

export type LoadedModel =
  | { kind: 'autoencoder'; path: string; model: Autoencoder }
  | { kind: 'classifier'; path: string; model: StagedClassifier }
  | { kind: 'cinn'; path: string; model: ConditionalINN }
  | { kind: 'iin'; path: string; model: SemanticINN };

/** A model file path: the file itself, or `<run folder>/model.json`. */
export function resolveModelPath(spec: string): string {
  if (!spec) throw new Error('no model given (expected a model file or a run folder)');
  if (!existsSync(spec)) throw new Error(`model '${spec}' does not exist`);
  if (statSync(spec).isDirectory()) {
    const file = join(spec, 'model.json');
    if (!existsSync(file)) throw new Error(`${spec} holds no model.json (is the run finished? train with --resume to complete it)`);
    return file;
  }
  return spec;
}

/** Parses a model file's text; `source` names it in errors. */
export function parseModelText(text: string, source: string): Omit<LoadedModel, 'path'> {
  let raw: { format?: unknown; className?: unknown };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (error) {
    throw new Error(`${source} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (raw.format === SAVED_FLOW_FORMAT) {
    const flow = loadFlow(raw);
    if (flow instanceof ConditionalINN) return { kind: 'cinn', model: flow };
    if (flow instanceof SemanticINN) return { kind: 'iin', model: flow };
    flow.dispose();
    throw new Error(`${source} holds a flow block '${String(raw.className)}', not a complete t or e`);
  }
  if (raw.format === 'inntrospect-model/1') {
    const model = loadModel(parseCheckpoint(text));
    if (model instanceof Autoencoder) return { kind: 'autoencoder', model };
    if ('stages' in model && 'logits' in model) return { kind: 'classifier', model: model as unknown as StagedClassifier };
    model.dispose();
    throw new Error(`${source} holds a '${String(raw.className)}', which is not an autoencoder or classifier`);
  }
  throw new Error(`${source} is not an inntrospect model file (format '${String(raw.format)}')`);
}

export function readModel(spec: string): LoadedModel {
  const path = resolveModelPath(spec);
  return { ...parseModelText(readFileSync(path, 'utf8'), path), path } as LoadedModel;
}

/** Reads a model and checks its kind, with an error that says what was expected. */
export function readModelOfKind<K extends LoadedModel['kind']>(spec: string, kind: K, role: string): Extract<LoadedModel, { kind: K }> {
  const loaded = readModel(spec);
  if (loaded.kind !== kind) {
    loaded.model.dispose();
    throw new Error(`${role}: ${loaded.path} is a ${loaded.kind}, expected a ${kind}`);
  }
  return loaded as Extract<LoadedModel, { kind: K }>;
}
