/**
 * The analyses' figures: each function takes an `AnalysisContext` and the analysis' options,
 * runs the library function of src/analysis/, and renders its figure (PNG; SVG too for plots)
 * and its numbers (JSON) as named artefacts in memory: `{ numbers, artefacts: { name, bytes }[] }`.
 * No file IO: the CLI writes the artefacts into its output folder, the report embeds their
 * bytes. Nothing is printed; progress goes to `onProgress`.
 *
 * Artefacts (per analysis):
 *   samples       samples-<layer>.png, samples-<layer>.json
 *   invariance    invariance-per-layer.{json,svg,png}, invariance-per-layer-variance.{svg,png} (log scale)
 *   semantic      semantic-sensitivity.{json,svg,png}
 *   dynamics      training-dynamics.{json,svg,png}, training-dynamics-samples.png
 *   attack        attack-<kind>.png, attack-<kind>.json, attack-<kind>-stats.{svg,png}
 *   modify        semantic-modification.{png,json}, semantic-modification-distance.{svg,png}
 *   mix           mixing-<layer>.{png,json}
 *   table1        table1.{json,md,svg,png}, table1-examples.png
 */
import type { TopLevelSpec } from 'vega-lite';
import type { AnalysisContext, ImageArray } from '../analysis/context.ts';
import { invariancePerLayer, layerSamples, type InvariancePerLayerOptions, type LayerSamplesOptions, type ReencodingCheck } from '../analysis/invariances.ts';
import { semanticSensitivity, type SemanticSensitivityOptions } from '../analysis/semantic-sensitivity.ts';
import { trainingDynamics, type TrainingCheckpoint, type TrainingDynamicsOptions } from '../analysis/training-dynamics.ts';
import { attackStatistics, attackVisualization, type AttackStatisticsOptions } from '../analysis/attacks.ts';
import { semanticModification, type SemanticModificationOptions } from '../analysis/semantic-modification.ts';
import { imageMixing, type MixingOptions } from '../analysis/mixing.ts';
import { table1, type Table1Options, type Table1Result } from '../analysis/table1.ts';
import { imageGridPng } from './image-grid.ts';
import { attackStatisticsSpec, invariancePerLayerSpec, renderSvg, semanticModificationSpec, semanticSensitivitySpec, table1Spec, trainingDynamicsSpec } from './plots.ts';
import { svgToPng } from './png.ts';
import { tileFromHeatmap, tileFromImage, type Tile } from './tiles.ts';

/** A rendered file: its name (no folder) and its bytes. */
export interface Artefact {
  name: string;
  bytes: Uint8Array;
}

/** What every figure function returns: the numbers and the artefacts rendered. */
export interface FigureResult<N> {
  numbers: N;
  artefacts: Artefact[];
}

/** Options every figure function takes besides its analysis' own. */
export interface FigureOptions {
  /** Enlargement of image tiles in grids. Default 3. */
  scale?: number;
}

class Artefacts {
  readonly list: Artefact[] = [];

