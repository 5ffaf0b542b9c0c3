/**
 * The one resolver of what a user names as a pipeline (Node): a zoo folder, or run folders
 * (cinn runs, iin runs, or folders holding them), with or without a model inntrospect did not
 * train. The CLI's analyses, the report, `open()` and `explore` all call it, so a source that
 * one of them accepts every other accepts, and each gets the same typed manifest and the same
 * lazy `openPipeline` loader (src/pipeline/open-pipeline.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openPipeline, type OpenPipelineOptions, type Pipeline, type PipelineReader } from './open-pipeline.ts';
import { DEFAULT_ZOO, isZooFolder, openZooFolder, resolveSourcePath } from './zoo-source.ts';
import { virtualZooFromRuns, type VirtualZoo } from './run-sources.ts';
import { DEFAULT_DATA_CONFIG, type DataConfig } from './data-spec.ts';
import { openModelUnderStudy, type OpenedModel } from './external-model.ts';
import { readModelOfKind } from './model-files.ts';
import type { SemanticINN } from '../flows/iin.ts';

/** Where a source is, before anything but folder listings is read. */
export type ResolvedSource = { kind: 'zoo'; dir: string } | { kind: 'runs'; paths: string[] };

/**
 * Names the source `sources` are (the shipped zoo for `zoo/<name>` when there is none below the
 * current folder); the error says what was given and what would do.
 *
 * @example
 *   resolveSources(['zoo/colormnist']);             // { kind: 'zoo', dir: '<package>/zoo/colormnist' }
 *   resolveSources(['runs/a_cinn-z', 'runs/b_iin']); // { kind: 'runs', paths: [...] }
 */
export function resolveSources(sources: string[]): ResolvedSource {
  if (sources.length === 0) throw new Error('nothing to analyse: give a zoo folder, or cinn run folders (or a folder of them)');
  const given = sources.map(resolveSourcePath);
  if (given.length === 1 && resolve(given[0]!) === resolve(DEFAULT_ZOO) && !existsSync(given[0]!)) {
    throw new Error(`the shipped zoo ${resolve(given[0]!)} is missing; make it with 'inntrospect reproduce colormnist' (or 'inntrospect reproduce colormnist --recipe tiny --out /tmp/zoo-tiny' in a minute), or give a zoo folder or run folders`);
  }
  for (const g of given) {
    if (!existsSync(g)) throw new Error(`'${g}' does not exist; give a zoo folder (with manifest.json) such as zoo/colormnist, or cinn run folders`);
    if (!statSync(g).isDirectory()) throw new Error(`${resolve(g)} is not a folder; give a zoo folder (with manifest.json) such as zoo/colormnist, or cinn run folders`);
  }
  if (given.length === 1 && isZooFolder(given[0]!)) return { kind: 'zoo', dir: given[0]! };
  for (const g of given) if (isZooFolder(g)) throw new Error(`${g} is a zoo folder: give it alone, not with run folders`);
  return { kind: 'runs', paths: given };
}

/** Reads the in-memory manifest's files: model files from the run folders, repacked models from memory. */
export function runsReader(runs: VirtualZoo, onRead?: (file: string) => void): PipelineReader {
  return {
    read: async (file) => {
      onRead?.(file);
      const where = runs.files.get(file);
      if (where === undefined) throw new Error(`the run folders' manifest has no file '${file}'`);
      return typeof where === 'string' ? new Uint8Array(await readFile(where)) : where;
    },
    sha256: async (bytes) => createHash('sha256').update(bytes).digest('hex'),
    describe: (file) => {
      const where = runs.files.get(file);
      return typeof where === 'string' ? where : `${file} (repacked from ${runs.manifest.model?.spec ?? 'the model under study'})`;
    },
  };
}

/** An opened source: its pipeline, the images it was trained on, and the model under study when inntrospect did not train it. */
export interface OpenedSource {
  resolved: ResolvedSource;
  pipeline: Pipeline;
  /** The data section the pipeline was trained with (the analyses draw their test images from it). */
  data: DataConfig;
  /** Run folders only: the in-memory manifest's files (the explorer serves them). */
  runs?: VirtualZoo;
  /**
   * The model under study, opened (once) as the cinn job opened it: Φ(x) = model(preprocess(x));
   * null when the pipeline's model is inntrospect's own classifier (`pipeline.classifier()`).
   */
  modelUnderStudy(): Promise<OpenedModel | null>;
  /** e: the `iin` option's (a model file or iin run folder) when given, else the pipeline's; null when there is none. */
  semantic(): Promise<SemanticINN | null>;
  /** Frees the pipeline's models, the model under study and the `iin` option's e. */
  dispose(): void;
}

/**
 * Opens `sources` lazily: a zoo folder reads its manifest only; run folders are listed and
 * hashed into an in-memory manifest (src/pipeline/run-sources.ts), their models load on use.
 *
 * @example
 *   const source = await openSource(['runs/a_cinn-z']);
 *   const t = await source.pipeline.t('z');
 *   source.dispose();
 */
export async function openSource(sources: string[], options: OpenPipelineOptions & { onRead?: (file: string) => void; iin?: string } = {}): Promise<OpenedSource> {
  const resolved = resolveSources(sources);
  let pipeline: Pipeline;
  let runs: VirtualZoo | undefined;
  let data: DataConfig;
  if (resolved.kind === 'zoo') {
    pipeline = openZooFolder(resolved.dir, options);
    data = { ...DEFAULT_DATA_CONFIG, dataset: 'colormnist' };
  } else {
    runs = await virtualZooFromRuns(resolved.paths);
    pipeline = openPipeline(runs.manifest, runsReader(runs, options.onRead), options);
    data = runs.data;
  }
  const spec = pipeline.manifest.model?.spec;
  let studied: Promise<OpenedModel> | null = null;
  let opened: OpenedModel | null = null;
  let givenE: SemanticINN | null = null;
  return {
    resolved, pipeline, data, ...(runs ? { runs } : {}),
    modelUnderStudy: () => (spec === undefined ? Promise.resolve(null) : (studied ??= openModelUnderStudy(spec).then((m) => (opened = m)))),
    semantic: async () => {
      if (options.iin === undefined) return pipeline.semantic();
      givenE ??= readModelOfKind(options.iin, 'iin', '--iin').model;
      return givenE;
    },
    dispose: () => {
      pipeline.dispose();
      opened?.dispose();
      givenE?.dispose();
      opened = null;
      studied = null;
      givenE = null;
    },
  };
}
