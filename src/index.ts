/**
 * inntrospect's Node entry point (`import … from 'inntrospect'`): `open()` and the analyses
 * over it (src/api/open.ts), the analysis library itself (src/analysis), the lazy pipeline
 * loader, the engine set-up, and the figure renderers. docs/api.md has an example per analysis.
 * The browser entry is src/index.browser.ts (the package's `browser` condition).
 */
export { open, InntrospectPipeline, type OpenOptions, type SampleOptions, type LayerView, type AttackResult, type CheckResult, type PipelineReportOptions } from './api/open.ts';
export * from './analysis/index.ts';
export { initEngine, engineInfo, availableBackends, tf, type EngineInfo, type EngineOptions } from './engine/index.ts';
export { openPipeline, checkManifest, type Pipeline, type PipelineReader, type PipelineLoadEvent, type OpenPipelineOptions } from './pipeline/open-pipeline.ts';
export { fetchReader } from './pipeline/fetch-reader.ts';
export { openZooFolder, folderReader, resolveSourcePath, PACKAGE_ROOT, DEFAULT_ZOO } from './pipeline/zoo-source.ts';
export { openSource, resolveSources, type OpenedSource, type ResolvedSource } from './pipeline/pipeline-source.ts';
export type { ReportResult } from './report/report.ts';
export { loadAnalysis, type LoadedAnalysis, type AnalysisLoadOptions } from './pipeline/analysis-loader.ts';
export { readModel, readModelOfKind, type LoadedModel } from './pipeline/model-files.ts';
export { onByomNote, type ByomNote } from './pipeline/external-model.ts';
export type { ImageDataset, ValueRange } from './data/dataset.ts';
export type { ProgressEvent, ProgressListener } from './runs/progress.ts';
export type { ZooManifest, ZooFileEntry } from './zoo/manifest.ts';
export type { ExplorerManifest } from './zoo/pipeline-manifest.ts';
export { imageGridPng } from './figures/image-grid.ts';
