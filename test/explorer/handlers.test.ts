/**
 * The explorer computes what the library computes (issue 16): the worker's request handlers
 * (src/explorer/handlers.ts, the code the page's worker runs), driven here in Node over the
 * shipped zoo through the same lazy loader, against the library functions the CLI and `open()`
 * call on the CLI's loader (loadAnalysis). Attack, edit and dynamics outputs must be equal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { loadAnalysis, analysisImages } from '../../src/pipeline/analysis-loader.ts';
import { DEFAULT_DATA_CONFIG } from '../../src/pipeline/data-spec.ts';
import { openZooFolder } from '../../src/pipeline/zoo-source.ts';
import { studiedClassifier } from '../../src/explorer/studied-model.ts';
import { splittableStages } from '../../src/models/greybox.ts';
import { attack, dynamicsCurves, edit, workingImages, type State } from '../../src/explorer/handlers.ts';
import { attackVisualization, autoTemperature } from '../../src/analysis/attacks.ts';
import { factorWalk, semanticModification } from '../../src/analysis/semantic-modification.ts';
import { snapshotCurves } from '../../src/analysis/snapshot-curves.ts';
import type { TestSet } from '../../src/explorer/testset.ts';

const ZOO = 'zoo/colormnist';
const N = 24;
await initEngine();

// The worker's state, built as worker.ts builds it, on the first N ColorMNIST test images.
const data = await analysisImages({ ...DEFAULT_DATA_CONFIG, dataset: 'colormnist' }, N);
const test_: TestSet = { ...data, indices: Array.from({ length: N }, (_, i) => i), description: 'test' };
const pipeline = openZooFolder(ZOO);
const classifier = await pipeline.classifier();
const split = splittableStages({ name: 'c', inputShape: classifier.inputShape, stages: classifier.stages });
const state: State = {
  manifest: pipeline.manifest, pipeline, test: test_, ...workingImages(test_),
  ae: await pipeline.autoencoder(), model: studiedClassifier(classifier, data.classNames),
  layers: await Promise.all(['conv2', 'z'].map(async (name) => ({ name, phi: (x: tf.Tensor) => split.split(name).phi(x), t: await pipeline.t(name) }))),
  e: await pipeline.semantic(),
  snapshots: pipeline.manifest.snapshots.slice(0, 3).map((s) => ({ step: s.step, accuracy: s.metrics['testAccuracy'] ?? null, model: null, t: null, phi: null })),
  dynamicsLayer: null, randomPairs: new Map(), statuses: [],
};
// The library's side: the CLI's loader on the same images.
const lib = await loadAnalysis([ZOO], { images: N, layers: ['conv2', 'z'], checkpoints: false });
const ctx = lib.context;

test('attack: the worker gives the library attack with temperature auto (same images, same predictions)', () => {
  const w = attack(state, { type: 'attack', image: { test: 3 }, kind: 'pgd', epsilon: 0.1, steps: 3, seed: 5 });
  const l = attackVisualization(ctx, { kind: 'pgd', epsilon: 0.1, steps: 3, indices: [3], seed: 5, temperature: 'auto' });
  assert.deepEqual(Array.from(w.adversarial.data), Array.from(l.adversarial.data));
  assert.deepEqual(Array.from(w.random.data), Array.from(l.random.data));
  assert.deepEqual(w.layers.map((x) => Array.from(x.adversarial.data)), l.layers.map((x) => Array.from(x.adversarial.data)));
  assert.equal(w.temperature, l.temperatures[0]);
  assert.ok(w.linf <= 0.1 + 1e-6);
});

test('attack temperature: known answers of the auto rule (T = max(1, top-two margin / 4) per image)', () => {
  assert.deepEqual(autoTemperature([10, 2, 0, 100, 20, 99], 2, 3), [2, 1]);
});

test('edit: the worker gives the library factor walk; towards a partner at amount 1 it ends on the factor swap', () => {
  const w = edit(state, { type: 'edit', image: { test: 2 }, partner: { test: 9 }, factor: 'digit', mode: 'towards', amount: 1, seed: 0 });
  const l = factorWalk(ctx, { index: 2, partner: 9, factor: 'digit', mode: 'towards', amount: 1, steps: 7 });
  assert.deepEqual(Array.from(w.walk.data), Array.from(l.walk.data));
  assert.deepEqual(w.alphas, l.alphas);
  // Fig. 7's swap of the same image with the same partner.
  const swap = semanticModification(ctx, { factors: ['digit'], showInputs: N, count: 1, partner: () => 9, seed: 0 });
  const [, h, wd, c] = l.walk.shape;
  const size = h * wd * c;
  const k = swap.indices.indexOf(2);
  const swapped = swap.factors[0]!.modified.data.subarray(k * size, (k + 1) * size);
  const end = l.walk.data.subarray(6 * size, 7 * size);
  const maxDiff = end.reduce((m, v, i) => Math.max(m, Math.abs(v - swapped[i]!)), 0);
  assert.ok(maxDiff < 1e-4, `walk end vs swap: max |Δ| = ${maxDiff}`);
  const random = edit(state, { type: 'edit', image: { test: 2 }, partner: { test: 9 }, factor: 'digit', mode: 'random', amount: 2, seed: 4 });
  assert.deepEqual(Array.from(random.walk.data), Array.from(factorWalk(ctx, { index: 2, partner: 9, factor: 'digit', mode: 'random', amount: 2, seed: 4 }).walk.data));
  assert.throws(() => edit(state, { type: 'edit', image: { test: 2 }, partner: { test: 9 }, factor: 'nope', mode: 'random', amount: 1, seed: 0 }), /unknown factor 'nope' \(factors: digit, /);
});

test("dynamics: the worker's curves are the library's snapshot curves on the same snapshots", async () => {
  const w = await dynamicsCurves(state);
  const other = openZooFolder(ZOO);
  try {
    const snaps = await Promise.all(state.snapshots.map(async (s) => (await other.snapshot(s.step)).classifier));
    const l = snapshotCurves({ ...ctx, data: state.testData }, snaps.map((m) => ({ classify: (x: tf.Tensor) => m.logits(x) })), { images: 64, seed: 1 });
    assert.deepEqual(w.subsetAccuracy, l.accuracy);
    assert.deepEqual(w.changeRate, l.changeRate);
    assert.deepEqual(w.distance, l.distance);
    assert.deepEqual(Object.keys(l.changeRate), pipeline.manifest.iin.factors.slice(0, -1));
    assert.equal(l.images, N);
  } finally {
    other.dispose();
  }
});
