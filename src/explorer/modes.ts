/**
 * The explorer's five modes (the official demo's, digest §1.2, plus the paper's semantic edits
 * and training dynamics). Each builds its controls, sends requests to the worker through a
 * latest-wins runner and draws the answer. What every image means: docs/explorer.md.
 */
import { LatestRunner, type WorkerClient } from './client.ts';
import type { ImageRef, Images, InitResult, Prediction, Request, ResultOf } from './protocol.ts';
import { el, figure, heatCanvas, imageCanvas, lineChart, predictionText, probabilityBars, strip } from './render.ts';

/** An image chosen in the page: a test image or an upload. */
export interface Selected {
  ref: ImageRef;
  name: string;
  preview: Images;
}

/** What the modes share with the page shell. */
export interface App {
  client: WorkerClient;
  init: InitResult;
  a(): Selected;
  b(): Selected;
  /** Called when a mode finishes a request (test hooks, timings). */
  record(mode: string, result: unknown, millis: number): void;
  /** Models were loaded after start (snapshots): redraw the model list. */
  modelsChanged(): void;
  /** The status line that the worker's progress messages go to while a request runs. */
  busy: HTMLElement | null;
}

export interface Mode {
  id: string;
  title: string;
  panel: HTMLElement;
  /** Recomputes with the current images and controls. */
  refresh(): void;
}

/** A fresh copy of an image reference (uploads' pixels are transferred to the worker). */
function refCopy(s: Selected): ImageRef {
  return 'test' in s.ref ? { test: s.ref.test } : { pixels: s.ref.pixels.slice(), name: s.ref.name };
}

function labelled(text: string, control: HTMLElement): HTMLElement {
  return el('label', { class: 'control' }, el('span', {}, text), control);
}

function select(name: string, options: string[], value?: string): HTMLSelectElement {
  const s = el('select', { name, 'data-testid': name });
  for (const o of options) s.append(el('option', { value: o }, o));
  if (value !== undefined) s.value = value;
  return s;
}

function numberInput(name: string, min: number, max: number, step: number, value: number, type: 'number' | 'range' = 'number'): HTMLInputElement {
  return el('input', { name, 'data-testid': name, type, min: String(min), max: String(max), step: String(step), value: String(value) });
}

/** Panel skeleton: explanation, controls, a status line and the output area. */
function panel(id: string, explanation: string): { root: HTMLElement; controls: HTMLElement; status: HTMLElement; output: HTMLElement } {
  const controls = el('div', { class: 'controls' });
  const status = el('div', { class: 'status', 'data-testid': `${id}-status` });
  const output = el('div', { class: 'output', 'data-testid': `${id}-output` });
  const root = el('section', { class: 'mode', id: `mode-${id}`, 'data-testid': `mode-${id}` }, el('p', { class: 'explain' }, explanation), controls, status, output);
  return { root, controls, status, output };
}

/** Sends a request through a runner, shows progress, timing and errors, and calls `draw`. */
function runner<R extends Request>(app: App, mode: string, status: HTMLElement, build: () => R | string, draw: (result: ResultOf[R['type']]) => void): LatestRunner {
  return new LatestRunner(async () => {
    const request = build();
    if (typeof request === 'string') {
      status.className = 'status error';
      status.textContent = request;
      return;
    }
    status.className = 'status busy';
    status.textContent = 'computing…';
    app.busy = status;
    const t0 = performance.now();
    try {
      const result = await app.client.request(request);
      const millis = performance.now() - t0;
      draw(result);
      status.className = 'status done';
      const inWorker = (result as { millis?: number }).millis;
      status.textContent = `done in ${millis.toFixed(0)} ms${inWorker !== undefined ? ` (worker ${inWorker.toFixed(0)} ms)` : ''}`;
      app.record(mode, result, millis);
    } catch (error) {
      status.className = 'status error';
      status.textContent = error instanceof Error ? error.message : String(error);
    } finally {
      if (app.busy === status) app.busy = null;
    }
  });
}

function missing(app: App, needs: { ae?: boolean; classifier?: boolean; layers?: boolean; e?: boolean; snapshots?: boolean }): string | null {
  const i = app.init;
  if (needs.ae && !i.hasAutoencoder) return 'This mode needs the autoencoder, which did not load (see the model list above).';
  if (needs.classifier && !i.hasClassifier) return 'This mode needs the classifier, which did not load (see the model list above).';
  if (needs.layers && i.layers.length === 0) return 'This mode needs at least one t, and none loaded (see the model list above).';
  if (needs.e && i.factors.length === 0) return 'This mode needs the semantic INN e, which did not load (see the model list above).';
  if (needs.snapshots && i.snapshots.length === 0) return "No classifier snapshots: training dynamics needs the checkpoints that 'inntrospect train classifier' saves (a zoo made by 'inntrospect reproduce' has them; a model inntrospect did not train has none).";
  return null;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : '–';
}

