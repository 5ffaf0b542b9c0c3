/**
 * Plain-number statistics the analyses share (docs/analyses.md gives every definition):
 * per-dimension sample variances, the Fréchet distance between two Gaussians fitted to feature
 * sets (Heusel et al. 2017, the "FID" formula), cosine similarity. Float64 throughout; no tf.
 */

/** Unbiased variance (divides by n − 1) of `n` rows of `dim` values, per dimension. n ≥ 2. */
export function columnVariances(rows: ArrayLike<number>, n: number, dim: number): Float64Array {
  if (n < 2) throw new Error(`columnVariances: need at least 2 rows, got ${n}`);
  if (rows.length !== n * dim) throw new Error(`columnVariances: ${rows.length} values for ${n} rows of ${dim}`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mean[d]! += rows[i * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d]! /= n;
  const v = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const r = rows[i * dim + d]! - mean[d]!;
      v[d]! += r * r;
    }
  }
  for (let d = 0; d < dim; d++) v[d]! /= n - 1;
  return v;
}

/**
 * Per-group unbiased variances: `rows` holds `groups` consecutive groups of `perGroup` rows of
 * `dim` values (the layout of `ConditionalINN.sample`: the samples of input b are rows
 * b·n … b·n + n − 1). Returns [groups·dim]: the variance over the rows of each group.
 */
export function groupVariances(rows: ArrayLike<number>, groups: number, perGroup: number, dim: number): Float64Array {
  if (rows.length !== groups * perGroup * dim) throw new Error(`groupVariances: ${rows.length} values for ${groups}×${perGroup} rows of ${dim}`);
  const out = new Float64Array(groups * dim);
  const stride = perGroup * dim;
  for (let g = 0; g < groups; g++) {
    const v = columnVariances(sliceOf(rows, g * stride, (g + 1) * stride), perGroup, dim);
    out.set(v, g * dim);
  }
  return out;
}

function sliceOf(a: ArrayLike<number>, from: number, to: number): ArrayLike<number> {
  if (a instanceof Float32Array || a instanceof Float64Array) return a.subarray(from, to);
  return Array.prototype.slice.call(a, from, to) as number[];
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s / values.length;
}

export function sum(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return s;
}

/** Mean and unbiased standard deviation (0 for a single value). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  const m = mean(values);
  if (values.length < 2) return { mean: m, std: 0 };
  const v = values.reduce((s, x) => s + (x - m) ** 2, 0) / (values.length - 1);
  return { mean: m, std: Math.sqrt(v) };
}

/** Cosine similarity of two equally long vectors (0 when either is zero). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosineSimilarity: lengths ${a.length} and ${b.length} differ`);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb);
}

/** Mean vector and unbiased covariance (d×d, row-major) of n rows of d features. */
export interface GaussianStats {
  dim: number;
  count: number;
  mean: Float64Array;
  cov: Float64Array;
}

export function gaussianStats(rows: ArrayLike<number>, n: number, dim: number): GaussianStats {
  if (n < 2) throw new Error(`gaussianStats: need at least 2 rows, got ${n}`);
  if (rows.length !== n * dim) throw new Error(`gaussianStats: ${rows.length} values for ${n} rows of ${dim}`);
  const mu = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) mu[d]! += rows[i * dim + d]!;
  for (let d = 0; d < dim; d++) mu[d]! /= n;
  const cov = new Float64Array(dim * dim);
  const r = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) r[d] = rows[i * dim + d]! - mu[d]!;
    for (let a = 0; a < dim; a++) {
      const ra = r[a]!;
      if (ra === 0) continue;
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b]! += ra * r[b]!;
    }
  }
  for (let a = 0; a < dim; a++) {
    for (let b = a; b < dim; b++) {
      const c = cov[a * dim + b]! / (n - 1);
      cov[a * dim + b] = c;
      cov[b * dim + a] = c;
    }
  }
  return { dim, count: n, mean: mu, cov };
}

