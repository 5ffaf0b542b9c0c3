/**
 * The explorer on run folders instead of a zoo: conditional-INN run folders (each one's
 * config.json names its autoencoder run, its classifier run and its layer), optionally a
 * semantic-INN run, gathered into an in-memory zoo manifest with the files' sha256, so the page
 * loads and verifies them exactly as it does a zoo. Node only.
 *
 * Accepted: cinn run folders, iin run folders, or parent folders holding run folders (every
 * cinn/iin run inside is used). All cinn runs must share one autoencoder and one classifier.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ZOO_FORMAT, type ZooFileEntry, type ZooManifest } from '../zoo/manifest.ts';

export interface VirtualZoo {
  manifest: ZooManifest;
  /** Manifest file name → absolute path of the model file. */
  files: Map<string, string>;
}

interface RunConfig {
  layer?: unknown;
  ae?: unknown;
  model?: unknown;
  iin?: unknown;
}

function isRun(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.json'));
}

function readConfig(dir: string): RunConfig {
  try {
    return JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as RunConfig;
  } catch (error) {
    throw new Error(`${join(dir, 'config.json')}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Where a config's model spec points: a run folder (with the model file when it names one inside, e.g. a snapshot). */
interface Reference {
  run: string;
  /** A model file inside the run other than model.json (a classifier snapshot). */
  file: string | null;
}

/** A run a config refers to: as written, else relative to the referring run's parent folder. */
function referenced(spec: unknown, from: string, what: string): Reference {
  if (typeof spec !== 'string' || spec === '') throw new Error(`${join(from, 'config.json')}: names no ${what} run`);
  for (const candidate of [resolve(spec), resolve(dirname(from), basename(spec)), resolve(dirname(from), spec)]) {
    if (isRun(candidate)) return { run: candidate, file: null };
    if (existsSync(candidate) && statSync(candidate).isFile()) {
      if (basename(candidate) === 'model.json' && isRun(dirname(candidate))) return { run: dirname(candidate), file: null };
      if (basename(dirname(candidate)) === 'snapshots' && isRun(dirname(dirname(candidate)))) return { run: dirname(dirname(candidate)), file: candidate };
      return { run: dirname(candidate), file: candidate };
    }
  }
  throw new Error(`${join(from, 'config.json')}: its ${what} '${spec}' was not found (as a path, or next to ${from})`);
}

function entry(file: string, path: string, kind: ZooFileEntry['kind'], metrics: Record<string, number> = {}): ZooFileEntry {
  const bytes = readFileSync(path);
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, kind, metrics };
}

function numbers(value: unknown): Record<string, number> {
  if (!value || typeof value !== 'object') return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

interface FoundRun {
  dir: string;
  /** Named on the command line (an unusable one is an error) rather than found in a parent folder (skipped). */
  explicit: boolean;
}

/** The cinn and iin run folders among `paths` (run folders or their parents). */
function collectRuns(paths: string[]): { cinn: FoundRun[]; iin: FoundRun[] } {
  const cinn: FoundRun[] = [];
  const iin: FoundRun[] = [];
  const consider = (dir: string, explicit: boolean) => {
    const config = readConfig(dir);
    if (typeof config.layer === 'string' && config.ae !== undefined && config.model !== undefined) cinn.push({ dir, explicit });
    else if (config.iin !== undefined && config.ae !== undefined) iin.push({ dir, explicit });
    else if (explicit) throw new Error(`${dir} is neither a conditional-INN (cinn) nor a semantic-INN (iin) run folder; give the cinn runs (their configs name the AE and the classifier)`);
  };
  for (const p of paths) {
    const dir = resolve(p);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`${p} is not a folder`);
    if (isRun(dir)) {
      consider(dir, true);
      continue;
    }
    const children = readdirSync(dir).sort().map((n) => join(dir, n)).filter((d) => statSync(d).isDirectory() && isRun(d));
    if (children.length === 0) throw new Error(`${p} is neither a zoo folder (manifest.json), nor a run folder, nor a folder of run folders`);
    for (const child of children) consider(child, false);
  }
  return { cinn, iin };
}

function snapshotStep(path: string): number {
  const meta = (JSON.parse(readFileSync(path, 'utf8')) as { meta?: { step?: number } }).meta ?? {};
  return meta.step ?? Number(/step-(\d+)/.exec(basename(path))?.[1] ?? 0);
}

/**
 * Builds the in-memory zoo for run folders.
 *
 * @example
 *   const zoo = virtualZooFromRuns(['runs/2026-…_cinn-z', 'runs/2026-…_cinn-conv2']);
 */
export function virtualZooFromRuns(paths: string[]): VirtualZoo {
  const { cinn, iin } = collectRuns(paths);
  const described = cinn.map((r) => {
    const config = readConfig(r.dir);
    return { ...r, layer: config.layer as string, ae: referenced(config.ae, r.dir, 'autoencoder').run, model: referenced(config.model, r.dir, 'classifier') };
  });
  // The pipeline: the classifier run (and its AE) that most t's on a whole classifier were trained on.
  const onRuns = described.filter((r) => r.model.file === null);
  if (onRuns.length === 0) throw new Error(`no conditional-INN (cinn) run folders on a classifier run in ${paths.join(', ')}; train one with 'inntrospect train cinn --ae <run> --model <run> --layer <name>'`);
  const key = (r: { ae: string; model: Reference }) => `${r.ae}\n${r.model.run}`;
  const counts = new Map<string, number>();
  for (const r of onRuns) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  const chosen = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const [aeRun, classifierRun] = chosen.split('\n') as [string, string];
  const files = new Map<string, string>();
  const layers: Record<string, ZooFileEntry> = {};
  const dynamicsRuns: Array<{ dir: string; layer: string; snapshot: string }> = [];
  for (const r of described) {
    const same = r.ae === aeRun && r.model.run === classifierRun;
    if (!same) {
      if (r.explicit) throw new Error(`${r.dir} was trained on another autoencoder or classifier than the other runs (the explorer shows one pipeline at a time)`);
      continue;
    }
    if (r.model.file !== null) {
      dynamicsRuns.push({ dir: r.dir, layer: r.layer, snapshot: r.model.file });
      continue;
    }
    if (layers[r.layer]) throw new Error(`two cinn runs for layer '${r.layer}': ${files.get(layers[r.layer]!.file)} and ${r.dir}`);
    const file = `cinn-${r.layer}.json`;
    files.set(file, join(r.dir, 'model.json'));
    layers[r.layer] = entry(file, join(r.dir, 'model.json'), 'cinn');
  }
  // Training dynamics: t's trained on the chosen classifier's snapshots, all at one layer.
  const dynamicsLayer = dynamicsRuns.length > 0 && dynamicsRuns.every((d) => d.layer === dynamicsRuns[0]!.layer) ? dynamicsRuns[0]!.layer : '';
  const dynamics = dynamicsLayer === '' ? [] : dynamicsRuns.map((d) => {
    const step = snapshotStep(d.snapshot);
    const file = `dynamics/cinn-${d.layer}-step-${step}.json`;
    files.set(file, join(d.dir, 'model.json'));
    return { ...entry(file, join(d.dir, 'model.json'), 'cinn'), step };
  }).sort((a, b) => a.step - b.step);
  const sameAe = iin.filter((r) => referenced(readConfig(r.dir).ae, r.dir, 'autoencoder').run === aeRun).map((r) => r.dir);
  files.set('ae.json', join(aeRun, 'model.json'));
  files.set('classifier.json', join(classifierRun, 'model.json'));
  const snapshotDir = join(classifierRun, 'snapshots');
  const snapshots = existsSync(snapshotDir)
    ? readdirSync(snapshotDir).filter((f) => f.endsWith('.json')).sort().map((f) => {
      const path = join(snapshotDir, f);
      const meta = (JSON.parse(readFileSync(path, 'utf8')) as { meta?: { testAccuracy?: number } }).meta ?? {};
      const step = snapshotStep(path);
      const file = `snapshots/${f}`;
      files.set(file, path);
      return { ...entry(file, path, 'classifier', numbers({ testAccuracy: meta.testAccuracy })), step };
    }).sort((a, b) => a.step - b.step)
    : [];
  let iinEntry: ZooManifest['iin'] | null = null;
  if (sameAe.length > 0) {
    const run = sameAe[sameAe.length - 1]!;
    const path = join(run, 'model.json');
    files.set('iin.json', path);
    const factors = (JSON.parse(readFileSync(path, 'utf8')) as { config?: { factorNames?: string[] } }).config?.factorNames ?? [];
    iinEntry = { ...entry('iin.json', path, 'iin'), factors };
  }
  const metrics = (run: string) => {
    const p = join(run, 'metrics.json');
    return existsSync(p) ? numbers(JSON.parse(readFileSync(p, 'utf8'))) : {};
  };
  const manifest: ZooManifest = {
    format: ZOO_FORMAT,
    name: `runs (${Object.keys(layers).join(', ')})`,
    description: `run folders: autoencoder ${basename(aeRun)}, classifier ${basename(classifierRun)}, t for ${Object.keys(layers).length} layer(s)${dynamics.length > 0 ? `, ${dynamics.length} snapshot t's at ${dynamicsLayer}` : ''}${iinEntry ? `, e ${basename(files.get('iin.json')!.replace(/\/model\.json$/, ''))}` : ', no semantic INN'}`,
    created: new Date().toISOString(),
    backend: '', preset: '', wallSeconds: 0,
    ae: entry('ae.json', join(aeRun, 'model.json'), 'autoencoder', metrics(aeRun)),
    classifier: { ...entry('classifier.json', join(classifierRun, 'model.json'), 'classifier', metrics(classifierRun)), layers: Object.keys(layers) },
    snapshots,
    dynamics,
    dynamicsLayer,
    cinn: layers,
    // A manifest always has an e; without one the page reports it missing and the modes that need it say so.
    iin: iinEntry ?? { file: 'iin.json', sha256: '', bytes: 0, kind: 'iin', metrics: {}, factors: [] },
    commands: [],
    configs: {},
  };
  return { manifest, files };
}
