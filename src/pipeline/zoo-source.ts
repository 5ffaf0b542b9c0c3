/**
 * A zoo folder as a pipeline (Node): its manifest.json, checked, and a reader of the folder's
 * files for `openPipeline` (open-pipeline.ts). Also finds the zoo shipped inside the npm
 * package, so `open('zoo/colormnist')` and the CLI's default work from any folder once
 * inntrospect is installed (a `zoo/colormnist` below the current folder wins).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkManifest, openPipeline, type OpenPipelineOptions, type Pipeline, type PipelineReader } from './open-pipeline.ts';
import { resolveInside } from '../models/contained-path.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The package's root: two levels above this file, in the checkout (src/) and in the package (dist/) alike. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The zoo's default source name; the CLI's analyses and `explore` use it when given none. */
export const DEFAULT_ZOO = 'zoo/colormnist';

/**
 * Where a source named `spec` is: as given when it exists, else the package's own zoo for a
 * name `zoo/<name>` (the zoo ships inside the package). Unchanged when neither exists, so the
 * caller's "does not exist" error names what the user wrote.
 *
 * @example
 *   resolveSourcePath('zoo/colormnist');   // ./zoo/colormnist, or <package>/zoo/colormnist
 */
export function resolveSourcePath(spec: string): string {
  if (existsSync(spec)) return spec;
  const m = /^(?:\.\/)?zoo\/([A-Za-z0-9._-]+)\/?$/.exec(spec);
  if (m) {
    const shipped = join(PACKAGE_ROOT, 'zoo', m[1]!);
    if (existsSync(join(shipped, 'manifest.json'))) return shipped;
  }
  return spec;
}

export function isZooFolder(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json'));
}

/** Every file a manifest names (null entries, such as a zoo without e, left out). */
function manifestEntryFiles(m: ExplorerManifest): unknown[] {
  const entries: unknown[] = [m.ae, m.classifier, m.model?.json, m.model?.weights, ...(m.snapshots ?? []), ...(m.dynamics ?? []), ...Object.values(m.cinn ?? {}), m.iin];
  return entries.filter((e): e is { file: unknown } => e !== null && typeof e === 'object').map((e) => e.file);
}

/**
 * Reads files below `dir`, refusing any path that leaves it (a manifest is the user's file);
 * every read goes through `onRead` (tests count them). `source` names the manifest in errors.
 */
export function folderReader(dir: string, onRead?: (file: string) => void, source = join(dir, 'manifest.json')): PipelineReader {
  return {
    read: async (file) => {
      onRead?.(file);
      const path = resolveInside(dir, file, source, `the entry for '${String(file)}'`);
      if (!existsSync(path)) throw new Error(`zoo file ${path} is missing`);
      return new Uint8Array(await readFile(path));
    },
    sha256: async (bytes) => sha256(bytes),
    describe: (file) => join(dir, file),
  };
}

/**
 * Opens a zoo folder lazily: only manifest.json is read now.
 *
 * @example
 *   const p = openZooFolder('zoo/colormnist');
 *   const ae = await p.autoencoder();
 */
export function openZooFolder(dir: string, options: OpenPipelineOptions & { onRead?: (file: string) => void } = {}): Pipeline {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new Error(`${dir} is not a zoo folder (no manifest.json)`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`zoo manifest ${path} is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  options.onRead?.('manifest.json');
  const manifest = checkManifest(json, path);
  // Every entry is checked now, before anything loads, so a manifest can never make us read elsewhere.
  for (const file of manifestEntryFiles(manifest)) resolveInside(dir, file, path, `the entry for '${String(file)}'`);
  return openPipeline(manifest, folderReader(resolve(dir), options.onRead, path), options);
}
