// e quality's probes and bound on known answers: an identity e on Gaussian "images" whose
// attributes are its own pixels holds each attribute in its own factor (R² 1) and not in the
// other (R² ≈ 0); separable classes give nearest-centroid accuracy 1; the information bound.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { correlationBound, eQuality, linearProbeR2, nearestCentroidAccuracy, type ImageAttribute } from '../../src/analysis/e-quality.ts';
import { gaussianImages, identityAe, identityE } from './synthetic.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

test('probes: separable classes → accuracy 1; an exactly linear target → R² 1; noise → R² ≤ ~0', () => {
  const rng = new Random(2);
  const n = 400;
  const x = new Float64Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    x[i * 2] = 10 * y[i]! + rng.normal();
    x[i * 2 + 1] = rng.normal();
  }
  assert.equal(nearestCentroidAccuracy(x, n, 2, y, 3), 1);
  const target = Float64Array.from({ length: n }, (_, i) => 2 * x[i * 2]! - x[i * 2 + 1]! + 3);
  assert.ok(Math.abs(linearProbeR2(x, n, 2, target, 1) - 1) < 1e-4);
  const noise = Float64Array.from({ length: n }, () => rng.normal());
  assert.ok(linearProbeR2(x, n, 2, noise, 1) < 0.05);
});

test('information bound: √(1 − K^(−2/|F|)); 10 classes in 22 dims cap the mean correlation near 0.44', () => {
  assert.ok(Math.abs(correlationBound(10, 22) - 0.435) < 1e-3);
  assert.ok(Math.abs(correlationBound(2, 2) - Math.sqrt(0.5)) < 1e-12);
});

test('eQuality: an identity e holds each pixel attribute in its own factor and not in the other', () => {
  const data = gaussianImages(600, 5);
  const n = data.shape[0];
  const pixels = (from: number) => Float32Array.from({ length: n * 2 }, (_, k) => data.images[Math.floor(k / 2) * 4 + from + (k % 2)]!);
  const attrs: ImageAttribute[] = [{ name: 'a', kind: 'continuous', values: pixels(0), width: 2 }, { name: 'b', kind: 'continuous', values: pixels(2), width: 2 }];
  const q = eQuality(identityAe, identityE, data, attrs);
  const score = (f: string, a: string) => q.probes.find((p) => p.factor === f && p.attribute === a)!.score;
  assert.ok(score('a', 'a') > 0.999 && score('b', 'b') > 0.999, JSON.stringify(q.probes));
  assert.ok(Math.abs(score('a', 'b')) < 0.05 && Math.abs(score('b', 'a')) < 0.05, JSON.stringify(q.probes));
  assert.equal(q.probes.filter((p) => p.expected).length, 2);
});
