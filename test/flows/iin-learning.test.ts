// Learning test with a known answer for e (Eq. 6): z̄ = M·u with u = [u_f0, u_f1, u_res] (2 dims
// each) and a fixed random mixing M. A pair shares factor F when u_Fᵃ = u_Fᵇ; everything else
// is drawn independently. After training on such pairs, e must have unmixed the factors: for
// pairs that share F, ẑ_F of the two members correlate above 0.9, the other factors below 0.2.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { SemanticINN } from '../../src/flows/index.ts';
import { createFlowOptimizer, iinTrainStep, setLearningRate } from '../../src/train/flow-train-step.ts';

before(async () => {
  await initEngine({ backend: 'wasm' });
});

const D = 6;
const STEPS = 500;
const BATCH = 64;
const NAMES = ['f0', 'f1', 'residual'];

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let c = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    c += (a[i]! - ma) * (b[i]! - mb);
    va += (a[i]! - ma) ** 2;
    vb += (b[i]! - mb) ** 2;
  }
  return c / Math.sqrt(va * vb);
}

test(`e separates known shared factors: shared ẑ_F correlate > 0.9 within pairs, others < 0.2 (${STEPS} steps)`, (t) => {
  const rng = new Random(321);
  const M = tf.tensor2d(Array.from({ length: D * D }, () => rng.normal()), [D, D]);
  const draw = (n: number, r: Random) => {
    const shared: number[] = [];
    const ua = new Float32Array(n * D);
    const ub = new Float32Array(n * D);
    for (let p = 0; p < n; p++) {
      const f = p % 2;
      shared.push(f);
      for (let d = 0; d < D; d++) {
        ua[p * D + d] = r.normal();
        ub[p * D + d] = r.normal();
      }
      ub[p * D + 2 * f] = ua[p * D + 2 * f]!;
      ub[p * D + 2 * f + 1] = ua[p * D + 2 * f + 1]!;
    }
    const za = tf.tidy(() => tf.matMul(tf.tensor2d(ua, [n, D]), M)) as tf.Tensor2D;
    const zb = tf.tidy(() => tf.matMul(tf.tensor2d(ub, [n, D]), M)) as tf.Tensor2D;
    return { za, zb, shared };
  };

  const e = new SemanticINN({ dim: D, factorNames: NAMES, numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1, seed: 2 });
  const optimizer = createFlowOptimizer({ learningRate: 3e-3 });
  const data = new Random(8);
  const started = performance.now();
  for (let s = 0; s < STEPS; s++) {
    if (s === Math.floor(0.7 * STEPS)) setLearningRate(optimizer, 3e-3 / 4);
    const { za, zb, shared } = draw(BATCH, data);
    iinTrainStep(e, optimizer, za, zb, shared.map((f) => NAMES[f]!));
    tf.dispose([za, zb]);
  }
  const seconds = (performance.now() - started) / 1000;

  const testSet = draw(4000, new Random(77));
  const fa = e.encode(testSet.za);
  const fb = e.encode(testSet.zb);
  const lines: string[] = [];
  for (const sharedFactor of [0, 1]) {
    const rows = testSet.shared.flatMap((f, i) => (f === sharedFactor ? [i] : []));
    for (const [g, name] of NAMES.entries()) {
      const a = fa[name]!.arraySync();
      const b = fb[name]!.arraySync();
      // Mean over the factor's dimensions of the within-pair correlation.
      const r = [0, 1].map((d) => pearson(rows.map((i) => a[i]![d]!), rows.map((i) => b[i]![d]!))).reduce((s, v) => s + v, 0) / 2;
      lines.push(`share ${NAMES[sharedFactor]}: corr(${name}) = ${r.toFixed(3)}`);
      if (g === sharedFactor) assert.ok(r > 0.9, `pairs sharing ${NAMES[sharedFactor]}: factor ${name} correlates only ${r}`);
      else assert.ok(Math.abs(r) < 0.2, `pairs sharing ${NAMES[sharedFactor]}: factor ${name} correlates ${r}`);
    }
  }
  t.diagnostic(`${lines.join('; ')}; ${seconds.toFixed(1)} s`);
  tf.dispose([M, testSet.za, testSet.zb, ...Object.values(fa), ...Object.values(fb)]);
  optimizer.dispose();
  e.dispose();
});
