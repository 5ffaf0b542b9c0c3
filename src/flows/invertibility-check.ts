/**
 * The invertibility self-check of a flow (t or e, or any InvertibleModule): round-trip error,
 * forward + inverse log-det cancellation, and the log-det against the log-determinant of the
 * Jacobian computed by central differences (float32 evaluation, float64 LU). Used by
 * `inntrospect check` and by the generic contract tests.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import { logAbsDet } from './linalg.ts';
import type { InvertibleModule } from './module.ts';

function evaluate(m: InvertibleModule, x: tf.Tensor2D, c: tf.Tensor | undefined, dir: 'forward' | 'inverse') {
  const r = dir === 'forward' ? m.forward(x, c) : m.inverse(x, c);
  const out = { output: r.output.dataSync().slice() as Float32Array, logDet: r.logDet.dataSync().slice() as Float32Array };
  tf.dispose([r.output, r.logDet]);
  return out;
}

/**
 * log|det ∂f/∂x| per sample from central differences of f. Every sample is perturbed at once
 * along the same coordinate, since each output row depends on its own input row only.
 */
export function numericalLogDet(m: InvertibleModule, x: tf.Tensor2D, c: tf.Tensor | undefined, eps: number, dir: 'forward' | 'inverse' = 'forward'): number[] {
  const [batch, dim] = x.shape;
  const xs = x.dataSync();
  const jac = Array.from({ length: batch }, () => new Float64Array(dim * dim));
  for (let j = 0; j < dim; j++) {
    const plus = Float32Array.from(xs);
    const minus = Float32Array.from(xs);
    for (let b = 0; b < batch; b++) {
      plus[b * dim + j]! += eps;
      minus[b * dim + j]! -= eps;
    }
    const xp = tf.tensor2d(plus, [batch, dim]);
    const xm = tf.tensor2d(minus, [batch, dim]);
    const yp = evaluate(m, xp, c, dir).output;
    const ym = evaluate(m, xm, c, dir).output;
    tf.dispose([xp, xm]);
    for (let b = 0; b < batch; b++) {
      // The actual float32 step, so the quotient uses what was evaluated.
      const h = plus[b * dim + j]! - minus[b * dim + j]!;
      for (let i = 0; i < dim; i++) jac[b]![i * dim + j] = (yp[b * dim + i]! - ym[b * dim + i]!) / h;
    }
  }
  return jac.map((J) => logAbsDet(J, dim));
}

export interface InvertibilityReport {
  /** max |x − f⁻¹(f(x))| / max |x| over the batch. */
  roundTripError: number;
  /** max |logDet_forward + logDet_inverse|. */
  logDetCancellation: number;
  /** max over samples of |logDet − numeric| / max(1, |numeric|). */
  jacobianError: number;
  /** Whether every output was finite. */
  finite: boolean;
  samples: number;
}

export interface InvertibilityCheckOptions {
  /** Samples checked. Default 4. */
  samples?: number;
  /** Central-difference step. Default 3e-3. */
  eps?: number;
  seed?: number;
}

/**
 * Checks `m` on standard-normal inputs (and, for a conditional flow, standard-normal conditions
 * of `conditionShape`).
 *
 * @example
 *   const report = checkInvertibility(t, { conditionShape: t.cfg.conditionShape });
 *   report.roundTripError < 1e-4
 */
export function checkInvertibility(m: InvertibleModule & { dim?: number }, options: InvertibilityCheckOptions & { dim: number; conditionShape?: number[] }): InvertibilityReport {
  const n = options.samples ?? 4;
  const rng = new Random(options.seed ?? 0);
  const x = rng.normalTensor([n, options.dim]) as tf.Tensor2D;
  const c = options.conditionShape && options.conditionShape.length ? rng.normalTensor([n, ...options.conditionShape]) : undefined;
  try {
    const fwd = evaluate(m, x, c, 'forward');
    const y = tf.tensor2d(fwd.output, [n, options.dim]);
    const inv = evaluate(m, y, c, 'inverse');
    y.dispose();
    const xs = x.dataSync();
    let maxDiff = 0;
    let maxX = 0;
    let cancel = 0;
    for (let i = 0; i < xs.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(xs[i]! - inv.output[i]!));
      maxX = Math.max(maxX, Math.abs(xs[i]!));
    }
    for (let b = 0; b < n; b++) cancel = Math.max(cancel, Math.abs(fwd.logDet[b]! + inv.logDet[b]!));
    const numeric = numericalLogDet(m, x, c, options.eps ?? 3e-3);
    let jacobianError = 0;
    numeric.forEach((value, b) => { jacobianError = Math.max(jacobianError, Math.abs(fwd.logDet[b]! - value) / Math.max(1, Math.abs(value))); });
    const finite = [...fwd.output, ...fwd.logDet, ...inv.output, ...inv.logDet].every(Number.isFinite);
    return { roundTripError: maxDiff / Math.max(maxX, 1e-12), logDetCancellation: cancel, jacobianError, finite, samples: n };
  } finally {
    tf.dispose([x, ...(c ? [c] : [])]);
  }
}
