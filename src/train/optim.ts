/** Adam with a settable learning rate (tfjs keeps it in a protected field). */
import { tf } from '../engine/index.ts';

export function adam(learningRate: number, beta1: number, beta2: number): tf.AdamOptimizer {
  return tf.train.adam(learningRate, beta1, beta2) as tf.AdamOptimizer;
}

export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  (optimizer as unknown as { learningRate: number }).learningRate = lr;
}

/** Linear decay from `base` to 0 between `decayStart` and `total` (the reference's `update_lr`). */
export function linearDecay(base: number, iteration: number, decayStart: number, total: number): number {
  if (iteration < decayStart || total <= decayStart) return base;
  return base * Math.max(0, 1 - (iteration - decayStart) / (total - decayStart));
}
