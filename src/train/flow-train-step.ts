/**
 * One optimisation step for t (Eq. 5) and for e (Eq. 6), shared by the tests and the CLI
 * trainer. Adam with β = (0.5, 0.9) over every trainable weight (flow and embedder), as the
 * reference (digest §3.5, §4.2); no schedule, clipping or weight decay here: a trainer that
 * wants a schedule calls `setLearningRate` between steps.
 *
 * Each step frees everything it creates: tf.memory().numTensors is the same after every step
 * (the optimizer's own slots appear once, at the first step).
 */
import { tf } from '../engine/index.ts';
import { FusedAdamOptimizer } from './fused-adam.ts';
import { setLearningRate } from './optim.ts';
import type { ConditionalINN } from '../flows/cinn.ts';
import type { SemanticINN } from '../flows/iin.ts';
import { resolveConfig, type DeepPartial } from '../flows/config.ts';
import { flowNll, nllPerDimension } from '../flows/losses.ts';
import { trainableVariables, type FlowComponent } from '../flows/module.ts';

export interface FlowOptimizerConfig {
  /** Adam step size (reference: 4.5e-6 × batch size, i.e. 7.2e-5 for t at batch 16, 1.125e-4 for e at 25). */
  learningRate: number;
  /** Adam β₁ (reference: 0.5). */
  beta1: number;
  /** Adam β₂ (reference: 0.9). */
  beta2: number;
  /** Adam ε (PyTorch's default 1e-8). */
  epsilon: number;
}

export const DEFAULT_FLOW_OPTIMIZER_CONFIG: FlowOptimizerConfig = {
  learningRate: 7.2e-5,
  beta1: 0.5,
  beta2: 0.9,
  epsilon: 1e-8,
};

/**
 * Adam as the reference trains t and e (fused into one kernel call per step on backends that
 * offer it: src/train/fused-adam.ts). Dispose it when training ends.
 *
 * @example
 *   const optimizer = createFlowOptimizer({ learningRate: 1e-3 });
 */
export function createFlowOptimizer(config: DeepPartial<FlowOptimizerConfig> = {}): tf.AdamOptimizer {
  const c = resolveConfig(DEFAULT_FLOW_OPTIMIZER_CONFIG, config, 'createFlowOptimizer');
  return new FusedAdamOptimizer(c.learningRate, c.beta1, c.beta2, c.epsilon);
}

export { setLearningRate };

/** What a step of t reports. */
export interface CinnStepResult {
  /** mean ½‖v‖² − mean log|det| (Eq. 5 without the constant), before the update. */
  loss: number;
  /** loss / D. */
  lossPerDim: number;
  /** (loss + ½·D·log 2π) / D: the full NLL in nats per dimension. */
  nllPerDim: number;
  /** mean log|det ∂v/∂z̄|. */
  meanLogDet: number;
}

/** What a step of e reports. */
export interface IinStepResult {
  /** The factor loss of Eq. (6) (constants dropped), before the update. */
  loss: number;
  /** loss / (2·D): per dimension of the pair. */
  lossPerDim: number;
}

/** Runs one minimise over the component's trainable weights; returns the loss and extra metrics. */
function step(
  component: FlowComponent,
  optimizer: tf.Optimizer,
  lossAndMetrics: () => { loss: tf.Scalar; metrics: tf.Tensor1D },
): { loss: number; metrics: Float32Array } {
  let metrics: tf.Tensor | null = null;
  const cost = optimizer.minimize(() => {
    const r = lossAndMetrics();
    metrics = tf.keep(r.metrics);
    return r.loss;
  }, true, trainableVariables(component));
  try {
    const loss = cost!.dataSync()[0]!;
    const values = (metrics as tf.Tensor | null)?.dataSync() as Float32Array | undefined;
    if (!Number.isFinite(loss)) throw new Error(`training step: the loss is ${loss}`);
    return { loss, metrics: Float32Array.from(values ?? []) };
  } finally {
    cost?.dispose();
    (metrics as tf.Tensor | null)?.dispose();
  }
}

/**
 * One Adam step of t on a batch (z̄ [B, D], z [B, ...conditionShape]).
 *
 * @example
 *   const optimizer = createFlowOptimizer({ learningRate: 1e-3 });
 *   const { loss, nllPerDim } = cinnTrainStep(t, optimizer, zbar, z);
 */
export function cinnTrainStep(t: ConditionalINN, optimizer: tf.Optimizer, zbar: tf.Tensor2D, z: tf.Tensor): CinnStepResult {
  const r = step(t, optimizer, () => {
    const { output, logDet } = t.forward(zbar, z);
    return { loss: flowNll(output, logDet), metrics: tf.stack([tf.mean(logDet)]) as tf.Tensor1D };
  });
  return { loss: r.loss, ...nllPerDimension(r.loss, t.dim), meanLogDet: r.metrics[0]! };
}

/**
 * One Adam step of e on pairs: z̄ᵃ, z̄ᵇ [B, D] and, per pair, the shared factor(s) by index or
 * name (−1 or [] for none).
 *
 * @example
 *   const { loss } = iinTrainStep(e, optimizer, zbarA, zbarB, ['digit', 'color', 'digit']);
 */
export function iinTrainStep(
  e: SemanticINN,
  optimizer: tf.Optimizer,
  zbarA: tf.Tensor2D,
  zbarB: tf.Tensor2D,
  shared: ReadonlyArray<number | string | readonly (number | string)[]>,
): IinStepResult {
  const r = step(e, optimizer, () => ({ loss: e.pairLoss(zbarA, zbarB, shared), metrics: tf.zeros([0]) as tf.Tensor1D }));
  return { loss: r.loss, lossPerDim: r.loss / (2 * e.dim) };
}
