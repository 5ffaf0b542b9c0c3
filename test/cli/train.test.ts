// The training CLI end to end on the tiny preset: every model kind, exact resume after SIGKILL,
// Ctrl-C, the NaN guard, bad configs and a run folder that is in use.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Random } from '../../src/engine/random.ts';

const CLI = ['bin/inntrospect.js'];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [...CLI, ...args], { encoding: 'utf8', env: { ...process.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

function losses(run: string): number[] {
  return readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number }).filter((r) => r.loss !== undefined).map((r) => r.loss!);
}

const runs = mkdtempSync(join(tmpdir(), 'inntrospect-cli-'));
let aeRun = '';
let classifierRun = '';

describe('inntrospect train (tiny preset)', () => {
  before(() => {
    const ae = cli(['train', 'ae', '--preset', 'tiny', '--runs', runs, '--name', 'ae', '--sample-every', '20']);
    assert.equal(ae.status, 0, ae.stderr);
    aeRun = lastJson(ae.stdout)['run'] as string;
    const clf = cli(['train', 'classifier', '--preset', 'tiny', '--runs', runs, '--name', 'clf']);
    assert.equal(clf.status, 0, clf.stderr);
    classifierRun = lastJson(clf.stdout)['run'] as string;
  });

  test('ae: run folder with resolved config, metrics, checkpoint, samples and the model; PSNR reported', () => {
    for (const f of ['config.json', 'metrics.jsonl', 'model.json']) assert.ok(existsSync(join(aeRun, f)), f);
    assert.deepEqual(readdirSync(join(aeRun, 'samples')), ['step-00000020-reconstructions.png', 'step-00000040-reconstructions.png']);
    assert.equal(JSON.parse(readFileSync(join(aeRun, 'config.json'), 'utf8')).train.steps, 40);
    assert.equal(losses(aeRun).length, 40);
    assert.ok(readdirSync(join(aeRun, 'checkpoints')).length >= 1);
    const evalLine = readFileSync(join(aeRun, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.eval);
    assert.ok(evalLine.eval.psnr > 5, `psnr ${evalLine.eval.psnr}`);
  });

  test('classifier: equally spaced snapshots with their test accuracy', () => {
    const snaps = readdirSync(join(classifierRun, 'snapshots'));
    assert.deepEqual(snaps, ['step-00000010-model.json', 'step-00000020-model.json', 'step-00000030-model.json', 'step-00000040-model.json']);
    const meta = JSON.parse(readFileSync(join(classifierRun, 'snapshots', snaps[3]!), 'utf8')).meta;
    assert.ok(meta.testAccuracy >= 0 && meta.testAccuracy <= 1);
  });

  test('cinn and iin train on top of the AE and the classifier and write samples', () => {
    const t = cli(['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--name', 'cinn', '--ae', aeRun, '--model', classifierRun, '--layer', 'conv2']);
    assert.equal(t.status, 0, t.stderr);
    const tOut = lastJson(t.stdout);
    assert.ok(Number.isFinite((tOut['evaluation'] as Record<string, number>)['testNllPerDim']));
    assert.ok(readdirSync(join(tOut['run'] as string, 'samples')).includes('step-00000040-samples.png'));
    const check = cli(['check', tOut['run'] as string, '--json']);
    assert.equal(check.status, 0, check.stderr);
    const report = lastJson(check.stdout);
    assert.equal(report['ok'], true);
    assert.ok((report['roundTripError'] as number) < 1e-4 && (report['jacobianError'] as number) < 1e-2);
    const notFlow = cli(['check', aeRun]);
    assert.equal(notFlow.status, 1);
    assert.match(notFlow.stderr, /is an autoencoder; check works on invertible models/);
    const e = cli(['train', 'iin', '--preset', 'tiny', '--runs', runs, '--name', 'iin', '--ae', aeRun]);
    assert.equal(e.status, 0, e.stderr);
    const eval_ = lastJson(e.stdout)['evaluation'] as Record<string, number>;
    assert.ok('corr_digit' in eval_ && 'corr_color' in eval_);
    // Factor sizes come from the data's dimension estimate by default, and the run says so.
    assert.match(e.stderr, /note: factor sizes from the data \(the IIN code's estimate, \d+ pairs/);
    const eRun = lastJson(e.stdout)['run'] as string;
    const eq = cli(['check', eRun, '--json', '--images', '64']);
    assert.equal(eq.status, 0, eq.stderr);
    const q = lastJson(eq.stdout) as { eQuality: { probes: Array<{ factor: string; attribute: string; score: number; expected: boolean }>; pairCorrelations: Array<{ factor: string; bound: number | null }> }; images: string };
    assert.match(q.images, /64 images of colormnist\/test/);
    assert.deepEqual(q.eQuality.probes.filter((p) => p.expected).map((p) => p.factor), ['digit', 'color']);
    assert.ok(q.eQuality.probes.every((p) => Number.isFinite(p.score)));
    assert.ok(q.eQuality.pairCorrelations.find((c) => c.factor === 'digit')!.bound! > 0);
    const equal = cli(['train', 'iin', '--preset', 'tiny', '--runs', runs, '--name', 'iin-equal', '--ae', aeRun, '--factorSizing=equal', '--train.steps=2']);
    assert.equal(equal.status, 0, equal.stderr);
    assert.doesNotMatch(equal.stderr, /factor sizes from the data/);
  });

  test('a run killed with SIGKILL at a random step and resumed gives the same losses', () => {
    const step = 5 + new Random(Date.now()).int(30);
    const args = ['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--ae', aeRun, '--model', classifierRun, '--layer', 'z', '--checkpoint-every', '4'];
    const full = cli([...args, '--name', 'full']);
    assert.equal(full.status, 0, full.stderr);
    const crashed = cli([...args, '--name', 'crashed', '--crash-after-step', String(step)]);
    assert.equal(crashed.signal, 'SIGKILL', `expected a SIGKILL at step ${step}`);
    const run = readdirSync(runs).map((d) => join(runs, d)).find((d) => d.endsWith('_crashed'))!;
    assert.ok(!existsSync(join(run, 'model.json')));
    const resumed = cli(['train', 'cinn', '--resume', run]);
    assert.equal(resumed.status, 0, resumed.stderr);
    const expected = losses(lastJson(full.stdout)['run'] as string);
    const actual = losses(run);
    assert.equal(actual.length, expected.length, `killed at ${step}`);
    actual.forEach((l, i) => assert.ok(Math.abs(l - expected[i]!) <= 1e-5 * Math.abs(expected[i]!), `step ${i + 1}: ${l} vs ${expected[i]} (killed at ${step})`));
  });

  test('Ctrl-C writes a checkpoint and exits; --resume finishes the run', async () => {
    const child = spawn(process.execPath, [...CLI, 'train', 'ae', '--preset', 'tiny', '--runs', runs, '--name', 'sigint', '--train.steps=400', '--checkpoint-every', '1000']);
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const run = await new Promise<string>((resolve) => {
      const timer = setInterval(() => {
        const dir = readdirSync(runs).map((d) => join(runs, d)).find((d) => d.endsWith('_sigint'));
        if (dir && existsSync(join(dir, 'metrics.jsonl'))) {
          clearInterval(timer);
          child.kill('SIGINT');
          resolve(dir);
        }
      }, 50);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopped at step \d+; continue with: inntrospect train ae --resume/);
    assert.equal(readdirSync(join(run, 'checkpoints')).length, 1);
    const resumed = cli(['train', 'ae', '--resume', run]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.equal(losses(run).length, 400);
  });

  test('a NaN loss stops the run with a clear message and keeps the last good checkpoint', () => {
    const r = cli(['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--name', 'nan', '--ae', aeRun, '--model', classifierRun, '--layer', 'conv2', '--checkpoint-every', '1', '--train.learningRate=1000']);
    assert.equal(r.status, 3, r.stderr);
    const m = /training stopped at step (\d+): the loss became (NaN|-?Infinity)\. (The last good checkpoint is kept: .*step-(\d+)\.json|No good checkpoint had been written yet\.)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const failed = Number(m[1]);
    const run = readdirSync(runs).map((d) => join(runs, d)).find((d) => d.endsWith('_nan'))!;
    // A checkpoint whose next step was not finite is set aside, not offered for --resume.
    const kept = readdirSync(join(run, 'checkpoints')).filter((f) => /^step-\d+\.json$/.test(f)).map((f) => Number(/\d+/.exec(f)![0]));
    assert.ok(kept.every((s) => s <= failed - 2), `kept ${kept.join(', ')} with a NaN at step ${failed}`);
    if (m[4]) assert.equal(Number(m[4]), Math.max(...kept));
    if (failed >= 2) assert.ok(readdirSync(join(run, 'checkpoints')).some((f) => f.endsWith('.next-step-not-finite.json')));
    assert.ok(!existsSync(join(run, 'model.json')));
  });

  test('bad configs fail naming the key, and leave no run folder', () => {
    const before = readdirSync(runs).length;
    const unknown = cli(['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.stepz=3']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /config key 'train\.stepz': unknown key; valid keys here: train\.steps/);
    const wrongType = cli(['train', 'ae', '--preset', 'tiny', '--runs', runs, '--train.steps=abc']);
    assert.match(wrongType.stderr, /config key 'train\.steps': expected a number, got 'abc'/);
    const badFile = join(runs, 'bad.json');
    writeFileSync(badFile, '{"train": ');
    assert.match(cli(['train', 'ae', '--runs', runs, '--config', badFile]).stderr, /config file .*bad\.json is not valid JSON/);
    assert.match(cli(['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--ae', aeRun, '--model', classifierRun, '--layer', 'nope']).stderr, /unknown layer 'nope'.*conv2/);
    assert.match(cli(['train', 'cinn', '--preset', 'tiny', '--runs', runs, '--ae', classifierRun, '--model', classifierRun, '--layer', 'z']).stderr, /is a classifier, expected a autoencoder|expected a autoencoder|expected an autoencoder/);
    assert.match(cli(['train', 'gan', '--runs', runs]).stderr, /unknown model kind 'gan'; one of: ae, classifier, cinn, iin/);
    assert.equal(readdirSync(runs).length, before + 1, 'only bad.json was added');
  });

  test('a run folder held by a running process is refused', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
    try {
      writeFileSync(join(aeRun, 'run.lock'), `${sleeper.pid}\n`);
      const r = cli(['train', 'ae', '--resume', aeRun]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`in use by process ${sleeper.pid}`));
    } finally {
      sleeper.kill('SIGKILL');
    }
  });
});
