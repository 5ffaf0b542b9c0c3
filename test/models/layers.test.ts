// The layer helpers against direct loops with PyTorch's semantics, checkpoint text round trips,
// configs, and the checkpoint schedule.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { conv4x4s2, convTranspose4x4s2 } from '../../src/models/layers.ts';
import { checkpointIterations, parseCheckpoint, serializeCheckpoint } from '../../src/models/checkpoints.ts';
import { resolveModelConfig } from '../../src/models/config.ts';

/** PyTorch Conv2d(k4, s2, p1), NHWC input, HWIO kernel: out[o] = Σ x[2o − 1 + k]·w[k]. */
function directConv(x: Float32Array, [b, h, w, ci]: number[], k: Float32Array, co: number): Float32Array {
  const oh = h / 2, ow = w / 2;
  const out = new Float32Array(b * oh * ow * co);
  for (let n = 0; n < b; n++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) for (let o = 0; o < co; o++) {
    let s = 0;
    for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
      const iy = 2 * y - 1 + ky, ix = 2 * xx - 1 + kx;
      if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
      for (let c = 0; c < ci; c++) s += x[((n * h + iy) * w + ix) * ci + c]! * k[((ky * 4 + kx) * ci + c) * co + o]!;
    }
    out[((n * oh + y) * ow + xx) * co + o] = s;
  }
  return out;
}

/** PyTorch ConvTranspose2d(k4, s2, p1): input pixel i scatters to output 2i − 1 + k; kernel [4,4,out,in]. */
function directConvTranspose(x: Float32Array, [b, h, w, ci]: number[], k: Float32Array, co: number): Float32Array {
  const oh = 2 * h, ow = 2 * w;
  const out = new Float32Array(b * oh * ow * co);
  for (let n = 0; n < b; n++) for (let y = 0; y < h; y++) for (let xx = 0; xx < w; xx++) for (let c = 0; c < ci; c++) {
    const v = x[((n * h + y) * w + xx) * ci + c]!;
    for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++) {
      const oy = 2 * y - 1 + ky, ox = 2 * xx - 1 + kx;
      if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
      for (let o = 0; o < co; o++) out[((n * oh + oy) * ow + ox) * co + o] += v * k[((ky * 4 + kx) * co + o) * ci + c]!;
    }
  }
  return out;
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('layer helpers', () => {
  before(async () => { await initEngine(); });

  for (const backend of ['wasm', 'cpu']) {
    test(`conv 4×4 s2 p1 and conv-transpose 4×4 s2 p1 equal PyTorch's definitions (${backend})`, async () => {
      await initEngine({ backend });
      const rng = new Random(3);
      const shape = [2, 6, 6, 3];
      const x = rng.fillNormal(new Float32Array(2 * 6 * 6 * 3));
      const k = rng.fillNormal(new Float32Array(4 * 4 * 3 * 5));
      const got = tf.tidy(() => conv4x4s2(tf.tensor4d(x, shape as [number, number, number, number]), tf.tensor4d(k, [4, 4, 3, 5])).dataSync());
      assertClose(got, directConv(x, shape, k, 5), 1e-4, 'conv');
      const kt = rng.fillNormal(new Float32Array(4 * 4 * 5 * 3));
      const gotT = tf.tidy(() => convTranspose4x4s2(tf.tensor4d(x, shape as [number, number, number, number]), tf.tensor4d(kt, [4, 4, 5, 3])).dataSync());
      assertClose(gotT, directConvTranspose(x, shape, kt, 5), 1e-4, 'convT');
      await initEngine();
    });
  }

  test('checkpoint text round trip keeps every float32 bit, including NaN payloads and -0', () => {
    const data = new Float32Array([0.1, -0, 1e-38, 3.4e38, Number.NaN, 1 / 3]);
    const text = serializeCheckpoint({ className: 'X', config: { a: [1, 2] }, weights: { 'w.k': { shape: [2, 3], data } }, meta: { step: 4 } });
    const back = parseCheckpoint(text);
    assert.equal(back.className, 'X');
    assert.deepEqual(back.config, { a: [1, 2] });
    assert.deepEqual(back.meta, { step: 4 });
    assert.deepEqual(back.weights['w.k']!.shape, [2, 3]);
    assert.deepEqual(new Uint32Array(back.weights['w.k']!.data.buffer), new Uint32Array(data.buffer));
    assert.throws(() => parseCheckpoint(JSON.stringify({ format: 'other' })), /unknown format/);
  });

  test('checkpointIterations: count, equal spacing, last = final; the paper\'s 20 over 40k', () => {
    const its = checkpointIterations(40000, 20);
    assert.equal(its.length, 20);
    assert.equal(its[0], 2000);
    assert.equal(its.at(-1), 40000);
    for (let i = 1; i < its.length; i++) assert.equal(its[i]! - its[i - 1]!, 2000);
    assert.deepEqual(checkpointIterations(100, 4, true), [0, 25, 50, 75, 100]);
    assert.deepEqual(checkpointIterations(10, 3), [3, 7, 10]);
    assert.throws(() => checkpointIterations(0, 3), /positive integer/);
  });

  test('configs: defaults filled, unknown keys and wrong types rejected with the dotted key', () => {
    const defaults = { a: 1, b: { c: [1, 2], d: 'x' } };
    assert.deepEqual(resolveModelConfig(defaults, { b: { d: 'y' } }, 'T'), { a: 1, b: { c: [1, 2], d: 'y' } });
    assert.throws(() => resolveModelConfig(defaults, { b: { e: 1 } } as never, 'T'), /T: config key 'b\.e': unknown key/);
    assert.throws(() => resolveModelConfig(defaults, { a: '2' } as never, 'T'), /'a': expected number, got string/);
  });
});
