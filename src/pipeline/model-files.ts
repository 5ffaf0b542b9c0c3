/**
 * Reads any model file inntrospect writes — autoencoder, classifier (src/models checkpoints) or
 * flow (t, e) — from a path or a run folder, and says what it is. Node only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import '../models/autoencoder.ts';
import '../models/classifier-colormnist.ts';
import '../models/squeezenet.ts';
import { Autoencoder } from '../models/autoencoder.ts';
import { loadModel, parseCheckpoint } from '../models/checkpoints.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import { loadFlow, SAVED_FLOW_FORMAT } from '../flows/serialize.ts';
import { ConditionalINN } from '../flows/cinn.ts';
import { SemanticINN } from '../flows/iin.ts';
import { unpackModelText } from '../zoo/pack.ts';
import { manifestFiles, ZOO_FORMAT, ZooChecksumError, type ZooManifest } from '../zoo/manifest.ts';

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
    if (existsSync(join(spec, 'manifest.json')) && !existsSync(join(spec, 'model.json'))) {
      throw new Error(`${spec} is a zoo folder; name one of its model files (e.g. ${join(spec, 'ae.json')})`);
    }
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

/**
 * A file inside a zoo folder (next to its manifest.json, or one level below) must match the
 * manifest's sha256; anything else is an error rather than a silently different model.
 */
function verifyAgainstZoo(path: string, bytes: Buffer): void {
  for (const dir of [dirname(path), dirname(dirname(path))]) {
    const manifestPath = join(dir, 'manifest.json');
    if (!existsSync(manifestPath)) continue;
    let manifest: ZooManifest;
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as ZooManifest;
    } catch {
      continue;
    }
    if (manifest.format !== ZOO_FORMAT) continue;
    const rel = relative(dir, path).split('\\').join('/');
    const entry = manifestFiles(manifest).find((e) => e.file === rel);
    if (!entry) return;
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== entry.sha256) {
      throw new ZooChecksumError(path, entry.sha256, actual);
    }
    return;
  }
}

export function readModel(spec: string): LoadedModel {
  const path = resolveModelPath(spec);
  const bytes = readFileSync(path);
  verifyAgainstZoo(path, bytes);
  return { ...parseModelText(unpackModelText(bytes.toString('utf8')), path), path } as LoadedModel;
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