/**
 * Eigenvalues and eigenvectors of a symmetric matrix (row-major, n×n) by cyclic Jacobi
 * rotations. Returns the eigenvalues and the eigenvectors as the columns of `vectors`.
 * O(n³) per sweep; fine for the feature sizes used here (≤ a few hundred).
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  if (a.length !== n * n) throw new Error(`symmetricEigen: ${a.length} values for a ${n}×${n} matrix`);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(a[i]!));
  const tol = 1e-15 * Math.max(scale, 1e-300);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off = Math.max(off, Math.abs(a[p * n + q]!));
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) <= tol) continue;
        const app = a[p * n + p]!;
        const aqq = a[q * n + q]!;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Jᵀ A J with the rotation J in the (p, q) plane.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i]!;
  return { values, vectors: v };
}

/** The symmetric square root of a symmetric positive semi-definite matrix (negative eigenvalues clipped to 0). */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(values[k]!, 0));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * s;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * vectors[j * n + k]!;
    }
  }
  return out;
}

function matMulSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return out;
}

/**
 * Lower-triangular L with L·Lᵀ = A for a symmetric positive semi-definite A (row-major n×n).
 * A pivot at or below `tol` (relative to the largest diagonal entry) zeroes its column, so a
 * singular covariance (fewer samples than features) still factors.
 */
export function choleskyPsd(matrix: ArrayLike<number>, n: number, tol = 1e-12): Float64Array {
  const l = new Float64Array(n * n);
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, matrix[i * n + i]!);
  const floor = tol * Math.max(maxDiag, 1e-300);
  for (let j = 0; j < n; j++) {
    let d = matrix[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (d <= floor) continue;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = matrix[i * n + j]!;
      for (let k = 0; k < j; k++) v -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = v / ljj;
    }
  }
  return l;
}

/**
 * Eigenvalues (ascending) of a symmetric matrix: Householder reduction to tridiagonal form,
 * then bisection on Sturm sequences. O(n³) with contiguous row access; no eigenvectors.
 */
export function symmetricEigenvalues(matrix: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  if (a.length !== n * n) throw new Error(`symmetricEigenvalues: ${a.length} values for a ${n}×${n} matrix`);
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Reflect column k below the diagonal onto its first entry: H = I − β·v·vᵀ on rows/cols k+1..n−1.
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += a[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const x0 = a[(k + 1) * n + k]!;
    const alpha = x0 >= 0 ? -norm : norm;
    for (let i = k + 1; i < n; i++) v[i] = a[i * n + k]!;
    v[k + 1] = x0 - alpha;
    let vv = 0;
    for (let i = k + 1; i < n; i++) vv += v[i]! ** 2;
    if (vv === 0) continue;
    const beta = 2 / vv;
    // p = β·A·v, then w = p − (β/2)(vᵀp)·v; A ← A − v·wᵀ − w·vᵀ on the trailing block.
    for (let i = k + 1; i < n; i++) {
      let s = 0;
      const row = i * n;
      for (let j = k + 1; j < n; j++) s += a[row + j]! * v[j]!;
      p[i] = beta * s;
    }
    let vp = 0;
    for (let i = k + 1; i < n; i++) vp += v[i]! * p[i]!;
    const c = (beta / 2) * vp;
    for (let i = k + 1; i < n; i++) p[i] = p[i]! - c * v[i]!;
    for (let i = k + 1; i < n; i++) {
      const row = i * n;
      const vi = v[i]!;
      const wi = p[i]!;
      for (let j = k + 1; j < n; j++) a[row + j] = a[row + j]! - vi * p[j]! - wi * v[j]!;
    }
    a[(k + 1) * n + k] = alpha;
    a[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) {
      a[i * n + k] = 0;
      a[k * n + i] = 0;
    }
  }
  const d = new Float64Array(n);
  const e2 = new Float64Array(n); // e2[i] = (off-diagonal between i−1 and i)²
  for (let i = 0; i < n; i++) d[i] = a[i * n + i]!;
  for (let i = 1; i < n; i++) e2[i] = a[i * n + i - 1]! ** 2;
  // Gershgorin bounds.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.sqrt(e2[i]!) : 0) + (i + 1 < n ? Math.sqrt(e2[i + 1]!) : 0);
    lo = Math.min(lo, d[i]! - r);
    hi = Math.max(hi, d[i]! + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), 1e-300);
  const tiny = 1e-300;
  // Number of eigenvalues smaller than x (Sturm count of the LDLᵀ pivots of T − x·I).
  const below = (x: number): number => {
    let count = 0;
    let q = d[0]! - x;
    if (q < 0) count++;
    for (let i = 1; i < n; i++) {
      q = d[i]! - x - e2[i]! / (q === 0 ? tiny : q);
      if (q < 0) count++;
    }
    return count;
  };
  const values = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let a0 = lo;
    let b0 = hi;
    while (b0 - a0 > 4e-16 * scale) {
      const mid = 0.5 * (a0 + b0);
      if (mid === a0 || mid === b0) break;
      if (below(mid) > k) b0 = mid;
      else a0 = mid;
    }
    values[k] = 0.5 * (a0 + b0);
  }
  return values;
}

