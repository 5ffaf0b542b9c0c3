import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { inputGradient, splittableStages, type Stage } from '../../src/models/greybox.ts';
import { greybox, splittableLayersModel } from '../../src/models/layers-model.ts';
import { loadLayersModelFile } from '../../src/models/layers-model-node.ts';

await initEngine();
const dir = mkdtempSync(join(tmpdir(), 'inntrospect-greybox-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** A small conv classifier as the project's own models are built: named stages over variables. */
function ownModel(): { name: string; inputShape: number[]; stages: Stage[] } {
  const rng = new Random(3);
  const w1 = tf.variable(rng.normalTensor([3, 3, 3, 8], 0, 0.3));
  const w2 = tf.variable(rng.normalTensor([3, 3, 8, 16], 0, 0.2));
  const w3 = tf.variable(rng.normalTensor([4 * 4 * 16, 10], 0, 0.1));
  return {
    name: 'tiny-cnn',
    inputShape: [8, 8, 3],
    stages: [
      { name: 'conv1', apply: (x) => tf.relu(tf.conv2d(x as tf.Tensor4D, w1 as tf.Tensor4D, 1, 'same')) },
      { name: 'conv2', apply: (h) => tf.relu(tf.conv2d(h as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'same')) },
      { name: 'flat', apply: (h) => tf.reshape(h, [h.shape[0]!, -1]) },
      { name: 'logits', apply: (h) => tf.matMul(h as tf.Tensor2D, w3 as tf.Tensor2D) },
    ],
  };
}

test('own staged model: Ψ(Φ(x)) == f(x) at every cut, shapes listed, no tensor leaks', () => {
  const model = splittableStages(ownModel());
  assert.deepEqual(model.layers().map((l) => [l.name, l.outputShape.join('x')]), [
    ['input', '8x8x3'], ['conv1', '8x8x8'], ['conv2', '4x4x16'], ['flat', '256'], ['logits', '10'],
  ]);
  const x = new Random(4).normalTensor([2, 8, 8, 3]);
  const before = tf.memory().numTensors;
  for (const layer of model.layers()) {
    const gb = model.split(layer.name);
    tf.tidy(() => {
      const z = gb.phi(x);
      assert.deepEqual(z.shape.slice(1), gb.zShape);
      assert.ok(maxDiff(gb.psi(z), gb.f(x)) < 1e-5, layer.name);
    });
  }
  assert.equal(tf.memory().numTensors, before);
  const gb = model.split('conv2');
  assert.deepEqual(gb.outputShape, [10]);
  assert.throws(() => gb.phi(tf.zeros([2, 8, 8, 1])), /tiny-cnn Φ \(input\): expected a batch of shape \[B, 8, 8, 3\], got \[2, 8, 8, 1\]/);
  assert.throws(() => gb.psi(tf.zeros([2, 3])), /layer 'conv2'.*\[B, 4, 4, 16\]/);
  const g = inputGradient(gb, x);
  assert.deepEqual(g.shape, x.shape);
  assert.ok(tf.sum(tf.abs(g)).dataSync()[0]! > 0);
});

test('an unknown layer lists the valid cut points', () => {
  const model = splittableStages(ownModel());
  assert.throws(() => model.split('conv9'), /tiny-cnn: unknown layer 'conv9'\. Valid cut points \(5\): input, conv1, conv2, flat, logits/);
  assert.throws(() => splittableStages({ inputShape: [1], stages: [{ name: 'a', apply: (h) => h }, { name: 'a', apply: (h) => h }] }), /two stages are called 'a'/);
});

/** A Layers model with a residual block: input → conv a → [conv b → conv c] + a → pool → dense. */
function residualModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3], name: 'image' });
  const a = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'a', kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'b', kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }) }).apply(a) as tfl.SymbolicTensor;
  const c = tfl.layers.batchNormalization({ name: 'c' }).apply(b) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([a, c]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, name: 'out', kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }) }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'residual' });
}

test('Layers graph with a skip connection: clean cuts split exactly, crossed layers are refused', () => {
  const model = residualModel();
  const sm = splittableLayersModel(model);
  const cuts = Object.fromEntries(sm.layers().map((l) => [l.name, l.cut]));
  assert.deepEqual(cuts, { image: true, a: true, b: false, c: false, sum: true, pool: true, out: true });
  assert.match(sm.layers().find((l) => l.name === 'b')!.reason!, /skip connection crosses it: the rest of the model also needs a/);
  const x = new Random(5).normalTensor([2, 8, 8, 3]);
  for (const layer of ['image', 'a', 'sum', 'pool', 'out']) {
    const gb = sm.split(layer);
    tf.tidy(() => assert.ok(maxDiff(gb.psi(gb.phi(x)), model.predict(x) as tf.Tensor) < 1e-5, layer));
  }
  assert.throws(() => sm.split('c'), /residual: layer 'c' is not a clean cut \(a skip connection crosses it: .*\)\. Valid cut points \(5\): image, a, sum, pool, out/);
  assert.throws(() => sm.split('nope'), /residual: unknown layer 'nope'\. Valid cut points \(5\)/);
  assert.deepEqual(greybox(model, 'sum').zShape, [8, 8, 4]);
  assert.deepEqual(greybox(sm, 'pool').zShape, [4]);
  assert.deepEqual(greybox(ownModel(), 'conv2').zShape, [4, 4, 16]);
});

test('Layers models load from model.json + weight files on disk; bad files name the file', async () => {
  const model = residualModel();
  const folder = mkdtempSync(join(dir, 'model-'));
  await model.save(tfl.io.withSaveHandler(async (artifacts) => {
    writeFileSync(join(folder, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
    writeFileSync(join(folder, 'model.json'), JSON.stringify({
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      format: 'layers-model',
    }));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const loaded = await loadLayersModelFile(folder);
  const x = new Random(6).normalTensor([1, 8, 8, 3]);
  assert.ok(maxDiff(loaded.predict(x) as tf.Tensor, model.predict(x) as tf.Tensor) < 1e-6);
  const gb = splittableLayersModel(loaded, 'loaded').split('sum');
  assert.ok(maxDiff(gb.psi(gb.phi(x)), model.predict(x) as tf.Tensor) < 1e-5);

  const bad = mkdtempSync(join(dir, 'bad-'));
  writeFileSync(join(bad, 'model.json'), '{ "modelTopology": ');
  await assert.rejects(loadLayersModelFile(bad), (e: Error) => e.message.includes(join(bad, 'model.json')) && /not valid JSON/.test(e.message));
  writeFileSync(join(bad, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'k', shape: [2, 2], dtype: 'float32' }] }] }));
  await assert.rejects(loadLayersModelFile(bad), /weight file .*w\.bin named in weightsManifest does not exist/);
  writeFileSync(join(bad, 'w.bin'), Buffer.alloc(12));
  await assert.rejects(loadLayersModelFile(bad), /weight files w\.bin hold 12 bytes, but their 1 weights need 16/);
  writeFileSync(join(bad, 'model.json'), JSON.stringify({ format: 'graph-model' }));
  await assert.rejects(loadLayersModelFile(bad), /no 'modelTopology' object/);
  writeFileSync(join(bad, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
  await assert.rejects(loadLayersModelFile(bad), /is a TensorFlow\.js graph model .*only Layers models/);
  await assert.rejects(loadLayersModelFile(join(dir, 'absent')), /absent: no such model folder or model\.json/);
});
