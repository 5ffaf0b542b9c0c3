/**
 * The optimisation settings both flow jobs (t and e) share, under `train` as in every job:
 * Adam with the reference's betas.
 */
import { BETA, count, positive, SEED, type ConfigLimits } from '../../config/limits.ts';

export interface FlowTrainingConfig {
  /** Seed of the flow's initialisation, the data order and the posterior samples. */
  seed: number;
  /** Optimisation steps. */
  steps: number;
  /** Images (t) or pairs (e) per step (reference: 16 for t, 25 for e). */
  batchSize: number;
  /** Adam learning rate (reference: 4.5e-6 × batch size, for much larger flows). */
  learningRate: number;
  /** Adam β1 (reference: 0.5). */
  beta1: number;
  /** Adam β2 (reference: 0.9). */
  beta2: number;
}

/** The allowed numbers of `train` for t and e (src/config/limits.ts). */
export const FLOW_TRAINING_LIMITS: ConfigLimits = {
  'train.seed': SEED,
  'train.steps': count(1),
  'train.batchSize': count(1, 65_536),
  'train.learningRate': positive(1000),
  'train.beta1': BETA,
  'train.beta2': BETA,
};
