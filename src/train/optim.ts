/** Adam with a settable learning rate (tfjs keeps it in a protected field). */
import { tf } from '../engine/index.ts';
import { FusedAdamOptimizer } from './fused-adam.ts';

/**
 * tfjs's Adam, fused into one kernel call per step where the backend offers it (./fused-adam.ts).
 *
 * @example
 *   const optimizer = adam(2e-4, 0.5, 0.9);
 */
export function adam(learningRate: number, beta1: number, beta2: number): tf.AdamOptimizer {
  return new FusedAdamOptimizer(learningRate, beta1, beta2);
}

/**
 * Changes an optimizer's step size between steps (tfjs keeps the field protected, but Adam
 * reads it on every update).
 */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`setLearningRate: learning rate must be ≥ 0, got ${lr}`);
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Linear decay from `base` to 0 between `decayStart` and `total` (the reference's `update_lr`). */
export function linearDecay(base: number, iteration: number, decayStart: number, total: number): number {
  if (iteration < decayStart || total <= decayStart) return base;
  return base * Math.max(0, 1 - (iteration - decayStart) / (total - decayStart));
}
