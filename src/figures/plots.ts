/**
 * Plots of the analyses as Vega-Lite specs, rendered to SVG headless with `vega` +
 * `vega-lite` (`View.toSVG()` with the 'none' renderer needs no canvas). Browser-safe: the
 * explorer can embed the same specs; `png.ts` turns the SVG into a PNG with sharp (Node).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { InvariancePerLayerResult } from '../analysis/invariances.ts';
import type { SemanticSensitivityResult } from '../analysis/semantic-sensitivity.ts';
import type { TrainingDynamicsResult } from '../analysis/training-dynamics.ts';
import type { AttackStatistics } from '../analysis/attacks.ts';
import type { SemanticModificationResult } from '../analysis/semantic-modification.ts';
import type { Table1Result } from '../analysis/table1.ts';

/** Renders a Vega-Lite spec to an SVG string (no canvas, no network). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 360;
const HEIGHT = 220;

/**
 * Fig. 3 right: invariance per layer in z̄ space and image space. `measure: 'share'` (default)
 * plots the variance over samples as a share of the data's variance; 'variance' plots the
 * absolute variances (the paper's "spatially averaged variances") on a log scale.
 */
export function invariancePerLayerSpec(r: InvariancePerLayerResult, title = 'Invariance per layer', measure: 'share' | 'variance' = 'share'): TopLevelSpec {
  const order = r.layers.map((l) => l.layer);
  const values = r.layers.flatMap((l) => [
    { layer: l.layer, space: 'z̄ (AE code, Σ over dims)', share: l.zbarShare, variance: l.zbarVariance },
    { layer: l.layer, space: 'image (mean over pixels)', share: l.imageShare, variance: l.imageVariance },
  ]);
  const share = measure === 'share';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: title,
      subtitle: `${r.inputs} inputs × ${r.samples} samples; ${share ? 'variance over samples / variance over the data' : 'variance over samples (log scale)'}`,
    },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'layer', type: 'ordinal', sort: order, title: 'layer (input → output)' },
      y: share
        ? { field: 'share', type: 'quantitative', title: 'invariance (share of data variance)' }
        : { field: 'variance', type: 'quantitative', title: 'variance over samples', scale: { type: 'log' } },
      color: { field: 'space', type: 'nominal', title: 'measured in', legend: { labelLimit: 320 } },
      tooltip: [{ field: 'layer' }, { field: 'space' }, { field: 'share', format: '.3f' }, { field: 'variance', format: '.4g' }],
    },
  };
}

/** Analysis 3: sensitivity per layer and factor (grouped lines across depth); off-manifold points hollow. */
export function semanticSensitivitySpec(r: SemanticSensitivityResult, title = 'Semantic sensitivity per layer'): TopLevelSpec {
  const order = r.layers.map((l) => l.layer);
  const values = r.layers.flatMap((l) => r.factorNames.map((f) => ({
    layer: l.layer, factor: f, sensitivity: l.factors[f]!.sensitivity, manifold: l.factors[f]!.manifoldRatio,
    onManifold: l.factors[f]!.offManifold ? 'no: train t longer' : 'yes',
  })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'Var_x E_v ẑ_F / Var_{x,v} ẑ_F, ẑ = e(t⁻¹(v|z)); hollow: t\'s samples off the data manifold' },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'layer', type: 'ordinal', sort: order, title: 'layer (input → output)' },
      y: { field: 'sensitivity', type: 'quantitative', title: 'sensitivity (share captured by z)', scale: { domain: [0, 1] } },
      color: { field: 'factor', type: 'nominal', sort: r.factorNames },
      tooltip: [{ field: 'layer' }, { field: 'factor' }, { field: 'sensitivity', format: '.3f' }, { field: 'manifold', format: '.2f', title: 'Var(samples)/Var(data)' }, { field: 'onManifold', title: 'on the data manifold' }],
    },
  };
}

/**
 * Fig. 4 in the paper's layout: per factor, how much the data varies in e_i (light bar, the
 * same at every checkpoint) and how much of it z captures at each checkpoint (dark bar), over
 * the checkpoints; below, the accuracy curve.
 */
