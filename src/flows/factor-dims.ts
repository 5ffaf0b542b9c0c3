/**
 * The factor-dimensionality estimate of the IIN code (digest §4.4, `dim_callback`): how many of
 * the D dimensions of e's output each semantic factor should get, from pairs of representations
 * z (not ẑ) that share a known factor.
 *
 *   var_total = Σ_d Var(z_d) over all zᵃ ∪ zᵇ                      (population variance)
 *   for each non-residual factor F, over the pairs P_F that share F:
 *       m_F = ½(mean zᵃ + mean zᵇ),  s_F = Σ_d mean[(zᵃ_d − m_F,d)(zᵇ_d − m_F,d)] / var_total
 *   s_residual = 1
 *   N_F = ⌊softmax(s)_F · D⌋ for F ≠ residual,  N_residual = D − Σ_F N_F
 * s_F is the covariance shared within the pairs of F over the total variance.
 */
import { solve } from './linalg.ts';

export interface FactorDimEstimate {
  /** s_F per factor (the residual's is 1). */
  scores: number[];
  /** softmax(s). */
  weights: number[];
  /** Dimensions per factor, summing to D. */
  sizes: number[];
}

/**
 * @param za, zb the two members of each pair, one row of D values each.
 * @param factorOfPair the factor each pair shares (0 … numFactors − 2); other values (e.g. −1)
 *   count for the total variance only.
 * @param numFactors factors including the residual (the last).
 *
 * @example
 *   const { sizes } = estimateFactorDimensions(za, zb, pairFactors, 3);   // e.g. [22, 11, 31]
 */
export function estimateFactorDimensions(
  za: ReadonlyArray<ArrayLike<number>>,
  zb: ReadonlyArray<ArrayLike<number>>,
  factorOfPair: ArrayLike<number>,
  numFactors: number,
): FactorDimEstimate {
  const pairs = za.length;
  if (pairs === 0 || zb.length !== pairs || factorOfPair.length !== pairs) {
    throw new Error(`estimateFactorDimensions: need the same positive number of a's, b's and factors, got ${za.length}, ${zb.length}, ${factorOfPair.length}`);
  }
  if (!Number.isInteger(numFactors) || numFactors < 1) throw new Error(`estimateFactorDimensions: numFactors must be ≥ 1, got ${numFactors}`);
  const dim = za[0]!.length;
  for (const row of [...za, ...zb]) {
    if (row.length !== dim) throw new Error(`estimateFactorDimensions: rows must all have ${dim} values, got ${row.length}`);
  }

  const mean = new Float64Array(dim);
  for (const row of [...za, ...zb]) for (let d = 0; d < dim; d++) mean[d]! += row[d]! / (2 * pairs);
  let varTotal = 0;
  for (const row of [...za, ...zb]) for (let d = 0; d < dim; d++) varTotal += (row[d]! - mean[d]!) ** 2 / (2 * pairs);
  if (!(varTotal > 0)) throw new Error('estimateFactorDimensions: the representations have zero variance');

  const scores: number[] = [];
  for (let f = 0; f < numFactors - 1; f++) {
    const members: number[] = [];
    for (let p = 0; p < pairs; p++) if (factorOfPair[p] === f) members.push(p);
    if (members.length === 0) throw new Error(`estimateFactorDimensions: no pair shares factor ${f}`);
    const m = new Float64Array(dim);
    for (const p of members) for (let d = 0; d < dim; d++) m[d]! += (za[p]![d]! + zb[p]![d]!) / (2 * members.length);
    let covariance = 0;
    for (const p of members) for (let d = 0; d < dim; d++) covariance += (za[p]![d]! - m[d]!) * (zb[p]![d]! - m[d]!) / members.length;
    scores.push(covariance / varTotal);
  }
  scores.push(1);

  const top = Math.max(...scores);
  const exps = scores.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  const weights = exps.map((e) => e / total);
  const sizes = weights.slice(0, -1).map((w) => Math.floor(w * dim));
  sizes.push(dim - sizes.reduce((a, b) => a + b, 0));
  return { scores, weights, sizes };
}

/** What `estimateSharedDimensions` returns. */
export interface SharedDimEstimate {
  /** Per non-residual factor: tr(Σ⁻¹ C_F), the number of dimensions' worth of variance its pairs share. */
  shared: number[];
  /** Dimensions per factor (residual last), summing to D; every factor ≥ 1. */
  sizes: number[];
}

