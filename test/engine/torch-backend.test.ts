// The native libtorch backend's own guarantees: libtorch errors arrive as JavaScript Errors,
// native memory follows tfjs's reference counts (no growth over training), kernels without a
// native implementation run through the cpu bridge with correct results, and the thread
// settings hold. Skipped, with the reason, where the addon is not built.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { availableBackends, engineInfo, initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import type { TorchBackend } from '../../src/engine/torch/backend.ts';
import { fallbackCalls } from '../../src/engine/torch/fallback.ts';
import { registerTorchBackend } from '../../src/engine/torch/register.ts';
import { smallConvAutoencoder, smallCouplingFlow, train } from './small-models.ts';

const built = availableBackends().includes('torch');
const skip = built ? false : 'torch addon not built: run `npm run build:native` (needs apt-get install libtorch-dev libopenblas0-pthread)';

const torchBackend = () => tf.findBackend('torch') as unknown as TorchBackend;

test('asking for torch without the addon is an error that says how to build it', () => {
  const script = "const { initEngine } = await import('./src/engine/index.ts'); await initEngine({ backend: 'torch' });";
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8', env: { ...process.env, INNTROSPECT_TORCH_ADDON: '/nonexistent/inntrospect_torch.node' },
  });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /not built/);
  assert.match(result.stderr, /npm run build:native/);
  assert.match(result.stderr, /libtorch-dev libopenblas0-pthread/);
});

