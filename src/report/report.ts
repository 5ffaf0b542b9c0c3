/**
 * `inntrospect report`: one self-contained HTML file that reproduces the paper's Fig. 3, 4, 5, 7
 * and Table 1 on a loaded pipeline (the shipped ColorMNIST zoo by default) and states, with the
 * measured numbers, whether each claim holds. Figures are embedded (PNG as data URIs, plots as
 * inline SVG); the numbers are also written as JSON beside it. Node only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FeatureExtractor } from '../analysis/fid.ts';
import type { InvariancePerLayerResult } from '../analysis/invariances.ts';
import type { TrainingDynamicsResult } from '../analysis/training-dynamics.ts';
import type { Table1Result } from '../analysis/table1.ts';
import {
  attackFigures, dynamicsFigures, invarianceFigures, modifyFigures, sampleFigures, semanticFigures, table1Figures, type Artefact,
} from '../figures/analysis-figures.ts';
import type { LoadedAnalysis } from '../pipeline/analysis-loader.ts';
import { datasetAttributes, eQuality } from '../analysis/e-quality.ts';
import { describeImages } from '../analysis/context.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { writeFileAtomic, writeJsonAtomic } from '../runs/atomic-file.ts';
import { dnbCheckpointFolder, dnbFileCheckpoints, removeDnbCheckpoints } from './dnb-checkpoints.ts';
import { dynamicsClaim, invarianceDepthClaim, invertibilityClaim, samplingKeepsClaim, table1Claim, type Claim } from './claims.ts';
import type { InvertibleModule } from '../flows/module.ts';

export interface ReportOptions {
  /** The HTML file to write (its numbers go to the same name with .json). */
  out: string;
  /** Feature network of the Fréchet distance (Table 1). */
  features: FeatureExtractor;
  /** Inputs averaged over in the invariance and sensitivity measures. Default 64. */
  inputs: number;
  /** Samples of v per input. Default 16. */
  samples: number;
  /** Conditioning images of Table 1 (and as many real ones). Default 256. */
  tableImages: number;
  /** Sampling seeds of Table 1. Default [0, 1, 2]. */
  tableSeeds: number[];
  /** Images inverted by M&V (0 skips M&V). Default 32. */
  mvImages: number;
  /** D&B training steps. Default 1500. */
  dnbSteps: number;
  /**
   * Folder where the D&B decoders' training is saved every 100 steps and continued from when the
   * report is run again after a kill (default: beside the report, report.html → report.dnb/,
   * removed once the report is written); false: keep nothing.
   */
  dnbCheckpoints?: string | false;
  /** FGSM ε (pixels in [-1, 1]). Default 0.1. */
  epsilon: number;
  /** Test images of the sampling claim (the claim asks for ≥ 1000). Default 1000. */
  samplingImages: number;
  /** Sampling seeds of the sampling claim (mean over them). Default 3. */
  samplingSeeds: number;
  seed: number;
  /** Name of the source for the title (e.g. 'zoo/colormnist'). */
  source: string;
  /** A 'reproduce fig4' result folder: its Fig. 4 replaces the source's own snapshots. */
  fig4?: string;
  onProgress?: ProgressListener;
  onStage?: (stage: string) => void;
}

export const REPORT_NUMBERS_FORMAT = 'inntrospect-report-numbers/1';
/** Marks the HTML as a report, so a later report may replace it and nothing else. */
const REPORT_GENERATOR = '<meta name="generator" content="inntrospect report">';

/** The report's numbers file: the report's own name with .json (model.html → model.json). */
export function reportNumbersPath(out: string): string {
  return `${out.replace(/\.html?$/i, '')}.json`;
}

function isReportHtml(path: string): boolean {
  const head = readFileSync(path, 'utf8').slice(0, 4096);
  return head.includes(REPORT_GENERATOR) || head.includes('<title>inntrospect report');
}

