// Bring your own model (issue #8), end to end on the tiny preset: the real pretrained
// MobileNetV2 of the npm package nsfwjs, analysed at two layers on real photographs (the sample
// images of Debian's python3-skimage, copied and resized into a temp folder by the setup):
// AE training, t at two layers, iin from a pair file and from sub-folder labels, sampling, an
// FGSM view, the report when `inntrospect report` is registered, and the explorer on the same run
// folders in Chromium (sample, attack, semantic edit). Then the errors a user hits.
// The 12 photos are too few to hold some out, so every run sets --data.testFraction=0: all are
// trained on and analysed, and the analyses say so (held-out splits: test/data/folder-split.test.ts).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePhotoFolder } from './photos.ts';
import { writeGraphModel, writeLayersModel } from './fixtures.ts';
import { createHash } from 'node:crypto';
import { initEngine, tf } from '../../src/engine/index.ts';
import { loadExternalModel } from '../../src/explorer/studied-model.ts';
import { openModelUnderStudy } from '../../src/pipeline/external-model.ts';
import { ensureExplorerBuilt } from '../../src/explorer/build.ts';
import { virtualZooFromRuns } from '../../src/pipeline/run-sources.ts';
import { dataTestSet, startExplorerServer } from '../../src/explorer/server.ts';
import { assertNonBlank, closeBrowser, consoleErrors, done, launchBrowser, openPage, setControl, skipReason, waitDone } from '../explorer/page-driver.ts';

const CLI = ['bin/inntrospect.js'];

