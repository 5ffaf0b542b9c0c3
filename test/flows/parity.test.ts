// Parity with the reference block definitions: scripts/make-flow-fixtures.py builds ActNorm, the
// (un)conditional double coupling, Shuffle, 2-block conditional flows with dense and conv
// embedders, the factor loss and the factor-dimension estimate in PyTorch (float64) on seeded
// weights, and commits inputs, weights and outputs to test/fixtures/flows/. Here the weights go
// through our save/load registry into our blocks, which must reproduce the outputs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { estimateFactorDimensions, factorLoss, factorShareMask, flowNll, loadFlow, SAVED_FLOW_FORMAT, SAVED_FLOW_VERSION, type InvertibleModule, type JsonObject, type SavedFlow } from '../../src/flows/index.ts';
import { bytesToBase64 } from '../../src/engine/base64.ts';

const FIXTURES = new URL('../fixtures/flows/', import.meta.url);
const TOLERANCE = 2e-5;

interface FixtureWeight { name: string; shape: number[]; dtype: 'float32' | 'int32'; trainable: boolean; data: number[] }
interface FixtureCase {
  name: string;
  className: string;
  config: JsonObject;
  weights: FixtureWeight[];
  x: number[];
  xShape: [number, number];
  condition?: number[] | null;
  conditionShape?: number[] | null;
  forward: { output: number[]; logDet: number[]; loss?: number };
  y: number[];
  inverse: { output: number[] };
  after?: Record<string, number[]>;
}

function read<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as T;
}

function toSaved(c: FixtureCase): SavedFlow {
  return {
    format: SAVED_FLOW_FORMAT,
    version: SAVED_FLOW_VERSION,
    className: c.className,
    config: c.config,
    weights: c.weights.map((w) => {
      const typed = w.dtype === 'int32' ? Int32Array.from(w.data) : Float32Array.from(w.data);
      return { name: w.name, shape: w.shape, dtype: w.dtype, trainable: w.trainable, data: bytesToBase64(new Uint8Array(typed.buffer)) };
    }),
  };
}

function close(actual: ArrayLike<number>, expected: readonly number[], what: string): number {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    worst = Math.max(worst, err);
    assert.ok(err <= TOLERANCE, `${what}[${i}]: ${actual[i]} vs reference ${expected[i]}`);
  }
  return worst;
}

function checkCase(c: FixtureCase): number {
  const model = loadFlow<InvertibleModule>(toSaved(c), c.className);
  const x = tf.tensor2d(c.x, c.xShape);
  const cond = c.condition && c.conditionShape ? tf.tensor(c.condition, c.conditionShape) : undefined;
  let worst = 0;
  try {
    const f = model.forward(x, cond);
    worst = Math.max(worst, close(f.output.dataSync(), c.forward.output, 'forward output'));
    worst = Math.max(worst, close(f.logDet.dataSync(), c.forward.logDet, 'forward logDet'));
    if (c.forward.loss !== undefined) worst = Math.max(worst, close(flowNll(f.output, f.logDet).dataSync(), [c.forward.loss], 'loss'));
    for (const [name, expected] of Object.entries(c.after ?? {})) {
      const v = model.weights.get(name);
      assert.ok(v, `no weight '${name}'`);
      worst = Math.max(worst, close(v.dataSync(), expected, `${name} after the forward pass`));
    }
    const y = tf.tensor2d(c.y, c.xShape);
    const inv = model.inverse(y, cond);
    worst = Math.max(worst, close(inv.output.dataSync(), c.inverse.output, 'inverse output'));
    tf.dispose([f.output, f.logDet, y, inv.output, inv.logDet]);
  } finally {
    tf.dispose([x, ...(cond ? [cond] : [])]);
    model.dispose();
  }
  return worst;
}

for (const backend of ['cpu', 'wasm']) {
  describe(`parity with the PyTorch reference blocks on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });

    for (const file of ['actnorm.json', 'coupling.json', 'shuffle.json', 'cinn.json']) {
      for (const c of read<{ cases: FixtureCase[] }>(file).cases) {
        test(`${c.className}: ${c.name}`, (t) => {
          t.diagnostic(`worst rel. error ${checkCase(c).toExponential(2)}`);
        });
      }
    }

    test('factor loss (Eq. 6) and factor-dimension estimate', () => {
      const { factorLoss: fl, factorDims: fd } = read<{
        factorLoss: { za: number[]; zb: number[]; logDetA: number[]; logDetB: number[]; shape: [number, number]; factorSizes: number[]; shared: number[]; rho: number; loss: number };
        factorDims: { za: number[]; zb: number[]; shape: [number, number]; factorOfPair: number[]; numFactors: number; scores: number[]; weights: number[]; sizes: number[] };
      }>('factor.json');
      const tensors = [tf.tensor2d(fl.za, fl.shape), tf.tensor2d(fl.zb, fl.shape), tf.tensor1d(fl.logDetA), tf.tensor1d(fl.logDetB)] as const;
      const mask = factorShareMask(fl.factorSizes, fl.shared);
      close(factorLoss(tensors[0], tensors[1], tensors[2], tensors[3], mask, fl.rho).dataSync(), [fl.loss], 'factor loss');
      tf.dispose([mask, ...tensors]);

      const rows = (flat: number[], [n, d]: [number, number]) => Array.from({ length: n }, (_, i) => Float32Array.from(flat.slice(i * d, (i + 1) * d)));
      const est = estimateFactorDimensions(rows(fd.za, fd.shape), rows(fd.zb, fd.shape), fd.factorOfPair, fd.numFactors);
      est.scores.forEach((s, i) => assert.ok(Math.abs(s - fd.scores[i]!) < 1e-9, `score ${i}: ${s} vs ${fd.scores[i]}`));
      est.weights.forEach((w, i) => assert.ok(Math.abs(w - fd.weights[i]!) < 1e-9, `weight ${i}: ${w} vs ${fd.weights[i]}`));
      assert.deepEqual(est.sizes, fd.sizes);
    });
  });
}
