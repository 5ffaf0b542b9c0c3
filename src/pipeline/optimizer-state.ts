/**
 * Saves and restores an optimizer's state (Adam's step count and moment estimates) as plain
 * JSON, so a resumed run continues with the same update rule it had when it stopped.
 * tfjs optimizers match accumulators to variables by position, so the model must list its
 * variables in the same order when resumed (our models build them deterministically).
 */
import { tf } from '../engine/index.ts';
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';

export interface SavedOptimizerTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Little-endian values, base64. */
  data: string;
}

export async function saveOptimizerState(optimizer: tf.Optimizer): Promise<SavedOptimizerTensor[]> {
  const weights = await optimizer.getWeights();
  return weights.map(({ name, tensor }) => {
    const values = tensor.dtype === 'int32' ? Int32Array.from(tensor.dataSync()) : Float32Array.from(tensor.dataSync());
    return { name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', data: bytesToBase64(new Uint8Array(values.buffer)) };
  });
}

export async function restoreOptimizerState(optimizer: tf.Optimizer, saved: SavedOptimizerTensor[]): Promise<void> {
  const tensors = saved.map((s) => {
    const bytes = base64ToBytes(s.data);
    const copy = bytes.slice().buffer;
    const values = s.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
    if (values.length !== s.shape.reduce((a, b) => a * b, 1)) {
      throw new Error(`optimizer state '${s.name}': ${values.length} values for shape [${s.shape.join(', ')}]`);
    }
    return { name: s.name, tensor: tf.tensor(values, s.shape, s.dtype) };
  });
  await optimizer.setWeights(tensors);
  tf.dispose(tensors.map((t) => t.tensor));
}
