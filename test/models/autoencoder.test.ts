// The ActNorm autoencoder: shapes, the loss on a hand-computed case, save → load, ActNorm's
// saved initialisation, a short tiny-preset training run, the GAN and perceptual options.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initEngine, tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { loadColorMnist } from '../../src/data/node.ts';
import { Autoencoder, AUTOENCODER_PRESETS, Posterior, autoencoderLoss, perceptualDistance } from '../../src/models/autoencoder.ts';
import { loadModel, parseCheckpoint, serializeCheckpoint } from '../../src/models/checkpoints.ts';
import { ColorMnistClassifier, COLORMNIST_CLASSIFIER_PRESETS } from '../../src/models/classifier-colormnist.ts';
import { AutoencoderTrainer, DEFAULT_AUTOENCODER_TRAIN_CONFIG } from '../../src/train/autoencoder-trainer.ts';

/** A short run for tests (the jobs' presets live in src/pipeline/jobs/). */
const SMALL_TRAIN = { ...DEFAULT_AUTOENCODER_TRAIN_CONFIG, steps: 200, batchSize: 16, learningRate: 2e-3, decayStart: 200 };
import { batchAt, type LabeledImages } from '../../src/train/batches.ts';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
let data: LabeledImages;
const batch = (from: number, n: number) => batchAt(data, Array.from({ length: n }, (_, i) => from + i));