// ---------------------------------------------------------------------------------------------

export function representationsMode(app: App): Mode {
  const p = panel('sample', 'What a layer keeps and what it discards: for the input x and its representation z = Φ(x) at the chosen layer, samples x̄ = D(t⁻¹(v|z)) with v ~ N(0, I). What all samples share is what z keeps; what varies is what the layer is invariant to.');
  const layers = app.init.layers;
  const layer = select('layer', layers, layers.includes('z') ? 'z' : layers[layers.length - 1]);
  const samples = numberInput('samples', 2, 32, 1, 8);
  const resample = el('button', { type: 'button', 'data-testid': 'resample' }, 'Resample');
  p.controls.append(labelled('layer', layer), labelled('samples', samples), resample);
  let seed = 1;
  const run = runner(app, 'sample', p.status, () => missing(app, { ae: true, classifier: true, layers: true }) ?? ({
    type: 'sample', image: refCopy(app.a()), layer: layer.value, samples: Math.max(2, Math.min(32, Math.round(Number(samples.value) || 8))), seed,
  }), (r) => {
    const n = r.samples.shape[0];
    const sampleFigures = Array.from({ length: n }, (_, k) => figure(imageCanvas(r.samples, k), `x̄${k + 1}`, `cos(Φ(x̄), z) = ${fmt(r.reencoding.perSample[k] ?? NaN)}`));
    const re = r.reencoding;
    p.output.replaceChildren(
      strip([
        figure(imageCanvas(r.input, 0), 'input x', `classifier: ${predictionText(r.prediction, app.init.outputNames)}`),
        figure(imageCanvas(r.reconstruction, 0), 'D(E(x))'),
        figure(imageCanvas(r.mean, 0), 'mean of x̄'),
        figure(heatCanvas(r.variance, r.varianceShape, r.varianceMax), 'variance of x̄', `max ${r.varianceMax.toExponential(2)}`),
      ]),
      el('div', { class: 'grid', 'data-testid': 'samples' }, ...sampleFigures),
      el('p', { class: 'numbers', 'data-testid': 'reencoding' },
        `Re-encoding at ${r.layer}: mean cos(Φ(x̄), z) = ${fmt(re.samples)} over ${n} samples; `,
        `cos(Φ(D(E(x))), z) = ${fmt(re.reconstruction)} (what the autoencoder alone allows); `,
        `random pairs of test images: ${fmt(re.randomPairs)} (chance level). `,
        `Classifier on x: ${predictionText(r.prediction, app.init.outputNames)}.`),
    );
  });
  resample.addEventListener('click', () => {
    seed += 1;
    run.trigger();
  });
  layer.addEventListener('change', () => run.trigger());
  samples.addEventListener('change', () => run.trigger());
  return { id: 'sample', title: 'Samples', panel: p.root, refresh: () => run.trigger() };
}

// ---------------------------------------------------------------------------------------------