function cli(args: string[]) {
  const started = Date.now();
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env: { ...process.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (Date.now() - started) / 1000 };
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const MODEL = 'nsfwjs-mobilenet-v2';
const LAYERS = ['block_6_project_BN', 'dense_2'];
const work = mkdtempSync(join(tmpdir(), 'inntrospect-byom-test-'));
const runs = join(work, 'runs');
let photos = '';
let aeRun = '';
const cinnRuns: string[] = [];
let iinRun = '';
const timings: Record<string, number> = {};
let graphRun = '';

describe('bring your own model: nsfwjs MobileNetV2 on skimage photographs (tiny)', () => {
  before(async () => {
    // This process builds small models for the error cases (and the explorer's modules pick the engine).
    await initEngine();
    photos = await makePhotoFolder(96);
    const ae = cli(['train', 'ae', '--preset', 'tiny', '--data', photos, '--runs', runs, '--name', 'ae', '--train.batchSize=4', '--data.size=32', '--data.testFraction=0']);
    assert.equal(ae.status, 0, ae.stderr);
    timings['train ae'] = ae.seconds;
    aeRun = lastJson(ae.stdout)['run'] as string;
    // Grey photographs among colour ones are converted, and the user is told.
    assert.match(ae.stderr, /note: image folder .*mixed channel counts: 3 grey images converted to RGB/);
  });

  test('t at two layers of MobileNetV2: Φ(x) = model(preprocess(x)) from 32×32 photos to 224×224', () => {
    for (const layer of LAYERS) {
      const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', MODEL, '--layer', layer, '--runs', runs, '--name', `cinn-${layer}`, '--train.batchSize=4', '--train.steps=4', '--data.size=32', '--data.testFraction=0']);
      assert.equal(r.status, 0, r.stderr);
      timings[`train cinn ${layer}`] = r.seconds;
      assert.match(r.stderr, /note: Φ\(x\) = nsfwjs-mobilenet-v2\(preprocess\(x\)\): 32×32×3 images in \[-1, 1\] are resized \(bilinear\) and mapped to the model's input \(224×224×3, values in \[0, 1\]\)/);
      const out = lastJson(r.stdout);
      assert.equal(out['steps'], 4);
      assert.ok(Number.isFinite((out['last'] as Record<string, number>)['loss']));
      const config = JSON.parse(readFileSync(join(out['run'] as string, 'config.json'), 'utf8'));
      assert.equal(config.data.dataset, 'folder');
      assert.equal(config.model, MODEL);
      cinnRuns.push(out['run'] as string);
    }
  });

  test('iin on the photos: from a JSON file of attributes, and from sub-folder labels', () => {
    const attributes = {
      attributes: {
        'colour/astronaut.jpg': { subject: 'person', setting: 'space' },
        'colour/rocket.jpg': { subject: 'machine', setting: 'space' },
        'colour/hubble_deep_field.jpg': { setting: 'space' },
        'colour/motorcycle_left.jpg': { subject: 'machine', setting: 'street' },
        'colour/motorcycle_right.jpg': { subject: 'machine', setting: 'street' },
        'grey/camera.png': { subject: 'person', setting: 'street' },
      },
    };
    const file = join(work, 'attributes.json');
    writeFileSync(file, JSON.stringify(attributes));
    const e = cli(['train', 'iin', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--pairs', file, '--runs', runs, '--name', 'iin', '--train.batchSize=4', '--train.steps=6', '--data.size=32', '--data.testFraction=0']);
    assert.equal(e.status, 0, e.stderr);
    iinRun = lastJson(e.stdout)['run'] as string;
    const model = JSON.parse(readFileSync(join(iinRun, 'model.json'), 'utf8'));
    assert.match(JSON.stringify(model), /"subject","setting","residual"/);
    const byLabel = cli(['train', 'iin', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--runs', runs, '--name', 'iin-labels', '--train.batchSize=4', '--train.steps=4', '--data.size=32', '--data.testFraction=0']);
    assert.equal(byLabel.status, 0, byLabel.stderr);
    // A pair naming an image that is not in the folder says which and how paths are written.
    writeFileSync(file, JSON.stringify({ pairs: [{ a: 'colour/astronaut.jpg', b: 'colour/nope.jpg', factor: 'x' }] }));
    const bad = cli(['train', 'iin', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--pairs', file, '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /pairs\[0\]\.b 'colour\/nope\.jpg' is not an image of the folder \(paths are relative to data\.folder/);
  });

  test('sample and attack (FGSM) on the two layers, unchanged analysis commands', () => {
    assert.equal(cinnRuns.length, 2);
    const out = join(work, 'analysis');
    const s = cli(['sample', ...cinnRuns, '--layer', 'block_6_project_BN', '--images', '12', '--count', '2', '--samples', '3', '-o', join(out, 'sample')]);
    assert.equal(s.status, 0, s.stderr);
    timings['sample'] = s.seconds;
    assert.ok(existsSync(join(out, 'sample', 'samples-block_6_project_BN.png')));
    const sn = lastJson(s.stdout) as { reencoding: { samples: number; randomPairs: number } };
    assert.ok(Number.isFinite(sn.reencoding.samples) && Number.isFinite(sn.reencoding.randomPairs));
    const a = cli(['attack', ...cinnRuns, '--kind', 'fgsm', '--epsilon', '0.1', '--images', '12', '--count', '2', '-o', join(out, 'attack')]);
    assert.equal(a.status, 0, a.stderr);
    timings['attack'] = a.seconds;
    assert.ok(existsSync(join(out, 'attack', 'attack-fgsm.png')));
    const an = lastJson(a.stdout) as { layers: { layer: string; representationChange: number }[]; loss: { clean: number; adversarial: number } };
    assert.deepEqual(an.layers.map((l) => l.layer), LAYERS);
    // FGSM through preprocess and MobileNetV2 raises the model's loss.
    assert.ok(an.loss.adversarial > an.loss.clean, JSON.stringify(an.loss));
    assert.ok(an.layers.every((l) => Number.isFinite(l.representationChange) && l.representationChange > 0));
  });

  test('the explorer on the same run folders: MobileNetV2 loaded in the page, photos, samples, FGSM, a semantic edit', { skip: skipReason(), timeout: 300_000 }, async () => {
    const started = Date.now();
    const runs = await virtualZooFromRuns([...cinnRuns, iinRun]);
    // The model inntrospect did not train is repacked into one model.json + one weights file, checksummed.
    assert.equal(runs.manifest.classifier, undefined);
    assert.equal(runs.manifest.model?.spec, MODEL);
    assert.equal(runs.manifest.model?.format, 'layers');
    assert.deepEqual(Object.keys(runs.manifest.cinn).sort(), [...LAYERS].sort());
    assert.equal(runs.data.dataset, 'folder');
    const build = await ensureExplorerBuilt(join(work, 'build'));
    const server = await startExplorerServer({ runs, buildDir: build.dir, port: 0, testSet: await dataTestSet(runs.data, 12) });
    await launchBrowser();
    try {
      const p = await openPage(server.url);
      const init = await p.evaluate(() => window.explorer.init!);
      assert.equal(await p.evaluate(() => window.explorer.fatal), null);
      assert.deepEqual(init.models.filter((m) => !m.ok), []);
      assert.deepEqual(init.layers, LAYERS);
      assert.deepEqual(init.outputNames, ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
      assert.match(init.modelInput, /^224×224×3, values in \[0, 1\], outputs probabilities$/);
      assert.deepEqual(init.testSet!.images.shape, [12, 32, 32, 3]);
      assert.deepEqual(init.factors, ['subject', 'setting']);
      await waitDone(p, 'sample', 0);
      await assertNonBlank(p, '[data-testid=sample-output]', 3);
      const represent = await p.evaluate(() => window.explorer.last['sample'] as { prediction: { probabilities: number[] } | null });
      // The page's prediction is MobileNetV2's own softmax output (log-probabilities re-normalised).
      assert.equal(represent.prediction?.probabilities.length, 5);
      assert.ok(Math.abs(represent.prediction!.probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
      let n = await done(p, 'sample');
      await setControl(p, 'layer', 'block_6_project_BN');
      await waitDone(p, 'sample', n);
      await p.click('[data-testid=tab-attack]');
      await waitDone(p, 'attack', 0);
      n = await done(p, 'attack');
      await setControl(p, 'epsilon', '0.1');
      await waitDone(p, 'attack', n);
      const attack = await p.evaluate(() => window.explorer.last['attack'] as { linf: number; layers: { layer: string }[] });
      assert.ok(attack.linf > 0.09, `FGSM through preprocess and MobileNetV2 moved the image by only ${attack.linf}`);
      assert.deepEqual(attack.layers.map((l) => l.layer), LAYERS);
      await p.click('[data-testid=tab-edit]');
      await waitDone(p, 'edit', 0);
      await assertNonBlank(p, '[data-testid=edit-output]', 3 + 7);
      await p.close();
    } finally {
      await closeBrowser();
      await server.close();
    }
    assert.deepEqual(consoleErrors, []);
    timings['explorer'] = (Date.now() - started) / 1000;
  });

  test('report, when the command is registered', (t) => {
    const help = cli(['--help']);
    if (!/^\s+report\b/m.test(help.stdout)) {
      t.skip('inntrospect report is not registered');
      return;
    }
    const file = join(work, 'report', 'report.html');
    const r = cli(['report', cinnRuns[1]!, '--images', '8', '--inputs', '2', '--samples', '2', '--table-images', '4', '--seeds', '0', '--mv-images', '0', '--dnb-steps', '2', '-o', file]);
    timings['report'] = r.seconds;
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(file));
  });

  test('timings', () => {
    process.stderr.write(`byom timings (s): ${JSON.stringify(timings)}\n`);
  });
});

describe('bring your own model: errors say what to do', () => {
  const dir = join(work, 'errors');

  test('a layer that does not exist lists the valid ones', () => {
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', MODEL, '--layer', 'block_99', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /nsfwjs-mobilenet-v2: unknown layer 'block_99'\. Valid cut points \(82\): input_1, .*block_6_project_BN/);
  });

  test('a model folder with a missing shard names the shard file', async () => {
    const layers = await writeLayersModel(join(dir, 'layers-missing'));
    rmSync(join(layers, 'group1-shard1of1.bin'));
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', layers, '--layer', 'conv2', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /group1-shard1of1\.bin named in weightsManifest does not exist/);
    const graph = writeGraphModel(join(dir, 'graph-missing'));
    rmSync(join(graph, 'group1-shard1of1.bin'));
    const g = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', graph, '--layer', 'relu', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(g.status, 1);
    assert.match(g.stderr, /weight shard 'group1-shard1of1\.bin' .* is missing; copy every file model\.json's weightsManifest names next to it/);
  });

  test('a layer whose output is not a float tensor is refused', () => {
    const graph = writeGraphModel(join(dir, 'graph'));
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', graph, '--layer', 'cast', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /layer 'cast' outputs int32 values, not float32; t can only be conditioned on a float tensor/);
  });

  test('a graph model: t at a node (Φ only; no Ψ), the card assumption noted, sample and attack run', () => {
    const graph = writeGraphModel(join(dir, 'graph-ok'));
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', graph, '--layer', 'relu', '--runs', runs, '--train.steps=3', '--train.batchSize=4', '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /no model-card\.json gives the input value range; assuming pixels in \[0, 1\]/);
    // The analyses need only Φ, t and f, so they run on a graph model too.
    const run = lastJson(r.stdout)['run'] as string;
    const s = cli(['sample', run, '--layer', 'relu', '--images', '12', '--count', '2', '--samples', '2', '-o', join(dir, 'graph-sample')]);
    assert.equal(s.status, 0, s.stderr);
    // The analysis commands print the adapter's notes as training does.
    assert.match(s.stderr, /note: .*no model-card\.json gives the input value range; assuming pixels in \[0, 1\]/);
    assert.ok(existsSync(join(dir, 'graph-sample', 'samples-relu.png')));
    const a = cli(['attack', run, '--images', '12', '--count', '2', '-o', join(dir, 'graph-attack')]);
    assert.equal(a.status, 0, a.stderr);
    assert.deepEqual((lastJson(a.stdout) as { layers: { layer: string }[] }).layers.map((l) => l.layer), ['relu']);
 
    graphRun = run;
  });

  test("the explorer's files for a graph model: repacked, checksummed, and the worker's loader gives the CLI's Φ and f", async () => {
    assert.ok(graphRun, 'needs the graph-model run of the previous test');
    const runs = await virtualZooFromRuns([graphRun]);
    const entry = runs.manifest.model!;
    assert.equal(entry.format, 'graph');
    assert.equal(runs.manifest.classifier, undefined);
    const json = runs.files.get(entry.json.file) as Uint8Array;
    const weights = runs.files.get(entry.weights.file) as Uint8Array;
    assert.equal(createHash('sha256').update(json).digest('hex'), entry.json.sha256);
    assert.equal(createHash('sha256').update(weights).digest('hex'), entry.weights.sha256);
    // The page's loader (browser-safe code, run here in Node) against the CLI's adapter.
    const { model: inPage, notes } = await loadExternalModel(entry, new TextDecoder().decode(json), weights);
    assert.match(notes.join(' '), /no model-card\.json gives the input value range/);
    const cliModel = await openModelUnderStudy(JSON.parse(readFileSync(join(graphRun, 'config.json'), 'utf8')).model);
    const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 5);
    const dz = tf.tidy(() => tf.max(tf.abs(tf.sub(inPage.layer('relu').phi(x), cliModel.layer('relu').phi(x)))).dataSync()[0]!);
    const df = tf.tidy(() => tf.max(tf.abs(tf.sub(inPage.logits(x), cliModel.classify(x)))).dataSync()[0]!);
    assert.ok(dz < 1e-6 && df < 1e-6, `page vs CLI: Φ ${dz}, f ${df}`);
    tf.dispose(x);
    inPage.dispose();
    cliModel.dispose();
  });

  test('a model edited after its t was trained is refused by the analyses and the explorer, saying what changed', async () => {
    const layers = await writeLayersModel(join(dir, 'layers-edited'), 16, { valueRange: [0, 1] });
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', layers, '--layer', 'conv2', '--runs', runs, '--train.steps=2', '--train.batchSize=4', '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 0, r.stderr);
    const run = lastJson(r.stdout)['run'] as string;
    const recorded = JSON.parse(readFileSync(join(run, 'model-under-study.json'), 'utf8')) as { weightsSha256: string; card: unknown };
    assert.match(recorded.weightsSha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(recorded.card, { valueRange: [0, 1] });
    // Unchanged: the analyses run.
    assert.equal(cli(['sample', run, '--layer', 'conv2', '--images', '12', '--count', '1', '--samples', '2', '-o', join(dir, 'edited-sample')]).status, 0);
    // The card edited afterwards: t describes another Φ.
    writeFileSync(join(layers, 'model-card.json'), JSON.stringify({ valueRange: [0, 255] }));
    const s = cli(['sample', run, '--layer', 'conv2', '--images', '12', '--count', '1', '--samples', '2', '-o', join(dir, 'edited-sample')]);
    assert.equal(s.status, 1);
    assert.match(s.stderr, /t was trained on .*layers-edited, which has changed since: its model-card\.json \(\{"valueRange":\[0,1\]\} then, \{"valueRange":\[0,255\]\} now\)\. t describes the old Φ; retrain it/);
    await assert.rejects(virtualZooFromRuns([run]), /which has changed since: its model-card\.json/);
    // New weights under the same card: refused too.
    writeFileSync(join(layers, 'model-card.json'), JSON.stringify({ valueRange: [0, 1] }));
    const shard = join(layers, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[0] = bytes[0]! ^ 1;
    writeFileSync(shard, bytes);
    const w = cli(['sample', run, '--layer', 'conv2', '--images', '12', '--count', '1', '--samples', '2', '-o', join(dir, 'edited-sample')]);
    assert.equal(w.status, 1);
    assert.match(w.stderr, /which has changed since: its weights \(sha256 [0-9a-f]{12}… then, [0-9a-f]{12}… now\)/);
  });

  test('a model card that contradicts the model is refused, naming the field', async () => {
    const layers = await writeLayersModel(join(dir, 'layers-card'), 16, { inputSize: [32, 32], valueRange: [0, 255] });
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', layers, '--layer', 'conv2', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /model-card\.json says inputSize \[32,32\] but the model's input is \[16,16\]/);
  });

  test('unreadable files in an image folder are all listed', () => {
    const folder = join(dir, 'broken-photos');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'a.png'), readFileSync(join(photos, 'grey', 'camera.png')));
    writeFileSync(join(folder, 'b.jpg'), 'not a jpeg');
    writeFileSync(join(folder, 'c.png'), Buffer.alloc(40));
    const r = cli(['train', 'ae', '--preset', 'tiny', '--data', folder, '--runs', runs]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /2 of 3 files cannot be read as images; remove or re-save them/);
    assert.match(r.stderr, /b\.jpg/);
    assert.match(r.stderr, /c\.png/);
  });

  test('fewer images than the batch size says which batch size to use', () => {
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', MODEL, '--layer', 'dense_2', '--runs', runs, '--data.size=32', '--data.testFraction=0']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /train cinn: (\d+) training images are fewer than batchSize 16; set --train.batchSize=\1 or smaller, or add images/);
  });

  test('data at another size than the AE says which size to use', () => {
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--data', photos, '--ae', aeRun, '--model', MODEL, '--layer', 'dense_2', '--runs', runs, '--data.size=64']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the data's images are 64×64×3 but the autoencoder works on 32×32×3; set --data\.size=32/);
  });
});
