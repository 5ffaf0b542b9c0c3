/**
 * The explorer on run folders instead of a zoo: conditional-INN run folders (each one's
 * config.json names its autoencoder run, its classifier run and its layer), optionally a
 * semantic-INN run, gathered into an in-memory zoo manifest with the files' sha256, so the page
 * loads and verifies them exactly as it does a zoo. Node only.
 *
 * Accepted: cinn run folders, iin run folders, or parent folders holding run folders (every
 * cinn/iin run inside is used). All cinn runs must share one autoencoder and one model under
 * study: an inntrospect classifier run, or a model inntrospect did not train (a zoo id such as
 * nsfwjs-mobilenet-v2, or a TensorFlow.js Layers/graph model folder), which is repacked into one
 * model.json and one weights file held in memory (`manifest.model`). The runs' data section says
 * which images the page offers (`data`).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ZOO_FORMAT, type ZooFileEntry, type ZooManifest } from '../zoo/manifest.ts';
import { DEFAULT_DATA_CONFIG, type DataConfig } from './data-spec.ts';
import { browserModelFiles, checkFingerprint, modelFingerprint, modelSpecKind, type ModelFingerprint } from './external-model.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';

export interface VirtualZoo {
  manifest: ExplorerManifest;
  /** Manifest file name → absolute path of the model file, or its bytes (a repacked external model). */
  files: Map<string, string | Uint8Array>;
  /** The images the runs were trained on (the chosen cinn runs' data section). */
  data: DataConfig;
}

