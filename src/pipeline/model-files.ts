/**
 * Reads any model file inntrospect writes from a path or a run folder (Node only); files inside
 * a zoo folder are verified against the zoo's manifest.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseModelText, type LoadedModel } from './model-text.ts';
import { manifestFiles, ZOO_FORMAT, ZooChecksumError, type ZooManifest } from '../zoo/manifest.ts';

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
  return { ...parseModelText(bytes.toString('utf8'), path), path } as LoadedModel;
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

export { parseModelText, type LoadedModel };
