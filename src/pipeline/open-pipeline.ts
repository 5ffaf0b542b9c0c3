/**
 * One loader for a whole pipeline: the autoencoder, the classifier, one t per layer, the
 * semantic INN e and the training snapshots, all named by one typed manifest (a zoo's
 * manifest.json, or the in-memory one made of run folders, src/zoo/pipeline-manifest.ts).
 *
 * `openPipeline(manifest, reader)` reads nothing up front. Each model is loaded when first asked
 * for: its file is read once, checked once against the manifest's sha256, parsed once from the
 * bytes, and kept. So `inntrospect sample --layer z` loads the AE, the classifier and t for z,
 * not the 19 files of the zoo. Browser-safe: Node passes file reads and node:crypto, the
 * explorer's worker passes fetch and SubtleCrypto.
 */
import type { Autoencoder } from '../models/autoencoder.ts';
import type { StagedClassifier } from '../models/classifier.ts';
import type { ConditionalINN } from '../flows/cinn.ts';
import type { SemanticINN } from '../flows/iin.ts';
import type { ExplorerManifest } from '../zoo/pipeline-manifest.ts';
import { ZOO_FORMAT, ZooChecksumError, type ZooFileEntry } from '../zoo/manifest.ts';
import { parseModelText, type LoadedModel } from './model-text.ts';

/** How a pipeline's files are read: by their manifest name, relative to the pipeline's folder. */
export interface PipelineReader {
  /** The file's bytes (e.g. readFile below the zoo folder, or fetch below /models/). */
  read(file: string): Promise<Uint8Array>;
  /** Lower-case hex sha256 of the bytes (node:crypto, or crypto.subtle.digest). */
  sha256(bytes: Uint8Array): Promise<string>;
  /** Names files in errors (e.g. the zoo folder's path). Default: the manifest name. */
  describe?(file: string): string;
}

/** A model of a pipeline being loaded or loaded, for progress and for the explorer's model list. */
export interface PipelineLoadEvent {
  /** 'autoencoder', 'classifier', 't (layer z)', … */
  role: string;
  file: string;
  /** Set when the load finished: its wall time in ms, or the error. */
  millis?: number;
  error?: string;
}

export interface OpenPipelineOptions {
  /** Called when a model starts loading and when it finished (with `millis` or `error`). */
  onLoad?: (event: PipelineLoadEvent) => void;
}

type Kind = LoadedModel['kind'];
type ModelOf<K extends Kind> = Extract<LoadedModel, { kind: K }>['model'];

export interface Pipeline {
  readonly manifest: ExplorerManifest;
  /** Layers with a t, in manifest order (input side first for zoos). */
  readonly layerNames: string[];
  /** Whether the pipeline has a semantic INN e (run folders may have none). */
  readonly hasSemantic: boolean;
  autoencoder(): Promise<Autoencoder>;
  /** inntrospect's own classifier; an error for a pipeline on a model inntrospect did not train (`manifest.model`). */
  classifier(): Promise<StagedClassifier>;
  /** The t of `layer`; the error lists the layers that have one. */
  t(layer: string): Promise<ConditionalINN>;
  /** e, or null when the pipeline has none. */
  semantic(): Promise<SemanticINN | null>;
  /** The classifier snapshot at `step` and, when the manifest has one, the t trained on it at `manifest.dynamicsLayer`. */
  snapshot(step: number): Promise<{ classifier: StagedClassifier; t: ConditionalINN | null }>;
  /** The verified bytes of any file of the manifest (read and checked once). */
  bytes(entry: ZooFileEntry): Promise<Uint8Array>;
  /** Reads and checks every file the manifest names (`inntrospect reproduce`'s own check); resolves to how many. */
  verifyAll(): Promise<number>;
  /** Manifest names of the files read so far, each once. */
  readonly filesRead: readonly string[];
  /** Frees every model loaded so far. */
  dispose(): void;
}

/** Checks that `value` looks like a pipeline manifest; the error names what is missing. */
export function checkManifest(value: unknown, source: string): ExplorerManifest {
  const m = value as Partial<ExplorerManifest> | null;
  if (!m || typeof m !== 'object') throw new Error(`${source}: not a JSON object`);
  if (m.format !== ZOO_FORMAT) throw new Error(`${source}: unknown zoo format '${String(m.format)}' (expected ${ZOO_FORMAT})`);
  for (const key of ['ae', 'cinn', 'iin', 'snapshots'] as const) if (m[key] === undefined) throw new Error(`${source}: has no '${key}'`);
  if (!m.classifier && !m.model) throw new Error(`${source}: names neither a classifier nor a model`);
  return m as ExplorerManifest;
}