interface RunConfig {
  layer?: unknown;
  ae?: unknown;
  model?: unknown;
  iin?: unknown;
  data?: Partial<DataConfig>;
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

/** A model under study named by a cinn config: an inntrospect classifier run, or an external model (zoo id or resolved folder). */
type ModelReference = Reference | { external: string };

function isExternalSpec(spec: string): boolean {
  try {
    return modelSpecKind(spec) !== 'inntrospect';
  } catch {
    return false;
  }
}

/** The model a cinn config names: a zoo id, a TensorFlow.js model folder (as written or next to the run), or a classifier run. */
function referencedModel(spec: unknown, from: string): ModelReference {
  if (typeof spec === 'string' && spec !== '') {
    if (!existsSync(spec) && isExternalSpec(spec)) return { external: spec };
    // By the model file's format, as the CLI decides: an inntrospect run or model file is a
    // classifier, anything else a model inntrospect did not train (even in a folder with a config.json).
    for (const candidate of [resolve(spec), resolve(dirname(from), spec)]) {
      if (existsSync(candidate) && isExternalSpec(candidate)) return { external: candidate };
    }
  }
  return referenced(spec, from, 'model');
}

/** The autoencoder's model file a config names (a run folder's model.json, or a model file). */
function aeModelFile(spec: unknown, from: string): string {
  const ref = referenced(spec, from, 'autoencoder');
  const file = ref.file ?? join(ref.run, 'model.json');
  if (!existsSync(file)) throw new Error(`${join(from, 'config.json')}: its autoencoder '${String(spec)}' has no model file (${file} is missing; was the AE run finished?)`);
  return file;
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

function bytesEntry(file: string, bytes: Uint8Array, kind: ZooFileEntry['kind'] = 'model', metrics: Record<string, number> = {}): ZooFileEntry {
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, kind, metrics };
}

function entry(file: string, path: string, kind: ZooFileEntry['kind'], metrics: Record<string, number> = {}): ZooFileEntry {
  return bytesEntry(file, readFileSync(path), kind, metrics);
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
 *   const zoo = await virtualZooFromRuns(['runs/2026-…_cinn-z', 'runs/2026-…_cinn-conv2']);
 */
export async function virtualZooFromRuns(paths: string[]): Promise<VirtualZoo> {
  const { cinn, iin } = collectRuns(paths);
  const described = cinn.map((r) => {
    const config = readConfig(r.dir);
    return { ...r, layer: config.layer as string, ae: aeModelFile(config.ae, r.dir), model: referencedModel(config.model, r.dir), data: config.data };
  });
  const modelKey = (m: ModelReference) => ('external' in m ? `external:${m.external}` : m.run);
  // The pipeline: the model (and AE) that most t's on a whole model were trained on.
  const onModels = described.filter((r) => 'external' in r.model || r.model.file === null);
  if (onModels.length === 0) throw new Error(`no conditional-INN (cinn) run folders on a classifier run or model in ${paths.join(', ')}; train one with 'inntrospect train cinn --ae <run> --model <run or model> --layer <name>'`);
  const key = (r: { ae: string; model: ModelReference }) => `${r.ae}\n${modelKey(r.model)}`;
  const counts = new Map<string, number>();
  for (const r of onModels) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  const chosenKey = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const chosen = onModels.find((r) => key(r) === chosenKey)!;
  // The AE's model file: a run's model.json, or the model file given to --ae (a zoo's ae.json, say).
  const aeFile = chosen.ae;
  const aeRun = dirname(aeFile);
  const external = 'external' in chosen.model ? chosen.model.external : null;
  const classifierRun = 'external' in chosen.model ? null : chosen.model.run;
  const files = new Map<string, string | Uint8Array>();
  const layers: Record<string, ZooFileEntry> = {};
  const dynamicsRuns: Array<{ dir: string; layer: string; snapshot: string }> = [];
  const kept: typeof described = [];
  for (const r of described) {
    const same = r.ae === aeFile && ('external' in r.model ? r.model.external === external : r.model.run === classifierRun);
    if (!same) {
      if (r.explicit) throw new Error(`${r.dir} was trained on another autoencoder or model than the other runs (the explorer shows one pipeline at a time)`);
      continue;
    }
    kept.push(r);
    if (!('external' in r.model) && r.model.file !== null) {
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
  // A model inntrospect did not train: read and repacked once; its fingerprint comes from the same bytes.
  // (An ONNX model is served as its .onnx file, under that name.)
  const weightsName = external !== null && modelSpecKind(external) === 'onnx' ? 'model.onnx' : 'weights.bin';
  const packed = external !== null ? await browserModelFiles(external, weightsName) : null;
  // Each t must still match the model it was trained on (a model folder or card edited since would
  // pair it with another Φ); checked once per model file.
  const fingerprints = new Map<string, ModelFingerprint>();
  if (packed) fingerprints.set(external!, packed.fingerprint);
  for (const r of kept) {
    const spec = 'external' in r.model ? r.model.external : r.model.file ?? join(r.model.run, 'model.json');
    if (!fingerprints.has(spec)) fingerprints.set(spec, await modelFingerprint(spec));
    checkFingerprint(r.dir, fingerprints.get(spec)!);
  }
  const sameAe = iin.filter((r) => aeModelFile(readConfig(r.dir).ae, r.dir) === aeFile).map((r) => r.dir);
  files.set('ae.json', aeFile);
  const snapshotDir = classifierRun ? join(classifierRun, 'snapshots') : '';
  const snapshots = classifierRun && existsSync(snapshotDir)
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
  let model: ExplorerManifest['model'];
  let classifier: ExplorerManifest['classifier'];
  if (packed) {
    files.set('model/model.json', packed.json);
    files.set(`model/${weightsName}`, packed.weights);
    model = {
      spec: external!, format: packed.format, card: packed.card, cardSource: packed.cardSource,
      json: bytesEntry('model/model.json', packed.json), weights: bytesEntry(`model/${weightsName}`, packed.weights),
    };
  } else {
    files.set('classifier.json', join(classifierRun!, 'model.json'));
    classifier = { ...entry('classifier.json', join(classifierRun!, 'model.json'), 'classifier', metrics(classifierRun!)), layers: Object.keys(layers) };
  }
  const studied = external !== null ? `model ${basename(external)}` : `classifier ${basename(classifierRun!)}`;
  const manifest: ExplorerManifest = {
    format: ZOO_FORMAT,
    name: `runs (${Object.keys(layers).join(', ')})`,
    description: `run folders: autoencoder ${basename(aeRun)}, ${studied}, t for ${Object.keys(layers).length} layer(s)${dynamics.length > 0 ? `, ${dynamics.length} snapshot t's at ${dynamicsLayer}` : ''}${iinEntry ? `, e ${basename(dirname(files.get('iin.json') as string))}` : ', no semantic INN'}`,
    created: new Date().toISOString(),
    backend: '', preset: '', wallSeconds: 0,
    ae: entry('ae.json', aeFile, 'autoencoder', basename(aeFile) === 'model.json' ? metrics(aeRun) : {}),
    ...(classifier ? { classifier } : {}),
    ...(model ? { model } : {}),
    snapshots,
    dynamics,
    dynamicsLayer,
    cinn: layers,
    // A manifest always has an e; without one the page reports it missing and the modes that need it say so.
    iin: iinEntry ?? { file: 'iin.json', sha256: '', bytes: 0, kind: 'iin', metrics: {}, factors: [] },
    commands: [],
    configs: {},
  };
  return { manifest, files, data: { ...DEFAULT_DATA_CONFIG, ...(chosen.data ?? {}) } };
}