export function attacksMode(app: App): Mode {
  const p = panel('attack', 'Adversarial attacks made visible: x_adv = x + a perturbation of L∞ size ε that raises the classifier\'s loss (FGSM: one signed-gradient step; PGD: several, projected back onto the ε-ball). Per layer, with the clean image\'s invariances v = t(E(x)|Φ(x)) kept fixed, D(t⁻¹(v|Φ(x_adv))) shows what that layer "sees" of the attacked image; a random sign perturbation of the same size is the control.');
  const kind = select('attack-kind', ['fgsm', 'pgd'], 'fgsm');
  const epsilon = numberInput('epsilon', 0, 0.5, 0.01, 0.05, 'range');
  const epsilonValue = el('span', { class: 'value', 'data-testid': 'epsilon-value' }, '0.05');
  const steps = numberInput('pgd-steps', 1, 20, 1, 10);
  p.controls.append(labelled('attack', kind), labelled('ε', epsilon), epsilonValue, labelled('PGD steps', steps));
  const run = runner(app, 'attack', p.status, () => missing(app, { ae: true, classifier: true }) ?? ({
    type: 'attack', image: refCopy(app.a()), kind: kind.value as 'fgsm' | 'pgd', epsilon: Number(epsilon.value), steps: Math.max(1, Math.round(Number(steps.value) || 10)), seed: 1,
  }), (r) => {
    const eps = Math.max(1e-6, r.linf);
    const diff: Images = { data: r.adversarial.data.map((v, i) => v - r.input.data[i]!), shape: r.input.shape };
    const names = app.init.outputNames;
    const rows = r.layers.map((l) => el('tr', {},
      el('th', {}, l.layer),
      el('td', {}, imageCanvas(l.clean, 0)),
      el('td', {}, imageCanvas(l.adversarial, 0)),
      el('td', {}, imageCanvas(l.random, 0)),
      el('td', {}, predictionText(l.predictionAdversarial, names))));
    p.output.replaceChildren(
      strip([
        figure(imageCanvas(r.input, 0), 'x'),
        figure(imageCanvas(diff, 0, [-eps, eps]), `x_adv − x (±${eps.toFixed(3)})`),
        figure(imageCanvas(r.adversarial, 0), 'x_adv'),
        figure(imageCanvas(r.adversarialReconstruction, 0), 'D(E(x_adv))'),
        figure(imageCanvas(r.random, 0), 'random control'),
      ]),
      el('div', { class: 'predictions' },
        el('div', { 'data-testid': 'prediction-clean' }, el('h4', {}, `before: ${predictionText(r.predictions.clean, names)}`), probabilityBars(r.predictions.clean, names)),
        el('div', { 'data-testid': 'prediction-adversarial' }, el('h4', {}, `after: ${predictionText(r.predictions.adversarial, names)}`), probabilityBars(r.predictions.adversarial, names)),
        el('div', {}, el('h4', {}, `control: ${predictionText(r.predictions.random, names)}`), probabilityBars(r.predictions.random, names))),
      el('p', { class: 'numbers', 'data-testid': 'attack-numbers' },
        `‖x_adv − x‖∞ = ${r.linf.toFixed(3)}. `,
        r.temperature > 1 ? `The classifier is so confident here that its softmax is saturated; the attack's loss uses its logits divided by T = ${r.temperature.toFixed(1)} so that the gradient is representable (the predictions shown are the classifier's own).` : ''),
      el('table', { class: 'layers', 'data-testid': 'attack-layers' },
        el('tr', {}, el('th', {}, 'layer'), el('th', {}, 'D(t⁻¹(v|Φ(x)))'), el('th', {}, 'D(t⁻¹(v|Φ(x_adv)))'), el('th', {}, 'D(t⁻¹(v|Φ(x_rand)))'), el('th', {}, 'classifier on D(t⁻¹(v|Φ(x_adv)))')),
        ...rows),
    );
  });
  epsilon.addEventListener('input', () => {
    epsilonValue.textContent = Number(epsilon.value).toFixed(2);
  });
  for (const c of [kind, epsilon, steps]) c.addEventListener('change', () => run.trigger());
  return { id: 'attack', title: 'Attacks', panel: p.root, refresh: () => run.trigger() };
}

// ---------------------------------------------------------------------------------------------

export function mixingMode(app: App): Mode {
  const p = panel('mix', 'Image mixing: the invariances v of one image (what the layer discards) with the representation z of the other (what it keeps): x̄ = D(t⁻¹(v_row|z_column)). Uses images A and B; the diagonal reproduces D(E(x)).');
  const layers = app.init.layers;
  const layer = select('mix-layer', layers, layers.includes('z') ? 'z' : layers[layers.length - 1]);
  p.controls.append(labelled('layer', layer));
  const run = runner(app, 'mix', p.status, () => missing(app, { ae: true, classifier: true, layers: true }) ?? ({
    type: 'mix', a: refCopy(app.a()), b: refCopy(app.b()), layer: layer.value,
  }), (r) => {
    const names = app.init.outputNames;
    const cell = (k: number) => figure(imageCanvas(r.mixed, k), r.predictions.mixed ? predictionText(r.predictions.mixed[k], names) : '');
    p.output.replaceChildren(el('table', { class: 'mix', 'data-testid': 'mix-grid' },
      el('tr', {}, el('th', {}, `layer ${r.layer}`), el('th', {}, 'z of A'), el('th', {}, 'z of B')),
      el('tr', {}, el('th', {}, ''), el('td', {}, figure(imageCanvas(r.a, 0), `A: ${predictionText(r.predictions.a, names)}`)), el('td', {}, figure(imageCanvas(r.b, 0), `B: ${predictionText(r.predictions.b, names)}`))),
      el('tr', {}, el('th', {}, 'v of A'), el('td', {}, cell(0)), el('td', {}, cell(1))),
      el('tr', {}, el('th', {}, 'v of B'), el('td', {}, cell(2)), el('td', {}, cell(3)))));
  });
  layer.addEventListener('change', () => run.trigger());
  return { id: 'mix', title: 'Mixing', panel: p.root, refresh: () => run.trigger() };
}