/**
 * Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂):
 *   d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2·(Σ₁Σ₂)^{1/2})
 * with tr (Σ₁Σ₂)^{1/2} = Σ_k √λ_k(Lᵀ Σ₂ L), Σ₁ = L Lᵀ (Cholesky): a symmetric PSD matrix with the
 * same eigenvalues as Σ₁Σ₂. Returns d² (what "FID" reports), never negative.
 *
 * @example
 *   frechetDistance(gaussianStats(real, n, d), gaussianStats(fake, m, d));
 */
export function frechetDistance(a: Pick<GaussianStats, 'dim' | 'mean' | 'cov'>, b: Pick<GaussianStats, 'dim' | 'mean' | 'cov'>): number {
  if (a.dim !== b.dim) throw new Error(`frechetDistance: feature sizes ${a.dim} and ${b.dim} differ`);
  const n = a.dim;
  let meanTerm = 0;
  for (let d = 0; d < n; d++) meanTerm += (a.mean[d]! - b.mean[d]!) ** 2;
  // Σ₁Σ₂ = L·(Lᵀ·Σ₂·L)·L⁻¹-similar: its eigenvalues are those of the symmetric PSD Lᵀ·Σ₂·L.
  const l = choleskyPsd(a.cov, n);
  const lt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) lt[i * n + j] = l[j * n + i]!;
  const m = matMulSquare(matMulSquare(lt, Float64Array.from(b.cov), n), l, n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = 0.5 * (m[i * n + j]! + m[j * n + i]!);
      m[i * n + j] = s;
      m[j * n + i] = s;
    }
  }
  const values = symmetricEigenvalues(m, n);
  let traceSqrt = 0;
  for (let k = 0; k < n; k++) traceSqrt += Math.sqrt(Math.max(values[k]!, 0));
  let trace = 0;
  for (let d = 0; d < n; d++) trace += a.cov[d * n + d]! + b.cov[d * n + d]!;
  return Math.max(0, meanTerm + trace - 2 * traceSqrt);
}

/**
 * One-way variance decomposition of `groups` consecutive groups of `perGroup` rows of `dim`
 * values (the samples of input i are rows i·n … i·n + n − 1), per dimension:
 *   within_d  = (1/m) Σ_i Var_k y_ik,d                 unbiased for E_x Var_v y_d
 *   between_d = Var_i ȳ_i,d − within_d / n             unbiased for Var_x E_v y_d
 * (E Var_i ȳ_i = Var_x E_v y + E_x Var_v y / n when the groups' samples are independent, so
 * the raw variance of the group means overstates what x captures by within/n). between_d is not
 * clamped here: it can be slightly negative when x captures nothing. Needs m ≥ 2, n ≥ 2.
 */