/**
 * Factor sizes as the number of dimensions each factor's pairs share, in whitened units (ours;
 * docs/flows.md): with Σ the covariance of all zᵃ ∪ zᵇ and C_F the symmetrised cross-covariance
 * of the pairs sharing F (centred as in `estimateFactorDimensions`),
 *   shared_F = tr(Σ⁻¹ C_F)
 * which is k when the pairs share k dimensions exactly and the rest independently (for any
 * invertible linear mixing of z, which whitening undoes) and ≤ K − 1 for a K-class factor shared
 * through its class alone. N_F = max(1, round(shared_F)), the residual takes the rest. The IIN
 * code's softmax of covariance shares (`estimateFactorDimensions`) cannot do this: its weights
 * differ by at most a factor e, so it returns near-equal sizes whatever the data.
 *
 * @param ridge added to Σ's diagonal, relative to its mean diagonal (dead dimensions of z).
 *
 * @example
 *   estimateSharedDimensions(za, zb, pairFactors, 3).sizes;   // e.g. [9, 4, 51]
 */
export function estimateSharedDimensions(
  za: ReadonlyArray<ArrayLike<number>>, zb: ReadonlyArray<ArrayLike<number>>, factorOfPair: ArrayLike<number>, numFactors: number, ridge = 1e-6,
): SharedDimEstimate {
  const pairs = za.length;
  if (pairs === 0 || zb.length !== pairs || factorOfPair.length !== pairs) {
    throw new Error(`estimateSharedDimensions: need the same positive number of a's, b's and factors, got ${za.length}, ${zb.length}, ${factorOfPair.length}`);
  }
  const dim = za[0]!.length;
  const all = [...za, ...zb];
  for (const row of all) if (row.length !== dim) throw new Error(`estimateSharedDimensions: rows must all have ${dim} values, got ${row.length}`);
  const mean = new Float64Array(dim);
  for (const row of all) for (let d = 0; d < dim; d++) mean[d]! += row[d]! / all.length;
  const sigma = new Float64Array(dim * dim);
  for (const row of all) {
    for (let i = 0; i < dim; i++) {
      const ri = row[i]! - mean[i]!;
      for (let j = 0; j < dim; j++) sigma[i * dim + j]! += ri * (row[j]! - mean[j]!) / all.length;
    }
  }
  let diag = 0;
  for (let d = 0; d < dim; d++) diag += sigma[d * dim + d]! / dim;
  if (!(diag > 0)) throw new Error('estimateSharedDimensions: the representations have zero variance');
  for (let d = 0; d < dim; d++) sigma[d * dim + d]! += ridge * diag;
  const shared: number[] = [];
  for (let f = 0; f < numFactors - 1; f++) {
    const members: number[] = [];
    for (let p = 0; p < pairs; p++) if (factorOfPair[p] === f) members.push(p);
    if (members.length === 0) throw new Error(`estimateSharedDimensions: no pair shares factor ${f}`);
    const m = new Float64Array(dim);
    for (const p of members) for (let d = 0; d < dim; d++) m[d]! += (za[p]![d]! + zb[p]![d]!) / (2 * members.length);
    const c = new Float64Array(dim * dim);
    for (const p of members) {
      for (let i = 0; i < dim; i++) {
        const ai = za[p]![i]! - m[i]!;
        const bi = zb[p]![i]! - m[i]!;
        for (let j = 0; j < dim; j++) c[i * dim + j]! += 0.5 * (ai * (zb[p]![j]! - m[j]!) + bi * (za[p]![j]! - m[j]!)) / members.length;
      }
    }
    // tr(Σ⁻¹ C) = Σ_j (Σ⁻¹ c_j)_j over the columns c_j of C.
    let trace = 0;
    for (let j = 0; j < dim; j++) {
      const col = new Float64Array(dim);
      for (let i = 0; i < dim; i++) col[i] = c[i * dim + j]!;
      trace += solve(sigma, col, dim)[j]!;
    }
    shared.push(trace);
  }
  let sizes = shared.map((s) => Math.max(1, Math.round(s)));
  const budget = dim - 1; // the residual keeps at least one dimension
  const used = sizes.reduce((a, b) => a + b, 0);
  if (used > budget) sizes = sizes.map((s) => Math.max(1, Math.floor((s * budget) / used)));
  if (sizes.reduce((a, b) => a + b, 0) > budget) throw new Error(`estimateSharedDimensions: ${dim} dimensions are too few for ${numFactors} factors`);
  sizes.push(dim - sizes.reduce((a, b) => a + b, 0));
  return { shared, sizes };
}
