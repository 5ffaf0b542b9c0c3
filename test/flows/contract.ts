// The generic contract every invertible module must satisfy (src/flows/module.ts), written once
// and applied to every block, to t and to e (contract.test.ts):
//   round trip, forward + inverse log-det = 0, log-det = log|det| of the numerical Jacobian,
//   no NaN/Inf, save → load → identical outputs, batch size 1, no leaked tensors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tf } from '../../src/engine/index.ts';
import type { InvertibleModule } from '../../src/flows/module.ts';
import { loadFlow, saveFlow } from '../../src/flows/serialize.ts';
import { numericalLogDet } from '../../src/flows/invertibility-check.ts';

export interface ContractSubject {
  /** The module, already initialised (ActNorm) by the builder. */
  module: InvertibleModule;
  /** A batch [B, D] with B ≥ 2. */
  x: tf.Tensor2D;
  /** Condition for every row of x, if the module needs one. */
  condition?: tf.Tensor;
}

export interface ContractOptions {
  /** Round-trip tolerance: max|x − f⁻¹(f(x))| / max|x|. */
  roundTripTolerance?: number;
  /** Central-difference step of the Jacobian check (float32). */
  jacobianEps?: number;
  /** |logDet − log|det J_numeric|| ≤ tol · max(1, |log|det J_numeric||). */
  jacobianTolerance?: number;
}

function rows(t: tf.Tensor, start: number, count: number): tf.Tensor {
  return tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [count, ...t.shape.slice(1)]);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

function run(m: InvertibleModule, x: tf.Tensor2D, c: tf.Tensor | undefined, dir: 'forward' | 'inverse') {
  const r = dir === 'forward' ? m.forward(x, c) : m.inverse(x, c);
  const out = { output: r.output.dataSync().slice() as Float32Array, logDet: r.logDet.dataSync().slice() as Float32Array };
  tf.dispose([r.output, r.logDet]);
  return out;
}

export { numericalLogDet };

/**
 * Registers the contract tests for one module. `build` runs inside the first test (after the
 * caller selected the backend) and the module is disposed after the last.
 */
