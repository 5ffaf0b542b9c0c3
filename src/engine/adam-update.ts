/**
 * The fused Adam update kernel: one kernel call updates every variable of an optimizer step,
 * where tfjs's AdamOptimizer issues ≈ 13 element-wise kernels per variable. A backend offers it
 * by registering a kernel named `ADAM_UPDATE_KERNEL` (the native `torch` backend does:
 * native/torch/src/adam.cc); `FusedAdamOptimizer` (src/train/fused-adam.ts) uses it where the
 * active backend has it. Browser-safe: nothing here touches Node.
 *
 * Inputs: [accBeta1, accBeta2, var₀, grad₀, m₀, v₀, var₁, …] (float32; accBeta = βᵗ, as the
 * optimizer keeps them). Attributes: learningRate, beta1, beta2, epsilon. Outputs: [var₀′, m₀′,
 * v₀′, var₁′, …], new tensors. The arithmetic is tfjs-core 4.22's AdamOptimizer.applyGradients,
 * operation by operation in float32 (`adamUpdateReference` spells it out with stock ops).
 */
import * as tf from '@tensorflow/tfjs-core';

/** The kernel's registered name; the one place it is spelled. */
export const ADAM_UPDATE_KERNEL = 'InntrospectAdamUpdate';

export interface AdamHyperparameters {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** One variable's part of an update: its value, gradient and moment estimates (same shape). */
export interface AdamSlot {
  variable: tf.Tensor;
  gradient: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** The variable's and moments' new values. */
export interface AdamSlotUpdate {
  variable: tf.Tensor;
  m: tf.Tensor;
  v: tf.Tensor;
}

/** Whether `backendName` (default: the active backend) registers the fused Adam kernel. */
export function hasAdamUpdateKernel(backendName: string = tf.getBackend()): boolean {
  return tf.getKernel(ADAM_UPDATE_KERNEL, backendName) !== undefined;
}

/**
 * Runs the fused kernel on the active backend (which must register it). New tensors out.
 *
 * @example
 *   const [next] = adamUpdate(accBeta1, accBeta2, [{ variable: w, gradient: dw, m, v }], hyper);
 */
export function adamUpdate(accBeta1: tf.Tensor, accBeta2: tf.Tensor, slots: AdamSlot[], hyper: AdamHyperparameters): AdamSlotUpdate[] {
  if (slots.length === 0) return [];
  const inputs: tf.Tensor[] = [accBeta1, accBeta2];
  for (const s of slots) inputs.push(s.variable, s.gradient, s.m, s.v);
  const attrs = { learningRate: hyper.learningRate, beta1: hyper.beta1, beta2: hyper.beta2, epsilon: hyper.epsilon };
  const outputs = tf.engine().runKernel(ADAM_UPDATE_KERNEL, inputs as unknown as tf.NamedTensorMap, attrs) as unknown as tf.Tensor[];
  if (outputs.length !== 3 * slots.length) {
    tf.dispose(outputs);
    throw new Error(`${ADAM_UPDATE_KERNEL}: ${outputs.length} outputs for ${slots.length} variables (expected ${3 * slots.length})`);
  }
  return slots.map((_, i) => ({ variable: outputs[3 * i]!, m: outputs[3 * i + 1]!, v: outputs[3 * i + 2]! }));
}

/**
 * The same update with stock ops, in the order and with the scalars tfjs's AdamOptimizer uses:
 * the reference the kernel is checked against on backends that lack it. Call it inside
 * `tf.tidy`: it leaves its intermediates to the caller's scope.
 */
export function adamUpdateReference(accBeta1: tf.Tensor, accBeta2: tf.Tensor, slots: AdamSlot[], hyper: AdamHyperparameters): AdamSlotUpdate[] {
  const oneMinusAccBeta1 = tf.sub(1, accBeta1);
  const oneMinusAccBeta2 = tf.sub(1, accBeta2);
  return slots.map(({ variable, gradient, m, v }) => {
    const newM = tf.add(tf.mul(m, hyper.beta1), tf.mul(gradient, 1 - hyper.beta1));
    const newV = tf.add(tf.mul(v, hyper.beta2), tf.mul(tf.square(gradient), 1 - hyper.beta2));
    const mHat = tf.div(newM, oneMinusAccBeta1);
    const vHat = tf.div(newV, oneMinusAccBeta2);
    const newVariable = tf.add(tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), hyper.epsilon)), -hyper.learningRate), variable);
    return { variable: newVariable, m: newM, v: newV };
  });
}
