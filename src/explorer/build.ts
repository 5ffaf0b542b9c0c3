/**
 * Bundles the explorer (page + worker) with esbuild into a git-ignored folder (default
 * build/explorer/) and rebuilds only when a source is newer than the last build: every input
 * esbuild read is recorded in build-inputs.json with the build's time. Node only.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_BUILD_DIR = join(REPO_ROOT, 'build', 'explorer');
const SOURCE_DIR = join(REPO_ROOT, 'src', 'explorer');
const STATIC_FILES = ['index.html', 'style.css'];
const RECORD = 'build-inputs.json';
/** Changes whenever the build's own options change, so an old bundle is not reused. */
const BUILD_VERSION = 1;

interface BuildRecord {
  version: number;
  builtAt: number;
  inputs: string[];
}

export interface BuildResult {
  dir: string;
  /** false when the existing bundle was up to date. */
  rebuilt: boolean;
  /** Why it was (re)built. */
  reason: string;
  millis: number;
}

/** Why the bundle in `dir` is stale, or null when it is up to date. */
export function staleReason(dir: string): string | null {
  const recordPath = join(dir, RECORD);
  if (!existsSync(recordPath)) return 'no previous build';
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as BuildRecord;
  } catch {
    return 'unreadable build record';
  }
  if (record.version !== BUILD_VERSION) return 'build options changed';
  for (const f of ['app.js', 'worker.js', ...STATIC_FILES]) if (!existsSync(join(dir, f))) return `${f} is missing`;
  const inputs = [...record.inputs, ...STATIC_FILES.map((f) => join(SOURCE_DIR, 'static', f))];
  for (const input of inputs) {
    const path = resolve(REPO_ROOT, input);
    if (!existsSync(path)) return `${input} was removed`;
    if (statSync(path).mtimeMs > record.builtAt) return `${input} changed`;
  }
  return null;
}

/** The bundle `npm run build` puts into the package (dist/explorer-page/). */
export const PREBUILT_DIR = join(REPO_ROOT, 'dist', 'explorer-page');

/**
 * The explorer bundle to serve: in a checkout (src/explorer/ present) built if its sources
 * changed; in an installed package the prebuilt one, so no devDependency (esbuild) is needed.
 *
 * @example
 *   const { dir } = await explorerBundle();
 */
export async function explorerBundle(force = false): Promise<BuildResult> {
  if (existsSync(join(SOURCE_DIR, 'page.ts'))) return ensureExplorerBuilt(DEFAULT_BUILD_DIR, force);
  for (const f of ['app.js', 'worker.js', ...STATIC_FILES]) {
    if (!existsSync(join(PREBUILT_DIR, f))) throw new Error(`the package's prebuilt explorer is incomplete (${join(PREBUILT_DIR, f)} is missing); reinstall inntrospect`);
  }
  return { dir: PREBUILT_DIR, rebuilt: false, reason: 'prebuilt in the package', millis: 0 };
}

/**
 * Builds the explorer if needed.
 *
 * @example
 *   const { dir, rebuilt } = await ensureExplorerBuilt();
 */
export async function ensureExplorerBuilt(dir = DEFAULT_BUILD_DIR, force = false): Promise<BuildResult> {
  const t0 = performance.now();
  const reason = force ? 'forced' : staleReason(dir);
  if (reason === null) return { dir, rebuilt: false, reason: 'up to date', millis: performance.now() - t0 };
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new Error("the explorer is bundled with esbuild, which is not installed (it is a devDependency: run 'npm ci' without --omit=dev)");
  }
  const builtAt = Date.now();
  const staging = `${dir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const common = {
    bundle: true, format: 'esm' as const, platform: 'browser' as const, target: 'es2022',
    logLevel: 'silent' as const, metafile: true, absWorkingDir: REPO_ROOT, minify: false, sourcemap: false,
    define: { 'process.env.NODE_ENV': '"production"' },
  };
  const inputs = new Set<string>();
  for (const [entry, out] of [['src/explorer/page.ts', 'app.js'], ['src/explorer/worker.ts', 'worker.js']] as const) {
    const result = await esbuild.build({ ...common, entryPoints: [entry], outfile: join(staging, out) });
    // Our own sources only: node_modules changes with npm ci, and esbuild lists pseudo-inputs such as '(disabled):crypto'.
    for (const input of Object.keys(result.metafile!.inputs)) if (!input.startsWith('node_modules/') && existsSync(resolve(REPO_ROOT, input))) inputs.add(input);
  }
  for (const f of STATIC_FILES) copyFileSync(join(SOURCE_DIR, 'static', f), join(staging, f));
  const record: BuildRecord = { version: BUILD_VERSION, builtAt, inputs: [...inputs].sort() };
  writeFileSync(join(staging, RECORD), JSON.stringify(record, null, 1));
  mkdirSync(dirname(dir), { recursive: true });
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(staging, dir);
  rmSync(old, { recursive: true, force: true });
  return { dir, rebuilt: true, reason, millis: performance.now() - t0 };
}
