/**
 * inntrospect's browser entry point (the package's `browser` condition): the same analyses and
 * the same lazy pipeline loader as in Node, with files fetched over HTTP and checked with
 * SubtleCrypto. No file system, no CLI, no report writer.
 *
 * @example
 *   import { initEngine, openPipeline, checkManifest, fetchReader } from 'inntrospect';
 *   await initEngine({ wasmPaths: '/wasm/' });
 *   const manifest = checkManifest(await (await fetch('/models/manifest.json')).json(), 'manifest.json');
 *   const p = openPipeline(manifest, fetchReader('/models/'));
 *   const t = await p.t('z');
 */
export * from './analysis/index.ts';
export { initEngine, engineInfo, availableBackends, tf, type EngineInfo, type EngineOptions } from './engine/index.ts';
export { openPipeline, checkManifest, type Pipeline, type PipelineReader, type PipelineLoadEvent, type OpenPipelineOptions } from './pipeline/open-pipeline.ts';
export { fetchReader } from './pipeline/fetch-reader.ts';
export { parseModelText, type LoadedModel } from './pipeline/model-text.ts';
export type { ImageDataset, ValueRange } from './data/dataset.ts';
export type { ProgressEvent, ProgressListener } from './runs/progress.ts';
export type { ZooManifest, ZooFileEntry } from './zoo/manifest.ts';
export type { ExplorerManifest } from './zoo/pipeline-manifest.ts';
