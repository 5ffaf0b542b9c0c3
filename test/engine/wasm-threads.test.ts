// Both cores on wasm in Node (src/engine/wasm-threads/): large matmuls split by rows between this
// thread and a second tfjs-wasm instance in a worker equal the one-thread results bit for bit
// (plain, transposed, fused bias + activations, odd row counts, a heap-growing size); small
// ones stay on one thread; no tensors leak; gradients through a split matmul are the same; the
// engine reports 2 threads; it is off unless INNTROSPECT_WASM_THREADS=2, and without
// SharedArrayBuffer it runs on one thread with a note.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { engineInfo, initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { startWasmHelperNow, stopWasmHelper, wasmThreadsNote } from '../../src/engine/wasm-threads/node-helper.ts';
import { matMulSplitActive, setMatMulSplit, splitCount, SPLIT_MIN_MACS } from '../../src/engine/wasm-threads/split-matmul.ts';

/**
 * Runs `fn` three times on the same operands: the first use of a B records it, the second is
 * split (the helper gets B), the third is split with B kept by the helper; then once more on one
 * thread. Returns the split results and the one-thread result.
 */
function both(fn: () => tf.Tensor, expectSplits = 2): [Float32Array, Float32Array, Float32Array] {
  const before = splitCount();
  const run = () => tf.tidy(() => Float32Array.from(fn().dataSync()));
  run();
  const split1 = run();
  const split2 = run();
  assert.ok(splitCount() - before >= expectSplits, `expected ${expectSplits} split matmuls, got ${splitCount() - before}`);
  const previous = setMatMulSplit(false);
  const single = run();
  setMatMulSplit(previous);
  return [split1, split2, single];
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

  const [m, k, n] = [257, 129, 96];  // odd rows; m·k·n above the split threshold
  assert.ok(m * k * n >= SPLIT_MIN_MACS);
  const t = (seed: number, shape: number[]) => tf.keep(new Random(seed).normalTensor(shape)) as tf.Tensor2D;
  let A: tf.Tensor2D, B: tf.Tensor2D, At: tf.Tensor2D, Bt: tf.Tensor2D, bias: tf.Tensor2D, big: tf.Tensor2D, big2: tf.Tensor2D;
  before(() => {
    [A, B, At, Bt, bias, big, big2] = [t(1, [m, k]), t(2, [k, n]), t(3, [k, m]), t(4, [n, k]), t(5, [n]), t(6, [512, 512]), t(7, [512, 512])];
  });
  after(() => tf.dispose([A, B, At, Bt, bias, big, big2]));
  const cases: Array<{ name: string; run: () => tf.Tensor; splits?: number }> = [
    { name: 'A·B', run: () => tf.matMul(A, B) },
    // The transposes make new B operands on every call: never split, still equal.
    { name: 'Aᵀ·B and A·Bᵀ (dense backward: new operands each call, one thread)', run: () => tf.add(tf.matMul(At, B, true, false), tf.matMul(A, Bt, false, true)), splits: 0 },
    ...(['linear', 'relu', 'leakyrelu', 'sigmoid', 'elu'] as const).map((activation) => ({
      name: `fused bias + ${activation}`, run: () => tf.fused.matMul({ a: A, b: B, bias, activation, leakyreluAlpha: 0.01 }),
    })),
    { name: 'a size that grows the shared buffer (512 × 512 · 512 × 512)', run: () => tf.matMul(big, big2) },
  ];
  for (const c of cases) {
    test(`${c.name}: split equals one thread bit for bit, nothing leaks`, () => {
      const count = tf.memory().numTensors;
      const [split1, split2, single] = both(c.run, c.splits ?? 2);
      assert.equal(split1.length, single.length);
      assert.deepEqual(split1, single);
      assert.deepEqual(split2, single);
      assert.equal(tf.memory().numTensors, count);
    });
  }

  test('gradients through a split matmul equal one thread (fixed weights, as when explaining a sample)', () => {
    const w = t(9, [128, 128]);
    const x = t(8, [300, 128]);
    const f = () => tf.grad((input: tf.Tensor) => tf.sum(tf.leakyRelu(tf.matMul(input as tf.Tensor2D, w), 0.01)))(x);
    const [g1, g2, g] = both(f, 2);
    assert.deepEqual(g1, g);
    assert.deepEqual(g2, g);
    tf.dispose([w, x]);
  });
});

function engineIn(script: string, env: Record<string, string | undefined>): { ok: boolean; threads: number; note: string | null; splits: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, INNTROSPECT_BACKEND: 'wasm', ...env } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

// Two large products with the same B (the second is split once the helper runs), then a report.
const SCRIPT = (prelude: string) => `
  ${prelude}
  const { initEngine, engineInfo, tf } = await import('./src/engine/index.ts');
  const { splitCount } = await import('./src/engine/wasm-threads/split-matmul.ts');
  await initEngine({ backend: 'wasm' });
  const a = tf.ones([512, 512]), b = tf.ones([512, 512]);
  let ok = true;
  for (let i = 0; i < 40; i++) {
    ok = ok && tf.matMul(a, b).dataSync()[0] === 512;
    if (splitCount() > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(JSON.stringify({ ok, threads: engineInfo().threads, note: engineInfo().threadsNote, splits: splitCount() }));
  process.exit(0);
`;

test('INNTROSPECT_WASM_THREADS: off by default with a note; 2 starts the helper on the first large matmuls; without SharedArrayBuffer one thread and why', () => {
  assert.deepEqual(engineIn(SCRIPT(''), { INNTROSPECT_WASM_THREADS: undefined }),
    { ok: true, threads: 1, note: 'one thread: the matmul helper is off (INNTROSPECT_WASM_THREADS=2 turns it on)', splits: 0 });
  const on = engineIn(SCRIPT(''), { INNTROSPECT_WASM_THREADS: '2' });
  assert.equal(on.ok, true);
  assert.ok(on.splits > 0 && on.threads === 2 && on.note === null, JSON.stringify(on));
  assert.deepEqual(engineIn(SCRIPT('delete globalThis.SharedArrayBuffer;'), { INNTROSPECT_WASM_THREADS: '2' }),
    { ok: true, threads: 1, note: 'one thread: SharedArrayBuffer is not available', splits: 0 });
  assert.match(engineIn(SCRIPT(''), { INNTROSPECT_WASM_THREADS: 'many' }).note!, /INNTROSPECT_WASM_THREADS must be 1 or 2, got 'many'/);
});
