// Learning test with a known answer for t (Eq. 3–5): z̄ = A·z + B·ε with z, ε ~ N(0, I) and
// fixed random A, B, so p(z̄|z) = N(A·z, B·Bᵀ) and the best possible conditional NLL is its
// entropy ½·log det(2πe·B·Bᵀ) = ½·D·log(2πe) + log|det B| nats. Our loss drops ½·D·log 2π, so
// the NLL of the model is loss + ½·D·log 2π; after training it must be within 5% of the entropy.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { ConditionalINN, HALF_LOG_2PI } from '../../src/flows/index.ts';
import { cinnTrainStep, createFlowOptimizer, setLearningRate } from '../../src/train/flow-train-step.ts';
import { logAbsDet, solve } from '../../src/flows/linalg.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

const D = 4;
const DZ = 3;
const STEPS = 600;
const BATCH = 64;

test(`t learns a linear-Gaussian conditional to within 5% of its analytic NLL (${STEPS} steps)`, (t) => {
  const rng = new Random(123);
  const A = Array.from({ length: D * DZ }, () => rng.normal()); // D×DZ, row-major
  const B = Array.from({ length: D * D }, (_, k) => (Math.floor(k / D) === k % D ? 0.6 : 0) + 0.25 * rng.normal());
  const logDetB = logAbsDet(B, D);
  const entropy = 0.5 * D * Math.log(2 * Math.PI * Math.E) + logDetB;
  const At = tf.transpose(tf.tensor2d(A, [D, DZ]));
  const Bt = tf.transpose(tf.tensor2d(B, [D, D]));
  const draw = (n: number, r: Random) => tf.tidy(() => {
    const z = r.normalTensor([n, DZ]);
    const zbar = tf.add(tf.matMul(z, At), tf.matMul(r.normalTensor([n, D]), Bt)) as tf.Tensor2D;
    return { z, zbar };
  });

  const model = new ConditionalINN({ dim: D, conditionShape: [DZ], embeddingDim: 8, numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1, embedder: { depth: 2 }, seed: 1 });
  const optimizer = createFlowOptimizer({ learningRate: 3e-3 });
  const data = new Random(7);
  const started = performance.now();
  const testSet = draw(4000, new Random(99));
  const nllBefore = model.loss(testSet.zbar, testSet.z).dataSync()[0]! + D * HALF_LOG_2PI;
  for (let s = 0; s < STEPS; s++) {
    if (s === Math.floor(0.7 * STEPS)) setLearningRate(optimizer, 3e-3 / 4);
    const { z, zbar } = draw(BATCH, data);
    cinnTrainStep(model, optimizer, zbar, z);
    tf.dispose([z, zbar]);
  }
  const seconds = (performance.now() - started) / 1000;

  const nll = model.loss(testSet.zbar, testSet.z).dataSync()[0]! + D * HALF_LOG_2PI;
  // The true conditional density's NLL on the same test samples (removes sampling noise).
  const zs = testSet.z.dataSync();
  const xs = testSet.zbar.dataSync();
  let exact = 0;
  const n = testSet.z.shape[0];
  for (let i = 0; i < n; i++) {
    const r = Array.from({ length: D }, (_, d) => xs[i * D + d]! - A.slice(d * DZ, d * DZ + DZ).reduce((s, a, k) => s + a * zs[i * DZ + k]!, 0));
    const e = solve(B, r, D);
    exact += (0.5 * e.reduce((s, v) => s + v * v, 0) + logDetB + D * HALF_LOG_2PI) / n;
  }
  t.diagnostic(`analytic NLL ${entropy.toFixed(4)} nats (${(entropy / D).toFixed(4)}/dim); true density on the test set ${exact.toFixed(4)}; ` +
    `model before ${nllBefore.toFixed(4)}, after ${nll.toFixed(4)} (${(100 * (nll - entropy) / entropy).toFixed(2)}% from analytic); ${seconds.toFixed(1)} s`);
  assert.ok(Math.abs(nll - entropy) <= 0.05 * Math.abs(entropy), `model NLL ${nll} vs analytic ${entropy}`);
  assert.ok(Math.abs(nll - exact) <= 0.05 * Math.abs(exact), `model NLL ${nll} vs true density on the test set ${exact}`);
  assert.ok(Math.abs(nllBefore - entropy) > 0.05 * Math.abs(entropy), 'the untrained model was already there: the test proves nothing');
  tf.dispose([At, Bt, testSet.z, testSet.zbar]);
  optimizer.dispose();
  model.dispose();
});