export function invertibleContract(name: string, build: () => ContractSubject, options: ContractOptions = {}): void {
  const roundTripTolerance = options.roundTripTolerance ?? 1e-5;
  const eps = options.jacobianEps ?? 3e-3;
  const jacobianTolerance = options.jacobianTolerance ?? 1e-3;
  let subject: ContractSubject | null = null;
  const get = (): ContractSubject => (subject ??= build());

  test(`${name}: forward then inverse gives the input back (max rel. error < ${roundTripTolerance})`, (t) => {
    const { module: m, x, condition } = get();
    for (const scale of [1, 3]) {
      const xs = tf.mul(x, scale) as tf.Tensor2D;
      const y = m.forward(xs, condition);
      const back = m.inverse(y.output, condition);
      const err = maxAbs(tf.sub(back.output, xs).dataSync()) / maxAbs(xs.dataSync());
      tf.dispose([xs, y.output, y.logDet, back.output, back.logDet]);
      t.diagnostic(`round-trip rel. error at scale ${scale}: ${err.toExponential(2)}`);
      assert.ok(err < roundTripTolerance, `round-trip relative error ${err} at input scale ${scale}`);
    }
    // And the other way round: inverse then forward.
    const x2 = m.inverse(x, condition);
    const again = m.forward(x2.output, condition);
    const err = maxAbs(tf.sub(again.output, x).dataSync()) / maxAbs(x.dataSync());
    tf.dispose([x2.output, x2.logDet, again.output, again.logDet]);
    assert.ok(err < roundTripTolerance, `inverse-then-forward relative error ${err}`);
  });

  test(`${name}: log-dets of forward and inverse cancel; shapes are [B, D] and [B]`, () => {
    const { module: m, x, condition } = get();
    const f = m.forward(x, condition);
    const i = m.inverse(f.output, condition);
    assert.deepEqual(f.output.shape, x.shape);
    assert.deepEqual(f.logDet.shape, [x.shape[0]]);
    assert.deepEqual(m.outputShape(x.shape), x.shape);
    const a = f.logDet.dataSync();
    const b = i.logDet.dataSync();
    for (let k = 0; k < a.length; k++) {
      assert.ok(Math.abs(a[k]! + b[k]!) <= 1e-4 * Math.max(1, Math.abs(a[k]!)), `sample ${k}: forward ${a[k]} + inverse ${b[k]} ≠ 0`);
    }
    tf.dispose([f.output, f.logDet, i.output, i.logDet]);
  });

  test(`${name}: log-det equals log|det| of the numerical Jacobian (rel. ${jacobianTolerance})`, (t) => {
    const { module: m, x, condition } = get();
    const analytic = run(m, x, condition, 'forward').logDet;
    const numeric = numericalLogDet(m, x, condition, eps);
    let worst = 0;
    numeric.forEach((n, k) => {
      const err = Math.abs(analytic[k]! - n) / Math.max(1, Math.abs(n));
      worst = Math.max(worst, err);
      assert.ok(err <= jacobianTolerance, `sample ${k}: logDet ${analytic[k]} vs numerical ${n} (rel. error ${err})`);
    });
    // The inverse's log-det against its own Jacobian, too.
    const y = m.forward(x, condition);
    const inverseAnalytic = run(m, y.output, condition, 'inverse').logDet;
    const inverseNumeric = numericalLogDet(m, y.output, condition, eps, 'inverse');
    tf.dispose([y.output, y.logDet]);
    inverseNumeric.forEach((n, k) => {
      const err = Math.abs(inverseAnalytic[k]! - n) / Math.max(1, Math.abs(n));
      worst = Math.max(worst, err);
      assert.ok(err <= jacobianTolerance, `inverse, sample ${k}: logDet ${inverseAnalytic[k]} vs numerical ${n}`);
    });
    t.diagnostic(`worst log-det rel. error vs the numerical Jacobian: ${worst.toExponential(2)}`);
  });

  test(`${name}: no NaN or Inf, also for large inputs`, () => {
    const { module: m, x, condition } = get();
    for (const scale of [1, 10]) {
      const xs = tf.mul(x, scale) as tf.Tensor2D;
      for (const dir of ['forward', 'inverse'] as const) {
        const r = run(m, xs, condition, dir);
        assert.ok(allFinite(r.output) && allFinite(r.logDet), `${dir} at scale ${scale} gave a non-finite value`);
      }
      xs.dispose();
    }
  });

  test(`${name}: save → JSON → load gives bit-identical outputs`, () => {
    const { module: m, x, condition } = get();
    const saved = saveFlow(m);
    const loaded = loadFlow<InvertibleModule>(JSON.parse(JSON.stringify(saved)));
    try {
      assert.equal(loaded.className, m.className);
      assert.deepEqual(loaded.config, m.config);
      for (const dir of ['forward', 'inverse'] as const) {
        const a = run(m, x, condition, dir);
        const b = run(loaded, x, condition, dir);
        assert.deepEqual(b.output, a.output, `${dir} output differs after loading`);
        assert.deepEqual(b.logDet, a.logDet, `${dir} logDet differs after loading`);
      }
      assert.deepEqual(saveFlow(loaded), saved, 'saving the loaded model gives other data');
    } finally {
      loaded.dispose();
    }
  });

  test(`${name}: batch size 1 works and matches the batched rows`, () => {
    const { module: m, x, condition } = get();
    const full = run(m, x, condition, 'forward');
    const dim = x.shape[1];
    for (let b = 0; b < x.shape[0]; b++) {
      const xb = rows(x, b, 1) as tf.Tensor2D;
      const cb = condition ? rows(condition, b, 1) : undefined;
      const one = run(m, xb, cb, 'forward');
      for (let i = 0; i < dim; i++) {
        assert.ok(Math.abs(one.output[i]! - full.output[b * dim + i]!) <= 1e-5 * Math.max(1, Math.abs(full.output[b * dim + i]!)), `row ${b}: batch-1 output differs`);
      }
      assert.ok(Math.abs(one.logDet[0]! - full.logDet[b]!) <= 1e-5 * Math.max(1, Math.abs(full.logDet[b]!)), `row ${b}: batch-1 logDet differs`);
      const y = tf.tensor2d(one.output, [1, dim]);
      const back = run(m, y, cb, 'inverse').output;
      const xRow = xb.dataSync();
      assert.ok(maxAbs(back.map((v, i) => v - xRow[i]!)) <= 1e-5 * Math.max(1, maxAbs(xRow)), `row ${b}: batch-1 round trip`);
      tf.dispose([xb, y, ...(cb ? [cb] : [])]);
    }
  });

  test(`${name}: forward and inverse leave no tensors behind`, () => {
    const { module: m, x, condition } = get();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      const f = m.forward(x, condition);
      const i = m.inverse(f.output, condition);
      tf.dispose([f.output, f.logDet, i.output, i.logDet]);
    }
    assert.equal(tf.memory().numTensors, before);
    // Dispose the subject here: this is the last contract test of the module.
    m.dispose();
    tf.dispose([x, ...(condition ? [condition] : [])]);
    subject = null;
  });
}