export function varianceDecomposition(rows: ArrayLike<number>, groups: number, perGroup: number, dim: number): { within: Float64Array; between: Float64Array } {
  if (groups < 2 || perGroup < 2) throw new Error(`varianceDecomposition: need at least 2 groups of at least 2 rows, got ${groups}×${perGroup}`);
  const within = new Float64Array(dim);
  const v = groupVariances(rows, groups, perGroup, dim);
  for (let g = 0; g < groups; g++) for (let d = 0; d < dim; d++) within[d]! += v[g * dim + d]! / groups;
  const means = groupMeans(rows, groups, perGroup, dim);
  const between = columnVariances(means, groups, dim);
  for (let d = 0; d < dim; d++) between[d]! -= within[d]! / perGroup;
  return { within, between };
}

/** Per-group means of the layout `groupVariances` takes: [groups·dim]. */
export function groupMeans(rows: ArrayLike<number>, groups: number, perGroup: number, dim: number): Float64Array {
  if (rows.length !== groups * perGroup * dim) throw new Error(`groupMeans: ${rows.length} values for ${groups}×${perGroup} rows of ${dim}`);
  const out = new Float64Array(groups * dim);
  for (let g = 0; g < groups; g++) {
    for (let k = 0; k < perGroup; k++) {
      const row = (g * perGroup + k) * dim;
      for (let d = 0; d < dim; d++) out[g * dim + d]! += rows[row + d]! / perGroup;
    }
  }
  return out;
}

/** Pearson correlation of two equally long series (null when either is constant or shorter than 2). */
export function pearson(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length || a.length < 2) return null;
  const ma = mean(a);
  const mb = mean(b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i]! - ma) * (b[i]! - mb);
    aa += (a[i]! - ma) ** 2;
    bb += (b[i]! - mb) ** 2;
  }
  return aa === 0 || bb === 0 ? null : ab / Math.sqrt(aa * bb);
}

/** Ranks 1…n, ties given their mean rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(values.length);
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's rank correlation: Pearson of the ranks (null when either series is constant). */
export function spearman(a: readonly number[], b: readonly number[]): number | null {
  if (a.length !== b.length || a.length < 2) return null;
  return pearson(ranks(a), ranks(b));
}

/** A statistic with its percentile bootstrap interval. */
export interface Estimate {
  value: number | null;
  /** [lo, hi] of the central `level` interval over resamples (null when too few resamples were defined). */
  ci: [number, number] | null;
  level: number;
  resamples: number;
}

/**
 * Percentile bootstrap of a paired statistic: resamples the pairs (a_i, b_i) with replacement
 * `resamples` times with `next()` uniform in [0, 1) and takes the central `level` quantiles of
 * the defined values (a resample where the statistic is null, e.g. a constant series, is skipped;
 * fewer than half defined gives ci = null).
 */
export function bootstrapPaired(
  a: readonly number[], b: readonly number[], statistic: (a: number[], b: number[]) => number | null,
  next: () => number, resamples = 2000, level = 0.95,
): Estimate {
  const value = statistic([...a], [...b]);
  const n = a.length;
  const values: number[] = [];
  for (let r = 0; r < resamples && n >= 2; r++) {
    const ra: number[] = [];
    const rb: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = Math.min(n - 1, Math.floor(next() * n));
      ra.push(a[k]!);
      rb.push(b[k]!);
    }
    const s = statistic(ra, rb);
    if (s !== null && Number.isFinite(s)) values.push(s);
  }
  if (values.length < resamples / 2) return { value, ci: null, level, resamples };
  values.sort((x, y) => x - y);
  const q = (p: number) => values[Math.min(values.length - 1, Math.max(0, Math.round(p * (values.length - 1))))]!;
  return { value, ci: [q((1 - level) / 2), q(1 - (1 - level) / 2)], level, resamples };
}
