// Save/load through the registry: the plain-JSON format, errors for damaged or mismatched data,
// base64, and the node file IO (atomic write).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { ConditionalINN, SemanticINN, loadFlow, registeredFlowClasses, saveFlow, type InvertibleModule, type SavedFlow } from '../../src/flows/index.ts';
import { base64ToBytes, bytesToBase64 } from '../../src/engine/base64.ts';
import { readFlowFile, writeFileAtomic, writeFlowFile } from '../../src/flows/io-node.ts';

let folder = '';
before(async () => {
  await initEngine({ backend: 'wasm' });
  folder = await mkdtemp(join(tmpdir(), 'inntrospect-flows-'));
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

function smallT(seed = 1): ConditionalINN {
  const t = new ConditionalINN({ dim: 4, conditionShape: [3], embeddingDim: 4, numBlocks: 2, hiddenWidth: 6, seed });
  const rng = new Random(seed);
  const x = rng.normalTensor([8, 4]) as tf.Tensor2D;
  const z = rng.normalTensor([8, 3]);
  tf.dispose(Object.values(t.forward(x, z)));
  tf.dispose([x, z]);
  return t;
}

test('base64 round-trips every length and matches Node\'s encoder', () => {
  const rng = new Random(1);
  for (const n of [0, 1, 2, 3, 4, 5, 17, 1000]) {
    const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
    const text = bytesToBase64(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64'));
    assert.deepEqual(base64ToBytes(text), bytes);
  }
  assert.throws(() => base64ToBytes('ab$d'), /invalid character/);
});

test('a saved model is plain JSON: className, config, named weights with shapes, buffers marked non-trainable', () => {
  const t = smallT();
  const saved = saveFlow(t);
  assert.deepEqual(JSON.parse(JSON.stringify(saved)), saved, 'not plain JSON');
  assert.equal(saved.className, 'ConditionalINN');
  assert.equal(saved.config['dim'], 4);
  const byName = new Map(saved.weights.map((w) => [w.name, w]));
  assert.deepEqual(byName.get('flow.0.loc')?.shape, [4]);
  assert.equal(byName.get('flow.0.initialized')?.trainable, false);
  assert.equal(byName.get('flow.2.permutation')?.dtype, 'int32');
  assert.equal(byName.get('flow.2.permutation')?.trainable, false);
  assert.equal(byName.get('embedder.norms.0.initialized')?.trainable, false);
  assert.deepEqual(byName.get('flow.1.s.0.layers.0.kernel')?.shape, [2 + 4, 6], 'S₀ sees [a, embedding]');
  const names = saved.weights.map((w) => w.name);
  assert.deepEqual(names, [...names].sort(), 'weights are sorted by name');
  for (const cls of ['ActNorm', 'DoubleAffineCoupling', 'Shuffle', 'Sequence', 'DenseEmbedder', 'ConvEmbedder', 'ConditionalINN', 'SemanticINN']) {
    assert.ok(registeredFlowClasses().includes(cls), `${cls} is not registered`);
  }
  t.dispose();
});

test('loading rejects damaged data with a message that says what is wrong', () => {
  const t = smallT();
  const saved = saveFlow(t);
  const edit = (f: (s: SavedFlow) => void): SavedFlow => {
    const copy = structuredClone(saved);
    f(copy);
    return copy;
  };
  assert.throws(() => loadFlow({ hello: 1 }), /not a saved inntrospect flow/);
  assert.throws(() => loadFlow(edit((s) => { s.version = 99; })), /version 99/);
  assert.throws(() => loadFlow(edit((s) => { s.className = 'Nope'; })), /unknown flow class 'Nope'/);
  assert.throws(() => loadFlow(saved, 'SemanticINN'), /expected a saved 'SemanticINN', got 'ConditionalINN'/);
  assert.throws(() => loadFlow(edit((s) => { s.weights = s.weights.filter((w) => w.name !== 'flow.3.scale'); })), /'flow.3.scale' \(shape \[4\]\) is missing/);
  assert.throws(() => loadFlow(edit((s) => { s.weights.find((w) => w.name === 'flow.3.scale')!.shape = [2, 2]; })), /'flow.3.scale' has shape \[2, 2\] in the saved model, the model expects \[4\]/);
  assert.throws(() => loadFlow(edit((s) => { s.weights.push({ ...s.weights[0]!, name: 'flow.99.extra' }); })), /entries the model does not use: flow.99.extra/);
  assert.throws(() => loadFlow(edit((s) => { s.config['numBlocks'] = 3; })), /missing from the saved model/);
  assert.throws(() => loadFlow(edit((s) => { s.weights.find((w) => w.name === 'flow.2.permutation')!.data = bytesToBase64(new Uint8Array(new Int32Array([0, 0, 1, 2]).buffer)); })), /not a permutation/);
  t.dispose();
});

test('file IO: writeFlowFile is atomic (no temp file left) and readFlowFile gives the same model', async () => {
  const e = new SemanticINN({ dim: 4, factorNames: ['a', 'residual'], numBlocks: 2, hiddenWidth: 6, seed: 3 });
  const x = new Random(3).normalTensor([5, 4]) as tf.Tensor2D;
  const before = e.forward(x);
  const path = join(folder, 'nested', 'e.json');
  await writeFlowFile(path, e);
  assert.deepEqual(await readdir(join(folder, 'nested')), ['e.json']);
  const loaded = await readFlowFile<SemanticINN>(path, 'SemanticINN');
  const again = loaded.forward(x);
  assert.deepEqual(again.output.dataSync(), before.output.dataSync());
  assert.deepEqual(loaded.factorSizes, e.factorSizes);
  // Overwriting replaces the file in one step.
  await writeFileAtomic(path, 'replaced');
  assert.equal(await readFile(path, 'utf8'), 'replaced');
  await assert.rejects(readFlowFile(path), /is not JSON/);
  tf.dispose([x, before.output, before.logDet, again.output, again.logDet]);
  e.dispose();
  loaded.dispose();
});

test('a trained-then-saved t samples identically after loading', () => {
  const t = smallT(4);
  const z = new Random(5).normalTensor([3, 3]);
  const a = t.sample(z, 4, 11);
  const loaded = loadFlow<InvertibleModule>(JSON.parse(JSON.stringify(saveFlow(t)))) as ConditionalINN;
  const b = loaded.sample(z, 4, 11);
  assert.deepEqual(b.dataSync(), a.dataSync());
  tf.dispose([z, a, b]);
  t.dispose();
  loaded.dispose();
});