  json(name: string, value: unknown): void {
    this.list.push({ name, bytes: new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`) });
  }

  text(name: string, value: string): void {
    this.list.push({ name, bytes: new TextEncoder().encode(value) });
  }

  png(name: string, data: Uint8Array): void {
    this.list.push({ name, bytes: data });
  }

  /** <base>.svg and <base>.png of a Vega-Lite spec. */
  async plot(base: string, spec: TopLevelSpec): Promise<void> {
    const svg = await renderSvg(spec);
    this.text(`${base}.svg`, svg);
    this.png(`${base}.png`, await svgToPng(svg));
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_');
}

function tiles(images: ImageArray, from = 0, to = images.shape[0]): Tile[] {
  const out: Tile[] = [];
  for (let i = from; i < to; i++) out.push(tileFromImage(images, i));
  return out;
}

function className(ctx: AnalysisContext, c: number): string {
  return ctx.data.classNames[c] ?? String(c);
}

/** The numbers of `sampleFigures`. */
export interface SamplesNumbers {
  layer: string;
  indices: number[];
  samplesPerInput: number;
  /** Mean over inputs and pixels of the variance map. */
  meanPixelVariance: number;
  /** The top of the heat maps' common colour scale. */
  varianceMapMax: number;
  reencoding: ReencodingCheck;
}

/** Analysis 1: rows [x, D(E(x)), x̄₁ … x̄ₙ, mean, variance] per input. */
export async function sampleFigures(ctx: AnalysisContext, options: LayerSamplesOptions & FigureOptions): Promise<FigureResult<SamplesNumbers>> {
  const w = new Artefacts();
  const r = layerSamples(ctx, options);
  const n = r.samplesPerInput;
  const maxVar = Math.max(...r.varianceMaps);
  const rows = r.indices.map((_, i) => [
    tileFromImage(r.inputs, i),
    tileFromImage(r.reconstructions, i),
    ...tiles(r.samples, i * n, (i + 1) * n),
    tileFromImage(r.meanMaps, i),
    tileFromHeatmap(r.varianceMaps, r.varianceMapShape, i, maxVar),
  ]);
  const columnLabels = ['x', 'D(E(x))', ...Array.from({ length: n }, (_, k) => `x̄${k + 1}`), 'mean', 'variance'];
  w.png(`samples-${safeName(r.layer)}.png`, await imageGridPng(rows, { scale: options.scale, columnLabels, title: `${ctx.modelName ?? 'model'} · ${r.layer}: x̄ = D(t⁻¹(v|Φ(x))), v ~ N(0, I)` }));
  const numbers: SamplesNumbers = {
    layer: r.layer,
    indices: r.indices,
    samplesPerInput: n,
    meanPixelVariance: r.varianceMaps.reduce((s, v) => s + v, 0) / r.varianceMaps.length,
    varianceMapMax: maxVar,
    reencoding: r.reencoding,
  };
  w.json(`samples-${safeName(r.layer)}.json`, numbers);
  return { numbers, artefacts: w.list };
}

/** Analysis 2. */
export async function invarianceFigures(ctx: AnalysisContext, options: InvariancePerLayerOptions & FigureOptions) {
  const w = new Artefacts();
  const r = invariancePerLayer(ctx, options);
  w.json('invariance-per-layer.json', r);
  await w.plot('invariance-per-layer', invariancePerLayerSpec(r, `Invariance per layer · ${ctx.modelName ?? 'model'}`));
  if (r.layers.every((l) => l.zbarVariance > 0 && l.imageVariance > 0)) {
    await w.plot('invariance-per-layer-variance', invariancePerLayerSpec(r, `Variance over samples per layer · ${ctx.modelName ?? 'model'}`, 'variance'));
  }
  return { numbers: r, artefacts: w.list };
}

/** Analysis 3. */
export async function semanticFigures(ctx: AnalysisContext, options: SemanticSensitivityOptions & FigureOptions) {
  const w = new Artefacts();
  const r = semanticSensitivity(ctx, options);
  w.json('semantic-sensitivity.json', r);
  await w.plot('semantic-sensitivity', semanticSensitivitySpec(r, `Semantic sensitivity · ${ctx.modelName ?? 'model'}`));
  return { numbers: r, artefacts: w.list };
}

/** Analysis 4. */
export async function dynamicsFigures(ctx: AnalysisContext, checkpoints: readonly TrainingCheckpoint[], options: TrainingDynamicsOptions & FigureOptions) {
  const w = new Artefacts();
  const r = trainingDynamics(ctx, checkpoints, options);
  const { shown, ...numbers } = r;
  w.json('training-dynamics.json', { ...numbers, shownIterations: shown.map((s) => s.iteration) });
  await w.plot('training-dynamics', trainingDynamicsSpec(r));
  const rows: Tile[][] = [];
  const rowLabels: string[] = [];
  for (const s of shown) {
    for (let i = 0; i < s.inputs.shape[0]; i++) {
      rows.push([tileFromImage(s.inputs, i), ...tiles(s.samples, i * s.samplesPerInput, (i + 1) * s.samplesPerInput)]);
      rowLabels.push(`it ${s.iteration}`);
    }
  }
  if (rows.length > 0) {
    const n = shown[0]!.samplesPerInput;
    w.png('training-dynamics-samples.png', await imageGridPng(rows, { scale: options.scale, rowLabels, columnLabels: ['x', ...Array.from({ length: n }, (_, k) => `x̄${k + 1}`)], title: 'Samples at two checkpoints (same x, same v)' }));
  }
  return { numbers, artefacts: w.list };
}

/** Analysis 5: the figure for a few inputs and the batch numbers. */
export async function attackFigures(ctx: AnalysisContext, options: AttackStatisticsOptions & FigureOptions & { showInputs?: number }) {
  const w = new Artefacts();
  const kind = options.kind ?? 'fgsm';
  const tag = `${kind}${options.target !== undefined ? `-target${options.target}` : ''}`;
  const vis = attackVisualization(ctx, { ...options, count: options.showInputs ?? 4, indices: undefined });
  const rows: Tile[][] = [];
  const rowLabels: string[] = [];
  vis.indices.forEach((_, i) => {
    const p = vis.predictions;
    rows.push([tileFromImage(vis.inputs, i), tileFromImage(vis.adversarial, i), tileFromImage(vis.random, i)]);
    rowLabels.push(`x: ${className(ctx, p.clean[i]!)} → ${className(ctx, p.adversarial[i]!)} (rand ${className(ctx, p.random[i]!)})`);
    for (const l of vis.layers) {
      rows.push([tileFromImage(l.clean, i), tileFromImage(l.adversarial, i), tileFromImage(l.random, i)]);
      rowLabels.push(l.layer);
    }
  });
  w.png(`attack-${tag}.png`, await imageGridPng(rows, {
    scale: options.scale,
    rowLabels,
    columnLabels: ['clean', `${kind} ε=${vis.config.epsilon}`, 'random sign'],
    title: 'Rows per layer: D(t⁻¹(v|Φ(·))), v = t(E(x)|Φ(x))',
  }));
  const stats = attackStatistics(ctx, options);
  const numbers = { figure: { indices: vis.indices, predictions: vis.predictions }, ...stats };
  w.json(`attack-${tag}.json`, numbers);
  await w.plot(`attack-${tag}-stats`, attackStatisticsSpec(stats));
  return { numbers, artefacts: w.list };
}

/** Analysis 6. */
export async function modifyFigures(ctx: AnalysisContext, options: SemanticModificationOptions & FigureOptions) {
  const w = new Artefacts();
  const r = semanticModification(ctx, options);
  const rows = r.indices.map((_, i) => [
    tileFromImage(r.inputs, i),
    tileFromImage(r.reconstructions, i),
    ...r.factors.flatMap((f) => [tileFromImage(f.partnerImages, i), tileFromImage(f.modified, i)]),
  ]);
  const columnLabels = ['x', 'D(E(x))', ...r.factors.flatMap((f) => [`${f.factor} from`, `x̄* (${f.factor})`])];
  w.png('semantic-modification.png', await imageGridPng(rows, { scale: options.scale, columnLabels, title: 'Replace one factor of e(E(x)) by another image\'s, decode D(e⁻¹(·))' }));
  const numbers = {
    indices: r.indices,
    output: r.output,
    reconstructionDistance: r.reconstructionDistance,
    factors: r.factors.map((f) => ({ factor: f.factor, partners: f.partners, distance: f.distance, distanceFromReconstruction: f.distanceFromReconstruction, predictionChangeRate: f.predictionChangeRate })),
  };
  w.json('semantic-modification.json', numbers);
  await w.plot('semantic-modification-distance', semanticModificationSpec(r));
  return { numbers, artefacts: w.list };
}

/** Analysis 7: a grid with the v-images down the left and the z-images along the top. */
export async function mixFigures(ctx: AnalysisContext, options: MixingOptions & FigureOptions) {
  const w = new Artefacts();
  const r = imageMixing(ctx, options);
  const cols = r.representationIndices.length;
  const rows: (Tile | null)[][] = [[null, ...tiles(r.representationImages)]];
  r.invarianceIndices.forEach((_, i) => rows.push([tileFromImage(r.invarianceImages, i), ...tiles(r.mixed, i * cols, (i + 1) * cols)]));
  w.png(`mixing-${safeName(r.layer)}.png`, await imageGridPng(rows, { scale: options.scale, title: `${r.layer}: D(t⁻¹(v(row) | z(column)))` }));
  const numbers = { layer: r.layer, invarianceIndices: r.invarianceIndices, representationIndices: r.representationIndices };
  w.json(`mixing-${safeName(r.layer)}.json`, numbers);
  return { numbers, artefacts: w.list };
}

function table1Markdown(r: Table1Result): string {
  const f = (x: number | null) => (x === null ? '–' : x.toFixed(3));
  const lines = [
    `Fréchet distance to ${r.images} real test images on ${r.features} (lower is better). ours: mean ± std over seeds ${r.seeds.join(', ')}; M&V on ${r.mvImages} images; AE reconstructions: ${r.reconstruction.toFixed(3)}.`,
    '',
    `| method | ${r.rows.map((x) => x.layer).join(' | ')} |`,
    `|---|${r.rows.map(() => '---').join('|')}|`,
    `| ours | ${r.rows.map((x) => `${x.ours.mean.toFixed(3)} ± ${x.ours.std.toFixed(3)}`).join(' | ')} |`,
    `| D&B | ${r.rows.map((x) => f(x.dnb)).join(' | ')} |`,
    `| M&V | ${r.rows.map((x) => f(x.mv)).join(' | ')} |`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Analysis 9: Table 1 (JSON, Markdown, plot) and the Fig. 2-style example grid. */
export async function table1Figures(ctx: AnalysisContext, options: Table1Options & FigureOptions) {
  const w = new Artefacts();
  const r = await table1(ctx, options);
  const { examples, ...numbers } = r;
  w.json('table1.json', numbers);
  w.text('table1.md', table1Markdown(r));
  await w.plot('table1', table1Spec(r));
  const rows: (Tile | null)[][] = [];
  const rowLabels: string[] = [];
  const count = examples.inputs.shape[0];
  rows.push(tiles(examples.inputs));
  rowLabels.push('x');
  for (const l of examples.layers) {
    for (const [name, imgs] of [['ours', l.ours], ['D&B', l.dnb], ['M&V', l.mv]] as const) {
      if (!imgs) continue;
      rows.push(Array.from({ length: count }, (_, i) => (i < imgs.shape[0] ? tileFromImage(imgs, i) : null)));
      rowLabels.push(`${l.layer} ${name}`);
    }
  }
  w.png('table1-examples.png', await imageGridPng(rows, { scale: options.scale, rowLabels, title: 'Reconstructions from z = Φ(x) per layer and method' }));
  return { numbers, artefacts: w.list };
}
