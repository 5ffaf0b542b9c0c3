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