export function trainingDynamicsSpec(r: TrainingDynamicsResult, title = 'Semantic factors captured during training'): TopLevelSpec {
  const order = r.checkpoints.map((c) => String(c.iteration));
  const bars = r.checkpoints.flatMap((c) => r.factorNames.map((f) => ({
    iteration: String(c.iteration), factor: f, data: r.dataVariance[f]!, captured: c.factors[f]!.captured,
    sensitivity: c.factors[f]!.sensitivity, manifold: c.factors[f]!.manifoldRatio,
  })));
  const accuracy = r.checkpoints.filter((c) => c.accuracy !== null).map((c) => ({ iteration: String(c.iteration), accuracy: c.accuracy }));
  const x = { field: 'iteration', type: 'ordinal' as const, sort: order, title: 'training iteration (checkpoint)' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'light: Var_data ẑ_F (how much the data varies in the factor); dark: Var_x E_v ẑ_F (the part z captures)' },
    vconcat: [
      {
        data: { values: bars },
        facet: { row: { field: 'factor', type: 'nominal', sort: r.factorNames, title: null } },
        spec: {
          width: WIDTH,
          height: 70,
          layer: [
            { mark: { type: 'bar', opacity: 0.3 }, encoding: { x, y: { field: 'data', type: 'quantitative', title: 'variance' }, color: { field: 'factor', type: 'nominal', sort: r.factorNames, legend: null } } },
            {
              mark: { type: 'bar', width: { band: 0.5 } },
              encoding: {
                x, y: { field: 'captured', type: 'quantitative' }, color: { field: 'factor', type: 'nominal', sort: r.factorNames, legend: null },
                tooltip: [{ field: 'iteration' }, { field: 'factor' }, { field: 'captured', format: '.4f' }, { field: 'data', format: '.4f' }, { field: 'sensitivity', format: '.3f' }, { field: 'manifold', format: '.2f', title: 'Var(samples)/Var(data)' }],
              },
            },
          ],
        },
        resolve: { scale: { y: 'independent' } },
      },
      {
        data: { values: accuracy },
        width: WIDTH,
        height: 90,
        mark: { type: 'line', point: { color: '#2ca02c' }, color: '#2ca02c' },
        encoding: { x, y: { field: 'accuracy', type: 'quantitative', title: 'accuracy', scale: { domain: [0, 1] } } },
      },
    ],
  };
}

/** Analysis 5: per layer, the relative change of z under the attack and the control, and the variance explained by v. */
export function attackStatisticsSpec(r: AttackStatistics, title = 'What the attack changes per layer'): TopLevelSpec {
  const order = r.layers.map((l) => l.layer);
  const values = r.layers.flatMap((l) => [
    { layer: l.layer, measure: `‖Δz‖/‖z‖ (${r.config.kind})`, value: l.representationChange },
    { layer: l.layer, measure: '‖Δz‖/‖z‖ (random sign)', value: l.representationChangeRandom },
    { layer: l.layer, measure: `Δz̄ / data var (${r.config.kind})`, value: l.zbarChange },
    { layer: l.layer, measure: 'variance explained by v', value: l.varianceExplainedByV },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `ε = ${r.config.epsilon}; success ${(100 * r.successRate).toFixed(0)}% (control ${(100 * r.successRateRandom).toFixed(0)}%) on ${r.count} images` },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'layer', type: 'ordinal', sort: order, title: 'layer (input → output)' },
      y: { field: 'value', type: 'quantitative', title: 'value' },
      color: { field: 'measure', type: 'nominal', legend: { labelLimit: 320 } },
    },
  };
}

/** Fig. 7 last row: the model's output distance per modified factor. */
export function semanticModificationSpec(r: SemanticModificationResult, title = 'Model sensitivity to semantic modifications'): TopLevelSpec {
  const values = r.factors.flatMap((f) => [
    { factor: f.factor, against: 'f(x)', distance: f.distance },
    { factor: f.factor, against: 'f(D(E(x)))', distance: f.distanceFromReconstruction },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `mean ‖f(·) − f(x̄*)‖ on the ${r.output}; the AE alone: ${r.reconstructionDistance.toFixed(3)}` },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'factor', type: 'nominal', title: 'modified factor', sort: r.factors.map((f) => f.factor) },
      xOffset: { field: 'against' },
      y: { field: 'distance', type: 'quantitative', title: 'mean output distance' },
      color: { field: 'against', type: 'nominal', title: 'compared with' },
    },
  };
}

/** Table 1 as a plot: Fréchet distance per layer for ours (mean ± std), D&B and M&V. */
export function table1Spec(r: Table1Result, title = 'Fréchet distance of layer visualisations'): TopLevelSpec {
  const order = r.rows.map((x) => x.layer);
  const values = r.rows.flatMap((x) => [
    { layer: x.layer, method: 'ours', fd: x.ours.mean, lo: x.ours.mean - x.ours.std, hi: x.ours.mean + x.ours.std },
    ...(x.dnb === null ? [] : [{ layer: x.layer, method: 'D&B', fd: x.dnb, lo: x.dnb, hi: x.dnb }]),
    ...(x.mv === null ? [] : [{ layer: x.layer, method: 'M&V', fd: x.mv, lo: x.mv, hi: x.mv }]),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `features: ${r.features}; ${r.images} images; AE reconstructions: ${r.reconstruction.toFixed(2)}` },
    width: WIDTH,
    height: HEIGHT,
    data: { values },
    layer: [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'layer', type: 'ordinal', sort: order, title: 'layer (input → output)' },
          y: { field: 'fd', type: 'quantitative', title: 'Fréchet distance (lower is better)' },
          color: { field: 'method', type: 'nominal' },
        },
      },
      {
        mark: 'rule',
        encoding: {
          x: { field: 'layer', type: 'ordinal', sort: order },
          y: { field: 'lo', type: 'quantitative' },
          y2: { field: 'hi' },
          color: { field: 'method', type: 'nominal' },
        },
      },
    ],
  };
}
