// Tiny real components for the analysis tests: ColorMNIST test images, the `tiny` AE and
// ColorMNIST classifier, one small t per analysed layer (a spatial conv layer and the 64-d z),
// a small e with factors digit | color | residual, each trained for a few dozen steps, and a
// second classifier checkpoint for the training-dynamics analysis. Built once per test file.
import { tf } from '../../src/engine/index.ts';
import { Random } from '../../src/engine/random.ts';
import { loadColorMnist } from '../../src/data/mnist.ts';
import { subsetDataset } from '../../src/data/dataset.ts';
import { colorMnistPairs } from '../../src/data/pairs.ts';
import { AUTOENCODER_PRESETS, Autoencoder } from '../../src/models/autoencoder.ts';
import { COLORMNIST_CLASSIFIER_PRESETS, ColorMnistClassifier } from '../../src/models/classifier-colormnist.ts';
import { splittableStages } from '../../src/models/greybox.ts';
import { AutoencoderTrainer } from '../../src/train/autoencoder-trainer.ts';
import { ClassifierTrainer } from '../../src/train/classifier-trainer.ts';
import { ConditionalINN, SemanticINN } from '../../src/flows/index.ts';
import { cinnTrainStep, createFlowOptimizer, iinTrainStep } from '../../src/train/flow-train-step.ts';
import { encodeMean, imagesTensor, layersFromGreyboxes, type AnalysisContext } from '../../src/analysis/context.ts';

export interface Fixture {
  ctx: AnalysisContext;
  /** An untrained copy of the classifier (iteration 0) with its own t at 'z'. */
  early: { classify: (x: tf.Tensor) => tf.Tensor2D; phi: (x: tf.Tensor) => tf.Tensor; t: ConditionalINN };
  seconds: number;
  dispose(): void;
}

const STEPS = { ae: 60, classifier: 60, flow: 30, e: 30 };

function trainT(t: ConditionalINN, ae: Autoencoder, phi: (x: tf.Tensor) => tf.Tensor, data: AnalysisContext['data'], rng: Random): void {
  const opt = createFlowOptimizer({ learningRate: 2e-3 });
  for (let s = 0; s < STEPS.flow; s++) {
    const idx = Array.from({ length: 32 }, () => rng.int(data.shape[0]));
    tf.tidy(() => {
      const x = imagesTensor(data, idx);
      cinnTrainStep(t, opt, encodeMean(ae, x), phi(x));
    });
  }
  opt.dispose();
}

export function buildFixture(): Fixture {
  const started = performance.now();
  const full = loadColorMnist('test');
  const data = subsetDataset(full, Array.from({ length: 512 }, (_, i) => i), 'colormnist/test[0:512]');
  const rng = new Random(1);
  const batch = (n: number) => Array.from({ length: n }, () => rng.int(data.shape[0]));

  const ae = new Autoencoder(AUTOENCODER_PRESETS.tiny);
  const aeTrainer = new AutoencoderTrainer(ae, { learningRate: 3e-3, batchSize: 16, steps: STEPS.ae, decayStart: STEPS.ae });
  for (let s = 0; s < STEPS.ae; s++) tf.tidy(() => void aeTrainer.step(imagesTensor(data, batch(16)), s));
  aeTrainer.dispose();

  const make = () => new ColorMnistClassifier({ ...COLORMNIST_CLASSIFIER_PRESETS.tiny, zDim: 16, seed: 3 });
  const clf = make();
  const early = make();
  tf.tidy(() => void early.logits(imagesTensor(data, batch(16)))); // ActNorm init, no training
  const clfTrainer = new ClassifierTrainer(clf, { learningRate: 3e-3, steps: STEPS.classifier, decayStart: STEPS.classifier });
  for (let s = 0; s < STEPS.classifier; s++) {
    const idx = batch(32);
    tf.tidy(() => void clfTrainer.step(imagesTensor(data, idx), tf.tensor1d(idx.map((i) => data.labels[i]!), 'int32'), s));
  }

  const model = splittableStages({ name: 'colormnist-tiny', inputShape: clf.inputShape, stages: clf.stages });
  const gbs = [model.split('conv1'), model.split('z')];
  const flows = gbs.map((gb, i) => new ConditionalINN({
    dim: ae.config.zDim, conditionShape: gb.zShape, embeddingDim: 16, numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1,
    embedder: { depth: 2, baseChannels: 8, maxChannels: 16 }, seed: 10 + i,
  }));
  gbs.forEach((gb, i) => trainT(flows[i]!, ae, gb.phi, data, rng));
  const earlyGb = splittableStages({ name: 'early', inputShape: early.inputShape, stages: early.stages }).split('z');
  const earlyT = new ConditionalINN({ dim: ae.config.zDim, conditionShape: earlyGb.zShape, embeddingDim: 16, numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1, embedder: { depth: 2 }, seed: 20 });
  trainT(earlyT, ae, earlyGb.phi, data, rng);

  const e = new SemanticINN({ dim: ae.config.zDim, factorNames: ['digit', 'color', 'residual'], factorSizes: [6, 4, 6], numBlocks: 2, hiddenWidth: 32, hiddenDepth: 1, seed: 5 });
  const pairs = colorMnistPairs(full, { batchSize: 16, seed: 2 });
  const eOpt = createFlowOptimizer({ learningRate: 2e-3 });
  for (let s = 0; s < STEPS.e; s++) {
    const p = pairs.next();
    tf.tidy(() => {
      const za = encodeMean(ae, tf.tensor4d(p.a.images, p.shape));
      const zb = encodeMean(ae, tf.tensor4d(p.b.images, p.shape));
      iinTrainStep(e, eOpt, za, zb, Array.from(p.factors));
    });
  }
  eOpt.dispose();

  const ctx: AnalysisContext = {
    ae,
    layers: layersFromGreyboxes(gbs, flows),
    classify: (x) => clf.logits(x),
    e,
    data,
    modelName: 'colormnist-tiny',
  };
  return {
    ctx,
    early: { classify: (x) => early.logits(x), phi: (x) => earlyGb.phi(x), t: earlyT },
    seconds: (performance.now() - started) / 1000,
    dispose: () => {
      for (const m of [ae, clf, early, e, earlyT, ...flows]) m.dispose();
      clfTrainer.dispose();
    },
  };
}
