// Adam's state survives a save and restore bit for bit, β-powers included (tfjs's setWeights
// alone recomputes them with pow, which differs from the running float32 product after ~15 steps
// with β2 = 0.9, and so does every later update).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { adam } from '../../src/train/optim.ts';
import { restoreOptimizerState, saveOptimizerState } from '../../src/train/optimizer-state.ts';

function steps(optimizer: tf.AdamOptimizer, w: tf.Variable, n: number, from: number): void {
  for (let i = from; i < from + n; i++) {
    optimizer.minimize(() => tf.sum(tf.square(tf.sub(w, tf.scalar(Math.sin(i))))) as tf.Scalar);
  }
}

function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
}

test('Adam resumed from saved state continues with exactly the same updates', async () => {
  await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] });
  const init = [0.3, -1.2, 2.5, 0.01];
  const w = tf.variable(tf.tensor1d(init), true, 'adam-resume-a');
  const a = adam(0.05, 0.5, 0.9);
  steps(a, w, 26, 0); // after 26 steps pow(0.9, 27) and the running product differ on wasm
  const saved = await saveOptimizerState(a);
  const w2 = tf.variable(tf.tensor1d(Float32Array.from(w.dataSync())), true, 'adam-resume-b');
  const b = adam(0.05, 0.5, 0.9);


  await restoreOptimizerState(b, saved);
  const powers = (o: tf.AdamOptimizer) => (o as unknown as { accBeta2: tf.Variable }).accBeta2;
  assert.deepEqual(bits(powers(b)), bits(powers(a)), 'β2-power restored bit for bit');
  steps(a, w, 10, 26);
  steps(b, w2, 10, 26);
  assert.deepEqual(bits(w2), bits(w), 'the same weights after 10 more steps');
  assert.ok(saved.some((s) => s.name === '__accBeta2'));
  tf.dispose([w, w2]);
  a.dispose();
  b.dispose();
});
