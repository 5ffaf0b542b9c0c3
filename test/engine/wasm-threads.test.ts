// Both cores on wasm in Node (src/engine/wasm-threads/): large matmuls split by rows between this
// thread and a second tfjs-wasm instance in a worker equal the one-thread results bit for bit
// (plain, transposed, fused bias + activations, odd row counts, a heap-growing size); small
// ones stay on one thread; no tensors leak; gradients through a split matmul are the same; the
// engine reports 2 threads; without SharedArrayBuffer it runs on one thread with a note.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { engineInfo, initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { startWasmHelperNow, stopWasmHelper, wasmThreadsNote } from '../../src/engine/wasm-threads/node-helper.ts';
import { matMulSplitActive, setMatMulSplit, SPLIT_MIN_MACS } from '../../src/engine/wasm-threads/split-matmul.ts';

function both(fn: () => tf.Tensor): [Float32Array, Float32Array] {
  const split = tf.tidy(() => Float32Array.from(fn().dataSync()));
  const before = setMatMulSplit(false);
  const single = tf.tidy(() => Float32Array.from(fn().dataSync()));
  setMatMulSplit(before);
  return [split, single];
}

describe('wasm matmuls on two threads', () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
    assert.equal(await startWasmHelperNow(), true, `helper did not start: ${wasmThreadsNote()}`);
  });
  after(() => stopWasmHelper());

  test('the engine reports two threads and no note', () => {
    assert.equal(matMulSplitActive(), true);
    assert.equal(engineInfo().threads, 2);
    assert.equal(engineInfo().threadsNote, null);
  });

  const cases: Array<{ name: string; run: () => tf.Tensor }> = [];
  const [m, k, n] = [257, 129, 96];  // odd rows; m·k·n above the split threshold
  assert.ok(m * k * n >= SPLIT_MIN_MACS);
  const fixed = (seed: number, shape: number[]) => new Random(seed).normalTensor(shape);
  cases.push({ name: 'A·B', run: () => tf.matMul(fixed(1, [m, k]) as tf.Tensor2D, fixed(2, [k, n]) as tf.Tensor2D) });
  cases.push({ name: 'Aᵀ·B and A·Bᵀ (dense backward)', run: () => tf.add(tf.matMul(fixed(3, [k, m]) as tf.Tensor2D, fixed(2, [k, n]) as tf.Tensor2D, true, false), tf.matMul(fixed(1, [m, k]) as tf.Tensor2D, fixed(4, [n, k]) as tf.Tensor2D, false, true)) });
  for (const activation of ['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu'] as const) {
    cases.push({ name: `fused bias + ${activation}`, run: () => tf.fused.matMul({ a: fixed(1, [m, k]) as tf.Tensor2D, b: fixed(2, [k, n]) as tf.Tensor2D, bias: fixed(5, [n]), activation, leakyreluAlpha: 0.01 }) });
  }
  cases.push({ name: 'a size that grows the shared buffer (512 × 512 · 512 × 512)', run: () => tf.matMul(fixed(6, [512, 512]) as tf.Tensor2D, fixed(7, [512, 512]) as tf.Tensor2D) });

  for (const c of cases) {
    test(`${c.name}: split equals one thread bit for bit, nothing leaks`, () => {
      const count = tf.memory().numTensors;
      const [split, single] = both(c.run);
      assert.equal(split.length, single.length);
      assert.deepEqual(split, single);
      assert.equal(tf.memory().numTensors, count);
    });
  }

  test('gradients through a split matmul equal one thread', () => {
    const f = () => tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.leakyRelu(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), 0.01)));
    const x = fixed(8, [300, 128]);
    const w = fixed(9, [128, 128]);
    const [gs, g1] = both(() => tf.concat(f()([x, w]).map((g) => tf.reshape(g, [-1]))));
    assert.deepEqual(gs, g1);
    tf.dispose([x, w]);
  });
});

test('without SharedArrayBuffer the wasm backend runs on one thread and says why', () => {
  const script = `
    delete globalThis.SharedArrayBuffer;
    const { initEngine, engineInfo, tf } = await import('./src/engine/index.ts');
    await initEngine({ backend: 'wasm' });
    const y = tf.matMul(tf.ones([512, 512]), tf.ones([512, 512]));
    const ok = y.dataSync()[0] === 512;
    console.log(JSON.stringify({ ok, threads: engineInfo().threads, note: engineInfo().threadsNote }));
  `;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, INNTROSPECT_BACKEND: 'wasm' } });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { ok: boolean; threads: number; note: string };
  assert.deepEqual(out, { ok: true, threads: 1, note: 'one thread: SharedArrayBuffer is not available' });
});