// ---------------------------------------------------------------------------------------------

export function editsMode(app: App): Mode {
  const p = panel('edit', 'Semantic edits (paper Eq. 7): the semantic INN e splits the autoencoder code into factors, ê = e(E(x)). One factor F is moved — towards image B\'s value (α = 1 swaps it in: ê*_F = ê_F + α(ê_F(B) − ê_F)) or along a random direction — the others are kept, and x̄* = D(e⁻¹(ê*)) is decoded. Under each step: the classifier\'s prediction.');
  const factor = select('factor', app.init.factors, app.init.factors[0]);
  const how = select('edit-mode', ['towards', 'random'], 'towards');
  const amount = numberInput('amount', -3, 3, 0.05, 1, 'range');
  const amountValue = el('span', { class: 'value' }, '1.00');
  p.controls.append(labelled('factor', factor), labelled('move', how), labelled('α', amount), amountValue);
  let seed = 1;
  const reseed = el('button', { type: 'button', 'data-testid': 'new-direction' }, 'New random direction');
  p.controls.append(reseed);
  const run = runner(app, 'edit', p.status, () => missing(app, { ae: true, e: true }) ?? ({
    type: 'edit', image: refCopy(app.a()), partner: refCopy(app.b()), factor: factor.value, mode: how.value as 'towards' | 'random', amount: Number(amount.value), seed,
  }), (r) => {
    const names = app.init.outputNames;
    p.output.replaceChildren(
      strip([
        figure(imageCanvas(r.input, 0), `A: ${predictionText(r.predictions.input, names)}`),
        figure(imageCanvas(r.reconstruction, 0), 'D(E(A))'),
        figure(imageCanvas(r.partner, 0), 'B (partner)'),
      ]),
      strip(r.alphas.map((a, k) => figure(imageCanvas(r.walk, k), `α=${a.toFixed(2)}: ${r.predictions.walk ? predictionText(r.predictions.walk[k], names) : ''}`)), `${r.factor}:`),
    );
  });
  amount.addEventListener('input', () => {
    amountValue.textContent = Number(amount.value).toFixed(2);
  });
  reseed.addEventListener('click', () => {
    seed += 1;
    run.trigger();
  });
  for (const c of [factor, how, amount]) c.addEventListener('change', () => run.trigger());
  return { id: 'edit', title: 'Semantic edits', panel: p.root, refresh: () => run.trigger() };
}

// ---------------------------------------------------------------------------------------------

const FACTOR_COLORS = ['#d62728', '#1f77b4', '#9467bd', '#8c564b'];

