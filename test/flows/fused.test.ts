// The fused coupling stack (src/flows/fused-stack.ts, fused-block.ts; natively on torch:
// native/torch/src/coupling.cc) against the unfused Sequence it is built from, on cpu, wasm and
// torch: outputs, inverses, log-dets and every gradient within 1e-5 relative for several shapes
// (batch 1, odd halves, unconditional, no hidden→hidden layer); a 50-step training run within
// 1e-4; flat tensor counts; checkpoints from either path load into the other; the named
// weights follow training; the unfused path can be forced.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { availableBackends, initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import {
  blockLayout, ConditionalINN, couplingStack, flowFusion, FusedCouplingStack, hasNativeBlockKernels,
  loadFlow, saveFlow, Sequence, setFlowFusion, SemanticINN, WeightSource, type CouplingStackOptions,
} from '../../src/flows/index.ts';
import { cinnTrainStep, createFlowOptimizer, iinTrainStep } from '../../src/train/flow-train-step.ts';

const BACKENDS = ['cpu', 'wasm', ...(availableBackends().includes('torch') ? ['torch'] : [])];
const TOLERANCE = 1e-5;

interface Case { name: string; options: CouplingStackOptions; batch: number }
const CASES: Case[] = [
  { name: 'conditional, even D, batch 5', options: { dim: 6, conditionDim: 3, numBlocks: 2, hiddenWidth: 8, hiddenDepth: 1 }, batch: 5 },
  { name: 'conditional, odd D, batch 1', options: { dim: 7, conditionDim: 2, numBlocks: 2, hiddenWidth: 5, hiddenDepth: 2 }, batch: 1 },
  { name: 'unconditional, odd D, no hidden→hidden layer, batch 3', options: { dim: 5, conditionDim: 0, numBlocks: 3, hiddenWidth: 6, hiddenDepth: 0 }, batch: 3 },
];

function worstRelative(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = TOLERANCE): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    // Normwise (∞-norm): relative to the tensor's largest entry, so that an entry near zero
    // (a bias gradient summed over a few rows, with cancellation) is judged at the tensor's scale.
    const d = Math.abs(actual[i]! - expected[i]!) / Math.max(scale, 1e-6);
    if (!(d <= worst)) worst = d;
  }
  assert.ok(worst <= tolerance, `${what}: relative difference ${worst}\n${Array.from(actual).join(",")}\n${Array.from(expected).join(",")}`);
  return worst;
}

/** The two paths from one seed, their ActNorms initialised by one batch of 8 (not the test batch). */
function pair(c: Case, seed: number): { plain: Sequence; fused: FusedCouplingStack; cond8: tf.Tensor2D | undefined } {
  const plain = couplingStack(c.options, WeightSource.fresh(new Random(seed)), 'unfused') as Sequence;
  const fused = couplingStack(c.options, WeightSource.fresh(new Random(seed)), 'fused') as FusedCouplingStack;
  const rng = new Random(seed + 1);
  const x8 = tf.tidy(() => tf.add(tf.mul(rng.normalTensor([8, c.options.dim]), 1.7), 0.4)) as tf.Tensor2D;
  const cond8 = c.options.conditionDim > 0 ? rng.normalTensor([8, c.options.conditionDim]) as tf.Tensor2D : undefined;
  for (const flow of [plain, fused]) {
    const r = flow.forward(x8, cond8);
    tf.dispose([r.output, r.logDet]);
  }
  tf.dispose([x8, cond8 ?? []]);
  return { plain, fused, cond8: undefined };
}

/** A scalar that weighs every output and log-det differently, so each gradient is checked. */
function objective(output: tf.Tensor, logDet: tf.Tensor, wOut: tf.Tensor, wLd: tf.Tensor): tf.Scalar {
  return tf.add(tf.sum(tf.mul(output, wOut)), tf.sum(tf.mul(logDet, wLd))) as tf.Scalar;
}

