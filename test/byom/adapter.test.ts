// The bring-your-own-model adapter on its own: preprocess is the reference's greybox
// preprocessing, the project's own classifiers go through it unchanged, model cards and pair
// files are checked with messages that name what to fix.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.ts';
import { ColorMnistClassifier } from '../../src/models/classifier-colormnist.ts';
import { serializeCheckpoint } from '../../src/models/checkpoints.ts';
import { splittableStages } from '../../src/models/greybox.ts';
import { onByomNote, openModelUnderStudy, parseModelCard, preprocessImages } from '../../src/pipeline/external-model.ts';
import { filePairs, parsePairFile } from '../../src/pipeline/pair-file.ts';
import type { ImageDataset } from '../../src/data/dataset.ts';
import { writeGraphModel, writeLayersModel } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'inntrospect-byom-adapter-'));

describe('external model adapter', () => {
  before(async () => {
    await initEngine();
  });

  test('preprocess: bilinear resize (half-pixel centres), [-1, 1] → [0, 1] → mean/std', () => {
    const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 3);
    const card = { inputSize: [12, 12] as [number, number], channels: 3 as const, valueRange: [0, 1] as [number, number], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const got = preprocessImages(x, card);
    const want = tf.tidy(() => tf.div(tf.sub(tf.div(tf.add(tf.image.resizeBilinear(x as tf.Tensor4D, [12, 12], false, true), 1), 2), card.mean), card.std));
    assert.deepEqual(got.shape, [2, 12, 12, 3]);
    const d = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
    assert.ok(d < 1e-5, `max difference ${d}`);
    // [0, 255] range, grey → RGB by repetition, and the identity when nothing changes.
    const grey = tf.fill([1, 4, 4, 1], 0);
    const rgb = preprocessImages(grey, { inputSize: [4, 4], channels: 3, valueRange: [0, 255] });
    assert.deepEqual(rgb.shape, [1, 4, 4, 3]);
    assert.ok(Array.from(rgb.dataSync()).every((v) => Math.abs(v - 127.5) < 1e-4));
    const same = preprocessImages(x, { inputSize: [8, 8], channels: 3, valueRange: [-1, 1] });
    assert.deepEqual(Array.from(same.dataSync()), Array.from(x.dataSync()));
    tf.dispose([x, got, want, grey, rgb, same]);
  });

  test("the project's own classifier: Φ and f through the adapter equal the greybox's", async () => {
    const clf = new ColorMnistClassifier({ channels: [8, 16, 32, 32] });
    const file = join(dir, 'classifier.json');
    writeFileSync(file, serializeCheckpoint(clf.checkpoint()));
    const m = await openModelUnderStudy(file);
    assert.equal(m.kind, 'inntrospect');
    assert.deepEqual(m.card, { inputSize: [32, 32], channels: 3, valueRange: [-1, 1] });
    const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 5);
    const gb = splittableStages({ name: clf.className, inputShape: clf.inputShape, stages: clf.stages }).split('conv2');
    const a = m.layer('conv2').phi(x);
    const b = gb.phi(x);
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()));
    const fa = m.classify(x);
    const fb = clf.logits(x);
    assert.deepEqual(Array.from(fa.dataSync()), Array.from(fb.dataSync()));
    tf.dispose([x, a, b, fa, fb]);
    m.dispose();
    clf.dispose();
  });

  test('Layers model with a card; chunked Φ equals one pass; gradients reach x through preprocess', async () => {
    const folder = await writeLayersModel(join(dir, 'layers'), 16, { valueRange: [0, 255], mean: [120], std: [60], classNames: ['a', 'b', 'c'] });
    const notes: string[] = [];
    const off = onByomNote((n) => notes.push(n.message));
    const m = await openModelUnderStudy(folder);
    off();
    assert.deepEqual(notes, []);
    assert.equal(m.cardSource, 'model + model-card.json');
    assert.deepEqual(m.card.classNames, ['a', 'b', 'c']);
    // A Dense layer without activation outputs logits.
    assert.equal(m.outputKind, 'logits');
    const x = tf.randomUniform([11, 24, 24, 3], -1, 1, 'float32', 7);
    const z = m.layer('conv2').phi(x);
    assert.deepEqual(z.shape, [11, 8, 8, 8]);
    const one = tf.tidy(() => m.layer('conv2').phi(tf.slice(x, 9, 2)));
    const d = tf.max(tf.abs(tf.sub(tf.slice(z, 9, 2), one))).dataSync()[0]!;
    assert.ok(d < 1e-5, `chunked vs single pass ${d}`);
    const g = tf.grad((input: tf.Tensor) => tf.sum(m.classify(input)))(x);
    assert.deepEqual(g.shape, x.shape);
    assert.ok(tf.max(tf.abs(g)).dataSync()[0]! > 0);
    tf.dispose([x, z, one, g]);
    m.dispose();
  });

  test('a model that ends in a softmax outputs probabilities (found from the model; the card can say so too)', async () => {
    const m = await openModelUnderStudy(await writeLayersModel(join(dir, 'softmax'), 16, { valueRange: [0, 1] }, true));
    assert.equal(m.outputKind, 'probabilities');
    const p = tf.tidy(() => tf.sum(m.classify(tf.zeros([2, 16, 16, 3])), 1).dataSync());
    assert.ok(Array.from(p).every((s) => Math.abs(s - 1) < 1e-5));
    m.dispose();
    const declared = await openModelUnderStudy(await writeLayersModel(join(dir, 'declared'), 16, { valueRange: [0, 1], output: 'probabilities' }));
    assert.equal(declared.outputKind, 'probabilities');
    declared.dispose();
    // The zoo's MobileNetV2 ends in a softmax over its 5 classes.
    const zoo = await openModelUnderStudy('nsfwjs-mobilenet-v2');
    assert.equal(zoo.outputKind, 'probabilities');
    zoo.dispose();
  });

  test('graph model: Φ to a node, f to the output, no Ψ', async () => {
    const m = await openModelUnderStudy(writeGraphModel(join(dir, 'graph')));
    assert.equal(m.hasPsi, false);
    assert.match(m.psiUnavailable!, /graph model: Φ runs the graph to a node, but Ψ .* cannot be split off/);
    assert.deepEqual(m.layers().map((l) => [l.name, l.outputShape]), [['conv', [8, 8, 4]], ['relu', [8, 8, 4]], ['pool', [4]], ['cast', [8, 8, 4]]]);
    const layer = m.layer('relu');
    assert.equal(layer.psi, undefined);
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 9);
    const f = m.classify(x);
    const pooled = tf.mean(layer.phi(x), [1, 2]);
    assert.ok(tf.max(tf.abs(tf.sub(f, pooled))).dataSync()[0]! < 1e-5);
    tf.dispose([x, f, pooled]);
    m.dispose();
  });

  test('model cards: every bad field is named', () => {
    assert.throws(() => parseModelCard({ inputSize: [224] }, 'card.json'), /card\.json: inputSize must be \[height, width\]/);
    assert.throws(() => parseModelCard({ channels: 4 }, 'card.json'), /channels must be 1 or 3/);
    assert.throws(() => parseModelCard({ valueRange: [1, 0] }, 'card.json'), /valueRange must be \[low, high\] with low < high/);
    assert.throws(() => parseModelCard({ std: [0] }, 'card.json'), /std must be positive/);
    assert.throws(() => parseModelCard({ mena: [0] }, 'card.json'), /unknown field 'mena'; the fields are inputSize/);
    assert.throws(() => parseModelCard({ output: 'softmax' }, 'card.json'), /output must be "logits" or "probabilities"/);
    assert.deepEqual(parseModelCard({ inputSize: 96, channels: 1 }, 'c'), { inputSize: [96, 96], channels: 1 });
  });

  test('pair files: attribute pairs share a value; frozen mode is repeatable; errors name the entry', () => {
    const files = ['a.png', 'b.png', 'c.png', 'd.png'];
    const ds: ImageDataset = { name: 'folder:x', images: Float32Array.from({ length: 4 * 2 * 2 * 3 }, (_, i) => Math.floor(i / 12)), shape: [4, 2, 2, 3], labels: new Int32Array(4).fill(-1), classNames: [], valueRange: [-1, 1] };
    const spec = parsePairFile({ attributes: { 'a.png': { colour: 'red', shape: 'round' }, 'b.png': { colour: 'red' }, './c.png': { shape: 'round' }, 'd.png': { colour: 'blue' } } }, files, 'p.json');
    assert.deepEqual(spec.factors, ['colour', 'shape']);
    const sampler = filePairs(ds, spec, { batchSize: 8, seed: 1 });
    assert.deepEqual(sampler.factorNames, ['colour', 'shape', 'residual']);
    for (let s = 0; s < 5; s++) {
      const batch = sampler.next();
      for (let k = 0; k < batch.factors.length; k++) {
        const [i, j, f] = [batch.a.indices[k]!, batch.b.indices[k]!, batch.factors[k]!];
        assert.notEqual(i, j);
        assert.equal(spec.values![f]![i], spec.values![f]![j]);
        assert.equal(batch.b.images[k * 12], j);
      }
    }
    // Resume: a fresh sampler given the saved state continues with the same pairs.
    const saved = sampler.state();
    const resumed = filePairs(ds, spec, { batchSize: 8, seed: 99 });
    resumed.setState(saved);
    for (let s = 0; s < 3; s++) {
      const [x, y] = [sampler.next(), resumed.next()];
      assert.deepEqual([y.a.indices, y.b.indices, y.factors], [x.a.indices, x.b.indices, x.factors]);
    }
    const frozen = () => filePairs(ds, spec, { batchSize: 3, seed: 1, mode: 'frozen' }).next();
    assert.deepEqual(frozen(), frozen());
    const explicit = parsePairFile({ pairs: [{ a: 'a.png', b: 'd.png', factor: 'light' }] }, files, 'p.json');
    assert.deepEqual(filePairs(ds, explicit, { batchSize: 4, seed: 0 }).next().factors, Int32Array.from([0]));
    assert.throws(() => parsePairFile({ pairs: [{ a: 'a.png', b: 'x.png', factor: 'f' }] }, files, 'p.json'), /p\.json: pairs\[0\]\.b 'x\.png' is not an image of the folder/);
    assert.throws(() => parsePairFile({ pairs: [{ a: 'a.png', b: 'b.png' }] }, files, 'p.json'), /pairs\[0\]\.factor must be a factor name/);
    assert.throws(() => parsePairFile({ nope: 1 }, files, 'p.json'), /expected \{"pairs"/);
    const lonely = parsePairFile({ attributes: { 'a.png': { colour: 'red' }, 'b.png': { colour: 'blue' } } }, files, 'p.json');
    assert.throws(() => filePairs(ds, lonely, { batchSize: 2, seed: 0 }), /no two images share an attribute value/);
  });
});
