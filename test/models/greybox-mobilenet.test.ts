// The greybox on a real third-party pretrained CNN: MobileNetV2 from the npm package nsfwjs
// (weights read from node_modules at load time). Batches of 1–2 at 224×224 keep it short.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tf, initEngine } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { inputGradient } from '../../src/models/greybox.ts';
import { loadSplittableModel } from '../../src/models/layers-model-node.ts';

await initEngine();
const { model, splittable, zoo } = await loadSplittableModel('nsfwjs-mobilenet-v2');
const x = new Random(1).uniformTensor([2, 224, 224, 3]);

test('MobileNetV2 from nsfwjs: layers, output shapes and clean cuts', () => {
  assert.equal(zoo?.inputRange[1], 1);
  const layers = splittable.layers();
  assert.equal(layers.length, model.layers.length);
  const byName = new Map(layers.map((l) => [l.name, l]));
  assert.deepEqual(byName.get('input_1')!.outputShape, [224, 224, 3]);
  assert.deepEqual(byName.get('block_16_project_BN')!.outputShape, [7, 7, 320]);
  assert.deepEqual(byName.get('out_relu')!.outputShape, [7, 7, 1280]);
  // Residual adds and the layers outside residual blocks are cuts; layers inside a residual block are not.
  for (const name of ['block_2_add', 'block_5_add', 'block_15_add', 'block_3_project_BN', 'out_relu']) assert.ok(byName.get(name)!.cut, name);
  for (const name of ['block_2_expand', 'block_5_depthwise_relu', 'block_15_project_BN']) {
    assert.ok(!byName.get(name)!.cut, name);
    assert.match(byName.get(name)!.reason!, /skip connection crosses it/);
  }
  assert.deepEqual(splittable.split('block_4_add').outputShape, [5]);
});

test('MobileNetV2: Ψ(Φ(x)) == f(x) to 1e-5 at early, middle and late cuts', () => {
  const f = model.predict(x) as tf.Tensor;
  for (const layer of ['input_1', 'block_2_add', 'block_6_project_BN', 'block_12_add', 'out_relu', 'dense_3']) {
    const gb = splittable.split(layer);
    tf.tidy(() => {
      const z = gb.phi(x);
      assert.deepEqual(z.shape.slice(1), gb.zShape, layer);
      const diff = tf.max(tf.abs(tf.sub(gb.psi(z), f))).dataSync()[0]!;
      assert.ok(diff < 1e-5, `${layer}: max |Ψ(Φ(x)) − f(x)| = ${diff}`);
    });
  }
  f.dispose();
});

test('MobileNetV2: the gradient of a layer output with respect to the input image is finite and nonzero', () => {
  const gb = splittable.split('block_6_project_BN');
  const image = x.slice([0, 0, 0, 0], [1, 224, 224, 3]);
  const g = inputGradient(gb, image, (z) => tf.sum(tf.square(z)));
  assert.deepEqual(g.shape, [1, 224, 224, 3]);
  const values = g.dataSync();
  let nonzero = 0;
  for (const v of values) {
    assert.ok(Number.isFinite(v));
    if (v !== 0) nonzero++;
  }
  assert.ok(nonzero > values.length * 0.5, `${nonzero} of ${values.length} nonzero`);
  // It points uphill: a small step along it increases the objective.
  const objective = (input: tf.Tensor): number => tf.tidy(() => tf.sum(tf.square(gb.phi(input))).dataSync()[0]!);
  const step = tf.tidy(() => tf.add(image, tf.mul(tf.sign(g), 1e-3)));
  assert.ok(objective(step) > objective(image));
  // Through the whole network (what an FGSM attack needs): d(top logit)/d(image).
  const full = splittable.split('dense_3');
  const gl = inputGradient(full, image, (y) => tf.max(y));
  assert.ok(gl.dataSync().every(Number.isFinite));
  assert.ok(tf.tidy(() => tf.max(tf.abs(gl)).dataSync()[0]!) > 0);
  gl.dispose();
  g.dispose();
  step.dispose();
  image.dispose();
});

test('MobileNetV2: an unknown layer and a crossed layer list the valid cut points', () => {
  assert.throws(() => splittable.split('conv5'), /nsfwjs-mobilenet-v2: unknown layer 'conv5'\. Valid cut points \(\d+\): input_1, Conv1_pad, .*block_2_add, /);
  assert.throws(() => splittable.split('block_2_expand'), /layer 'block_2_expand' is not a clean cut \(.*needs block_1_project_BN\)\. Valid cut points/);
});

test('`inntrospect layers nsfwjs-mobilenet-v2` lists every layer with its output shape and cut flag', () => {
  const run = spawnSync(process.execPath, ['bin/inntrospect.js', 'layers', 'nsfwjs-mobilenet-v2', '--json'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const report = JSON.parse(run.stdout) as { layers: { name: string; outputShape: number[]; cut: boolean }[] };
  assert.equal(report.layers.length, model.layers.length);
  assert.deepEqual(report.layers.find((l) => l.name === 'block_2_add'), { name: 'block_2_add', className: 'Add', outputShape: [56, 56, 24], cut: true });
  const text = spawnSync(process.execPath, ['bin/inntrospect.js', 'layers', 'nsfwjs-mobilenet-v2', '--cuts'], { encoding: 'utf8' });
  assert.match(text.stdout, /block_2_add\s+Add\s+56×56×24\s+yes/);
  assert.doesNotMatch(text.stdout, /block_2_expand /);
  const missing = spawnSync(process.execPath, ['bin/inntrospect.js', 'layers', 'no-such-model'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /'no-such-model' is neither a model folder nor a zoo model; zoo models: nsfwjs-mobilenet-v2/);
});
