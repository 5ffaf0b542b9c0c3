// Trains a classifier under study on ColorMNIST and writes runs/<out>/: config.json, log.jsonl,
// checkpoints/<model>-<iteration>.json at equally spaced iterations (atomic writes), metrics.json
// (test accuracy of every checkpoint on --eval-images test images, and of the final one on all).
//
//   node --import tsx scripts/train-classifier.ts --model colormnist|squeezenet --preset default \
//        --out runs/clf-colormnist [--max-minutes 18] [train.steps=4000 train.checkpoints=20 model.seed=1 ...]
//   Continue a run that hit its time limit (new Adam state; iterations numbered on from N):
//     ... --init-from runs/clf-squeezenet/checkpoints/squeezenet-final.json --iteration-offset N
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { loadColorMnist } from '../src/data/node.ts';
import { applyOverrides } from '../src/config/config.ts';
import { writeJsonAtomic } from '../src/runs/atomic-file.ts';
import { readCheckpointFile, writeCheckpointFile } from '../src/models/checkpoint-files.ts';
import { checkpointIterations } from '../src/models/checkpoints.ts';
import type { StagedClassifier } from '../src/models/classifier.ts';
import { ColorMnistClassifier, COLORMNIST_CLASSIFIER_PRESETS } from '../src/models/classifier-colormnist.ts';
import { SqueezeNet, SQUEEZENET_PRESETS } from '../src/models/squeezenet.ts';
import { BatchSampler, type LabeledImages } from '../src/train/batches.ts';
import { ClassifierTrainer, CLASSIFIER_TRAIN_PRESETS } from '../src/train/classifier-trainer.ts';
import { accuracy } from '../src/train/metrics.ts';
import { trainLoop } from '../src/train/trainer.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', default: 'colormnist' },
    preset: { type: 'string', default: 'default' },
    out: { type: 'string' },
    'max-minutes': { type: 'string', default: '0' },
    'eval-images': { type: 'string', default: '2000' },
    'init-from': { type: 'string' },
    'iteration-offset': { type: 'string', default: '0' },
  },
});
const preset = values.preset as 'tiny' | 'default';
const kind = values.model!;
const modelPresets = kind === 'squeezenet' ? SQUEEZENET_PRESETS : kind === 'colormnist' ? COLORMNIST_CLASSIFIER_PRESETS : null;
if (!modelPresets) throw new Error(`unknown model '${kind}' (colormnist, squeezenet)`);
const cfg = applyOverrides({ model: structuredClone(modelPresets[preset]) as unknown as Record<string, unknown>, train: structuredClone(CLASSIFIER_TRAIN_PRESETS[preset]) }, positionals);
const out = values.out ?? `runs/clf-${kind}-${preset}`;
mkdirSync(join(out, 'checkpoints'), { recursive: true });
writeJsonAtomic(join(out, 'config.json'), { kind, ...cfg });
const log = (o: unknown) => { appendFileSync(join(out, 'log.jsonl'), `${JSON.stringify(o)}\n`); console.log(JSON.stringify(o)); };

const engine = await initEngine();
log({ event: 'engine', backend: engine.backend, time: new Date().toISOString() });
const train = loadColorMnist('train');
const test = loadColorMnist('test');
const model: StagedClassifier = kind === 'squeezenet' ? new SqueezeNet(cfg.model as never) : new ColorMnistClassifier(cfg.model as never);
const offset = Number(values['iteration-offset']);
if (values['init-from']) {
  const ckpt = readCheckpointFile(values['init-from']);
  if (ckpt.className !== model.className) throw new Error(`--init-from: checkpoint is a ${ckpt.className}, not a ${model.className}`);
  model.params.loadWeights(ckpt.weights, `--init-from ${values['init-from']}`);
  log({ event: 'init-from', file: values['init-from'], meta: ckpt.meta, iterationOffset: offset });
}
const trainer = new ClassifierTrainer(model, cfg.train);
const sampler = new BatchSampler(train as LabeledImages, cfg.train.batchSize, cfg.train.seed);
const maxMs = Number(values['max-minutes']) * 60_000;
const evalImages = Number(values['eval-images']);
const t0 = performance.now();
let trainMs = 0;
log({ event: 'start', params: model.params.count(), config: cfg });
const curve: { iteration: number; testAccuracy: number; file: string; trainMinutes: number }[] = [];
const result = await trainLoop({
  task: `train ${kind}`,
  steps: cfg.train.steps,
  step: (i) => {
    const s = performance.now();
    const b = sampler.next();
    const m = trainer.step(b.x, b.labels, i);
    tf.dispose([b.x, b.labels]);
    trainMs += performance.now() - s;
    return m;
  },
  checkpointAt: checkpointIterations(cfg.train.steps, cfg.train.checkpoints, cfg.train.includeInitialCheckpoint),
  onCheckpoint: (localIteration) => {
    const iteration = localIteration + offset;
    if (localIteration === 0 && !values['init-from']) { // initialise ActNorms on a batch before saving the untrained model
      const b = sampler.next();
      tf.dispose([model.logits(b.x), b.x, b.labels]);
    }
    const file = `checkpoints/${kind}-${String(iteration).padStart(6, '0')}.json`;
    const acc = accuracy(model, test as LabeledImages, evalImages);
    writeCheckpointFile(join(out, file), model.checkpoint({ iteration, testAccuracy: acc, evalImages }));
    curve.push({ iteration, testAccuracy: acc, file, trainMinutes: trainMs / 60000 });
    writeJsonAtomic(join(out, 'curve.json'), curve);
  },
  reportEvery: 50,
  onProgress: (e) => log({ ...e, numTensors: tf.memory().numTensors }),
  shouldStop: () => maxMs > 0 && performance.now() - t0 > maxMs,
});
const file = `checkpoints/${kind}-final.json`;
writeCheckpointFile(join(out, file), model.checkpoint({ iteration: result.iterations + offset }));
const finalAcc = accuracy(model, test as LabeledImages);
const metrics = { kind, iterations: result.iterations + offset, initFrom: values['init-from'] ?? null, stoppedEarly: result.stoppedEarly, trainMinutes: trainMs / 60000, wallMinutes: (performance.now() - t0) / 60000, testAccuracy: finalAcc, testImages: test.shape[0], params: model.params.count(), curve };
writeJsonAtomic(join(out, 'metrics.json'), metrics);
log({ event: 'done', ...metrics });