for (const backend of BACKENDS) {
  describe(`fused coupling stack on ${backend}`, () => {
    before(async () => { await initEngine({ backend }); });
    after(async () => { await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' }); });

    test(`runs ${backend === 'cpu' ? 'stock ops on the packed weights' : 'the block kernels'}`, () => {
      assert.equal(hasNativeBlockKernels(), backend !== 'cpu');
    });

    for (const c of CASES) {
      test(`${c.name}: forward, inverse, log-dets and every gradient equal the unfused path`, () => {
        const before0 = tf.memory().numTensors;
        const { plain, fused } = pair(c, 11);
        const rng = new Random(12);
        const { dim, conditionDim } = c.options;
        const x = rng.normalTensor([c.batch, dim]) as tf.Tensor2D;
        const cond = conditionDim > 0 ? rng.normalTensor([c.batch, conditionDim]) as tf.Tensor2D : undefined;
        const wOut = rng.normalTensor([c.batch, dim]);
        const wLd = rng.normalTensor([c.batch]);

        const fp = plain.forward(x, cond);
        const ff = fused.forward(x, cond);
        worstRelative(ff.output.dataSync(), fp.output.dataSync(), 'forward output');
        worstRelative(ff.logDet.dataSync(), fp.logDet.dataSync(), 'forward logDet');
        // The same under a gradient tape, where cpu and wasm run the fused blocks themselves
        // (outside one they use the unfused view; torch runs its kernels either way).
        let taped: tf.Tensor[] = [];
        const tapedGrads = tf.variableGrads(() => {
          const r = fused.forward(x, cond);
          taped = [tf.keep(r.output), tf.keep(r.logDet)];
          return tf.sum(r.output) as tf.Scalar;
        }, fused.trainableVariables());
        tf.dispose([tapedGrads.value, ...Object.values(tapedGrads.grads)]);
        worstRelative(taped[0]!.dataSync(), fp.output.dataSync(), 'forward output (taped)');
        worstRelative(taped[1]!.dataSync(), fp.logDet.dataSync(), 'forward logDet (taped)');
        const ip = plain.inverse(fp.output, cond);
        const inf = fused.inverse(fp.output, cond);
        worstRelative(inf.output.dataSync(), ip.output.dataSync(), 'inverse output');
        worstRelative(inf.logDet.dataSync(), ip.logDet.dataSync(), 'inverse logDet');
        worstRelative(inf.output.dataSync(), x.dataSync(), 'round trip', 1e-4);  // float32 round trip, not parity

        // Gradients with respect to the input, the condition and every weight.
        const inputs = cond ? [x, cond] : [x];
        const gradOf = (flow: Sequence | FusedCouplingStack) => tf.grads((...xs: tf.Tensor[]) => {
          const r = flow.forward(xs[0] as tf.Tensor2D, xs[1] as tf.Tensor2D | undefined);
          return objective(r.output, r.logDet, wOut, wLd);
        })(inputs);
        const gp = gradOf(plain);
        const gf = gradOf(fused);
        gp.forEach((g, i) => worstRelative(gf[i]!.dataSync(), g.dataSync(), i === 0 ? 'd/dx' : 'd/dcondition'));

        const loss = (flow: Sequence | FusedCouplingStack) => () => {
          const r = flow.forward(x, cond);
          return objective(r.output, r.logDet, wOut, wLd);
        };
        const named = plain.weights;
        const wp = tf.variableGrads(loss(plain), [...named.values()]);
        const packed = fused.trainableVariables();
        assert.equal(packed.length, c.options.numBlocks);
        const wf = tf.variableGrads(loss(fused), packed);
        worstRelative(wf.value.dataSync(), wp.value.dataSync(), 'objective');
        const spec = { dim, conditionDim, hiddenWidth: c.options.hiddenWidth, hiddenDepth: c.options.hiddenDepth };
        let checked = 0;
        packed.forEach((v, k) => {
          const grad = wf.grads[v.name]!.dataSync();
          for (const piece of blockLayout(spec).pieces) {
            const name = piece.name === 'loc' || piece.name === 'scale' ? `${3 * k}.${piece.name}` : `${3 * k + 1}.${piece.name}`;
            const expected = wp.grads[named.get(name)!.name]!.dataSync();
            worstRelative(grad.subarray(piece.offset, piece.offset + piece.size), expected, `d/d${name}`);
            checked++;
          }
        });
        assert.equal(checked, named.size);

        tf.dispose([x, cond ?? [], wOut, wLd, ...taped, fp.output, fp.logDet, ff.output, ff.logDet, ip.output, ip.logDet, inf.output, inf.logDet,
          ...gp, ...gf, wp.value, ...Object.values(wp.grads), wf.value, ...Object.values(wf.grads)]);
        plain.dispose();
        fused.dispose();
        assert.equal(tf.memory().numTensors, before0, 'tensors left behind');
      });
    }

    test('50 training steps of t: losses within 1e-4 of the unfused path, flat tensor counts, the same weights', () => {
      const run = (fusion: 'fused' | 'unfused') => {
        const previous = setFlowFusion(fusion);
        const t = new ConditionalINN({ dim: 6, conditionShape: [3], embeddingDim: 4, numBlocks: 2, hiddenWidth: 8, hiddenDepth: 1, seed: 21 });
        setFlowFusion(previous);
        assert.equal(t.flow instanceof FusedCouplingStack, fusion === 'fused');
        const optimizer = createFlowOptimizer({ learningRate: 2e-3 });
        const rng = new Random(22);
        const losses: number[] = [];
        const counts: number[] = [];
        for (let s = 0; s < 50; s++) {
          const z = rng.normalTensor([8, 3]);
          const zbar = tf.tidy(() => tf.add(rng.normalTensor([8, 6]), tf.sum(z, 1, true))) as tf.Tensor2D;
          losses.push(cinnTrainStep(t, optimizer, zbar, z).loss);
          tf.dispose([z, zbar]);
          counts.push(tf.memory().numTensors);
        }
        const saved = saveFlow(t);
        optimizer.dispose();
        t.dispose();
        return { losses, counts, saved };
      };
      const plain = run('unfused');
      const fused = run('fused');
      assert.ok(fused.counts.slice(1).every((n) => n === fused.counts[1]), `numTensors changed across fused steps: ${fused.counts.join(',')}`);
      fused.losses.forEach((l, i) => assert.ok(Math.abs(l - plain.losses[i]!) <= 1e-4 * Math.abs(plain.losses[i]!), `step ${i + 1}: ${l} vs ${plain.losses[i]}`));
      // Same names, shapes, buffers; values after 50 steps close.
      assert.deepEqual(fused.saved.weights.map((w) => [w.name, w.shape, w.trainable]), plain.saved.weights.map((w) => [w.name, w.shape, w.trainable]));
    });

    test('checkpoints from either path load into the other and give the same outputs', () => {
      const rng = new Random(31);
      const zbar = rng.normalTensor([4, 5]) as tf.Tensor2D;
      const z = rng.normalTensor([4, 3]);
      const outputs = (t: ConditionalINN) => tf.tidy(() => {
        const f = t.forward(zbar, z);
        return [Float32Array.from(f.output.dataSync()), Float32Array.from(f.logDet.dataSync()), Float32Array.from(t.inverse(f.output, z).output.dataSync())];
      });
      for (const [from, to] of [['unfused', 'fused'], ['fused', 'unfused']] as const) {
        let previous = setFlowFusion(from);
        const t = new ConditionalINN({ dim: 5, conditionShape: [3], embeddingDim: 4, numBlocks: 2, hiddenWidth: 6, seed: 32 });
        const optimizer = createFlowOptimizer({ learningRate: 1e-2 });
        for (let s = 0; s < 3; s++) cinnTrainStep(t, optimizer, zbar, z);
        const saved = saveFlow(t);
        setFlowFusion(previous);
        previous = setFlowFusion(to);
        const loaded = loadFlow<ConditionalINN>(JSON.parse(JSON.stringify(saved)), 'ConditionalINN');
        setFlowFusion(previous);
        assert.equal(loaded.flow instanceof FusedCouplingStack, to === 'fused');
        const [a, b] = [outputs(t), outputs(loaded)];
        a.forEach((v, i) => worstRelative(b[i]!, v, `${from} → ${to}: ${['output', 'logDet', 'inverse'][i]}`));
        assert.deepEqual(saveFlow(loaded), saved);
        // The flow body alone saves as the Sequence it is built from, and loads as one.
        const body = loadFlow<Sequence>(JSON.parse(JSON.stringify(saveFlow(loaded.flow))), 'Sequence');
        assert.deepEqual(saveFlow(body), saveFlow(loaded.flow));
        body.dispose();
        optimizer.dispose();
        t.dispose();
        loaded.dispose();
      }
      tf.dispose([zbar, z]);
    });

    // The wasm kernels keep a block's weights across sampling calls: after a training step they
    // must sample with the new weights, not the kept ones.
    test('sampling follows training: inverse and forward after each step equal the unfused view of the same weights', () => {
      const rng = new Random(61);
      const zbar = rng.normalTensor([6, 5]) as tf.Tensor2D;
      const z = rng.normalTensor([6, 3]);
      const t = new ConditionalINN({ dim: 5, conditionShape: [3], embeddingDim: 4, numBlocks: 2, hiddenWidth: 6, seed: 62 });
      assert.ok(t.flow instanceof FusedCouplingStack);
      const optimizer = createFlowOptimizer({ learningRate: 5e-2 });
      let previous: Float32Array | null = null;
      for (let s = 0; s < 3; s++) {
        cinnTrainStep(t, optimizer, zbar, z);
        const [fusedInverse, plainInverse, fusedForward, plainForward] = tf.tidy(() => {
          const c = t.embed(z) as tf.Tensor2D;
          const plain = (t.flow as FusedCouplingStack).unfused();
          return [
            t.flow.inverse(zbar, c).output, plain.inverse(zbar, c).output,
            t.flow.forward(zbar, c).output, plain.forward(zbar, c).output,
          ].map((x) => Float32Array.from(x.dataSync()));
        });
        worstRelative(fusedInverse!, plainInverse!, `inverse after step ${s + 1}`);
        worstRelative(fusedForward!, plainForward!, `forward after step ${s + 1}`);
        if (previous) assert.notDeepEqual(fusedInverse, previous, 'the step changed nothing: the test would not see kept weights');
        previous = fusedInverse!;
      }
      optimizer.dispose();
      t.dispose();
      tf.dispose([zbar, z]);
    });

    test('e trains on the fused path with a flat tensor count', () => {
      const e = new SemanticINN({ dim: 6, factorNames: ['a', 'residual'], numBlocks: 2, hiddenWidth: 8, seed: 41 });
      assert.equal(e.flow instanceof FusedCouplingStack, flowFusion() === 'fused');
      const optimizer = createFlowOptimizer({ learningRate: 1e-3 });
      const rng = new Random(42);
      const counts: number[] = [];
      for (let s = 0; s < 5; s++) {
        const a = rng.normalTensor([4, 6]) as tf.Tensor2D;
        const b = rng.normalTensor([4, 6]) as tf.Tensor2D;
        assert.ok(Number.isFinite(iinTrainStep(e, optimizer, a, b, ['a', -1, 'a', -1]).loss));
        tf.dispose([a, b]);
        counts.push(tf.memory().numTensors);
      }
      assert.ok(counts.slice(1).every((n) => n === counts[1]), counts.join(','));
      optimizer.dispose();
      e.dispose();
    });
  });
}

test('the fusion setting: fused by default, forced by setFlowFusion or INNTROSPECT_FLOW_FUSION, bad values named', () => {
  const env = process.env['INNTROSPECT_FLOW_FUSION'];
  try {
    delete process.env['INNTROSPECT_FLOW_FUSION'];
    assert.equal(flowFusion(), 'fused');
    process.env['INNTROSPECT_FLOW_FUSION'] = 'unfused';
    assert.equal(flowFusion(), 'unfused');
    process.env['INNTROSPECT_FLOW_FUSION'] = 'fast';
    assert.throws(() => flowFusion(), /INNTROSPECT_FLOW_FUSION must be 'fused' or 'unfused', got 'fast'/);
    const previous = setFlowFusion('fused');
    assert.equal(flowFusion(), 'fused');
    setFlowFusion(previous);
    assert.throws(() => setFlowFusion('x' as 'fused'), /setFlowFusion: mode must be/);
  } finally {
    if (env === undefined) delete process.env['INNTROSPECT_FLOW_FUSION'];
    else process.env['INNTROSPECT_FLOW_FUSION'] = env;
  }
});

const skipTorch = availableBackends().includes('torch') ? false : 'torch addon not built: run `npm run build:native`';

describe('native coupling kernels: bad input is a JavaScript Error and leaks nothing', { skip: skipTorch }, () => {
  before(async () => { await initEngine({ backend: 'torch' }); });
  after(async () => { await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' }); });

  test('wrong shapes, dtypes, sizes and permutations are named', async () => {
    const { TORCH_BACKEND } = await import('../../src/engine/torch/register.ts');
    const backend = tf.engine().findBackend(TORCH_BACKEND) as unknown as import('../../src/engine/torch/backend.ts').TorchBackend;
    const spec = { dim: 4, conditionDim: 2, hiddenWidth: 3, hiddenDepth: 0 };
    const size = blockLayout(spec).size;
    const attrs = { ...spec, leakySlope: 0.01, perm: [2, 0, 3, 1] };
    const live = backend.liveNativeTensors();
    const x = tf.ones([3, 4]);
    const c = tf.ones([3, 2]);
    const packed = tf.ones([size]);
    const h = (t: tf.Tensor) => backend.handleOf(t.dataId);
    const run = (inputs: tf.Tensor[], a: Record<string, unknown> = attrs, kernel = 'InntrospectCouplingForward') => backend.addon.run(kernel, inputs.map(h), a);
    const outputs = run([x, c, packed]);
    assert.deepEqual(outputs.map(([, dtype, shape]) => [dtype, shape]), [['float32', [3, 4]], ['float32', [3]], ['float32', [0]]]);
    for (const [handle] of outputs) backend.addon.dispose(handle);
    const kept = run([x, c, packed], { ...attrs, keepIntermediates: true });
    // x + loc [3, 4], b' [3, 2], one hidden pre-activation [3, 3] per net, the two tanh outputs [3, 2]
    assert.deepEqual(kept.map(([, , shape]) => shape), [[3, 4], [3], [3 * (4 + 2 + 4 * 3 + 2 + 2)]]);
    for (const [handle] of kept) backend.addon.dispose(handle);
    const ints = tf.ones([3, 4], 'int32');
    const wide = tf.ones([3, 5]);
    const short = tf.ones([size - 1]);
    const badCond = tf.ones([2, 2]);
    const wrongLd = tf.ones([4]);
    const ld = tf.ones([3]);
    const before1 = backend.liveNativeTensors();
    assert.throws(() => run([wide, c, packed]), /InntrospectCouplingForward: x has shape \[3, 5\], expected \[N, 4\]/);
    assert.throws(() => run([ints, c, packed]), /x must be float32/);
    assert.throws(() => run([x, badCond, packed]), /condition has shape \[2, 2\], expected \[3, 2\]/);
    assert.throws(() => run([x, c, short]), new RegExp(`packed weights hold ${size - 1} values, this block needs ${size}`));
    assert.throws(() => run([x, c, packed], { ...attrs, perm: [0, 0, 1, 2] }), /perm is not a permutation of 0..3/);
    assert.throws(() => run([x, c, packed], { ...attrs, perm: [0, 1] }), /perm has 2 entries for dim 4/);
    assert.throws(() => run([x, c], attrs), /expected 3 inputs, got 2/);
    assert.throws(() => run([x, wrongLd, x, c, packed], attrs, 'InntrospectCouplingBackward'), /dLogDet must be a float32 vector of 3 values/);
    assert.throws(() => run([x, c, packed], attrs, 'InntrospectCouplingBackward'), /expected \[dOutput, dLogDet, x, condition, packed\]/);
    assert.throws(() => run([x, ld, x, c, packed, short], attrs, 'InntrospectCouplingBackward'), /saved intermediates hold \d+ values, this block at batch 3 needs 66/);
    assert.equal(backend.liveNativeTensors(), before1, 'a failed kernel left native tensors behind');
    tf.dispose([x, c, packed, ints, wide, short, badCond, wrongLd, ld]);
    assert.equal(backend.liveNativeTensors(), live);
  });

  // The backward on the forward's saved intermediates must be the recomputing backward exactly,
  // and the two-thread halves the one-thread ones: resume-exactness and the parity above rest on it.
  test('backward on saved intermediates and on two threads: bit for bit the recomputing, one-thread backward', async () => {
    const { TORCH_BACKEND } = await import('../../src/engine/torch/register.ts');
    const backend = tf.engine().findBackend(TORCH_BACKEND) as unknown as import('../../src/engine/torch/backend.ts').TorchBackend;
    const before = backend.addon.threads().intraOp;
    const spec = { dim: 9, conditionDim: 5, hiddenWidth: 16, hiddenDepth: 2 };
    const attrs = { ...spec, leakySlope: 0.01, perm: [4, 8, 0, 2, 7, 1, 3, 6, 5] };
    const rng = new Random(91);
    const n = 7;
    const x = rng.normalTensor([n, 9]);
    const c = rng.normalTensor([n, 5]);
    const packed = tf.mul(rng.normalTensor([blockLayout(spec).size]), 0.3);
    const dOut = rng.normalTensor([n, 9]);
    const dLd = rng.normalTensor([n]);
    const h = (t: tf.Tensor) => backend.handleOf(t.dataId);
    const read = (handle: number): Float32Array => {
      const values = backend.addon.read(handle) as Float32Array;
      backend.addon.dispose(handle);
      return values;
    };
    const live = backend.liveNativeTensors();
    const backward = (threads: number, keep: boolean): Float32Array[] => {
      backend.addon.setNumThreads(threads, 0);
      const [out, logDet, saved] = backend.addon.run('InntrospectCouplingForward', [x, c, packed].map(h), { ...attrs, keepIntermediates: keep });
      assert.equal(saved![2][0]! > 0, keep);
      const grads = backend.addon.run('InntrospectCouplingBackward', [...[dOut, dLd, x, c, packed].map(h), saved![0]], attrs);
      return [...[out!, logDet!, saved!].map(([handle]) => read(handle)).slice(0, 2), ...grads.map(([handle]) => read(handle))];
    };
    try {
      const reference = backward(1, false);
      for (const [threads, keep] of [[1, true], [2, false], [2, true]] as const) {
        const other = backward(threads, keep);
        reference.forEach((r, i) => assert.deepEqual(other[i], r, `output ${i} (y, log-det, dx, dc, dpacked) with ${threads} thread(s), saved intermediates ${keep}`));
      }
      const inverse = (threads: number) => {
        backend.addon.setNumThreads(threads, 0);
        return backend.addon.run('InntrospectCouplingInverse', [x, c, packed].map(h), attrs).map(([handle]) => read(handle));
      };
      assert.deepEqual(inverse(2), inverse(1));
      assert.equal(backend.liveNativeTensors(), live, 'native tensors left behind');
    } finally {
      backend.addon.setNumThreads(before, 0);
      tf.dispose([x, c, packed, dOut, dLd]);
    }
  });
});

test('wasm block kernels: bad input is an Error naming it and leaves no heap tensor behind', async () => {
  await initEngine({ backend: 'wasm' });
  try {
    const spec = { dim: 4, conditionDim: 2, hiddenWidth: 3, hiddenDepth: 0 };
    const size = blockLayout(spec).size;
    const attrs = { ...spec, leakySlope: 0.01, perm: [2, 0, 3, 1] };
    const [x, c, packed, ld] = [tf.ones([3, 4]), tf.ones([3, 2]), tf.ones([size]), tf.ones([3])];
    const [wide, badCond, short, badSaved, wrongLd] = [tf.ones([3, 5]), tf.ones([2, 2]), tf.ones([size - 1]), tf.ones([7]), tf.ones([4])];
    const run = (kernel: string, inputs: Record<string, tf.Tensor>, a: Record<string, unknown> = attrs) =>
      tf.engine().runKernel(kernel, inputs, a as tf.NamedAttrMap);
    const heap = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const before = heap();
    const kept = run('InntrospectCouplingForward', { x, condition: c, packed }, { ...attrs, keepIntermediates: true }) as unknown as tf.Tensor[];
    assert.deepEqual(kept.map((t) => t.shape), [[3, 4], [3], [3 * (4 + 2 + 4 * 3 + 2 + 2)]]);
    tf.dispose(kept);
    assert.throws(() => run('InntrospectCouplingForward', { x: wide, condition: c, packed }), /InntrospectCouplingForward: x has shape \[3, 5\], expected \[N, 4\]/);
    assert.throws(() => run('InntrospectCouplingForward', { x, condition: badCond, packed }), /condition has shape \[2, 2\], expected \[3, 2\]/);
    assert.throws(() => run('InntrospectCouplingForward', { x, condition: c, packed: short }), new RegExp(`packed weights hold ${size - 1} values, this block needs ${size}`));
    assert.throws(() => run('InntrospectCouplingInverse', { x, condition: c, packed }, { ...attrs, perm: [0, 0, 1, 2] }), /perm is not a permutation of 0..3/);
    assert.throws(() => run('InntrospectCouplingForward', { x, condition: c, packed }, { ...attrs, leakySlope: -0.1 }), /needs leakySlope ≥ 0/);
    assert.throws(() => run('InntrospectCouplingBackward', { dOutput: x, dLogDet: ld, x, condition: c, packed, intermediates: badSaved }),
      /saved intermediates hold 7 values, this block at batch 3 needs 66/);
    assert.throws(() => run('InntrospectCouplingBackward', { dOutput: x, dLogDet: wrongLd, x, condition: c, packed }), /dLogDet must be a float32 vector of 3 values/);
    assert.equal(heap(), before, 'a kernel left heap tensors behind');
    tf.dispose([x, c, packed, ld, wide, badCond, short, badSaved, wrongLd]);
  } finally {
    await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' });
  }
});

test('resume across the fusion setting: unfused Adam state is converted and the run continues as unfused; fused state on the unfused path is refused', async () => {
  await initEngine({ backend: 'cpu' });
  const { restoreOptimizerState, saveOptimizerState } = await import('../../src/train/optimizer-state.ts');
  const { adaptOptimizerState } = await import('../../src/pipeline/optimizer-fit.ts');
  const config = { dim: 4, conditionShape: [2], embeddingDim: 3, numBlocks: 2, hiddenWidth: 4, seed: 51 };
  const rng = new Random(52);
  const batches = Array.from({ length: 6 }, () => [rng.normalTensor([6, 4]) as tf.Tensor2D, rng.normalTensor([6, 2])] as const);
  const withFusion = <T>(fusion: 'fused' | 'unfused', make: () => T): T => {
    const previous = setFlowFusion(fusion);
    try {
      return make();
    } finally {
      setFlowFusion(previous);
    }
  };
  // Three steps unfused, a checkpoint, then three more: unfused throughout, or resumed fused.
  const first = withFusion('unfused', () => new ConditionalINN(config));
  const optimizer = createFlowOptimizer({ learningRate: 1e-2 });
  for (const [zbar, z] of batches.slice(0, 3)) cinnTrainStep(first, optimizer, zbar, z);
  const savedModel = JSON.stringify(saveFlow(first));
  const savedState = await saveOptimizerState(optimizer);
  const expected = batches.slice(3).map(([zbar, z]) => cinnTrainStep(first, optimizer, zbar, z).loss);

  const resumed = withFusion('fused', () => loadFlow<ConditionalINN>(JSON.parse(savedModel), 'ConditionalINN'));
  assert.ok(resumed.flow instanceof FusedCouplingStack);
  const optimizer2 = createFlowOptimizer({ learningRate: 1e-2 });
  await restoreOptimizerState(optimizer2, adaptOptimizerState(savedState, resumed, 't'));
  const actual = batches.slice(3).map(([zbar, z]) => cinnTrainStep(resumed, optimizer2, zbar, z).loss);
  actual.forEach((l, i) => assert.ok(Math.abs(l - expected[i]!) <= 1e-5 * Math.abs(expected[i]!), `step ${i + 4}: ${l} vs ${expected[i]}`));

  // Fused state cannot be split back for an unfused run: refused, naming the setting.
  const fusedState = await saveOptimizerState(optimizer2);
  const plain = withFusion('unfused', () => loadFlow<ConditionalINN>(JSON.parse(savedModel), 'ConditionalINN'));
  assert.throws(() => adaptOptimizerState(fusedState, plain, 't'), /optimizer state for t holds moments for \d+ variables, but t now trains \d+ .*INNTROSPECT_FLOW_FUSION=fused/);
  assert.equal(adaptOptimizerState(savedState, plain, 't'), savedState);
  tf.dispose(batches.flat());
  for (const o of [optimizer, optimizer2]) o.dispose();
  for (const m of [first, resumed, plain]) m.dispose();
  await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' });
});
