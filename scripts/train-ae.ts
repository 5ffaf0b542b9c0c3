// Trains the ColorMNIST autoencoder (src/models/autoencoder.ts) and writes runs/<out>/:
// config.json, log.jsonl (progress events), checkpoints/ae-latest.json (every --save-every steps), ae.json (final),
// metrics.json (test PSNR). Checkpoints are written atomically.
//
//   node --import tsx scripts/train-ae.ts --preset default --out runs/ae-default [--max-minutes 22] [model.zDim=32 train.steps=100 ...]
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { loadColorMnist } from '../src/data/node.ts';
import { applyOverrides } from '../src/config/config.ts';
import { writeJsonAtomic } from '../src/runs/atomic-file.ts';
import { Autoencoder, AUTOENCODER_PRESETS } from '../src/models/autoencoder.ts';
import { writeCheckpointFile } from '../src/models/checkpoint-files.ts';
import { AutoencoderTrainer, AUTOENCODER_TRAIN_PRESETS } from '../src/train/autoencoder-trainer.ts';
import { BatchSampler } from '../src/train/batches.ts';
import { reconstructionPsnr } from '../src/train/metrics.ts';
import { trainLoop } from '../src/train/trainer.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    preset: { type: 'string', default: 'default' },
    out: { type: 'string' },
    'max-minutes': { type: 'string', default: '0' },
    'eval-every': { type: 'string', default: '250' },
    'eval-images': { type: 'string', default: '1000' },
    'save-every': { type: 'string', default: '250' },
  },
});
const preset = values.preset as 'tiny' | 'default';
if (!(preset in AUTOENCODER_TRAIN_PRESETS)) throw new Error(`unknown preset '${preset}'`);
const cfg = applyOverrides({ model: structuredClone(AUTOENCODER_PRESETS[preset]), train: structuredClone(AUTOENCODER_TRAIN_PRESETS[preset]) }, positionals);
const out = values.out ?? `runs/ae-${preset}`;
mkdirSync(join(out, 'checkpoints'), { recursive: true });
writeJsonAtomic(join(out, 'config.json'), cfg);
const log = (o: unknown) => { appendFileSync(join(out, 'log.jsonl'), `${JSON.stringify(o)}\n`); console.log(JSON.stringify(o)); };

const engine = await initEngine();
log({ event: 'engine', backend: engine.backend, time: new Date().toISOString() });
const train = loadColorMnist('train');
const test = loadColorMnist('test');
const ae = new Autoencoder(cfg.model);
const trainer = new AutoencoderTrainer(ae, cfg.train);
const sampler = new BatchSampler(train, cfg.train.batchSize, cfg.train.seed);
const maxMs = Number(values['max-minutes']) * 60_000;
const evalImages = Number(values['eval-images']);
const saveEvery = Number(values['save-every']);
const t0 = performance.now();
log({ event: 'start', params: ae.params.count(), config: cfg });

const save = (iteration: number, name: string) => writeCheckpointFile(join(out, name), ae.checkpoint({ iteration, elapsedMs: performance.now() - t0 }));
const result = await trainLoop({
  task: 'train ae',
  steps: cfg.train.steps,
  step: (i) => {
    const b = sampler.next();
    const m = trainer.step(b.x, i);
    tf.dispose([b.x, b.labels]);
    return m;
  },
  checkpointAt: Array.from({ length: Math.floor(cfg.train.steps / saveEvery) }, (_, k) => (k + 1) * saveEvery),
  onCheckpoint: (i) => save(i, 'checkpoints/ae-latest.json'),
  evalEvery: Number(values['eval-every']),
  evaluate: () => { const r = reconstructionPsnr(ae, test, evalImages); return { psnr: r.meanPsnr, datasetPsnr: r.datasetPsnr, l1: r.l1 }; },
  reportEvery: 25,
  onProgress: (e) => log({ ...e, numTensors: tf.memory().numTensors }),
  shouldStop: () => maxMs > 0 && performance.now() - t0 > maxMs,
});
const trainMs = performance.now() - t0;
save(result.iterations, 'ae.json');
const full = reconstructionPsnr(ae, test);
const metrics = { iterations: result.iterations, stoppedEarly: result.stoppedEarly, trainMinutes: trainMs / 60000, testPsnr: full.meanPsnr, testDatasetPsnr: full.datasetPsnr, testL1: full.l1, testImages: full.images, params: ae.params.count() };
writeJsonAtomic(join(out, 'metrics.json'), metrics);
log({ event: 'done', ...metrics });
