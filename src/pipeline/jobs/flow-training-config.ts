/** The optimisation settings both flow jobs (t and e) share: Adam with the reference's betas. */

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
