// Every analysis on tiny real models (fixture.ts): it runs, returns finite numbers of the
// right shapes, frees its tensors, reports monotone progress, and its figure function renders
// the PNG / SVG / JSON artefacts (the PNGs decode, the SVGs are SVG) without touching files.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { tf, initEngine } from '../../src/engine/index.ts';
import type { ProgressEvent } from '../../src/runs/progress.ts';
import { featureExtractor } from '../../src/analysis/fid.ts';
import { compareModels } from '../../src/analysis/compare-models.ts';
import {
  attackFigures, dynamicsFigures, invarianceFigures, mixFigures, modifyFigures, sampleFigures, semanticFigures, table1Figures, type Artefact,
} from '../../src/figures/analysis-figures.ts';
import { buildFixture, type Fixture } from './fixture.ts';

let fx: Fixture;

before(async () => {
  await initEngine({ backend: 'wasm' });
  fx = buildFixture();
});

after(() => {
  fx.dispose();
});

async function checkFiles(artefacts: Artefact[], expected: string[]): Promise<void> {
  assert.deepEqual(artefacts.map((a) => a.name).sort(), [...expected].sort());
  for (const { name, bytes } of artefacts) {
    const text = () => new TextDecoder().decode(bytes);
    if (name.endsWith('.png')) {
      const meta = await sharp(bytes).metadata();
      assert.ok(meta.format === 'png' && meta.width! > 20 && meta.height! > 20, `${name}: ${JSON.stringify({ format: meta.format, w: meta.width, h: meta.height })}`);
    } else if (name.endsWith('.svg')) {
      assert.match(text(), /^<svg[\s\S]*<\/svg>$/);
    } else if (name.endsWith('.json')) {
      JSON.parse(text());
    }
  }
}

function finite(x: number, what: string): void {
  assert.ok(Number.isFinite(x), `${what} is ${x}`);
}

function progressLog(): { events: ProgressEvent[]; onProgress: (e: ProgressEvent) => void; checkMonotone(): void } {
  const events: ProgressEvent[] = [];
  return {
    events,
    onProgress: (e) => events.push(e),
    checkMonotone() {
      const last = new Map<string, number>();
      for (const e of events) {
        assert.ok(e.step >= (last.get(e.task) ?? -Infinity), `progress of '${e.task}' went back`);
        last.set(e.task, e.step);
      }
      assert.ok(events.length > 0, 'no progress events');
    },
  };
}

test('the fixture trains in a few seconds', (t) => {
  t.diagnostic(`fixture built in ${fx.seconds.toFixed(1)} s`);
  assert.equal(fx.ctx.layers.length, 2);
});

test('1 samples: grid, mean/variance maps, re-encoding check', async () => {
  const before = tf.memory().numTensors;
  const p = progressLog();
  const r = await sampleFigures(fx.ctx, { layer: 'conv1', count: 3, samples: 4, seed: 1, onProgress: p.onProgress });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  p.checkMonotone();
  await checkFiles(r.artefacts, ['samples-conv1.png', 'samples-conv1.json']);
  const re = r.numbers.reencoding;
  for (const k of ['samples', 'randomPairs', 'reconstruction'] as const) finite(re[k], k);
});

