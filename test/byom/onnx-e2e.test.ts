// An ONNX model end to end, as a PyTorch user brings one: a small CNN trained here in PyTorch on
// 3 000 MNIST digits (scripts/onnx-small-cnn.py, exported with a dynamic batch so its graph
// carries shape arithmetic), studied with `--model <folder with cnn.onnx + model-card.json>`:
// layers, train ae, train cinn at two nodes (a 4-D conv-block output and a dense one), sample,
// attack, report and the explorer in Chromium (the page verifies and loads the .onnx bytes,
// samples render, an FGSM moves the image by ε). Tiny settings throughout: the AE trained here
// (on MNIST, a few steps) proves `train ae` works with the model's grey data, but decodes
// near-black images after so few steps, so t is trained on ColorMNIST with the shipped zoo AE
// (the CNN sees the digits' luma, as its card asks for one channel), which renders real samples.
// Skipped without Debian's python3-torch.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine, tf } from '../../src/engine/index.ts';
import { loadMnistRaw } from '../../src/data/mnist.ts';
import { openModelUnderStudy } from '../../src/pipeline/external-model.ts';
import { ensureExplorerBuilt } from '../../src/explorer/build.ts';
import { virtualZooFromRuns } from '../../src/pipeline/run-sources.ts';
import { dataTestSet, startExplorerServer } from '../../src/explorer/server.ts';
import { assertNonBlank, closeBrowser, consoleErrors, launchBrowser, openPage, skipReason, waitDone, done, setControl } from '../explorer/page-driver.ts';

const PYTHON = '/usr/bin/python3';
const work = mkdtempSync(join(tmpdir(), 'inntrospect-onnx-e2e-'));
const modelDir = join(work, 'cnn');
const runs = join(work, 'runs');
const LAYERS = ['/MaxPool', '/fc1/Gemm'];
// The shipped AE, copied as a folder's model.json (the explorer reads AEs from run folders).
const AE = join(work, 'zoo-ae', 'model.json');
const cinnRuns: string[] = [];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/inntrospect.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

function torchMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, onnx'], { encoding: 'utf8' });
  return probe.status === 0 ? false : `Debian's python3-torch and python3-onnx are needed to train the CNN (${PYTHON}: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
}

const skip = torchMissing();

describe('an ONNX CNN trained in PyTorch, end to end (tiny)', { skip }, () => {
  before(async () => {
    await initEngine();
    mkdirSync(join(work, 'zoo-ae'));
    copyFileSync('zoo/colormnist/ae.json', AE);
    const r = spawnSync(PYTHON, ['scripts/onnx-small-cnn.py', modelDir], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });

  test('train ae on the model\'s data (grey MNIST)', () => {
    const ae = cli(['train', 'ae', '--preset', 'tiny', '--data.dataset=mnist', '--runs', runs, '--name', 'ae', '--train.steps=10', '--model.inChannels=1']);
    assert.equal(ae.status, 0, ae.stderr);
    assert.ok(existsSync(join(lastJson(ae.stdout)['run'] as string, 'model.json')));
  });

  test('f is PyTorch\'s, through the card\'s preprocessing, and the shape arithmetic is folded', async () => {
    const training = JSON.parse(readFileSync(join(modelDir, 'training.json'), 'utf8')) as { testAccuracy: number; firstTestLogits: number[][] };
    assert.ok(training.testAccuracy > 0.8, `the CNN learned (test accuracy ${training.testAccuracy})`);
    const m = await openModelUnderStudy(modelDir);
    assert.equal(m.kind, 'onnx');
    assert.equal(m.cardSource, 'model + model-card.json');
    assert.deepEqual(m.layerNames().filter((n) => /Shape|Gather|Unsqueeze|Concat|Constant/.test(n)), [], 'folded nodes are not layers');
    const raw = loadMnistRaw('test');
    const [, h, w] = raw.shape;
    const x = tf.tidy(() => tf.sub(tf.mul(tf.div(tf.tensor(raw.pixels.subarray(0, 4 * h * w), [4, h, w, 1], 'float32'), 255), 2), 1));
    const logits = m.classify(x);
    const want = tf.tensor(training.firstTestLogits);
    const e = tf.tidy(() => tf.norm(tf.sub(logits, want)).dataSync()[0]! / tf.norm(want).dataSync()[0]!);
    assert.ok(e < 1e-4, `relative error ${e}`);
    tf.dispose([x, logits, want]);
    m.dispose();
    const layers = cli(['layers', modelDir, '--cuts']);
    assert.equal(layers.status, 0, layers.stderr);
    assert.match(layers.stdout, /ONNX, opset 13, IR \d+, produced by pytorch/);
    assert.match(layers.stdout, /input +'image' \[batch, 1, 28, 28\] \(NCHW\)/);
    assert.match(layers.stdout, /\/MaxPool +MaxPool +14×14×8 +clean/);
  });

  test('train cinn at two nodes, sample, attack and report', () => {
    for (const layer of LAYERS) {
      const r = cli(['train', 'cinn', '--preset', 'tiny', '--data.dataset=colormnist', '--ae', AE, '--model', modelDir, '--layer', layer, '--runs', runs, '--name', `cinn-${layer.replace(/\W+/g, '')}`, '--train.steps=4', '--train.batchSize=8']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /note: Φ\(x\) = .*cnn\(preprocess\(x\)\)/);
      cinnRuns.push(lastJson(r.stdout)['run'] as string);
    }
    const out = join(work, 'analysis');
    const s = cli(['sample', ...cinnRuns, '--layer', LAYERS[0]!, '--images', '8', '--count', '2', '--samples', '2', '-o', join(out, 'sample')]);
    assert.equal(s.status, 0, s.stderr);
    const a = cli(['attack', ...cinnRuns, '--kind', 'fgsm', '--epsilon', '0.1', '--images', '8', '--count', '2', '-o', join(out, 'attack')]);
    assert.equal(a.status, 0, a.stderr);
    const an = lastJson(a.stdout) as { layers: { layer: string }[]; loss: { clean: number; adversarial: number } };
    assert.deepEqual(an.layers.map((l) => l.layer), LAYERS);
    assert.ok(an.loss.adversarial > an.loss.clean, `FGSM through the ONNX graph raises the loss: ${JSON.stringify(an.loss)}`);
    const file = join(work, 'report', 'report.html');
    const rep = cli(['report', cinnRuns[1]!, '--images', '8', '--inputs', '2', '--samples', '2', '--table-images', '4', '--seeds', '0', '--mv-images', '0', '--dnb-steps', '2', '-o', file]);
    assert.equal(rep.status, 0, rep.stderr);
    assert.ok(existsSync(file));
  });

  test('the explorer: the page verifies and loads the .onnx bytes, samples render, FGSM moves the image by ε', { skip: skipReason(), timeout: 300_000 }, async () => {
    assert.equal(cinnRuns.length, 2);
    const zoo = await virtualZooFromRuns(cinnRuns);
    const entry = zoo.manifest.model!;
    assert.equal(entry.format, 'onnx');
    const bytes = readFileSync(join(modelDir, 'cnn.onnx'));
    assert.equal(entry.weights.sha256, createHash('sha256').update(bytes).digest('hex'), 'the page gets the .onnx file itself');
    const build = await ensureExplorerBuilt(join(work, 'build'));
    const server = await startExplorerServer({ runs: zoo, buildDir: build.dir, port: 0, testSet: await dataTestSet(zoo.data, 8) });
    await launchBrowser();
    try {
      const p = await openPage(server.url);
      const init = await p.evaluate(() => window.explorer.init!);
      assert.equal(await p.evaluate(() => window.explorer.fatal), null);
      // Everything loads; e, which these runs do not have, is listed as absent, not as a failure.
      assert.deepEqual(init.models.filter((m) => !m.ok).map((m) => m.role), []);
      assert.deepEqual(init.models.filter((m) => m.absent).map((m) => m.role), ['e (semantic INN)']);
      assert.ok(init.models.some((m) => m.ok && /model\.onnx/.test(m.file)), JSON.stringify(init.models));
      assert.deepEqual(init.layers, LAYERS);
      assert.match(init.modelInput, /^28×28×1, values in \[0, 1\], mean\/std normalised$/);
      await waitDone(p, 'sample', 0);
      await assertNonBlank(p, '[data-testid=sample-output]', 3);
      await p.click('[data-testid=tab-attack]');
      await waitDone(p, 'attack', 0);
      const n = await done(p, 'attack');
      await setControl(p, 'epsilon', '0.1');
      await waitDone(p, 'attack', n);
      const attack = await p.evaluate(() => window.explorer.last['attack'] as { linf: number; layers: { layer: string }[] });
      assert.ok(attack.linf > 0.09, `FGSM through the ONNX graph moved the image by only ${attack.linf}`);
      assert.deepEqual(attack.layers.map((l) => l.layer), LAYERS);
      await p.close();
    } finally {
      await closeBrowser();
      await server.close();
    }
    assert.deepEqual(consoleErrors, []);
  });
});
