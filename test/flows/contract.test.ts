// The generic invertible-module contract (contract.ts) applied to every block, the Sequence
// container, t (dense and conv embedder) and e, on the cpu reference backend and on wasm.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import {
  ActNorm, ConditionalINN, DoubleAffineCoupling, SemanticINN, Sequence, Shuffle, WeightSource,
  type InvertibleModule,
} from '../../src/flows/index.ts';
import { invertibleContract, type ContractSubject } from './contract.ts';

/** A batch with per-dimension offsets and scales, so ActNorm learns something non-trivial. */
function data(rng: Random, batch: number, dim: number): tf.Tensor2D {
  const values = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) for (let d = 0; d < dim; d++) values[b * dim + d] = 0.3 * (d - 1) + (0.5 + 0.4 * d) * rng.normal();
  return tf.tensor2d(values, [batch, dim]);
}

/** Runs one forward pass on a separate batch (data-dependent init), then returns the subject. */
function initialised(module: InvertibleModule, rng: Random, dim: number, condition: (b: number) => tf.Tensor | undefined): ContractSubject {
  const init = data(rng, 16, dim);
  const c = condition(16);
  const r = module.forward(init, c);
  tf.dispose([init, r.output, r.logDet, ...(c ? [c] : [])]);
  return { module, x: data(rng, 5, dim), condition: condition(5) };
}

function cases(): void {
  const source = (seed: number) => WeightSource.fresh(new Random(seed));

  invertibleContract('ActNorm (D=5)', () => {
    const rng = new Random(1);
    return initialised(new ActNorm({ dim: 5 }), rng, 5, () => undefined);
  });

  invertibleContract('DoubleAffineCoupling conditional (D=4, C=3)', () => {
    const rng = new Random(2);
    const m = new DoubleAffineCoupling({ dim: 4, conditionDim: 3, hiddenWidth: 8, hiddenDepth: 2 }, source(2));
    return initialised(m, rng, 4, (b) => rng.normalTensor([b, 3]));
  });

  invertibleContract('DoubleAffineCoupling conditional, odd D (D=5, C=2)', () => {
    const rng = new Random(3);
    const m = new DoubleAffineCoupling({ dim: 5, conditionDim: 2, hiddenWidth: 8, hiddenDepth: 1 }, source(3));
    return initialised(m, rng, 5, (b) => rng.normalTensor([b, 2]));
  });

  invertibleContract('DoubleAffineCoupling unconditional (D=6)', () => {
    const rng = new Random(4);
    const m = new DoubleAffineCoupling({ dim: 6, conditionDim: 0, hiddenWidth: 8, hiddenDepth: 0 }, source(4));
    return initialised(m, rng, 6, () => undefined);
  });

  invertibleContract('Shuffle (D=6)', () => {
    const rng = new Random(5);
    return initialised(new Shuffle({ dim: 6 }, source(5)), rng, 6, () => undefined);
  });

  invertibleContract('Sequence of ActNorm, coupling, Shuffle ×2 (D=5, C=3)', () => {
    const rng = new Random(6);
    const seq = new Sequence({ dim: 5 });
    for (let k = 0; k < 2; k++) {
      seq.append(new ActNorm({ dim: 5 }))
        .append(new DoubleAffineCoupling({ dim: 5, conditionDim: 3, hiddenWidth: 8 }, source(60 + k)))
        .append(new Shuffle({ dim: 5 }, source(70 + k)));
    }
    return initialised(seq, rng, 5, (b) => rng.normalTensor([b, 3]));
  });

  invertibleContract('ConditionalINN t, dense embedder (D=4, z [6])', () => {
    const rng = new Random(7);
    const t = new ConditionalINN({ dim: 4, conditionShape: [6], embeddingDim: 5, numBlocks: 2, hiddenWidth: 8, embedder: { depth: 3 }, seed: 7 });
    return initialised(t, rng, 4, (b) => rng.normalTensor([b, 6]));
  });

  invertibleContract('ConditionalINN t, conv embedder (D=4, z [6, 6, 2])', () => {
    const rng = new Random(8);
    const t = new ConditionalINN({
      dim: 4, conditionShape: [6, 6, 2], embeddingDim: 5, numBlocks: 2, hiddenWidth: 8,
      embedder: { kind: 'conv', numDown: 1, baseChannels: 3 }, seed: 8,
    });
    return initialised(t, rng, 4, (b) => rng.normalTensor([b, 6, 6, 2]));
  });

  invertibleContract('SemanticINN e (D=6, 3 factors)', () => {
    const rng = new Random(9);
    const e = new SemanticINN({ dim: 6, factorNames: ['a', 'b', 'residual'], numBlocks: 2, hiddenWidth: 8, seed: 9 });
    return initialised(e, rng, 6, () => undefined);
  });
}

for (const backend of ['cpu', 'wasm']) {
  describe(`invertible contract on ${backend}`, () => {
    before(async () => {
      await initEngine({ backend });
    });
    cases();
  });
}

describe('the contract catches broken modules', () => {
  before(async () => {
    await initEngine({ backend: 'cpu' });
  });

  /** Wraps a module and corrupts one part of its contract. */
  function broken(inner: InvertibleModule, fault: 'logDet' | 'inverse'): InvertibleModule {
    return {
      className: inner.className,
      config: inner.config,
      weights: inner.weights,
      buffers: () => inner.buffers(),
      dispose: () => inner.dispose(),
      outputShape: (s) => inner.outputShape(s),
      forward: (x, c) => {
        const r = inner.forward(x, c);
        if (fault !== 'logDet') return r;
        // Drops a share of the log-det, as a coupling that forgot one half-coupling's Σs would.
        const half = tf.mul(r.logDet, 0.9) as tf.Tensor1D;
        r.logDet.dispose();
        return { output: r.output, logDet: half };
      },
      inverse: (y, c) => {
        const r = inner.inverse(y, c);
        if (fault !== 'inverse') return r;
        const off = tf.add(r.output, 1e-3) as tf.Tensor2D;
        r.output.dispose();
        return { output: off, logDet: r.logDet };
      },
    };
  }

  test('a wrong log-det fails the numerical-Jacobian comparison; a wrong inverse fails the round trip', async () => {
    const { numericalLogDet } = await import('./contract.ts');
    const rng = new Random(11);
    const coupling = new DoubleAffineCoupling({ dim: 4, conditionDim: 2, hiddenWidth: 8 }, WeightSource.fresh(new Random(11)));
    const x = rng.normalTensor([3, 4]) as tf.Tensor2D;
    const c = rng.normalTensor([3, 2]);
    const bad = broken(coupling, 'logDet');
    const r = bad.forward(x, c);
    const analytic = r.logDet.dataSync();
    const numeric = numericalLogDet(bad, x, c, 3e-3);
    const worst = Math.max(...numeric.map((n, k) => Math.abs(analytic[k]! - n) / Math.max(1, Math.abs(n))));
    assert.ok(worst > 1e-3, `a 10% log-det error went unnoticed (rel. error ${worst})`);
    const inv = broken(coupling, 'inverse');
    const back = inv.inverse(r.output, c).output;
    const err = tf.max(tf.abs(tf.sub(back, x))).dataSync()[0]! / tf.max(tf.abs(x)).dataSync()[0]!;
    assert.ok(err > 1e-5, 'a shifted inverse passed the round trip');
    tf.dispose([x, c, r.output, r.logDet, back]);
    coupling.dispose();
  });
});
