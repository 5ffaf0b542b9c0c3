// The report's claims on synthetic components with known answers: the sampling claim averages
// seeds at temperature 1 (an identity t keeps the accuracy exactly, a t that ignores z loses it);
// the Fig. 4 claim needs enough checkpoints and reports Spearman, intervals and manifold flags.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/index.ts';
import { trainingDynamics } from '../../src/analysis/training-dynamics.ts';
import { dynamicsClaim, samplingKeepsClaim } from '../../src/report/claims.ts';
import { gaussianImages, noisyAe, partialFlow, syntheticContext } from '../analysis/synthetic.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

const data = gaussianImages(1200, 21);

test('sampling claim: 3 seeds × 1000 images at T = 1; identity t keeps the accuracy, a t that ignores z does not', () => {
  const keep = samplingKeepsClaim(syntheticContext(data, [0, 1, 2, 3]), 'fix0123', 1000, [0, 1, 2]);
  assert.equal(keep.holds, true);
  assert.equal(keep.numbers['ratio'], 1);
  assert.deepEqual(keep.numbers['seeds'], [0, 1, 2]);
  assert.equal(keep.numbers['images'], 1000);
  assert.equal(keep.numbers['temperature'], 1);
  const lose = samplingKeepsClaim(syntheticContext(data, []), 'fix', 1000, [0, 1, 2]);
  assert.equal(lose.holds, false);
  // The identity AE keeps every class, so the loss is t's.
  assert.equal(lose.numbers['posteriorSampleAccuracy'], lose.numbers['realAccuracy']);
  assert.equal(lose.numbers['reconstructionAccuracy'], lose.numbers['realAccuracy']);
  assert.match(lose.why!, /t at fix is too short or too small/);
  assert.equal(keep.why, undefined);
  assert.deepEqual(keep.numbers['ratioCi'], [1, 1]);
  const ci = lose.numbers['ratioCi'] as [number, number];
  assert.ok(ci[0] <= (lose.numbers['ratio'] as number) && (lose.numbers['ratio'] as number) <= ci[1], JSON.stringify(ci));
  assert.ok((lose.numbers['sampleAccuracyPerSeed'] as number[]).length === 3);
});

test('sampling claim: an AE whose own posterior samples lose the class is named as the limit, not t', () => {
  // The posterior is so wide that decoded posterior samples are near chance: no t could keep the class.
  const ctx = { ...syntheticContext(data, []), ae: noisyAe(30) };
  const claim = samplingKeepsClaim(ctx, 'fix', 1000, [0]);
  assert.equal(claim.numbers['reconstructionAccuracy'], claim.numbers['realAccuracy'], 'the posterior mean is the image');
  assert.ok((claim.numbers['posteriorSampleAccuracy'] as number) < 0.9 * (claim.numbers['realAccuracy'] as number), JSON.stringify(claim.numbers));
  assert.equal(claim.holds, false);
  assert.match(claim.why!, /the autoencoder is the limit here, not t/);
  assert.match(claim.measured, /Ceilings from the autoencoder alone/);
});

test('dynamics claim: fewer than 20 checkpoints never hold; correlations come with intervals', () => {
  const ctx = syntheticContext(data, []);
  const phi = ctx.layers[0]!.phi;
  // Factor a: fixed from the third checkpoint on, as accuracy rises; b: never.
  const cps = [0, 1, 2, 3, 4].map((k) => ({ iteration: k * 10, layer: { phi, t: partialFlow(k < 2 ? [] : k < 4 ? [0] : [0, 1]) }, accuracy: 0.2 + 0.15 * k }));
  const r = trainingDynamics(ctx, cps, { inputs: 16, samples: 8, seed: 1, showInputs: 1, showSamples: 2, bootstrap: 200 });
  const claim = dynamicsClaim(r, 'a', 20);
  assert.equal(claim.holds, false, 'only 5 checkpoints');
  assert.match(claim.measured, /fewer than 20/);
  assert.match(claim.why!, /only 5 checkpoints/);
  const c = r.correlations.a!;
  assert.ok(c.pearson.value! > 0.8 && c.pearson.ci !== null && c.spearman.value! > 0.8, JSON.stringify(c));
  // b is e's last factor (the residual), so no colour factor enters: the claim is Pearson ≥ 0.9 alone.
  assert.equal(dynamicsClaim(r, 'a', 5).holds, c.pearson.value! >= 0.9);
});
