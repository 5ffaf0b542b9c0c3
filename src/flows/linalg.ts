// Small float64 linear algebra: log|det| by LU with partial pivoting (the Jacobian check of
// invertibility-check.ts and the flow tests) and a linear solve for the analytic learning test.

/** log|det A| of an n×n row-major matrix (−Infinity if singular). */
export function logAbsDet(matrix: ArrayLike<number>, n: number): number {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  if (a.length !== n * n) throw new Error(`logAbsDet: expected ${n * n} entries, got ${a.length}`);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r * n + k]!) > Math.abs(a[pivot * n + k]!)) pivot = r;
    const p = a[pivot * n + k]!;
    if (p === 0) return -Infinity;
    if (pivot !== k) {
      for (let c = 0; c < n; c++) {
        const tmp = a[k * n + c]!;
        a[k * n + c] = a[pivot * n + c]!;
        a[pivot * n + c] = tmp;
      }
    }
    sum += Math.log(Math.abs(p));
    for (let r = k + 1; r < n; r++) {
      const factor = a[r * n + k]! / p;
      if (factor === 0) continue;
      for (let c = k; c < n; c++) a[r * n + c] = a[r * n + c]! - factor * a[k * n + c]!;
    }
  }
  return sum;
}

/** Solves A x = b (n×n row-major, float64) by Gaussian elimination with partial pivoting. */
export function solve(matrix: ArrayLike<number>, rhs: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  const b = Float64Array.from(rhs as ArrayLike<number>);
  for (let k = 0; k < n; k++) {
    let pivot = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r * n + k]!) > Math.abs(a[pivot * n + k]!)) pivot = r;
    if (pivot !== k) {
      for (let c = 0; c < n; c++) [a[k * n + c], a[pivot * n + c]] = [a[pivot * n + c]!, a[k * n + c]!];
      [b[k], b[pivot]] = [b[pivot]!, b[k]!];
    }
    for (let r = k + 1; r < n; r++) {
      const f = a[r * n + k]! / a[k * n + k]!;
      for (let c = k; c < n; c++) a[r * n + c] = a[r * n + c]! - f * a[k * n + c]!;
      b[r] = b[r]! - f * b[k]!;
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let c = r + 1; c < n; c++) s -= a[r * n + c]! * x[c]!;
    x[r] = s / a[r * n + r]!;
  }
  return x;
}
