/**
 * One training step of a staged classifier with its own loss (BCE on one-hot for the reference
 * ColorMNIST classifier, softmax cross-entropy for SqueezeNet) and Adam.
 */
import { tf } from '../engine/index.ts';
import { classifierLoss, type StagedClassifier } from '../models/classifier.ts';
import { resolveModelConfig, type DeepPartial } from '../models/config.ts';
import { adam, linearDecay, setLearningRate } from './optim.ts';

export interface ClassifierTrainConfig {
  /** Total optimisation steps. */
  steps: number;
  /** Images per step. */
  batchSize: number;
  /** Adam learning rate. */
  learningRate: number;
  /** Adam β1 (reference ColorMNIST classifier: 0.5). */
  beta1: number;
  /** Adam β2 (reference: 0.9). */
  beta2: number;
  /** Iteration from which the learning rate decays linearly to 0 at `steps`; ≥ steps: never. */
  decayStart: number;
  /** Number of equally spaced checkpoints (the paper's Fig. 4: 20 over 40k iterations). */
  checkpoints: number;
  /** Also save the untrained model (iteration 0). */
  includeInitialCheckpoint: boolean;
  /** 'equal' spacing (the paper's) or 'log' spacing, most checkpoints early where accuracy changes. */
  checkpointSpacing: 'equal' | 'log';
  /** Seed of the data order. */
  seed: number;
}

/**
 * The measured ColorMNIST-classifier run (docs/models.md): 3000 steps of 32, ~8 min, 98.9 %.
 * SqueezeNet was trained with learningRate 2e-3, 2600 steps, decay from 1300.
 */
export const DEFAULT_CLASSIFIER_TRAIN_CONFIG: ClassifierTrainConfig = {
  steps: 3000,
  batchSize: 32,
  learningRate: 1e-3,
  beta1: 0.5,
  beta2: 0.9,
  decayStart: 1500,
  checkpoints: 20,
  includeInitialCheckpoint: false,
  checkpointSpacing: 'equal',
  seed: 0,
};


export class ClassifierTrainer {
  readonly config: ClassifierTrainConfig;
  readonly optimizer: tf.AdamOptimizer;

  constructor(readonly model: StagedClassifier, config: DeepPartial<ClassifierTrainConfig> = {}) {
    this.config = resolveModelConfig(DEFAULT_CLASSIFIER_TRAIN_CONFIG, config, 'ClassifierTrainer');
    this.optimizer = adam(this.config.learningRate, this.config.beta1, this.config.beta2);
  }

  /**
   * One step on images x [B, H, W, C] and integer labels [B]: { loss, acc } of this batch;
   * `iteration` drives the learning-rate schedule.
   */
  step(x: tf.Tensor4D, labels: tf.Tensor1D, iteration = 0): { loss: number; acc: number } {
    const c = this.config;
    setLearningRate(this.optimizer, linearDecay(c.learningRate, iteration, c.decayStart, c.steps));
    // ActNorm layers initialise on the first forward pass, outside the gradient tape.
    if (this.model.params.names().some((n) => n.endsWith('.initialized') && this.model.params.buffer(n).data[0] !== 1)) {
      tf.dispose(this.model.logits(x));
    }
    let correct: tf.Scalar | undefined;
    const cost = this.optimizer.minimize(() => {
      const logits = this.model.logits(x);
      correct = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32')) as tf.Scalar);
      return classifierLoss(this.model.lossKind, logits, labels);
    }, true, this.model.trainableVariables())!;
    const result = { loss: cost.dataSync()[0]!, acc: correct!.dataSync()[0]! };
    tf.dispose([cost, correct!]);
    return result;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
