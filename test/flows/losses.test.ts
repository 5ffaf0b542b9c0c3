// The losses of Eq. (5) and Eq. (6) against float64 computations, the share mask, and the
// factor-dimension estimate on data with a known answer.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { estimateFactorDimensions, estimateSharedDimensions, factorLoss, factorShareMask, flowNll, HALF_LOG_2PI, nllPerDimension } from '../../src/flows/index.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

test('flowNll = mean ½‖v‖² − mean logDet; per-dimension figures add ½·log 2π for the full NLL', () => {
  const v = tf.tensor2d([[1, 2], [0, -3]]);
  const logDet = tf.tensor1d([0.5, -1.5]);
  const loss = flowNll(v, logDet).dataSync()[0]!;
  assert.ok(Math.abs(loss - ((0.5 * 5 + 0.5 * 9) / 2 - (0.5 - 1.5) / 2)) < 1e-6);
  const per = nllPerDimension(loss, 2);
  assert.ok(Math.abs(per.lossPerDim - loss / 2) < 1e-12);
  assert.ok(Math.abs(per.nllPerDim - (loss / 2 + 0.5 * Math.log(2 * Math.PI))) < 1e-12);
  assert.ok(Math.abs(HALF_LOG_2PI - 0.9189385332046727) < 1e-15);
  tf.dispose([v, logDet]);
});

test('factorShareMask marks the dimensions of the shared factors; the residual is never shared', () => {
  const mask = factorShareMask([2, 1, 3], [0, 1, -1, [0, 1], []]);
  assert.deepEqual(Array.from(mask.dataSync()), [
    1, 1, 0, 0, 0, 0,
    0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0,
    1, 1, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0,
  ]);
  assert.throws(() => factorShareMask([2, 1, 3], [2]), /residual factor 2, which is never shared/);
  assert.throws(() => factorShareMask([2, 1, 3], [5]), /names factor 5/);
  mask.dispose();
});

test('factorLoss equals the float64 formula of Eq. (6) / digest §4.2', () => {
  const rng = new Random(3);
  const B = 5;
  const sizes = [2, 1, 3];
  const D = 6;
  const shared = [0, 1, -1, 0, 1];
  const rho = 0.975;
  const za = Array.from({ length: B * D }, () => rng.normal());
  const zb = Array.from({ length: B * D }, () => rng.normal());
  const la = Array.from({ length: B }, () => rng.normal());
  const lb = Array.from({ length: B }, () => rng.normal());
  const f32 = (a: number[]) => Array.from(Float32Array.from(a));
  const [za32, zb32, la32, lb32] = [za, zb, la, lb].map(f32) as [number[], number[], number[], number[]];
  // float64 reference, written out per factor as in the digest.
  const offsets = [0, 2, 3];
  let l1 = 0;
  let l2 = 0;
  for (let b = 0; b < B; b++) {
    let sq = 0;
    for (let d = 0; d < D; d++) sq += za32[b * D + d]! ** 2;
    l1 += (0.5 * sq - la32[b]!) / B;
    for (let f = 0; f < sizes.length; f++) {
      const m = shared[b] === f ? 1 : 0;
      let nll = 0;
      for (let d = offsets[f]!; d < offsets[f]! + sizes[f]!; d++) nll += (zb32[b * D + d]! - m * rho * za32[b * D + d]!) ** 2;
      l2 += (0.5 * nll) / (1 - m * rho * rho) / B;
    }
    l2 -= lb32[b]! / B;
  }
  const expected = l1 + l2;
  const mask = factorShareMask(sizes, shared);
  const tensors = [tf.tensor2d(za32, [B, D]), tf.tensor2d(zb32, [B, D]), tf.tensor1d(la32), tf.tensor1d(lb32)] as const;
  const got = factorLoss(tensors[0], tensors[1], tensors[2], tensors[3], mask, rho).dataSync()[0]!;
  assert.ok(Math.abs(got - expected) <= 1e-5 * Math.abs(expected), `factorLoss ${got} vs float64 ${expected}`);
  // With nothing shared it is two independent standard-normal NLLs.
  const none = factorShareMask(sizes, [-1, -1, -1, -1, -1]);
  const both = factorLoss(tensors[0], tensors[1], tensors[2], tensors[3], none, rho).dataSync()[0]!;
  const sum = flowNll(tensors[0], tensors[2]).dataSync()[0]! + flowNll(tensors[1], tensors[3]).dataSync()[0]!;
  assert.ok(Math.abs(both - sum) < 1e-5);
  tf.dispose([mask, none, ...tensors]);
});