function isReportNumbers(path: string): boolean {
  try {
    const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    return j['format'] === REPORT_NUMBERS_FORMAT || ('claims' in j && 'numbers' in j && 'source' in j);
  } catch {
    return false;
  }
}

/**
 * Refuses, before any work, outputs that would replace a file that is not an earlier report:
 * `-o X/model.html` must not overwrite X/model.json when that is a model.
 */
export function checkReportOutputs(out: string): void {
  if (!/\.html?$/i.test(out)) throw new Error(`report: -o ${out} must name an .html file (its numbers go beside it as ${reportNumbersPath(`${out}.html`)})`);
  if (existsSync(out) && !isReportHtml(out)) throw new Error(`report: ${out} exists and is not an inntrospect report; choose another -o (nothing was written)`);
  const json = reportNumbersPath(out);
  if (existsSync(json) && !isReportNumbers(json)) {
    throw new Error(`report: -o ${out} writes its numbers to ${json}, which exists and is not a report's numbers (a model?); choose another -o name (nothing was written)`);
  }
}

export const DEFAULT_REPORT_OPTIONS: Omit<ReportOptions, 'out' | 'features' | 'source'> = {
  inputs: 64, samples: 16, tableImages: 256, tableSeeds: [0, 1, 2], mvImages: 32, dnbSteps: 1500, epsilon: 0.1, samplingImages: 1000, samplingSeeds: 3, seed: 0,
};

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** An artefact of src/figures inline: SVG as markup, PNG as a data URI. */
function embed(a: Artefact): string {
  if (a.name.endsWith('.svg')) return `<div class="plot">${new TextDecoder().decode(a.bytes).replace(/<\?xml[^>]*>/, '')}</div>`;
  if (a.name.endsWith('.png')) return `<img alt="${escapeHtml(a.name)}" src="data:image/png;base64,${Buffer.from(a.bytes).toString('base64')}">`;
  return '';
}

/** The named artefacts, in the order asked for; a missing name is a bug here, so it throws. */
function pick(artefacts: readonly Artefact[], ...names: string[]): Artefact[] {
  return names.map((n) => {
    const a = artefacts.find((x) => x.name === n);
    if (!a) throw new Error(`report: no figure '${n}' (have ${artefacts.map((x) => x.name).join(', ')})`);
    return a;
  });
}

function claimRow(c: Claim): string {
  const verdict = c.holds === null ? '<td class="na">not measured</td>' : c.holds ? '<td class="yes">holds</td>' : '<td class="no">does not hold</td>';
  return `<tr>${verdict}<td>${escapeHtml(c.statement)}</td><td>${escapeHtml(c.measured)}${c.why ? `<br><b>Why it fails:</b> ${escapeHtml(c.why)}` : ''}</td></tr>`;
}

function warningList(warnings: readonly string[]): string {
  if (warnings.length === 0) return '<p>Manifold check: every factor\'s samples spread like the data (Var(samples)/Var(data) in [0.8, 1.25]).</p>';
  return `<p class="warn">Manifold check: ${warnings.length} off the data manifold.</p><ul class="warn">${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`;
}

export interface ReportResult {
  html: string;
  json: string;
  claims: Claim[];
  seconds: number;
}