export function dynamicsMode(app: App): Mode {
  const layer = app.init.dynamicsLayer;
  const explanation = layer
    ? `Training dynamics (paper Fig. 4): one t per classifier snapshot at layer ${layer}. The slider picks a snapshot; shown are samples D(t⁻¹(v|Φ(x))) of image A at that snapshot (the same v for every snapshot, so only the network changes), and the snapshot's predictions on A, its reconstruction and its factor swaps. The charts: each snapshot's test accuracy; the semantic sensitivity of ${layer} to each factor, the share of the variation of ẑ_F = e(t⁻¹(v|Φ(x)))_F over inputs and samples that comes from the input (Var_x E_v ẑ_F / Var_{x,v} ẑ_F) — 1 when the layer fixes the factor, 0 when it leaves it all to v; a warning lists snapshots whose samples spread unlike the data (off e's data manifold: their sensitivity is not to be trusted); and, measured on the output alone, the share of test images whose prediction changes when the factor is swapped in from another image with e (Eq. 7).`
    : 'Training dynamics over the classifier\'s snapshots. The zoo has no t per snapshot, so the paper\'s Fig. 4 (sensitivity of the layer\'s samples to each factor) cannot be drawn here. Shown instead: each snapshot\'s test accuracy, and its sensitivity to the semantic factors measured on its output — the share of test images whose prediction changes when one factor is swapped in from another image with e (Eq. 7: x̄* = D(e⁻¹(ê*))), relative to the prediction on D(E(x)). Below: the chosen snapshot\'s predictions on image A, its reconstruction and its factor swaps.';
  const p = panel('dynamics', explanation);
  const snapshots = app.init.snapshots;
  const slider = numberInput('snapshot', 0, Math.max(0, snapshots.length - 1), 1, Math.max(0, snapshots.length - 1), 'range');
  const sliderValue = el('span', { class: 'value', 'data-testid': 'snapshot-value' }, '');
  p.controls.append(labelled('checkpoint', slider), sliderValue);
  const charts = el('div', { class: 'charts', 'data-testid': 'dynamics-charts' });
  const shown = el('div', { class: 'dynamics-shown', 'data-testid': 'dynamics-shown' });
  p.output.append(charts, shown);
  let curves: ResultOf['dynamicsCurves'] | null = null;
  const label = () => {
    const k = Number(slider.value);
    const s = snapshots[k];
    sliderValue.textContent = s ? `step ${s.step} (${k + 1}/${snapshots.length})` : '';
  };
  const drawCharts = () => {
    if (!curves) return;
    const mark = Number(slider.value);
    const acc = lineChart(curves.steps, [
      { name: 'test accuracy (manifest)', values: curves.manifestAccuracy, color: '#2ca02c' },
      { name: `accuracy on the ${app.init.testSet?.images.shape[0] ?? ''} served test images`, values: curves.subsetAccuracy, color: '#17becf', dashed: true },
    ], { yMin: 0, yMax: 1, mark, xLabel: 'training step' });
    const change = lineChart(curves.steps, Object.entries(curves.changeRate).map(([f, v], i) => ({ name: `prediction changes when ${f} is swapped`, values: v, color: FACTOR_COLORS[i % FACTOR_COLORS.length]! })), { yMin: 0, yMax: 1, mark, xLabel: 'training step' });
    const items = [figure(acc, 'accuracy per snapshot')];
    if (curves.sensitivity) {
      const sens = lineChart(curves.steps, Object.entries(curves.sensitivity).map(([f, v], i) => ({ name: `${f}${curves!.correlation?.[f] != null ? ` (corr. with accuracy ${curves!.correlation[f]!.toFixed(2)})` : ''}`, values: v, color: FACTOR_COLORS[i % FACTOR_COLORS.length]! })), { yMin: 0, yMax: 1, mark, xLabel: 'training step' });
      items.push(figure(sens, `semantic sensitivity of ${layer} (${curves.sensitivityInputs} inputs × ${curves.sensitivitySamples} samples)`));
      if (curves.manifoldWarnings.length > 0) {
        items.push(el('div', { class: 'hint warn', 'data-testid': 'manifold-warnings' }, el('p', {}, `Manifold check: ${curves.manifoldWarnings.length} (snapshot, factor) pairs off the data manifold`), el('ul', {}, ...curves.manifoldWarnings.map((w) => el('li', {}, w)))));
      }
    }
    if (Object.keys(curves.changeRate).length > 0) items.push(figure(change, `output's sensitivity: prediction changes (${curves.images} test images)`));
    charts.replaceChildren(...items);
  };
  const curvesRun = runner(app, 'dynamicsCurves', p.status, () => missing(app, { ae: true, snapshots: true }) ?? { type: 'dynamicsCurves' }, (r) => {
    curves = r;
    drawCharts();
    app.modelsChanged();
  });
  const showRun = runner(app, 'dynamicsShow', p.status, () => missing(app, { ae: true, snapshots: true }) ?? ({
    type: 'dynamicsShow', image: refCopy(app.a()), snapshot: Number(slider.value),
  }), (r) => {
    const names = app.init.outputNames;
    const noT = layer && !r.samples ? [el('p', { class: 'hint' }, `The zoo has no t for the snapshot at step ${r.step}; the snapshots with one are the points of the sensitivity chart.`)] : [];
    shown.replaceChildren(
      ...noT,
      ...(r.samples ? [el('h4', {}, `snapshot at step ${r.step}: samples D(t⁻¹(v|Φ(A))) at ${r.layer}`), el('div', { class: 'grid', 'data-testid': 'dynamics-samples' }, ...Array.from({ length: r.samples.shape[0] }, (_, k) => figure(imageCanvas(r.samples!, k), `v${k + 1}`)))] : []),
      el('h4', {}, `snapshot at step ${r.step}: its predictions`),
      strip(r.captions.map((c, k) => el('div', { class: 'with-bars' }, figure(imageCanvas(r.images, k), `${c}: ${predictionText(r.predictions[k] as Prediction, names)}`), probabilityBars(r.predictions[k]!, names)))),
    );
  });
  slider.addEventListener('input', () => {
    label();
    drawCharts();
  });
  slider.addEventListener('change', () => showRun.trigger());
  label();
  return {
    id: 'dynamics', title: 'Training dynamics', panel: p.root,
    refresh: () => {
      if (!curves) curvesRun.trigger();
      showRun.trigger();
    },
  };
}
