// The classifiers under study: named stages, shapes, save → load, a short training run on a
// small ColorMNIST subset, and checkpoints at equally spaced iterations.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { loadColorMnist } from '../../src/data/node.ts';
import { activationAt, bceOneHotLoss, softmaxCrossEntropyLoss, stageNames, type StagedClassifier } from '../../src/models/classifier.ts';
import { ColorMnistClassifier, COLORMNIST_CLASSIFIER_PRESETS } from '../../src/models/classifier-colormnist.ts';
import { SqueezeNet, SQUEEZENET_PRESETS } from '../../src/models/squeezenet.ts';
import { greybox } from '../../src/models/layers-model.ts';
import { checkpointIterations, loadModel, parseCheckpoint, serializeCheckpoint, type ModelCheckpoint } from '../../src/models/checkpoints.ts';
import { ClassifierTrainer, DEFAULT_CLASSIFIER_TRAIN_CONFIG } from '../../src/train/classifier-trainer.ts';
import { BatchSampler, batchAt, type LabeledImages } from '../../src/train/batches.ts';
import { accuracy } from '../../src/train/metrics.ts';

let data: LabeledImages;
const subset = (from: number, n: number): LabeledImages => {
  const size = 32 * 32 * 3;
  return { images: data.images.slice(from * size, (from + n) * size), labels: data.labels.slice(from, from + n), shape: [n, 32, 32, 3] };
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

const models: [string, () => StagedClassifier, string[]][] = [
  ['ColorMnistClassifier', () => new ColorMnistClassifier(COLORMNIST_CLASSIFIER_PRESETS.tiny), ['conv0', 'conv1', 'conv2', 'conv3', 'z', 'logits']],
  ['SqueezeNet', () => new SqueezeNet(SQUEEZENET_PRESETS.tiny), ['conv1', 'pool1', 'fire2', 'fire3', 'pool3', 'fire4', 'fire5', 'conv10', 'avgpool']],
];

describe('classifiers', () => {
  before(async () => {
    await initEngine();
    data = loadColorMnist('test');
  });

  test('losses: BCE on one-hot and softmax CE on a hand-computed case', () => {
    const logits = tf.tensor2d([[0, Math.log(3)]]);
    const labels = tf.tensor1d([1], 'int32');
    // BCE: mean over the 2 outputs of [softplus(0) − 0] and [softplus(ln 3) − ln 3]
    const bce = (Math.log(2) + Math.log(4) - Math.log(3)) / 2;
    assert.ok(Math.abs(bceOneHotLoss(logits, labels).dataSync()[0]! - bce) < 1e-6);
    assert.ok(Math.abs(softmaxCrossEntropyLoss(logits, labels).dataSync()[0]! - Math.log(4 / 3)) < 1e-6);
    tf.dispose([logits, labels]);
  });

  for (const [name, make, stages] of models) {
    test(`${name}: named stages, shapes, save → load bit-identical`, () => {
      const model = make();
      assert.deepEqual(stageNames(model), stages);
      const { x, labels } = batchAt(data, [0, 1, 2]);
      const logits = model.logits(x);
      assert.deepEqual(logits.shape, [3, 10]);
      if (name === 'ColorMnistClassifier') assert.deepEqual(activationAt(model, x, 'z').shape, [3, 64]);
      else assert.deepEqual(activationAt(model, x, 'conv10').shape, [3, 8, 8, 10]);
      assert.throws(() => activationAt(model, x, 'nope'), /no layer 'nope'/);
      // A Greybox splits it at every stage: Ψ(Φ(x)) = f(x).
      for (const layer of stages) {
        const gb = greybox(model, layer);
        const y = tf.tidy(() => gb.psi(gb.phi(x)).dataSync());
        assert.deepEqual(y, logits.dataSync(), layer);
      }
      assert.throws(() => model.logits(tf.zeros([1, 28, 28, 3])), /expected images \[B, 32, 32, 3\]/);
      const loaded = loadModel(parseCheckpoint(serializeCheckpoint(model.checkpoint()))) as StagedClassifier;
      assert.equal(loaded.className, name);
      const again = loaded.logits(x);
      assert.deepEqual(new Uint32Array(again.dataSync().buffer), new Uint32Array(logits.dataSync().buffer));
      tf.dispose([x, labels, logits, again]);
      model.dispose();
      loaded.dispose();
    });

    test(`${name}: loss falls and accuracy is well above chance after a short run on 512 images, no leaks`, async () => {
      const model = make();
      const train = subset(0, 512);
      const held = subset(512, 256);
      const trainer = new ClassifierTrainer(model, { ...DEFAULT_CLASSIFIER_TRAIN_CONFIG, batchSize: 32, checkpoints: 4, steps: 120, decayStart: 120, learningRate: 3e-3 });
      const sampler = new BatchSampler(train, 32, 1);
      const losses: number[] = [];
      const counts: number[] = [];
      const saved: ModelCheckpoint[] = [];
      const steps = 120;
      const at = new Set(checkpointIterations(steps, 4));
      for (let it = 1; it <= steps; it++) {
        const b = sampler.next();
        const m = trainer.step(b.x, b.labels);
        tf.dispose([b.x, b.labels]);
        losses.push(m.loss);
        counts.push(tf.memory().numTensors);
        if (at.has(it)) saved.push(model.checkpoint({ iteration: it }));
      }
      assert.equal(new Set(counts.slice(1)).size, 1, `tensor count changes: ${[...new Set(counts)].join(',')}`);
      assert.ok(mean(losses.slice(-10)) < 0.7 * mean(losses.slice(0, 10)), `loss ${mean(losses.slice(0, 10))} → ${mean(losses.slice(-10))}`);
      const acc = accuracy(model, held);
      assert.ok(acc > 0.3, `held-out accuracy ${acc} (chance 0.1)`);
      assert.deepEqual(saved.map((c) => c.meta!['iteration']), [30, 60, 90, 120]);
      // The final checkpoint is the trained model.
      const last = loadModel(saved.at(-1)!) as StagedClassifier;
      assert.equal(accuracy(last, held), acc);
      trainer.dispose();
      model.dispose();
      last.dispose();
    });
  }
});
