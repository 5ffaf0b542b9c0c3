// The wasm Conv2DBackpropInput keeps each filter's flipped sub-filters across calls (inference
// reuses its weights). Kept results must never go stale: the same filter at another stride, a
// variable assigned new values, and many filters in a row all match the cpu reference, and the
// kept memory stays bounded and is freed.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { clearPreparedFilters } from '../../src/engine/wasm-kernels/conv2d-backprop-input.ts';

const backend = process.env['INNTROSPECT_BACKEND'] ?? 'wasm';

/** conv2dTranspose on wasm and on cpu with the same values; the largest relative difference. */
function againstCpu(x: tf.Tensor4D, w: tf.Tensor4D, stride: number): number {
  const [b, h, wd] = x.shape;
  const outShape: [number, number, number, number] = [b, h * stride, wd * stride, w.shape[2]];
  const ours = tf.conv2dTranspose(x, w, outShape, stride, 'same');
  const values = ours.dataSync().slice();
  ours.dispose();
  const xs = x.arraySync();
  const ws = w.arraySync();
  tf.setBackend('cpu');
  const reference = tf.tidy(() => tf.conv2dTranspose(tf.tensor4d(xs), tf.tensor4d(ws), outShape, stride, 'same').dataSync().slice());
  tf.setBackend('wasm');
  let worst = 0;
  for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i]! - reference[i]!) / (1 + Math.abs(reference[i]!)));
  return worst;
}

describe('wasm conv-transpose: prepared sub-filters', { skip: backend !== 'wasm' ? 'a wasm kernel' : false }, () => {
  before(async () => {
    await initEngine({ backend: 'wasm' });
    tf.env().set('IS_TEST', false);
    tf.env().set('DEBUG', false);
  });

  test('the same filter again, and at another stride, gives the reference result', () => {
    const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([4, 4, 5, 8], 0, 1, 'float32', 2) as tf.Tensor4D;
    for (const stride of [2, 2, 1, 2, 1]) assert.ok(againstCpu(x, w, stride) < 1e-4, `stride ${stride}`);
    tf.dispose([x, w]);
  });

  test('a reshape of a kept filter (same data, another shape) gets its own sub-filters', () => {
    const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 6) as tf.Tensor4D;
    const w = tf.randomNormal([4, 4, 8, 8], 0, 1, 'float32', 7) as tf.Tensor4D;
    assert.ok(againstCpu(x, w, 2) < 1e-4);
    // [4, 4, 8, 8] → [2, 8, 8, 8]: the same buffer read as another filter.
    const reshaped = tf.reshape(w, [2, 8, 8, 8]) as tf.Tensor4D;
    assert.ok(againstCpu(x, reshaped, 2) < 1e-4);
    assert.ok(againstCpu(x, w, 2) < 1e-4);
    tf.dispose([x, w, reshaped]);
  });

  test('a variable assigned new values is not served its old sub-filters', () => {
    const x = tf.randomNormal([2, 3, 3, 8], 0, 1, 'float32', 3) as tf.Tensor4D;
    const v = tf.variable(tf.randomNormal([3, 3, 5, 8], 0, 1, 'float32', 4));
    assert.ok(againstCpu(x, v as unknown as tf.Tensor4D, 2) < 1e-4);
    for (let step = 0; step < 3; step++) {
      v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 1, 'float32', 10 + step))));
      assert.ok(againstCpu(x, v as unknown as tf.Tensor4D, 2) < 1e-4, `after assign ${step}`);
    }
    tf.dispose([x, v]);
  });

  test('memory stays bounded over many filters and is freed by clearPreparedFilters', () => {
    clearPreparedFilters();
    const wasm = tf.findBackend('wasm')!;
    const baseline = wasm.numDataIds();
    const x = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    for (let i = 0; i < 40; i++) {
      tf.tidy(() => {
        const w = tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 100 + i) as tf.Tensor4D;
        tf.conv2dTranspose(x, w, [1, 4, 4, 2], 2, 'same').dataSync();
      });
    }
    // 16 filters kept at most, 4 sub-filters each at stride 2; x itself is one more buffer.
    const kept = wasm.numDataIds() - baseline - 1;
    assert.ok(kept > 0 && kept <= 16 * 4, `kept ${kept} buffers`);
    clearPreparedFilters();
    assert.equal(wasm.numDataIds() - baseline, 1);
    x.dispose();
  });
});