test('estimateFactorDimensions: shared covariance over total variance, softmax to sizes (known answer)', () => {
  // z = [u0 (2 dims), u1 (2 dims), r (2 dims)], unit variance; pairs of factor F share u_F exactly.
  const rng = new Random(4);
  const za: number[][] = [];
  const zb: number[][] = [];
  const factor: number[] = [];
  for (let p = 0; p < 20000; p++) {
    const f = p % 2;
    const a = Array.from({ length: 6 }, () => rng.normal());
    const b = Array.from({ length: 6 }, () => rng.normal());
    b[2 * f] = a[2 * f]!;
    b[2 * f + 1] = a[2 * f + 1]!;
    za.push(a);
    zb.push(b);
    factor.push(f);
  }
  const { scores, weights, sizes } = estimateFactorDimensions(za, zb, factor, 3);
  // Each factor shares 2 of 6 unit-variance dims: s = 2/6; softmax([1/3, 1/3, 1]) → [0.2245, 0.2245, 0.5510].
  assert.ok(Math.abs(scores[0]! - 1 / 3) < 0.03 && Math.abs(scores[1]! - 1 / 3) < 0.03, `scores ${scores}`);
  assert.equal(scores[2], 1);
  const e = [Math.exp(1 / 3), Math.exp(1 / 3), Math.E];
  const total = e[0]! + e[1]! + e[2]!;
  weights.forEach((w, i) => assert.ok(Math.abs(w - e[i]! / total) < 0.01, `weight ${i}: ${w}`));
  assert.deepEqual(sizes, [1, 1, 4]);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 6);
  assert.throws(() => estimateFactorDimensions(za.slice(0, 2), zb.slice(0, 2), [0, 0], 3), /no pair shares factor 1/);
});

test('estimateSharedDimensions recovers planted factor sizes under a linear mixing; the IIN softmax estimate does not', () => {
  // z = A·[f0 (5 dims), f1 (9 dims), r (18 dims)], all N(0, 1); a pair sharing F has the same F dims.
  const planted = [5, 9, 18];
  const D = 32;
  const rng = new Random(4);
  const mix = Array.from({ length: D * D }, (_, i) => (i % (D + 1) === 0 ? 2 : 0) + 0.3 * rng.normal());
  const apply = (x: number[]) => Array.from({ length: D }, (_, i) => x.reduce((s, v, j) => s + mix[i * D + j]! * v, 0));
  const za: number[][] = [];
  const zb: number[][] = [];
  const factor: number[] = [];
  for (let p = 0; p < 3000; p++) {
    const f = p % 2;
    const a = Array.from({ length: D }, () => rng.normal());
    const b = Array.from({ length: D }, () => rng.normal());
    const [from, to] = f === 0 ? [0, 5] : [5, 14];
    for (let d = from; d < to; d++) b[d] = a[d]!;
    za.push(apply(a));
    zb.push(apply(b));
    factor.push(f);
  }
  const est = estimateSharedDimensions(za, zb, factor, 3);
  assert.deepEqual(est.sizes, planted);
  assert.ok(Math.abs(est.shared[0]! - 5) < 0.5 && Math.abs(est.shared[1]! - 9) < 0.5, `shared ${est.shared}`);
  assert.notDeepEqual(estimateFactorDimensions(za, zb, factor, 3).sizes, planted);
  assert.throws(() => estimateSharedDimensions(za.slice(0, 2), zb.slice(0, 2), [0, 0], 3), /no pair shares factor 1/);
});