/**
 * Opens a pipeline lazily.
 *
 * @example
 *   const p = openPipeline(manifest, { read: (f) => readFile(join(dir, f)), sha256: async (b) => createHash('sha256').update(b).digest('hex') });
 *   const t = await p.t('z');        // reads, checks and parses cinn-z.json only
 */
export function openPipeline(manifest: ExplorerManifest, reader: PipelineReader, options: OpenPipelineOptions = {}): Pipeline {
  const describe = (file: string) => reader.describe?.(file) ?? file;
  const verified = new Map<string, Promise<Uint8Array>>();
  const models = new Map<string, Promise<unknown>>();
  const loaded: Array<{ dispose(): void }> = [];
  const filesRead: string[] = [];
  let disposed = false;

  const bytes = (entry: ZooFileEntry): Promise<Uint8Array> => {
    let pending = verified.get(entry.file);
    if (!pending) {
      pending = (async () => {
        filesRead.push(entry.file);
        const data = await reader.read(entry.file);
        const actual = await reader.sha256(data);
        if (actual !== entry.sha256) throw new ZooChecksumError(describe(entry.file), entry.sha256, actual);
        return data;
      })();
      verified.set(entry.file, pending);
      pending.catch(() => verified.delete(entry.file));
    }
    return pending;
  };

  const model = <K extends Kind>(entry: ZooFileEntry, kind: K, role: string): Promise<ModelOf<K>> => {
    let pending = models.get(entry.file);
    if (!pending) {
      pending = (async () => {
        const t0 = performance.now();
        options.onLoad?.({ role, file: entry.file });
        try {
          const parsed = parseModelText(new TextDecoder().decode(await bytes(entry)), describe(entry.file));
          if (parsed.kind !== kind) {
            parsed.model.dispose();
            throw new Error(`${describe(entry.file)} holds a ${parsed.kind}, expected a ${kind} (${role})`);
          }
          if (disposed) {
            parsed.model.dispose();
            throw new Error('the pipeline was disposed while loading');
          }
          loaded.push(parsed.model);
          options.onLoad?.({ role, file: entry.file, millis: performance.now() - t0 });
          return parsed.model;
        } catch (error) {
          options.onLoad?.({ role, file: entry.file, error: error instanceof Error ? error.message : String(error) });
          throw error;
        }
      })();
      models.set(entry.file, pending);
      pending.catch(() => models.delete(entry.file));
    }
    return pending as Promise<ModelOf<K>>;
  };

  const hasSemantic = manifest.iin.sha256 !== '';
  return {
    manifest,
    layerNames: Object.keys(manifest.cinn),
    hasSemantic,
    filesRead,
    bytes,
    verifyAll: async () => {
      const entries = [manifest.ae, manifest.classifier, manifest.model?.json, manifest.model?.weights, ...manifest.snapshots, ...(manifest.dynamics ?? []), ...Object.values(manifest.cinn), hasSemantic ? manifest.iin : undefined]
        .filter((e): e is ZooFileEntry => e !== undefined);
      for (const entry of entries) await bytes(entry);
      return entries.length;
    },
    autoencoder: () => model(manifest.ae, 'autoencoder', 'autoencoder'),
    classifier: () => {
      if (!manifest.classifier) return Promise.reject(new Error(`this pipeline studies ${manifest.model?.spec ?? 'a model'}, not an inntrospect classifier`));
      return model(manifest.classifier, 'classifier', 'classifier');
    },
    t: (layer) => {
      const entry = manifest.cinn[layer];
      if (!entry) return Promise.reject(new Error(`no t for layer '${layer}' (layers with a t: ${Object.keys(manifest.cinn).join(', ') || 'none'})`));
      return model(entry, 'cinn', `t (layer ${layer})`);
    },
    semantic: async () => (hasSemantic ? model(manifest.iin, 'iin', 'e (semantic INN)') : null),
    snapshot: async (step) => {
      const entry = manifest.snapshots.find((s) => s.step === step);
      if (!entry) throw new Error(`no classifier snapshot at step ${step} (steps: ${manifest.snapshots.map((s) => s.step).join(', ') || 'none'})`);
      const tEntry = (manifest.dynamics ?? []).find((d) => d.step === step);
      const [classifier, t] = await Promise.all([
        model(entry, 'classifier', `snapshot step ${step}`),
        tEntry ? model(tEntry, 'cinn', `t of snapshot step ${step} (layer ${manifest.dynamicsLayer})`) : Promise.resolve(null),
      ]);
      return { classifier, t };
    },
    dispose: () => {
      disposed = true;
      for (const m of loaded.splice(0)) m.dispose();
      models.clear();
    },
  };
}