describe('Autoencoder', () => {
  before(async () => {
    await initEngine();
    data = loadColorMnist('test');
  });

  test('encode gives [B, zDim] mean/logvar; decode gives images in (−1, 1); bad shapes are named', () => {
    const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
    const { x, labels } = batch(0, 4);
    const post = ae.encode(x);
    assert.deepEqual(post.mean.shape, [4, 16]);
    assert.deepEqual(post.logVar.shape, [4, 16]);
    const z = post.sample(new Random(1));
    const y = ae.decode(z);
    assert.deepEqual(y.shape, [4, 32, 32, 3]);
    const [lo, hi] = [y.min().dataSync()[0]!, y.max().dataSync()[0]!];
    assert.ok(lo > -1 && hi < 1, `range ${lo}..${hi}`);
    assert.throws(() => ae.encode(tf.zeros([1, 28, 28, 1])), /expected images \[B, 32, 32, 3\], got \[1, 28, 28, 1\]/);
    assert.throws(() => ae.decode(tf.zeros([1, 8])), /expected codes \[B, 16\]/);
    assert.throws(() => new Autoencoder({ inSize: 30 }), /not divisible/);
    tf.dispose([x, labels, z, y]);
    post.dispose();
    ae.dispose();
  });

  test('loss: NLL = Σ(|x − x̂|/e^s + s)/B and KL = Σ ½(μ² + σ² − 1 − log σ²)/B on a hand-computed case', () => {
    // Two 1×2×1 "images"; s = log 2.
    const x = tf.tensor4d([0.5, -0.5, 0, 0], [2, 1, 2, 1]);
    const xRec = tf.tensor4d([0, 0, 0, 0.25], [2, 1, 2, 1]);
    const post = new Posterior(tf.tensor2d([[1, 0], [0, 0]]), tf.tensor2d([[0, Math.log(0.5)], [0, 0]]));
    const s = tf.scalar(Math.log(2));
    const t = autoencoderLoss(x, xRec, post, s, { klWeight: 1 });
    // image 1: (0.5/2 + ln2)·2; image 2: (0/2 + ln2) + (0.25/2 + ln2)
    const nll = ((0.25 + Math.LN2) * 2 + Math.LN2 + 0.125 + Math.LN2) / 2;
    // sample 1: ½[(1 + 1 − 1 − 0) + (0 + 0.5 − 1 − ln 0.5)]; sample 2: 0
    const kl = (0.5 * (1 + (0.5 - 1 - Math.log(0.5)))) / 2;
    assert.ok(Math.abs(t.nll.dataSync()[0]! - nll) < 1e-5, `nll ${t.nll.dataSync()[0]} vs ${nll}`);
    assert.ok(Math.abs(t.kl.dataSync()[0]! - kl) < 1e-6, `kl ${t.kl.dataSync()[0]} vs ${kl}`);
    assert.ok(Math.abs(t.loss.dataSync()[0]! - (nll + kl)) < 1e-5);
    const t2 = autoencoderLoss(x, xRec, post, s, { klWeight: 0.5 });
    assert.ok(Math.abs(t2.loss.dataSync()[0]! - (nll + 0.5 * kl)) < 1e-5);
    // logvar is clamped to [−30, 10] by the encoder
    tf.dispose([x, xRec, s, t.loss, t.nll, t.kl, t.l1, t2.loss, t2.nll, t2.kl, t2.l1]);
    post.dispose();
  });

  test('save → JSON → load gives bit-identical outputs; ActNorm init is saved and not re-run after load', () => {
    const ae = new Autoencoder({ ...AUTOENCODER_PRESETS.tiny, seed: 5 });
    const a = batch(0, 8);
    assert.equal(ae.initialized, false);
    tf.dispose(ae.reconstruct(tf.zeros([1, 32, 32, 3]))); // a one-image shape probe does not initialise
    assert.equal(ae.initialized, false);
    ae.initialize(a.x);
    assert.equal(ae.initialized, true);
    const ckpt = ae.checkpoint({ step: 0 });
    for (const [name, w] of Object.entries(ckpt.weights)) if (name.endsWith('.initialized')) assert.equal(w.data[0], 1, name);
    const loaded = loadModel(parseCheckpoint(serializeCheckpoint(ckpt))) as Autoencoder;
    assert.ok(loaded instanceof Autoencoder);
    assert.equal(loaded.initialized, true);
    // A batch with other statistics would re-initialise an uninitialised ActNorm.
    const b = tf.tidy(() => tf.add(tf.mul(batch(100, 8).x, 0.3), 0.4)) as tf.Tensor4D;
    const locBefore = loaded.params.get('enc.0.norm.loc').dataSync().slice();
    const outLoaded = loaded.reconstruct(b).dataSync();
    assert.deepEqual(loaded.params.get('enc.0.norm.loc').dataSync(), locBefore);
    const outOrig = ae.reconstruct(b).dataSync();
    assert.deepEqual(new Uint32Array(outLoaded.buffer), new Uint32Array(outOrig.buffer));
    const postA = ae.encode(b), postB = loaded.encode(b);
    assert.deepEqual(postA.logVar.dataSync(), postB.logVar.dataSync());
    // Contrast: a fresh model initialises from b.
    const fresh = new Autoencoder({ ...AUTOENCODER_PRESETS.tiny, seed: 5 });
    fresh.initialize(b);
    assert.notDeepEqual(fresh.params.get('enc.0.norm.loc').dataSync(), locBefore);
    assert.throws(() => Autoencoder.fromCheckpoint({ ...ckpt, weights: { ...ckpt.weights, extra: { shape: [1], data: new Float32Array(1) } } }), /unexpected: extra/);
    postA.dispose(); postB.dispose();
    tf.dispose([a.x, a.labels, b]);
    [ae, loaded, fresh].forEach((m) => m.dispose());
  });

  test('tiny preset: loss falls, no tensor leaks, and it reconstructs a fixed set better than its mean image', () => {
    const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
    const trainer = new AutoencoderTrainer(ae, { ...SMALL_TRAIN, steps: 150, decayStart: 150 });
    const n = 64;
    const rng = new Random(9);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 150; i++) {
      const idx = Array.from({ length: 16 }, () => rng.int(n));
      const { x, labels } = batchAt(data, idx);
      losses.push(trainer.step(x, i).loss);
      tf.dispose([x, labels]);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(new Set(counts.slice(1)).size, 1, `tensor count changes: ${[...new Set(counts)].join(',')}`);
    assert.ok(mean(losses.slice(-10)) < 0.5 * mean(losses.slice(0, 10)), `loss ${mean(losses.slice(0, 10))} → ${mean(losses.slice(-10))}`);
    const { x, labels } = batch(0, n);
    const [mseAe, mseConst] = tf.tidy(() => {
      const rec = ae.reconstruct(x);
      const meanImage = tf.mean(x, 0, true);
      return [tf.mean(tf.square(tf.sub(rec, x))).dataSync()[0]!, tf.mean(tf.square(tf.sub(meanImage, x))).dataSync()[0]!];
    });
    assert.ok(mseAe! < 0.8 * mseConst!, `AE mse ${mseAe} vs mean-image mse ${mseConst}`);
    tf.dispose([x, labels]);
    trainer.dispose();
    ae.dispose();
  });

  test('PatchGAN option: adaptive weight in [0, 1e4], finite losses, no leaks', () => {
    const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
    const trainer = new AutoencoderTrainer(ae, { ...SMALL_TRAIN, discriminator: { enabled: true, start: 1, lrFactor: 1, channels: [8, 16, 16] } });
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { x, labels } = batch(i * 8, 8);
      const m = trainer.step(x, i);
      if (i >= 1) {
        assert.ok(Number.isFinite(m['dLoss']) && Number.isFinite(m['g']), JSON.stringify(m));
        assert.ok(m['dWeight']! >= 0 && m['dWeight']! <= 1e4, `dWeight ${m['dWeight']}`);
      } else assert.equal(m['dLoss'], undefined);
      tf.dispose([x, labels]);
      counts.push(tf.memory().numTensors);
    }
    assert.equal(new Set(counts.slice(2)).size, 1, `tensor count changes: ${counts.join(',')}`);
    trainer.dispose();
    ae.dispose();
  });

  test('perceptual term from our own classifier\'s features: zero for identical images, trains', () => {
    const clf = new ColorMnistClassifier(COLORMNIST_CLASSIFIER_PRESETS.tiny);
    const { x, labels } = batch(0, 8);
    const features = (img: tf.Tensor4D) => { let h: tf.Tensor = img; return clf.stages.slice(0, 3).map((s) => (h = s.apply(h))); };
    tf.dispose(clf.logits(x)); // initialise its ActNorms
    const dist = perceptualDistance(features);
    const same = dist(x, x);
    const other = tf.tidy(() => dist(x, tf.reverse(x, 0) as tf.Tensor4D));
    assert.ok(same.max().dataSync()[0]! < 1e-6);
    assert.ok(other.min().dataSync()[0]! > 0);
    const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
    const trainer = new AutoencoderTrainer(ae, { ...SMALL_TRAIN, perceptualWeight: 1 }, dist);
    const m = trainer.step(x, 0);
    assert.ok(Number.isFinite(m.loss));
    // Only the AE's variables change; the feature network is fixed.
    tf.dispose([x, labels, same, other]);
    trainer.dispose(); ae.dispose(); clf.dispose();
  });
});
