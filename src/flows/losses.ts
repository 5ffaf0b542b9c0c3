/**
 * The two training losses.
 *
 * Flow NLL (paper Eq. 3–5; reference iin.losses.iin.Loss, digest §3.5):
 *   loss = mean_b[ ½‖v‖² ] − mean_b[ log|det ∂v/∂z̄| ],  v = t(z̄|z)
 * This is the negative log-likelihood −log p(z̄|z) of Eq. (3) averaged over the batch, minus its
 * constant: the full NLL in nats is loss + ½·D·log 2π (D = dim z̄). Eq. (5) prints the constant
 * as N_z̄·log 2π; the Gaussian's is ½·N_z̄·log 2π. It never affects training.
 *
 * Factor loss (paper Eq. 6; IIN's FactorLoss, digest §4.2): for a pair (a, b) whose members share
 * the factors F with m_F = 1,
 *   loss = mean_b[½‖ẑᵃ‖²] − mean_b[logdetᵃ]
 *        + Σ_F mean_b[ ½‖ẑᵇ_F − m_F·ρ·ẑᵃ_F‖² / (1 − m_F·ρ²) ] − mean_b[logdetᵇ]
 * the NLL of N(ẑᵃ; 0, I)·Π_F N(ẑᵇ_F; m_F·ρ·ẑᵃ_F, (1 − m_F·ρ²)·I) without the constants
 * ½·D·log 2π per member and ½·d_F·log(1 − ρ²) per shared factor (as the reference drops them).
 */
import { tf } from '../engine/index.ts';

/** ½·log 2π: the per-dimension constant of a standard normal's NLL. */
export const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * mean_b ½‖v‖² − mean_b logDet (Eq. 5 without the constant).
 *
 * @example
 *   const { output: v, logDet } = t.forward(zbar, z);
 *   const loss = flowNll(v, logDet);
 */
export function flowNll(v: tf.Tensor2D, logDet: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sub(tf.mean(tf.mul(0.5, tf.sum(tf.square(v), 1))), tf.mean(logDet)));
}

/** A flow loss expressed per dimension. */
export interface NllPerDim {
  /** loss / D (nats per dimension, without the constant). */
  lossPerDim: number;
  /** (loss + ½·D·log 2π) / D: the full Gaussian NLL in nats per dimension. */
  nllPerDim: number;
}

/**
 * @example
 *   nllPerDimension(3.2, 4);   // { lossPerDim: 0.8, nllPerDim: 0.8 + 0.9189 }
 */
export function nllPerDimension(loss: number, dim: number): NllPerDim {
  return { lossPerDim: loss / dim, nllPerDim: loss / dim + HALF_LOG_2PI };
}

/**
 * Which factors each pair shares: a factor index, a list of indices, or −1 / [] for none.
 * The residual (last) factor is never shared.
 */
export type SharedFactors = ReadonlyArray<number | readonly number[]>;

/**
 * The per-dimension share mask m [B, D] of the factor loss: 1 on the dimensions of the factors a
 * pair shares.
 *
 * @example
 *   factorShareMask([2, 2, 2], [0, 1, -1]);   // rows [1,1,0,0,0,0], [0,0,1,1,0,0], [0,0,0,0,0,0]
 */
export function factorShareMask(factorSizes: readonly number[], shared: SharedFactors): tf.Tensor2D {
  const dim = factorSizes.reduce((a, b) => a + b, 0);
  const offsets = factorSizes.map((_, i) => factorSizes.slice(0, i).reduce((a, b) => a + b, 0));
  const residual = factorSizes.length - 1;
  const mask = new Float32Array(shared.length * dim);
  shared.forEach((entry, row) => {
    const list = typeof entry === 'number' ? (entry < 0 ? [] : [entry]) : entry;
    for (const f of list) {
      if (!Number.isInteger(f) || f < 0 || f >= factorSizes.length) {
        throw new Error(`factorShareMask: pair ${row} names factor ${f}, but there are ${factorSizes.length} factors (0..${factorSizes.length - 1})`);
      }
      if (f === residual) throw new Error(`factorShareMask: pair ${row} shares the residual factor ${f}, which is never shared`);
      mask.fill(1, row * dim + offsets[f]!, row * dim + offsets[f]! + factorSizes[f]!);
    }
  });
  return tf.tensor2d(mask, [shared.length, dim]);
}

/**
 * Eq. (6) / IIN FactorLoss for outputs ẑᵃ, ẑᵇ [B, D] of e, their log-dets and the share mask.
 *
 * @example
 *   const mask = factorShareMask(e.factorSizes, pairs.shared);
 *   const loss = factorLoss(za, zb, logDetA, logDetB, mask, 0.975);
 */
export function factorLoss(
  za: tf.Tensor2D,
  zb: tf.Tensor2D,
  logDetA: tf.Tensor1D,
  logDetB: tf.Tensor1D,
  shareMask: tf.Tensor2D,
  rho: number,
): tf.Scalar {
  if (!(rho > -1 && rho < 1)) throw new Error(`factorLoss: rho must lie in (−1, 1), got ${rho}`);
  return tf.tidy(() => {
    const lossA = flowNll(za, logDetA);
    const mean = tf.mul(shareMask, tf.mul(za, rho));
    const variance = tf.sub(1, tf.mul(shareMask, rho * rho));
    const quad = tf.mul(0.5, tf.sum(tf.div(tf.square(tf.sub(zb, mean)), variance), 1));
    const lossB = tf.sub(tf.mean(quad), tf.mean(logDetB));
    return tf.add(lossA, lossB);
  });
}