export async function writeReport(loaded: LoadedAnalysis, options: ReportOptions): Promise<ReportResult> {
  const t0 = performance.now();
  const ctx = loaded.context;
  const common = { seed: options.seed, onProgress: options.onProgress };
  const stage = (s: string) => options.onStage?.(s);
  const sections: string[] = [];
  const claims: Claim[] = [];
  const numbers: Record<string, unknown> = {};
  const first = ctx.layers[0]!.name;
  const last = ctx.layers.at(-1)!.name;

  stage('invertibility');
  const flows: Array<{ name: string; flow: InvertibleModule & { dim: number }; conditionShape?: number[] }> = ctx.layers.map((l) => ({
    name: `t(${l.name})`, flow: l.t as unknown as InvertibleModule & { dim: number },
    conditionShape: (l.t as unknown as { cfg?: { conditionShape: number[] } }).cfg?.conditionShape,
  }));
  if (ctx.e) flows.push({ name: 'e', flow: ctx.e as unknown as InvertibleModule & { dim: number } });
  claims.push(invertibilityClaim(flows));

  stage('Fig. 3 (left): samples per layer');
  const samplesFiles: Artefact[] = [];
  for (const layer of [first, last]) {
    const r = await sampleFigures(ctx, { layer, count: 4, samples: 8, ...common });
    samplesFiles.push(...pick(r.artefacts, `samples-${layer.replace(/[^A-Za-z0-9._-]+/g, '_')}.png`));
    numbers[`samples-${layer}`] = r.numbers;
  }
  claims.push(samplingKeepsClaim(ctx, last, Math.min(options.samplingImages, ctx.data.shape[0]), Array.from({ length: options.samplingSeeds }, (_, k) => options.seed + k)));

  stage('Fig. 3 (right): invariance per layer');
  const inv = await invarianceFigures(ctx, { inputs: options.inputs, samples: options.samples, ...common });
  numbers['invariance'] = inv.numbers;
  claims.push(invarianceDepthClaim(inv.numbers as InvariancePerLayerResult));
  sections.push(`<h2>Fig. 3 — what each layer keeps and what it is invariant to</h2>
<p>Left: for each input x (first column) and its autoencoder reconstruction, samples D(t⁻¹(v|Φ(x))) with v ~ N(0, I) at the layer nearest the input (${escapeHtml(first)}) and at the logits side (${escapeHtml(last)}); the per-pixel mean and variance over the samples. What stays the same across samples is encoded in z; what changes is what the layer is invariant to.</p>
${samplesFiles.map(embed).join('\n')}
<p>Right: the variance over samples per layer (image space and z̄ space), averaged over ${options.inputs} inputs with ${options.samples} samples each.</p>
${inv.artefacts.filter((a) => a.name.endsWith('.svg')).map(embed).join('\n')}`);

  if (ctx.e) {
    stage('semantic sensitivity per layer');
    const sem = await semanticFigures(ctx, { inputs: options.inputs, samples: options.samples, ...common });
    const r = sem.numbers;
    numbers['semantic'] = r;
    const rows = r.layers.map((l) => `<tr><td>${escapeHtml(l.layer)}</td>${r.factorNames.map((f) => {
      const x = l.factors[f]!;
      return `<td${x.offManifold ? ' class="no"' : ''}>${x.sensitivity.toFixed(3)} <small>(captured ${x.captured.toPrecision(3)} of ${x.total.toPrecision(3)}; samples/data ${x.manifoldRatio.toFixed(2)})</small></td>`;
    }).join('')}</tr>`).join('');
    sections.push(`<h2>Semantic sensitivity per layer</h2>
<p>Per layer and factor F of e, over ${r.inputs} inputs × ${r.samples} samples: sensitivity = Var_x E_v ẑ_F / Var_{x,v} ẑ_F with ẑ = e(t⁻¹(v|Φ(x))), bias-corrected for the ${r.samples} samples per input, in [0, 1] by construction (docs/analyses.md §3). In brackets: the captured and total variance, and the manifold check Var_{x,v} ẑ_F / Var_data ẑ_F (data: e of AE posterior samples of ${r.dataImages} images; ${r.factorNames.map((f) => `${escapeHtml(f)} ${r.dataVariance[f]!.toPrecision(3)}`).join(', ')}). Red cells are outside [0.8, 1.25]: t's samples are off the data manifold there, and the sensitivity describes samples e has not seen.</p>
<table class="numbers"><tr><th>layer</th>${r.factorNames.map((f) => `<th>${escapeHtml(f)}</th>`).join('')}</tr>${rows}</table>
${warningList(r.warnings)}
${sem.artefacts.filter((a) => a.name.endsWith('.svg')).map(embed).join('\n')}`);
  }

  if (ctx.e) {
    stage('e quality');
    const attributes = datasetAttributes(ctx.data);
    const q = eQuality(ctx.ae, ctx.e, ctx.data, attributes, loaded.relevancePairs?.(Math.min(1000, ctx.data.shape[0])));
    numbers['eQuality'] = q;
    const attrs = q.attributes.map((a) => a.name);
    const probeRows = ctx.e.factorNames.map((f) => `<tr><td>${escapeHtml(f)}</td>${attrs.map((a) => {
      const p = q.probes.find((x) => x.factor === f && x.attribute === a)!;
      return `<td${p.expected ? ' class="yes"' : ''}>${p.score.toFixed(3)}${p.kind === 'class' ? ` <small>(chance ${p.chance.toFixed(2)})</small>` : ''}</td>`;
    }).join('')}</tr>`).join('');
    const pairRows = q.pairCorrelations.map((c) => `<tr><td>${escapeHtml(c.factor)}</td><td>${c.correlation.toFixed(3)}</td><td>${c.bound === null ? 'none (continuous)' : c.bound.toFixed(3)}</td><td>${c.dims}</td><td>${c.pairs}</td></tr>`).join('');
    sections.push(`<h2>e quality — what each factor of the semantic INN separates</h2>
<p>On ${escapeHtml(describeImages(ctx.data))}: a probe per factor ẑ_F = e(E(x))_F and attribute, fitted on half of the images and scored on the other half (class attributes: nearest-centroid accuracy; continuous ones: linear R²). Green: the attribute the factor should hold; the others should be near chance (docs/analyses.md §10).</p>
<table class="numbers"><tr><th>factor</th>${attrs.map((a) => `<th>${escapeHtml(a)}</th>`).join('')}</tr>${probeRows}</table>
${pairRows ? `<p>Mean per-dimension correlation of a factor between the two images of pairs that share it, beside its information bound: a pair sharing a K-class attribute shares at most ln K nats, so the correlation cannot exceed √(1 − K^(−2/|F|)) however well e is trained; judge e by the probes, not by the distance to the loss's ρ.</p>
<table class="numbers"><tr><th>factor</th><th>pair correlation</th><th>information bound</th><th>dims</th><th>pairs</th></tr>${pairRows}</table>` : ''}`);
  }

  if (options.fig4) {
    stage(`Fig. 4: from ${options.fig4}`);
    const file = join(options.fig4, 'fig4.json');
    if (!existsSync(file)) throw new Error(`--fig4 ${options.fig4}: no fig4.json there (make it with 'inntrospect reproduce fig4')`);
    const f4 = JSON.parse(readFileSync(file, 'utf8')) as { recipe: string; images: string; claim: Claim; expectedMisses: string[]; dynamics: { warnings: string[] } };
    numbers['dynamics'] = f4.dynamics;
    claims.push(f4.claim);
    const figs = ['training-dynamics.svg', 'training-dynamics-samples.png'].map((n) => join(options.fig4!, n)).filter((f) => existsSync(f)).map((f): Artefact => ({ name: basename(f), bytes: new Uint8Array(readFileSync(f)) }));
    sections.push(`<h2>Fig. 4 — training dynamics (SqueezeNet on 3-factor ColorMNIST, as the paper ran it)</h2>
<p>From <code>${escapeHtml(options.fig4)}</code> (<code>inntrospect reproduce fig4 --recipe ${escapeHtml(f4.recipe)}</code>), on ${escapeHtml(f4.images)}: one t per SqueezeNet checkpoint on conv10, warm-started from the previous checkpoint's; per factor (digit, foreground, background) how much the data varies in it (light bars) and how much of that z captures (dark bars), with the accuracy curve. The claim's correlations use the sensitivity (captured / total); the IIN relevance score of Φ(x) is the cross-check.${f4.expectedMisses.length ? ` This recipe is expected to miss: ${f4.expectedMisses.map(escapeHtml).join('; ')}.` : ''}</p>
${warningList(f4.dynamics.warnings)}
${figs.map(embed).join('\n')}`);
  } else if (loaded.checkpoints.length > 0 && ctx.e) {
    stage('Fig. 4: training dynamics');
    const dyn = await dynamicsFigures(ctx, loaded.checkpoints, { inputs: Math.min(32, options.inputs), samples: options.samples, relevancePairs: loaded.relevancePairs?.(256), ...common });
    numbers['dynamics'] = dyn.numbers;
    claims.push(dynamicsClaim(dyn.numbers as unknown as TrainingDynamicsResult));
    sections.push(`<h2>Fig. 4 — training dynamics</h2>
<p>For every saved checkpoint of the classifier, a t on its last conv layer composed with the semantic INN e: per factor, how much the data varies in it (light bars) and how much of that variation z captures at the checkpoint (dark bars, Var_x E_v ẑ_F), beside the checkpoint's test accuracy; below, decoded samples at an early and a late checkpoint. The claim's correlations use the sensitivity (captured / total).</p>
${warningList((dyn.numbers as unknown as TrainingDynamicsResult).warnings)}
${dyn.artefacts.filter((a) => a.name === 'training-dynamics.svg' || a.name === 'training-dynamics-samples.png').map(embed).join('\n')}`);
  } else {
    claims.push({ id: 'dynamics', statement: 'Training dynamics (Fig. 4)', measured: 'the source has no classifier snapshots with a t each, or no semantic INN e', holds: null, numbers: {} });
  }

  if (ctx.classify) {
    stage('Fig. 5: adversarial attacks');
    const att = await attackFigures(ctx, { kind: 'fgsm', epsilon: options.epsilon, count: 64, ...common });
    numbers['attack'] = att.numbers;
    sections.push(`<h2>Fig. 5 — adversarial attacks made visible</h2>
<p>FGSM with ε = ${options.epsilon} (pixels in [−1, 1]): the input, the attacked input, a random-sign perturbation of the same size (control), and for every layer what it "sees" of the attack, D(t⁻¹(v|Φ(x_adv))) with v = t(E(x)|Φ(x)) of the clean image; predictions beside them. The plot shows, per layer, how much of the representation the attack changes against the random control.</p>
${pick(att.artefacts, 'attack-fgsm.png', 'attack-fgsm-stats.svg').map(embed).join('\n')}`);
  }

  if (ctx.e && ctx.classify) {
    stage('Fig. 7: semantic modifications');
    const mod = await modifyFigures(ctx, { count: Math.min(256, ctx.data.shape[0]), ...common });
    numbers['modify'] = mod.numbers;
    sections.push(`<h2>Fig. 7 — semantic modifications</h2>
<p>Each factor of x replaced by that of another image that differs in it, decoded as D(e⁻¹(…)), and the classifier's sensitivity per factor: the mean distance ‖f(x) − f(x*)‖ over the test images.</p>
${pick(mod.artefacts, 'semantic-modification.png', 'semantic-modification-distance.svg').map(embed).join('\n')}`);
  }

  stage('Table 1: Fréchet distances (ours, D&B, M&V)');
  const dnbDir = options.dnbCheckpoints === false ? null : options.dnbCheckpoints ?? dnbCheckpointFolder(options.out);
  const tab = await table1Figures(ctx, {
    features: options.features, images: Math.min(options.tableImages, Math.floor(ctx.data.shape[0] / 2)), seeds: options.tableSeeds,
    dnb: { steps: options.dnbSteps }, mv: options.mvImages > 0 ? { images: options.mvImages } : false, ...common,
    ...(dnbDir ? { dnbCheckpoints: (layer: string) => dnbFileCheckpoints(dnbDir, layer) } : {}),
  });
  numbers['table1'] = tab.numbers;
  const t1 = tab.numbers as unknown as Omit<Table1Result, 'examples'>;
  claims.push(table1Claim({ ...t1, examples: { inputs: null as never, layers: [] } }));
  const tableRows = t1.rows.map((r) => `<tr><td>${escapeHtml(r.layer)}</td><td>${r.ours.mean.toFixed(2)} ± ${r.ours.std.toFixed(2)}</td><td>${r.dnb === null ? '–' : r.dnb.toFixed(2)}</td><td>${r.mv === null ? '–' : r.mv.toFixed(2)}</td></tr>`).join('');
  sections.push(`<h2>Table 1 — how realistic are the visualisations of each layer</h2>
<p>Fréchet distance between images generated from z = Φ(x) and real test images, on the features of ${escapeHtml(t1.features)} (Inception is not available offline); ours: mean ± std over ${t1.seeds.length} sampling seeds. The AE's reconstructions give the floor: ${t1.reconstruction.toFixed(2)}.</p>
<table class="numbers"><tr><th>layer</th><th>ours</th><th>D&amp;B</th><th>M&amp;V</th></tr>${tableRows}</table>
${pick(tab.artefacts, 'table1-examples.png').map(embed).join('\n')}`);

  const seconds = Math.round((performance.now() - t0) / 1000);
  const provenance = loaded.manifest
    ? `<p>Pipeline: ${escapeHtml(options.source)} (trained ${escapeHtml(loaded.manifest.created)} on ${escapeHtml(loaded.manifest.backend)}, preset ${escapeHtml(loaded.manifest.preset)}); AE PSNR ${loaded.manifest.ae.metrics['psnr']?.toFixed(2) ?? '?'} dB, classifier test accuracy ${((loaded.manifest.classifier.metrics['testAccuracy'] ?? NaN) * 100).toFixed(2)} %.</p>`
    : `<p>Pipeline: ${escapeHtml(options.source)}.</p>`;
  const held = claims.filter((c) => c.holds === true).length;
  const imagesLine = `<p>Images analysed: ${escapeHtml(describeImages(ctx.data))}.</p>`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">${REPORT_GENERATOR}<title>inntrospect report — ${escapeHtml(options.source)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ccc; padding: 0.35em 0.6em; vertical-align: top; text-align: left; }
td.yes { background: #e6f4ea; font-weight: 600; } td.no { background: #fce8e6; font-weight: 600; } td.na { background: #f1f3f4; }
.warn { color: #a50e0e; }
img { max-width: 100%; image-rendering: pixelated; display: block; margin: 0.8em 0; } .plot svg { max-width: 100%; height: auto; }
</style></head><body>
<h1>Making sense of a CNN layer by layer — report</h1>
<p>Reproduces the figures and Table 1 of Rombach, Esser &amp; Ommer, <i>Making Sense of CNNs: Interpreting Deep Representations &amp; Their Invariances with INNs</i> (ECCV 2020) on this pipeline, with the semantic INN of Esser, Rombach &amp; Ommer (CVPR 2020). Generated ${new Date().toISOString()} in ${seconds} s by <code>inntrospect report</code>.</p>
${provenance}
${imagesLine}
<h2>Claims</h2>
<p>${held} of ${claims.length} claims hold on this pipeline.</p>
<table><tr><th>verdict</th><th>claim</th><th>measured</th></tr>${claims.map(claimRow).join('\n')}</table>
${sections.join('\n')}
</body></html>
`;
  const json = reportNumbersPath(options.out);
  checkReportOutputs(options.out);
  writeFileAtomic(options.out, html);
  writeJsonAtomic(json, { format: REPORT_NUMBERS_FORMAT, source: options.source, images: describeImages(ctx.data), seconds, claims, numbers });
  // The report is written: the D&B states it could have continued from are no longer needed.
  if (dnbDir) removeDnbCheckpoints(dnbDir);
  return { html: options.out, json, claims, seconds };
}
