/**
 * A training job: one model kind (ae, classifier, cinn, iin) trained step by step, able to save
 * everything a resume needs (weights, optimizer moments, random streams, data order) and to
 * produce its final model files. The runner (runner.ts) drives any job the same way.
 */
import type { RandomState } from '../engine/random.ts';
import type { SavedOptimizerTensor } from '../train/optimizer-state.ts';

export type JobKind = 'ae' | 'classifier' | 'cinn' | 'iin';

export const TRAIN_STATE_FORMAT = 'inntrospect-train-state/1';

/** Everything needed to continue a run exactly where it stopped. Plain JSON. */
export interface TrainState {
  format: typeof TRAIN_STATE_FORMAT;
  kind: JobKind;
  /** Steps completed. */
  step: number;
  /** Serialized models (model files' JSON text) by role, e.g. { model: '...' }. */
  models: Record<string, string>;
  optimizers: Record<string, SavedOptimizerTensor[]>;
  random: Record<string, RandomState>;
  /** Data iterators' and samplers' states. */
  data: Record<string, unknown>;
}

/** A PNG (or other file) the job wants written into the run's samples folder. */
export interface SampleImage {
  name: string;
  bytes: Uint8Array;
}

export interface TrainingJob {
  readonly kind: JobKind;
  readonly totalSteps: number;
  /** One optimisation step; returns the numbers to log (must include `loss`). */
  step(iteration: number): Promise<Record<string, number>>;
  saveState(step: number): Promise<TrainState>;
  restoreState(state: TrainState): Promise<void>;
  /** Images that show training progress (optional). */
  samples?(iteration: number): Promise<SampleImage[]>;
  /** Iterations at which `snapshot` files are kept for analysis (the classifier's checkpoints). */
  readonly snapshotIterations?: readonly number[];
  snapshot?(iteration: number): Record<string, string>;
  /** Evaluation numbers on held-out data (optional; run at the end and every evalEvery steps). */
  evaluate?(): Promise<Record<string, number>>;
  /** Final model files: file name → contents (e.g. { 'model.json': ... }). */
  finalModels(): Record<string, string>;
  dispose(): void;
}
