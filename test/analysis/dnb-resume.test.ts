// D&B (Table 1's baseline) resumes exactly: stopped after any step and continued from its saved
// state, its losses and weights equal an uninterrupted run's bit for bit; a state saved for other
// options, data or Φ is not continued; the report's files hold only what it wrote.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { trainDirectDecoder, type DirectDecoderCheckpoints, type DirectDecoderOptions, type DirectDecoderState } from '../../src/analysis/baselines.ts';
import { dnbCheckpointFolder, dnbFileCheckpoints, removeDnbCheckpoints } from '../../src/report/dnb-checkpoints.ts';
import type { ImageDataset } from '../../src/data/dataset.ts';

before(async () => {
  await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' });
});

const n = 12;
const rng = new Random(5);
const data: ImageDataset = {
  name: 'synthetic 8×8', shape: [n, 8, 8, 3], labels: new Int32Array(n).fill(-1), classNames: [], valueRange: [-1, 1],
  images: Float32Array.from({ length: n * 8 * 8 * 3 }, () => rng.uniform() * 2 - 1),
};
const layer = { phi: (x: tf.Tensor4D) => tf.tidy(() => tf.reshape(tf.avgPool(x, 2, 2, 'valid'), [x.shape[0], -1])) };
const STEPS = 30; // past step 26, where a β-power recomputed with pow first differs on wasm
const options: DirectDecoderOptions = { steps: STEPS, batchSize: 4, hidden: 16, channels: 8, upsamplings: 3, seed: 3 };

function memory(every = 1): DirectDecoderCheckpoints & { state: DirectDecoderState | null } {
  const store = {
    state: null as DirectDecoderState | null,
    every,
    load: () => (store.state ? structuredClone(store.state) : null),
    save: (s: DirectDecoderState) => { store.state = structuredClone(s); },
  };
  return store;
}

async function outputs(o: DirectDecoderOptions): Promise<{ losses: number[]; decoded: Float32Array }> {
  const dec = await trainDirectDecoder(layer, data, o);
  const x = tf.tensor4d(data.images.slice(0, 4 * 8 * 8 * 3), [4, 8, 8, 3]);
  const y = dec.decode(layer.phi(x));
  const decoded = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  dec.dispose();
  return { losses: dec.losses, decoded: Float32Array.from(decoded) };
}

test('stopped after every step and continued, D&B gives the uninterrupted losses and weights exactly', async () => {
  const reference = await outputs(options);
  assert.equal(reference.losses.length, STEPS);
  for (let stopAt = 1; stopAt < STEPS; stopAt++) {
    const store = memory(1);
    await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: store, onProgress: (e) => { if (e.step === stopAt) throw new Error('killed'); } }), /killed/);
    assert.equal(store.state?.step, stopAt);
    const resumed = await outputs({ ...options, checkpoints: store });
    assert.deepEqual(resumed.losses, reference.losses, `losses after a stop at step ${stopAt}`);
    assert.deepEqual(resumed.decoded, reference.decoded, `weights after a stop at step ${stopAt}`);
  }
  // Saved every 4 steps: a stop at 18 continues from 16, still exactly.
  const sparse = memory(4);
  await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: sparse, onProgress: (e) => { if (e.step === 18) throw new Error('killed'); } }), /killed/);
  assert.equal(sparse.state?.step, 16);
  assert.deepEqual((await outputs({ ...options, checkpoints: sparse })).losses, reference.losses);
});

test('a state saved for other options or another Φ is not continued: training starts over', async () => {
  const store = memory(1);
  await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: store, onProgress: (e) => { if (e.step === 5) throw new Error('killed'); } }), /killed/);
  const otherSeed = await outputs({ ...options, seed: 4, checkpoints: store });
  assert.deepEqual(otherSeed.losses, (await outputs({ ...options, seed: 4 })).losses);
  const store2 = memory(1);
  await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: store2, onProgress: (e) => { if (e.step === 5) throw new Error('killed'); } }), /killed/);
  const otherPhi = { phi: (x: tf.Tensor4D) => tf.tidy(() => tf.mul(layer.phi(x), 2)) };
  const fresh = await trainDirectDecoder(otherPhi, data, options);
  const continued = await trainDirectDecoder(otherPhi, data, { ...options, checkpoints: store2 });
  assert.deepEqual(continued.losses, fresh.losses);
  fresh.dispose();
  continued.dispose();
});

test("the report's D&B files: beside the report, continued from disk, a foreign file refused, only its own files removed", async () => {
  const root = mkdtempSync(join(tmpdir(), 'inntrospect-dnb-'));
  try {
    const dir = dnbCheckpointFolder(join(root, 'report.html'));
    assert.equal(dir, join(root, 'report.dnb'));
    const files = dnbFileCheckpoints(dir, 'conv/2', 3);
    await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: files, onProgress: (e) => { if (e.step === 7) throw new Error('killed'); } }), /killed/);
    assert.deepEqual(readdirSync(dir), ['dnb-conv_2.json']);
    const reference = await outputs(options);
    assert.deepEqual((await outputs({ ...options, checkpoints: dnbFileCheckpoints(dir, 'conv/2', 3) })).losses, reference.losses);
    writeFileSync(join(dir, 'notes.txt'), 'the user\'s');
    writeFileSync(join(dir, 'dnb-z.json'), '{"format":"something else"}');
    await assert.rejects(trainDirectDecoder(layer, data, { ...options, checkpoints: dnbFileCheckpoints(dir, 'z') }), /dnb-z\.json exists and is not a D&B training state of inntrospect/);
    removeDnbCheckpoints(dir);
    assert.deepEqual(readdirSync(dir).sort(), ['dnb-z.json', 'notes.txt']);
    rmSync(join(dir, 'notes.txt'));
    rmSync(join(dir, 'dnb-z.json'));
    mkdirSync(dir, { recursive: true });
    removeDnbCheckpoints(dir);
    assert.equal(existsSync(dir), false, 'an empty folder of its own goes');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