test('2 invariance per layer: shares for every layer, plot', async () => {
  const before = tf.memory().numTensors;
  const r = await invarianceFigures(fx.ctx, { inputs: 8, samples: 4, dataImages: 64, seed: 2 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['invariance-per-layer.json', 'invariance-per-layer.svg', 'invariance-per-layer.png', 'invariance-per-layer-variance.svg', 'invariance-per-layer-variance.png']);
  assert.deepEqual(r.numbers.layers.map((l) => l.layer), ['conv1', 'z']);
  for (const l of r.numbers.layers) for (const k of ['zbarVariance', 'zbarShare', 'imageVariance', 'imageShare'] as const) finite(l[k], `${l.layer}.${k}`);
});

test('3 semantic sensitivity per layer and factor', async () => {
  const before = tf.memory().numTensors;
  const r = await semanticFigures(fx.ctx, { inputs: 8, samples: 4, dataImages: 64, seed: 3 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['semantic-sensitivity.json', 'semantic-sensitivity.svg', 'semantic-sensitivity.png']);
  assert.deepEqual(r.numbers.factorNames, ['digit', 'color', 'residual']);
  for (const l of r.numbers.layers) {
    for (const f of r.numbers.factorNames) {
      const x = l.factors[f]!;
      assert.ok(x.sensitivity >= 0 && x.sensitivity <= 1, `${l.layer}.${f}: sensitivity ${x.sensitivity} outside [0, 1]`);
      finite(x.manifoldRatio, `${l.layer}.${f} manifold ratio`);
      assert.equal(x.offManifold, r.numbers.warnings.some((w) => w.includes(`layer ${l.layer}, ${f}:`)));
    }
  }
});

test('4 training dynamics over two checkpoints', async () => {
  const before = tf.memory().numTensors;
  const z = fx.ctx.layers[1]!;
  const r = await dynamicsFigures(fx.ctx, [
    { iteration: 0, layer: { phi: fx.early.phi, t: fx.early.t }, classify: fx.early.classify },
    { iteration: 60, layer: z, classify: fx.ctx.classify },
  ], { inputs: 8, samples: 4, dataImages: 64, accuracyImages: 128, showInputs: 2, showSamples: 3, seed: 4 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['training-dynamics.json', 'training-dynamics.svg', 'training-dynamics.png', 'training-dynamics-samples.png']);
  const [a, b] = r.numbers.checkpoints;
  assert.ok(b!.accuracy! > a!.accuracy!, `the trained checkpoint is more accurate: ${a!.accuracy} → ${b!.accuracy}`);
  for (const c of r.numbers.checkpoints) for (const f of r.numbers.factorNames) assert.ok(c.factors[f]!.sensitivity >= 0 && c.factors[f]!.sensitivity <= 1, `${c.iteration}.${f}`);
});

test('5 attacks: FGSM figure + numbers per layer, loss goes up, the control changes less', async () => {
  const before = tf.memory().numTensors;
  const r = await attackFigures(fx.ctx, { kind: 'fgsm', epsilon: 0.1, count: 16, showInputs: 2, invarianceInputs: 4, invarianceSamples: 4, seed: 5 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['attack-fgsm.png', 'attack-fgsm.json', 'attack-fgsm-stats.svg', 'attack-fgsm-stats.png']);
  const s = r.numbers;
  assert.ok(s.loss.adversarial > s.loss.clean, `loss ${s.loss.clean} → ${s.loss.adversarial}`);
  assert.ok(s.meanLinf <= 0.1 + 1e-6);
  for (const l of s.layers) {
    finite(l.representationChange, 'representationChange');
    assert.ok(l.representationChange > 0);
  }
  const pgd = await attackFigures(fx.ctx, { kind: 'pgd', epsilon: 0.1, steps: 3, target: 3, count: 8, showInputs: 1, invarianceInputs: 4, invarianceSamples: 4, seed: 5 });
  assert.ok(pgd.artefacts.some((a) => a.name === 'attack-pgd-target3.png'));
});

test('6 semantic modification: grid, distances per factor', async () => {
  const before = tf.memory().numTensors;
  const r = await modifyFigures(fx.ctx, { showInputs: 3, count: 16, seed: 6 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['semantic-modification.png', 'semantic-modification.json', 'semantic-modification-distance.svg', 'semantic-modification-distance.png']);
  assert.deepEqual(r.numbers.factors.map((f) => f.factor), ['digit', 'color']);
  for (const f of r.numbers.factors) {
    finite(f.distance, f.factor);
    f.partners.forEach((j, i) => assert.ok(f.factor !== 'digit' || fx.ctx.data.labels[j] !== fx.ctx.data.labels[r.numbers.indices[i]!], 'digit partners differ in the digit'));
  }
});

test('7 mixing and 8 model comparison', async () => {
  const before = tf.memory().numTensors;
  const m = await mixFigures(fx.ctx, { layer: 'z', count: 3, seed: 7 });
  const z = fx.ctx.layers[1]!;
  const c = compareModels(fx.ctx, [{ name: 'trained', layer: z }, { name: 'untrained', layer: { name: 'z', phi: fx.early.phi, t: fx.early.t } }], { count: 2, samples: 3, seed: 8 });
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(m.artefacts, ['mixing-z.png', 'mixing-z.json']);
  assert.deepEqual(c.models.map((x) => x.samples.shape), [[6, 32, 32, 3], [6, 32, 32, 3]]);
});

test('9 table 1: ours (mean ± std over seeds) vs D&B vs M&V per layer', async () => {
  const before = tf.memory().numTensors;
  const clf = fx.ctx;
  const features = featureExtractor('colormnist-tiny/z', (x) => clf.layers[1]!.phi(x), { from: [-1, 1] });
  const p = progressLog();
  const r = await table1Figures(fx.ctx, { features, images: 48, seeds: [0, 1], dnb: { steps: 20 }, mv: { images: 8, steps: 10 }, seed: 9, batchSize: 4, onProgress: p.onProgress });
  p.checkMonotone();
  assert.ok(p.events.some((e) => e.task.endsWith('M&V batch 2')), 'M&V batches report progress');
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  await checkFiles(r.artefacts, ['table1.json', 'table1.md', 'table1.svg', 'table1.png', 'table1-examples.png']);
  for (const row of r.numbers.rows) {
    assert.equal(row.ours.perSeed.length, 2);
    for (const v of [row.ours.mean, row.ours.std, row.dnb!, row.mv!]) finite(v, row.layer);
  }
  finite(r.numbers.reconstruction, 'reconstruction');
});
