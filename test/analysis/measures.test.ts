// The measures of docs/analyses.md on synthetic cases with known answers (synthetic.ts):
// a t that ignores z gives invariance = the data variance (share 1), an identity layer gives 0,
// a t that fixes some dimensions gives their exact share; semantic sensitivity per factor; FGSM
// and PGD raise the loss, a perturbation of size 0 changes nothing.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { invariancePerLayer, layerSamples } from '../../src/analysis/invariances.ts';
import { semanticSensitivity } from '../../src/analysis/semantic-sensitivity.ts';
import { attackImages, attackStatistics, crossEntropy } from '../../src/analysis/attacks.ts';
import { imagesTensor, type ImageArray } from '../../src/analysis/context.ts';
import { featureExtractor, imageFrechetDistance } from '../../src/analysis/fid.ts';
import { imageMixing } from '../../src/analysis/mixing.ts';
import { semanticModification } from '../../src/analysis/semantic-modification.ts';
import { trainingDynamics } from '../../src/analysis/training-dynamics.ts';
import { STDS, expandingE, gaussianImages, linearClassifier, noisyAe, partialFlow, syntheticContext } from './synthetic.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

const data = gaussianImages(3000, 11);
const within = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b} (±${100 * rel}%)`);

test('a t that ignores z gives invariance equal to the data variance; an identity layer gives 0', () => {
  const ctx = syntheticContext(data, []);
  const before = tf.memory().numTensors;
  const ignores = invariancePerLayer(ctx, { inputs: 64, samples: 64, dataImages: 3000, seed: 1 });
  const l = ignores.layers[0]!;
  const trueTotal = STDS.reduce((s, x) => s + x * x, 0);
  within(ignores.dataZbarVariance, trueTotal, 0.06, 'data variance of z̄');
  within(l.zbarVariance, trueTotal, 0.06, 'variance over samples');
  within(l.zbarShare, 1, 0.06, 'share');
  within(l.imageShare, 1, 0.06, 'image share');
  const identity = invariancePerLayer(syntheticContext(data, [0, 1, 2, 3]), { inputs: 16, samples: 8, seed: 1 });
  assert.equal(identity.layers[0]!.zbarVariance, 0);
  assert.equal(identity.layers[0]!.imageShare, 0);
  assert.equal(tf.memory().numTensors, before + 4, 'no tensor leaks (the 4 are the second context\'s constants)');
});

test('a t that fixes dimensions {0, 2} leaves exactly the other dimensions\' share to v', () => {
  const r = invariancePerLayer(syntheticContext(data, [0, 2]), { inputs: 64, samples: 64, dataImages: 3000, seed: 2 });
  const total = STDS.reduce((s, x) => s + x * x, 0);
  const expected = (STDS[1]! ** 2 + STDS[3]! ** 2) / total;
  within(r.layers[0]!.zbarShare, expected, 0.08, 'share of dims 1, 3');
});

test('invariance: the data reference is drawn from the AE posterior, as t is trained (a t matching the posterior samples gives share 1)', () => {
  const posteriorStd = 1;
  const sampleStds = STDS.map((s) => Math.hypot(s, posteriorStd));
  const ctx = { ...syntheticContext(data, []), ae: noisyAe(posteriorStd) };
  ctx.layers = [{ ...ctx.layers[0]!, t: partialFlow([], 1, sampleStds) }];
  const r = invariancePerLayer(ctx, { inputs: 64, samples: 64, dataImages: 3000, seed: 1 });
  within(r.dataZbarVariance, sampleStds.reduce((s, x) => s + x * x, 0), 0.06, 'data variance of posterior samples');
  within(r.layers[0]!.zbarShare, 1, 0.07, 'share (posterior means would give 1.53)');
});

test('semantic sensitivity: a t that ignores z captures 0 of every factor, on the data manifold', () => {
  const r = semanticSensitivity(syntheticContext(data, []), { inputs: 64, samples: 64, dataImages: 3000, seed: 3 });
  for (const name of r.factorNames) {
    const f = r.layers[0]!.factors[name]!;
    assert.ok(f.captured <= 0.01 * f.total && f.sensitivity <= 0.01, `${name}: captured ${f.captured} of ${f.total}`);
    assert.ok(Math.abs(f.capturedUnclamped) <= 0.02 * f.total, `${name}: bias-corrected between ${f.capturedUnclamped} (uncorrected it would be ≈ total/n)`);
    within(f.manifoldRatio, 1, 0.1, `${name} manifold ratio`);
    assert.equal(f.offManifold, false);
  }
  assert.deepEqual(r.warnings, []);
  within(r.dataVariance.b!, (STDS[2]! ** 2 + STDS[3]! ** 2) / 2, 0.08, 'data variance of b');
});

test('semantic sensitivity: a t that returns E(x) exactly captures all of every factor (1); a t fixing one of a factor\'s dims its share', () => {
  const exact = semanticSensitivity(syntheticContext(data, [0, 1, 2, 3]), { inputs: 64, samples: 8, dataImages: 3000, seed: 3 });
  for (const name of exact.factorNames) {
    const f = exact.layers[0]!.factors[name]!;
    assert.equal(f.sensitivity, 1, name);
    assert.equal(f.within, 0, name);
  }
  const half = semanticSensitivity(syntheticContext(data, [0, 1, 2]), { inputs: 256, samples: 32, dataImages: 3000, seed: 4 });
  const f = half.layers[0]!.factors;
  assert.equal(f.a!.sensitivity, 1);
  // b: dim 2 fixed (σ = 2), dim 3 drawn (σ = 1.5): captured / total = 4 / (4 + 2.25).
  within(f.b!.sensitivity, 4 / 6.25, 0.08, 'b');
});

test('semantic sensitivity: t\'s samples off the manifold of an expanding e stay in [0, 1] and raise the manifold flag', () => {
  const ctx = { ...syntheticContext(data, []), e: expandingE };
  ctx.layers = [{ ...ctx.layers[0]!, t: partialFlow([0], 2) }];
  const r = semanticSensitivity(ctx, { inputs: 64, samples: 32, dataImages: 3000, seed: 5 });
  const f = r.layers[0]!.factors;
  for (const name of r.factorNames) assert.ok(f[name]!.sensitivity >= 0 && f[name]!.sensitivity <= 1, `${name}: ${f[name]!.sensitivity}`);
  assert.ok(f.b!.manifoldRatio > 10, `b: ratio ${f.b!.manifoldRatio} (expected ≈ (4 + 96 + 960) / 22)`);
  assert.equal(f.b!.offManifold, true);
  assert.ok(r.warnings.some((w) => w.includes(', b:') && w.includes("t's samples are off the data manifold here: train t longer")), r.warnings.join('\n'));
});

test('training dynamics: sensitivity per checkpoint follows which dimensions z fixes; accuracy measured when missing', () => {
  const ctx = syntheticContext(data, []);
  const phi = ctx.layers[0]!.phi;
  const clf = linearClassifier();
  const r = trainingDynamics(ctx, [
    { iteration: 0, layer: { phi, t: partialFlow([]) }, accuracy: 0.1 },
    { iteration: 10, layer: { phi, t: partialFlow([0, 1]) }, classify: clf.classify },
    { iteration: 20, layer: { phi, t: partialFlow([0, 1, 2, 3]) }, accuracy: 0.9 },
  ], { inputs: 32, samples: 32, seed: 4, showInputs: 2, showSamples: 3 });
  const a = r.checkpoints.map((c) => c.factors.a!.sensitivity);
  assert.ok(a[0]! >= 0 && a[0]! < 0.05 && a[1] === 1 && a[2] === 1, `a over checkpoints: ${a}`);
  const acc = r.checkpoints.map((c) => c.accuracy!);
  assert.ok(acc[1]! > acc[0]! && acc[2]! > acc[1]!, `accuracies ${acc}`);
  // Sensitivity of a rises with accuracy: Pearson and Spearman positive (Spearman exactly 1 up to the tie of the last two).
  assert.ok(r.correlations.a!.pearson.value! > 0.5 && r.correlations.a!.spearman.value! > 0.8, JSON.stringify(r.correlations.a));
  assert.ok(r.checkpoints[1]!.accuracy! > 0.5, `measured accuracy ${r.checkpoints[1]!.accuracy}`);
  assert.equal(r.shown.length, 2);
  assert.deepEqual(r.shown[0]!.samples.shape, [6, 2, 2, 1]);
  clf.dispose();
});

test('layer samples: an identity layer reproduces the input in every sample (cosine 1, zero variance)', () => {
  const r = layerSamples(syntheticContext(data, [0, 1, 2, 3]), { layer: 'fix0123', count: 3, samples: 4, seed: 5 });
  assert.deepEqual(r.samples.shape, [12, 2, 2, 1]);
  assert.ok(r.varianceMaps.every((v) => v === 0));
  within(r.reencoding.samples, 1, 1e-6, 'cosine of re-encoded samples');
  assert.ok(r.reencoding.randomPairs < 0.99);
});

test('FGSM and PGD increase the loss; a perturbation of size 0 changes nothing; targeted moves towards the target', () => {
  const { classify, dispose } = linearClassifier();
  const rng = new Random(6);
  const idx = Array.from({ length: 64 }, (_, i) => i);
  const x = imagesTensor(data, idx);
  const labels = Array.from(tf.argMax(classify(x), 1).dataSync());
  const loss = (img: tf.Tensor) => tf.tidy(() => crossEntropy(classify(img), labels).dataSync()[0]!);
  const clean = loss(x);
  for (const kind of ['fgsm', 'pgd'] as const) {
    const adv = attackImages(classify, x, [-1, 1], { kind, epsilon: 0.1, steps: 5 }, rng);
    assert.ok(loss(adv) > clean + 1e-3, `${kind}: ${loss(adv)} vs clean ${clean}`);
    const linf = tf.max(tf.abs(tf.sub(adv, x))).dataSync()[0]!;
    assert.ok(linf <= 0.1 + 1e-6, `${kind} leaves the ε-ball: ${linf}`);
    const none = attackImages(classify, x, [-1, 1], { kind, epsilon: 0 }, rng);
    assert.equal(tf.max(tf.abs(tf.sub(none, x))).dataSync()[0], 0, `${kind} with ε = 0`);
    tf.dispose([adv, none]);
  }
  const targeted = attackImages(classify, x, [-10, 10] as unknown as [-1, 1], { kind: 'pgd', epsilon: 1, steps: 10, target: 1 }, rng);
  const hits = Array.from(tf.argMax(classify(targeted), 1).dataSync()).filter((c) => c === 1).length;
  assert.ok(hits > labels.filter((c) => c === 1).length, `targeted hits ${hits}`);
  tf.dispose([x, targeted]);
  dispose();
});

test('attack statistics: ε = 0 changes no representation; an attack changes z and flips predictions', () => {
  const ctx = syntheticContext(data, [0, 1]);
  const zero = attackStatistics(ctx, { kind: 'fgsm', epsilon: 0, count: 32, invarianceInputs: 8, invarianceSamples: 8, seed: 7 });
  assert.equal(zero.layers[0]!.representationChange, 0);
  assert.equal(zero.layers[0]!.zbarChange, 0);
  assert.equal(zero.successRate, 0);
  const hit = attackStatistics(ctx, { kind: 'pgd', epsilon: 0.5, steps: 5, count: 32, invarianceInputs: 16, invarianceSamples: 16, seed: 7 });
  assert.ok(hit.loss.adversarial > hit.loss.clean, `loss ${hit.loss.adversarial} vs ${hit.loss.clean}`);
  assert.ok(hit.layers[0]!.representationChange > 0);
  assert.ok(hit.successRate > hit.successRateRandom, `success ${hit.successRate} vs control ${hit.successRateRandom}`);
  assert.ok(hit.meanLinf <= 0.5 + 1e-6);
  within(hit.layers[0]!.varianceExplainedByV, (STDS[2]! ** 2 + STDS[3]! ** 2) / STDS.reduce((s, x) => s + x * x, 0), 0.25, 'variance explained by v');
});

test('mixing: the diagonal gives back the image; semantic modification swaps exactly the factor', () => {
  const ctx = syntheticContext(data, [0, 1]);
  const idx = [3, 8, 21];
  const m = imageMixing(ctx, { layer: 'fix01', invarianceIndices: idx, representationIndices: idx });
  for (let i = 0; i < 3; i++) {
    const got = m.mixed.data.subarray((i * 3 + i) * 4, (i * 3 + i + 1) * 4);
    const want = data.images.subarray(idx[i]! * 4, idx[i]! * 4 + 4);
    got.forEach((v, d) => assert.ok(Math.abs(v - want[d]!) < 1e-4, `diagonal ${i}, dim ${d}: ${v} vs ${want[d]}`));
  }
  const r = semanticModification(ctx, { factors: ['a', 'b'], showInputs: 2, count: 16, seed: 8 });
  const fa = r.factors[0]!;
  for (let i = 0; i < 2; i++) {
    const got = fa.modified.data.subarray(i * 4, i * 4 + 4);
    const partner = data.images.subarray(fa.partners[i]! * 4, fa.partners[i]! * 4 + 4);
    const own = data.images.subarray(r.indices[i]! * 4, r.indices[i]! * 4 + 4);
    assert.deepEqual(Array.from(got), [partner[0], partner[1], own[2], own[3]]);
  }
  assert.equal(r.reconstructionDistance, 0, 'an identity AE adds nothing');
  assert.ok(fa.distance > r.factors[1]!.distance, 'the classifier weighs dims 0–1 more than 2–3');
});

test('a model that outputs probabilities is attacked through its log-probabilities', () => {
  const ctx = syntheticContext(data, [0, 1]);
  const f = ctx.classify!;
  const probs = { ...ctx, classify: (x: tf.Tensor) => tf.tidy(() => tf.softmax(f(x))), outputKind: 'probabilities' as const };
  const a = attackStatistics(ctx, { kind: 'fgsm', epsilon: 0.3, count: 32, invarianceInputs: 4, invarianceSamples: 4, seed: 9 });
  const b = attackStatistics(probs, { kind: 'fgsm', epsilon: 0.3, count: 32, invarianceInputs: 4, invarianceSamples: 4, seed: 9 });
  assert.ok(Math.abs(a.loss.adversarial - b.loss.adversarial) < 1e-4, `${a.loss.adversarial} vs ${b.loss.adversarial}`);
  assert.equal(a.successRate, b.successRate);
});

test('feature extractor: value-range mapping, resize, grey to RGB; an image set against itself has Fréchet distance ~0', () => {
  const fx = featureExtractor('identity', (x) => x, { from: [-1, 1], to: [0, 1], size: [4, 4], greyToRgb: true });
  const img: ImageArray = { data: Float32Array.from([-1, 1, 1, -1]), shape: [1, 2, 2, 1], valueRange: [-1, 1] };
  const f = tf.tidy(() => Array.from(fx.features(tf.tensor4d(img.data, img.shape)).dataSync()));
  assert.equal(f.length, 4 * 4 * 3);
  assert.ok(f.every((v) => v >= 0 && v <= 1));
  assert.deepEqual(f.slice(0, 3), [0, 0, 0]); // top-left pixel: −1 → 0, repeated to RGB
  const set: ImageArray = { data: data.images.slice(0, 400 * 4), shape: [400, 2, 2, 1], valueRange: [-1, 1] };
  const flat = featureExtractor('pixels', (x) => x, { from: [-1, 1] });
  assert.ok(imageFrechetDistance(flat, set, set) < 1e-6);
  const shifted: ImageArray = { ...set, data: set.data.map((v) => v + 0.5) };
  assert.ok(Math.abs(imageFrechetDistance(flat, shifted, set) - 4 * 0.25) < 1e-3, 'a shift of 0.5 in 4 pixels gives 4·0.25');
});

test('FGSM moves a confidently classified image by ε (wasm Sign returns 0 for gradients below ~1e-7)', () => {
  // Logit margin ~60: the cross-entropy gradient is ~1e-26, far below wasm's Sign threshold.
  const w = tf.tensor2d([[30, -30], [0, 0], [0, 0], [0, 0]]);
  const classify = (x: tf.Tensor) => tf.matMul(tf.reshape(x, [x.shape[0]!, 4]), w) as tf.Tensor2D;
  const x = tf.tensor4d([1, 0.2, -0.3, 0.5], [1, 2, 2, 1]);
  const g = tf.tidy(() => tf.grad((input: tf.Tensor) => crossEntropy(classify(input), [0]))(x));
  const gmax = tf.max(tf.abs(g)).dataSync()[0]!;
  assert.ok(gmax > 0 && gmax < 1e-7, `the gradient is tiny but not zero: ${gmax}`);
  const adv = attackImages(classify, x, [-10, 10] as unknown as [-1, 1], { kind: 'fgsm', epsilon: 0.25 }, new Random(1));
  const moved = Array.from(tf.abs(tf.sub(adv, x)).dataSync());
  assert.ok(Math.abs(moved[0]! - 0.25) < 1e-6, `pixel 0 moved by ${moved[0]}`);
  tf.dispose([w, x, g, adv]);
});
