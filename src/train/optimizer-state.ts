/**
 * Saves and restores an optimizer's state (Adam's step count, moment estimates and β-powers) as
 * plain JSON, so a resumed run continues with exactly the update rule it had when it stopped.
 * tfjs's setWeights recomputes Adam's β-powers as pow(β, t + 1), while a running optimizer keeps
 * them as a float32 running product; the two differ in the last bits after a few steps, and so
 * would every step after a resume. They are therefore saved as tensors of their own
 * (`__accBeta1`, `__accBeta2`) and put back bit for bit; a state without them (older
 * checkpoints) gets tfjs's pow.
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

/** Adam's private running β-powers (tfjs keeps them as protected variables). */
interface AdamPowers {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

const POWERS = ['accBeta1', 'accBeta2'] as const;
const EXTRA_PREFIX = '__';

function encode(name: string, tensor: tf.Tensor): SavedOptimizerTensor {
  const values = tensor.dtype === 'int32' ? Int32Array.from(tensor.dataSync()) : Float32Array.from(tensor.dataSync());
  return { name, shape: tensor.shape, dtype: tensor.dtype === 'int32' ? 'int32' : 'float32', data: bytesToBase64(new Uint8Array(values.buffer)) };
}

export async function saveOptimizerState(optimizer: tf.Optimizer): Promise<SavedOptimizerTensor[]> {
  const weights = await optimizer.getWeights();
  const saved = weights.map(({ name, tensor }) => encode(name, tensor));
  const powers = optimizer as unknown as AdamPowers;
  for (const key of POWERS) {
    const v = powers[key];
    if (v) saved.push(encode(`${EXTRA_PREFIX}${key}`, v));
  }
  return saved;
}

export async function restoreOptimizerState(optimizer: tf.Optimizer, saved: SavedOptimizerTensor[]): Promise<void> {
  const extras = saved.filter((s) => s.name.startsWith(EXTRA_PREFIX));
  const tensors = saved.filter((s) => !s.name.startsWith(EXTRA_PREFIX)).map((s) => {
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
  const powers = optimizer as unknown as AdamPowers;
  for (const extra of extras) {
    const key = extra.name.slice(EXTRA_PREFIX.length) as (typeof POWERS)[number];
    const target = POWERS.includes(key) ? powers[key] : undefined;
    if (!target) throw new Error(`optimizer state '${extra.name}' does not belong to this optimizer`);
    const values = new Float32Array(base64ToBytes(extra.data).slice().buffer);
    if (values.length !== 1) throw new Error(`optimizer state '${extra.name}': expected 1 value, got ${values.length}`);
    tf.tidy(() => target.assign(tf.scalar(values[0]!, 'float32')));
  }
}
