// Known answers for the plain-number measures: variances, the symmetric eigen solver, the
// Fréchet distance (closed forms for Gaussians), cosine similarity.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../../src/engine/random.ts';
import { bootstrapPaired, choleskyPsd, columnVariances, cosineSimilarity, frechetDistance, gaussianStats, groupVariances, meanStd, pearson, ranks, spearman, sqrtPsd, symmetricEigen, symmetricEigenvalues, varianceDecomposition } from '../../src/analysis/stats.ts';

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

test('columnVariances and groupVariances are unbiased per-dimension variances', () => {
  const rows = [1, 10, 2, 20, 3, 30, 4, 40]; // 4 rows × 2 dims
  const v = columnVariances(rows, 4, 2);
  close(v[0]!, 5 / 3, 1e-12, 'dim 0');
  close(v[1]!, 500 / 3, 1e-9, 'dim 1');
  const g = groupVariances(rows, 2, 2, 2); // groups {rows 0,1} and {rows 2,3}
  assert.deepEqual(Array.from(g), [0.5, 50, 0.5, 50]);
  assert.deepEqual(meanStd([2, 4]), { mean: 3, std: Math.SQRT2 });
});

test('symmetricEigen reconstructs a random symmetric matrix and sqrtPsd squares back', () => {
  const n = 12;
  const rng = new Random(3);
  const b = Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n); // A = BᵀB (PSD)
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j]! += b[k * n + i]! * b[k * n + j]!;
  const { values, vectors } = symmetricEigen(a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k]! * values[k]! * vectors[j * n + k]!;
      close(s, a[i * n + j]!, 1e-9, `V Λ Vᵀ [${i},${j}]`);
    }
  }
  const r = sqrtPsd(a, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += r[i * n + k]! * r[k * n + j]!;
      close(s, a[i * n + j]!, 1e-8, `√A·√A [${i},${j}]`);
    }
  }
});

test('Fréchet distance: closed forms for known Gaussians', () => {
  // Diagonal: d² = ‖μ₁ − μ₂‖² + Σ (σ₁ − σ₂)².
  const d = 3;
  const diag = (s: number[]) => Float64Array.from({ length: d * d }, (_, k) => (Math.floor(k / d) === k % d ? s[k % d]! ** 2 : 0));
  const a = { dim: d, mean: Float64Array.from([0, 1, 2]), cov: diag([1, 2, 3]) };
  const b = { dim: d, mean: Float64Array.from([1, 1, 0]), cov: diag([2, 2, 1]) };
  close(frechetDistance(a, b), 1 + 4 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2, 1e-9, 'diagonal');
  // Σ₂ = c²Σ₁ for a full Σ₁: tr(Σ₁ + c²Σ₁ − 2cΣ₁) = (1 − c)² tr Σ₁.
  const full = Float64Array.from([4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 2]);
  const c = 1.7;
  const scaled = full.map((x) => c * c * x);
  close(frechetDistance({ dim: d, mean: new Float64Array(d), cov: full }, { dim: d, mean: new Float64Array(d), cov: scaled }), (1 - c) ** 2 * 9, 1e-9, 'scaled');
  // Symmetric in its arguments, 0 against itself.
  close(frechetDistance(b, a), frechetDistance(a, b), 1e-9, 'symmetry');
  close(frechetDistance({ dim: d, mean: a.mean, cov: full }, { dim: d, mean: a.mean, cov: full }), 0, 1e-9, 'self');
});

test('Fréchet distance of a Gaussian sample to itself is ~0 and to a shifted copy is the shift²', () => {
  const rng = new Random(5);
  const n = 2000;
  const dim = 8;
  const x = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) x[i] = rng.normal() * (1 + (i % dim) / 4);
  const s = gaussianStats(x, n, dim);
  close(frechetDistance(s, s), 0, 1e-8, 'self');
  const shifted = x.map((v, i) => v + (i % dim === 0 ? 2 : 0));
  close(frechetDistance(s, gaussianStats(shifted, n, dim)), 4, 1e-8, 'shift');
  // Two independent samples of the same Gaussian: small against the data's total variance
  // (the estimator's finite-sample bias, here ~0.4%).
  let trace = 0;
  for (let k = 0; k < dim; k++) trace += s.cov[k * dim + k]!;
  const y = new Float64Array(n * dim);
  for (let i = 0; i < n * dim; i++) y[i] = rng.normal() * (1 + (i % dim) / 4);
  const fd = frechetDistance(s, gaussianStats(y, n, dim));
  assert.ok(fd < 0.01 * trace, `two samples of one Gaussian: ${fd} (total variance ${trace})`);
});

test('cosine similarity', () => {
  close(cosineSimilarity([1, 0], [0, 1]), 0, 0, 'orthogonal');
  close(cosineSimilarity([1, 2], [2, 4]), 1, 1e-12, 'parallel');
  close(cosineSimilarity([1, 2], [-1, -2]), -1, 1e-12, 'opposite');
  assert.equal(cosineSimilarity([0, 0], [1, 1]), 0);
});

test('symmetricEigenvalues (Householder + bisection) agrees with Jacobi; choleskyPsd factors a singular covariance', () => {
  const rng = new Random(9);
  for (const n of [1, 2, 5, 17]) {
    const b = Array.from({ length: n * n }, () => rng.normal());
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) {
      const v = b[i * n + j]! + b[j * n + i]!;
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
    const fast = Array.from(symmetricEigenvalues(a, n));
    const ref = Array.from(symmetricEigen(a, n).values).sort((x, y) => x - y);
    fast.forEach((v, k) => close(v, ref[k]!, 1e-9, `n ${n}, eigenvalue ${k}`));
  }
  // 3 samples of 5 features: rank-2 covariance.
  const x = Array.from({ length: 15 }, () => rng.normal());
  const s = gaussianStats(x, 3, 5);
  const l = choleskyPsd(s.cov, 5);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
    let v = 0;
    for (let k = 0; k < 5; k++) v += l[i * 5 + k]! * l[j * 5 + k]!;
    close(v, s.cov[i * 5 + j]!, 1e-9, `L Lᵀ [${i},${j}]`);
  }
});

test('varianceDecomposition: within and bias-corrected between of a one-way layout (known answer)', () => {
  // 2 groups × 3 rows × 1 dim: group means 1 and 4, within variances 1 and 1.
  const rows = [0, 1, 2, 3, 4, 5];
  const { within, between } = varianceDecomposition(rows, 2, 3, 1);
  assert.equal(within[0], 1);
  // Var of the group means (1, 4) = 4.5, minus within / n = 1/3.
  assert.ok(Math.abs(between[0]! - (4.5 - 1 / 3)) < 1e-12);
  assert.throws(() => varianceDecomposition([1, 2], 1, 2, 1), /at least 2 groups/);
});

test('spearman: rank correlation with ties; bootstrap interval contains the value and is ordered', () => {
  assert.equal(spearman([1, 2, 3, 4], [10, 20, 30, 1000]), 1);
  assert.equal(spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1);
  assert.deepEqual(ranks([3, 1, 3, 2]), [3.5, 1, 3.5, 2]);
  assert.equal(spearman([1, 1, 1], [1, 2, 3]), null);
  const rng = new Random(1);
  const a = Array.from({ length: 30 }, (_, i) => i);
  const b = a.map((x) => x + 5 * rng.normal());
  const est = bootstrapPaired(a, b, pearson, () => rng.uniform(), 500);
  assert.ok(est.ci && est.ci[0] <= est.value! && est.value! <= est.ci[1] && est.ci[1] <= 1, JSON.stringify(est));
});