describe('torch backend', { skip }, () => {
  before(async () => { await initEngine({ backend: 'torch' }); });

  test('a libtorch exception becomes a JavaScript Error and the process carries on', async () => {
    await initEngine({ backend: 'torch' });
    const backend = torchBackend();
    const live = backend.liveNativeTensors();
    const a = tf.ones([2, 3]);
    const b = tf.ones([4, 5]);
    // Straight to libtorch, past tfjs's own shape checks.
    assert.throws(() => backend.addon.run('BatchMatMul', [backend.handleOf(a.dataId), backend.handleOf(b.dataId)], { transposeA: false, transposeB: false }),
      (error: Error) => error instanceof Error && /libtorch: .*shapes cannot be multiplied/.test(error.message));
    // Through a tfjs op that does not check its indices itself.
    const table = tf.ones([3, 2]);
    const indices = tf.tensor1d([0, 7], 'int32');
    assert.throws(() => tf.gather(table, indices), /libtorch: .*(out of range|index)/i);
    assert.throws(() => backend.addon.run('NoSuchKernel', [], {}), /no native kernel NoSuchKernel/);
    assert.throws(() => backend.addon.read(123456), /unknown tensor handle/);
    tf.dispose([a, b, table, indices]);
    // Nothing leaked by the failed kernels, and the backend still computes.
    assert.equal(backend.liveNativeTensors(), live);
    assert.deepEqual(Array.from(tf.add(tf.scalar(1), tf.scalar(2)).dataSync()), [3]);
  });

  test('disposeData follows tfjs reference counts; tf.memory and the native table agree', async () => {
    await initEngine({ backend: 'torch' });
    const backend = torchBackend();
    const before = { tf: tf.memory().numTensors, native: backend.liveNativeTensors(), ids: backend.numDataIds() };
    const x = tf.tensor2d([[1, 2], [3, 4]]);
    const y = tf.reshape(x, [4]);
    assert.equal(backend.numDataIds(), before.ids + 2);
    assert.equal(backend.liveNativeTensors(), before.native + 2);
    backend.incRef(x.dataId);
    assert.equal(backend.refCount(x.dataId), 2);
    assert.equal(backend.disposeData(x.dataId), false, 'one reference is left');
    assert.deepEqual(Array.from(x.dataSync()), [1, 2, 3, 4]);
    assert.equal(backend.refCount(x.dataId), 1);
    x.dispose();
    assert.equal(backend.refCount(x.dataId), 0);
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4], 'a reshape view outlives its source');
    // Data written straight to the backend, outside the engine: force frees whatever the count.
    const raw = backend.write(new Float32Array([1, 2]), [2], 'float32');
    backend.incRef(raw);
    assert.equal(backend.liveNativeTensors(), before.native + 2);
    assert.equal(backend.disposeData(raw, true), true);
    assert.equal(backend.refCount(raw), 0);
    y.dispose();
    assert.equal(tf.memory().numTensors, before.tf);
    assert.equal(backend.numDataIds(), before.ids);
    assert.equal(backend.liveNativeTensors(), before.native);
  });

  test('read returns a copy; write copies its input once', async () => {
    await initEngine({ backend: 'torch' });
    const values = new Float32Array([1, 2, 3]);
    const t = tf.tensor1d(values);
    values[0] = 99;
    const read = t.dataSync() as Float32Array;
    assert.deepEqual(Array.from(read), [1, 2, 3]);
    read[1] = -1;
    assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
    assert.deepEqual(Array.from(tf.tensor1d([true, false, true], 'bool').dataSync()), [1, 0, 1]);
    assert.ok(tf.tensor1d([1, 2], 'int32').dataSync() instanceof Int32Array);
    tf.dispose(t);
  });

  test('training the small conv AE and coupling flow for 50 steps: losses fall, no tensor or native growth', async () => {
    await initEngine({ backend: 'torch' });
    const backend = torchBackend();
    const rng = new Random(3);
    const images = rng.fillUniform(new Float32Array(8 * 4 * 4 * 3));
    const ae = smallConvAutoencoder(1);
    const aeBatch = () => tf.tidy(() => [tf.image.resizeBilinear(tf.tensor4d(images, [8, 4, 4, 3]), [16, 16])]);
    const aeRun = await train(ae, aeBatch, 50, 1e-2);
    // Ten more steps (a fresh optimizer, disposed at the end) leave the native table as it was.
    const nativeAfterAe = backend.liveNativeTensors();
    await train(ae, aeBatch, 10, 1e-2);
    assert.equal(backend.liveNativeTensors(), nativeAfterAe);
    assert.equal(new Set(aeRun.tensorCounts.slice(2)).size, 1, `tensor count grows: ${aeRun.tensorCounts.join(',')}`);
    assert.ok(aeRun.losses.at(-1)! < 0.7 * aeRun.losses[0]!, `AE loss ${aeRun.losses[0]} → ${aeRun.losses.at(-1)}`);

    const flow = smallCouplingFlow(1);
    const mix = rng.normalTensor([8, 8], 0, 0.5);
    const flowRun = await train(flow, () => tf.tidy(() => {
      const c = rng.normalTensor([64, 8]);
      return [tf.add(tf.matMul(c, mix), tf.mul(0.3, rng.normalTensor([64, 8]))), c];
    }), 50, 1e-2);
    assert.equal(new Set(flowRun.tensorCounts.slice(2)).size, 1, `tensor count grows: ${flowRun.tensorCounts.join(',')}`);
    assert.ok(flowRun.losses.at(-1)! < flowRun.losses[0]! - 0.5, `flow loss ${flowRun.losses[0]} → ${flowRun.losses.at(-1)}`);
    tf.dispose([...ae.variables, ...flow.variables, mix]);
    // Every native tensor belongs to a tfjs data id: nothing is held outside tfjs's accounting.
    assert.equal(backend.liveNativeTensors(), backend.numDataIds());
  });

  test('a kernel with no native implementation runs on the cpu bridge, correct and leak-free', async () => {
    const { native, fallback } = registerTorchBackend();
    // Cumsum is deliberately left to the bridge; GatherV2 with batchDims is bridged by its spec.
    assert.ok(fallback.includes('Cumsum') && !native.includes('Cumsum'));
    const reference = async (backend: string) => {
      await initEngine({ backend });
      const rng = new Random(5);
      const x = rng.normalTensor([3, 5]);
      const [value, grad] = tf.tidy(() => {
        const f = (t: tf.Tensor) => tf.cumsum(t, 1, false, true);
        return [f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), t)))(x)];
      });
      const batched = tf.gather(tf.reshape(tf.range(0, 12), [2, 6]), tf.tensor2d([[0, 5], [1, 1]], [2, 2], 'int32'), 1, 1);
      const out = { value: Array.from(value!.dataSync()), grad: Array.from(grad!.dataSync()), batched: Array.from(batched.dataSync()) };
      tf.dispose([x, value!, grad!, batched]);
      return out;
    };
    const cpu = await reference('cpu');
    await initEngine({ backend: 'torch' });
    const cpuBuffers = tf.findBackend('cpu')!.numDataIds();
    const callsBefore = fallbackCalls.get('Cumsum') ?? 0;
    const torch = await reference('torch');
    assert.ok((fallbackCalls.get('Cumsum') ?? 0) > callsBefore, 'Cumsum went through the bridge');
    assert.ok((fallbackCalls.get('GatherV2') ?? 0) > 0, 'GatherV2 with batchDims went through the bridge');
    assert.equal(tf.findBackend('cpu')!.numDataIds(), cpuBuffers, 'the bridge leaves no cpu buffers behind');
    assert.deepEqual(torch.batched, cpu.batched);
    for (const key of ['value', 'grad'] as const) {
      torch[key].forEach((v, i) => assert.ok(Math.abs(v - cpu[key][i]!) < 1e-5, `${key}[${i}]: ${v} vs ${cpu[key][i]}`));
    }
  });

  test('threads: libtorch uses every core, OpenBLAS one', async () => {
    await initEngine({ backend: 'torch' });
    const info = engineInfo();
    const threads = torchBackend().threads();
    const expected = Number(process.env['INNTROSPECT_TORCH_THREADS']) || availableParallelism();
    assert.equal(info.threads, expected);
    assert.equal(threads.intraOp, expected);
    assert.equal(info.blasThreads, 1, `OpenBLAS threads (${threads.blasSource}): ${threads.blas}`);
    assert.ok(info.ownKernels.includes('Conv2DBackpropFilter'));
  });

  // Large products are split by rows over libtorch's threads (productOf in kernels.cc): the
  // halves are fixed, so one and two threads must give the same bits, and the cpu backend's
  // result within float32 rounding.
  test('large matmuls split by rows: bit for bit the same on one and two threads, and the cpu result', async () => {
    await initEngine({ backend: 'torch' });
    const addon = torchBackend().addon;
    const before = addon.threads().intraOp;
    const rng = new Random(71);
    const cases: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean; bias: boolean }> = [
      { a: [257, 192], b: [192, 512], transposeA: false, transposeB: false, bias: true },
      { a: [1, 300, 128], b: [1, 128, 96], transposeA: false, transposeB: false, bias: false },
      { a: [256, 192], b: [256, 512], transposeA: true, transposeB: false, bias: false },
      { a: [256, 512], b: [192, 512], transposeA: false, transposeB: true, bias: true },
    ];
    try {
      for (const c of cases) {
        const a = rng.normalTensor(c.a);
        const b = rng.normalTensor(c.b);
        const n = c.transposeB ? c.b[c.b.length - 2]! : c.b[c.b.length - 1]!;
        const bias = c.bias ? rng.normalTensor([n]) : undefined;
        const product = () => tf.tidy(() => Float32Array.from(tf.fused.matMul({ a, b, bias, transposeA: c.transposeA, transposeB: c.transposeB }).dataSync()));
        addon.setNumThreads(1, 0);
        const one = product();
        addon.setNumThreads(2, 0);
        assert.deepEqual(product(), one, `[${c.a}]·[${c.b}]: two threads differ from one`);
        const values = { a: a.arraySync(), b: b.arraySync(), bias: bias?.arraySync() };
        await initEngine({ backend: 'cpu' });
        const reference = tf.tidy(() => tf.fused.matMul({
          a: tf.tensor(values.a as number[][]), b: tf.tensor(values.b as number[][]), bias: values.bias ? tf.tensor(values.bias as number[]) : undefined,
          transposeA: c.transposeA, transposeB: c.transposeB,
        }).dataSync());
        await initEngine({ backend: 'torch' });
        let worst = 0;
        reference.forEach((r, i) => { worst = Math.max(worst, Math.abs(one[i]! - r) / (1 + Math.abs(r))); });
        assert.ok(worst < 1e-4, `[${c.a}]·[${c.b}] against cpu: ${worst}`);
        tf.dispose([a, b, bias ?? []]);
      }
    } finally {
      addon.setNumThreads(before, 0);
    }
  });

  test('`inntrospect engine --backend torch --json` passes the self-check', () => {
    const result = spawnSync(process.execPath, ['bin/inntrospect.js', 'engine', '--backend', 'torch', '--json'], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    assert.equal(report.engine.backend, 'torch');
    assert.equal(report.selfCheck.failed, 0);
  });
});
