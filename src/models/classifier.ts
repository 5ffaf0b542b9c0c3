/**
 * What the classifiers under study share: an ordered list of named stages (so a Greybox can
 * split f = Ψ∘Φ at any of them), logits from the last stage, a training loss, checkpoints.
 */
import { tf } from '../engine/index.ts';
import type { Checkpointable } from './checkpoints.ts';
import { runStages, type Parameters, type Stage } from './layers.ts';

/** Which loss a classifier trains with. */
export type ClassifierLossKind = 'bce-onehot' | 'softmax-ce';

export interface StagedClassifier<C = unknown> extends Checkpointable<C> {
  readonly params: Parameters;
  /** Ordered named stages; the last one outputs logits [B, numClasses]. */
  readonly stages: readonly Stage[];
  readonly numClasses: number;
  /** The loss this classifier trains with (the reference ColorMNIST classifier: BCE on one-hot). */
  readonly lossKind: ClassifierLossKind;
  /** Expected input shape without the batch axis: [H, W, C]. */
  readonly inputShape: readonly number[];
  /** Logits [B, numClasses] for images [B, H, W, C] in [−1, 1]. */
  logits(x: tf.Tensor): tf.Tensor2D;
  trainableVariables(): tf.Variable[];
}

/** Names of the stages, in order. */
export function stageNames(model: { stages: readonly Stage[] }): string[] {
  return model.stages.map((s) => s.name);
}

/** Output of the named stage (Φ(x) for a greybox split after `layer`). */
export function activationAt(model: { stages: readonly Stage[] }, x: tf.Tensor, layer: string): tf.Tensor {
  const i = model.stages.findIndex((s) => s.name === layer);
  if (i < 0) throw new Error(`activationAt: no layer '${layer}' (layers: ${stageNames(model).join(', ')})`);
  return runStages(model.stages, x, 0, i + 1);
}

/** Mean binary cross-entropy with logits against one-hot targets (the reference's loss). */
export function bceOneHotLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const y = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]).toFloat();
    // max(l, 0) − l·y + log(1 + exp(−|l|)): stable for large |l|.
    const loss = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(loss) as tf.Scalar;
  });
}

/** Mean softmax cross-entropy against integer labels. */
export function softmaxCrossEntropyLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const y = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]).toFloat();
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

export function classifierLoss(kind: ClassifierLossKind, logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return kind === 'bce-onehot' ? bceOneHotLoss(logits, labels) : softmaxCrossEntropyLoss(logits, labels);
}

/** Checks an input batch against a classifier's expected [H, W, C]. */
export function checkImageBatch(x: tf.Tensor, shape: readonly number[], where: string): void {
  const s = x.shape;
  if (s.length !== 4 || s[1] !== shape[0] || s[2] !== shape[1] || s[3] !== shape[2]) {
    throw new Error(`${where}: expected images [B, ${shape.join(', ')}], got [${s.join(', ')}]`);
  }
}
