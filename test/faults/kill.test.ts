// Real processes killed for real: `inntrospect train ae` killed with SIGKILL after seeded random
// steps and at seeded random moments (mid-step or mid-write), killed while a checkpoint is half
// written, stopped with SIGTERM, given a torn metrics line, and run out of disk space on a small
// tmpfs. After each, --resume must finish the run with metrics.jsonl and model.json byte for byte
// those of an uninterrupted run. (test/faults/exact-resume.test.ts kills every trainer after every
// step in-process; this file checks the same promise through the CLI and the operating system.)
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Random } from '../../src/engine/random.ts';
import { tempRoot } from './resume-harness.ts';

const STEPS = 24;
const ARGS = ['train', 'ae', '--preset', 'tiny', `--train.steps=${STEPS}`, '--train.batchSize=8', '--train.decayStart=12', '--data.limit=64', '--data.evalImages=8', '--checkpoint-every', '3'];
const SEED = Number(process.env['FAULT_SEED'] ?? 15);
const root = tempRoot('inntrospect-kill-');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/inntrospect.js', ...args], { encoding: 'utf8' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function runDir(parent: string, name: string): string {
  const d = readdirSync(parent).find((x) => x.endsWith(`_${name}`));
  assert.ok(d, `no run folder *_${name} in ${parent}`);
  return join(parent, d);
}

let reference = { metrics: '', model: '' };

function assertSameAsReference(run: string, what: string): void {
  assert.equal(readFileSync(join(run, 'metrics.jsonl'), 'utf8'), reference.metrics, `${what}: metrics.jsonl differs from the uninterrupted run`);
  assert.equal(readFileSync(join(run, 'model.json'), 'utf8'), reference.model, `${what}: model.json differs from the uninterrupted run`);
}

/** Resumes the run to its end. */
function resumeToEnd(run: string): void {
  const r = cli(['train', 'ae', '--resume', run]);
  assert.equal(r.status, 0, r.stderr);
}

describe('train ae killed, stopped and starved of disk, then resumed', () => {
  before(() => {
    const r = cli([...ARGS, '--runs', root, '--name', 'reference']);
    assert.equal(r.status, 0, r.stderr);
    const run = runDir(root, 'reference');
    reference = { metrics: readFileSync(join(run, 'metrics.jsonl'), 'utf8'), model: readFileSync(join(run, 'model.json'), 'utf8') };
  });

  test(`SIGKILL after 3 seeded random steps in a row (seed ${SEED})`, () => {
    const rng = new Random(SEED);
    const points = [...new Set(Array.from({ length: 3 }, () => 1 + rng.int(STEPS - 1)))].sort((a, b) => a - b);
    process.stdout.write(`# kill -9 after steps ${points.join(', ')} (FAULT_SEED=${SEED})\n`);
    let first = true;
    let run = '';
    for (const step of points) {
      const r: ReturnType<typeof cli> = first ? cli([...ARGS, '--runs', root, '--name', 'killed', '--crash-after-step', String(step)]) : cli(['train', 'ae', '--resume', run, '--crash-after-step', String(step)]);
      if (first) run = runDir(root, 'killed');
      first = false;
      assert.equal(r.signal, 'SIGKILL', `expected a SIGKILL after step ${step}: ${r.stderr}`);
      assert.ok(!existsSync(join(run, 'model.json')));
    }
    resumeToEnd(run);
    assertSameAsReference(run, `killed after ${points.join(', ')}`);
  });

  test('SIGKILL while a checkpoint is half written: the previous checkpoint is used, the half file is gone', () => {
    const r = cli([...ARGS, '--runs', root, '--name', 'torn-checkpoint', '--crash-during-checkpoint', '9']);
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const run = runDir(root, 'torn-checkpoint');
    const files = readdirSync(join(run, 'checkpoints'));
    assert.ok(files.includes('step-00000006.json') && !files.includes('step-00000009.json'), files.join(', '));
    assert.ok(files.some((x) => x.endsWith('.tmp')), 'the half-written temp file is there before the resume');
    resumeToEnd(run);
    assert.ok(!readdirSync(join(run, 'checkpoints')).some((x) => x.endsWith('.tmp')), 'the resume removed the half-written temp file');
    assertSameAsReference(run, 'killed mid-checkpoint');
  });

  test('SIGKILL at seeded random moments (mid-step, mid-write), twice, then a torn metrics line', async () => {
    const rng = new Random(SEED + 1);
    let run = '';
    for (let round = 0; round < 2; round++) {
      const args = round === 0 ? [...ARGS, '--runs', root, '--name', 'random-kill'] : ['train', 'ae', '--resume', run];
      const child = spawn(process.execPath, ['bin/inntrospect.js', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      // Wait for the run to be under way (a few steps logged), then kill it after a random delay.
      const after = 2 + rng.int(10);
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const d = readdirSync(root).find((x) => x.endsWith('_random-kill'));
          const metrics = d ? join(root, d, 'metrics.jsonl') : '';
          if (metrics && existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > after) {
            clearInterval(timer);
            setTimeout(() => { child.kill('SIGKILL'); resolve(); }, rng.int(200));
          }
        }, 5);
      });
      const status = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
      run = runDir(root, 'random-kill');
      if (status !== 'SIGKILL') break; // it finished first: nothing to resume
      process.stdout.write(`# kill -9 at a random moment, round ${round + 1}: ${readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n').length - 1} lines logged\n`);
    }
    // A power cut while appending: half a line at the end.
    if (!existsSync(join(run, 'model.json'))) {
      appendFileSync(join(run, 'metrics.jsonl'), '{"step":99,"lo');
      const r = cli(['train', 'ae', '--resume', run]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /note: .*metrics\.jsonl: dropped a torn last line/);
    }
    assertSameAsReference(run, 'killed at random moments');
  });

  test('SIGTERM stops after the step with a checkpoint (exit 143); --resume finishes it exactly', async () => {
    const child = spawn(process.execPath, ['bin/inntrospect.js', ...ARGS, '--runs', root, '--name', 'sigterm', '--checkpoint-every', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const d = readdirSync(root).find((x) => x.endsWith('_sigterm'));
        if (d && existsSync(join(root, d, 'metrics.jsonl'))) {
          clearInterval(timer);
          child.kill('SIGTERM');
          resolve();
        }
      }, 5);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    const run = runDir(root, 'sigterm');
    if (existsSync(join(run, 'model.json'))) return assertSameAsReference(run, 'finished before SIGTERM');
    assert.equal(code, 143, stderr);
    assert.match(stderr, /SIGTERM: stopping after this step and writing a checkpoint/);
    assert.equal(readdirSync(join(run, 'checkpoints')).filter((x) => x.endsWith('.json')).length, 1);
    resumeToEnd(run);
    assertSameAsReference(run, 'stopped by SIGTERM');
  });

  describe('disk full', () => {
    const mount = join(root, 'small-disk');
    let mounted = false;
    before(() => {
      mkdirSync(mount);
      const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mount], { encoding: 'utf8' });
      mounted = r.status === 0;
      if (!mounted) process.stdout.write(`# disk-full test skipped: cannot mount a tmpfs here (${(r.stderr || r.error?.message || 'mount failed').trim()})\n`);
    });
    after(() => {
      if (mounted) spawnSync('umount', [mount]);
      rmSync(mount, { recursive: true, force: true });
    });

    test('a run that fills the disk stops with a message naming the file; the last checkpoint is whole; freed, it resumes exactly', (t) => {
      if (!mounted) return t.skip('cannot mount a tmpfs (needs root or a user namespace)');
      // Leave room for the config and a few checkpoints, not for all of them.
      const ballast = join(mount, 'ballast');
      writeFileSync(ballast, Buffer.alloc(1024 * 1024 * 2));
      const r = cli([...ARGS, '--runs', mount, '--name', 'full', '--checkpoint-every', '1']);
      assert.notEqual(r.status, 0, 'the run cannot finish on a full disk');
      assert.match(r.stderr, /cannot write .*(step-\d+\.json|metrics\.jsonl|model\.json).*: the disk is full \(ENOSPC\)/, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      const run = runDir(mount, 'full');
      const checkpoints = readdirSync(join(run, 'checkpoints')).filter((x) => /^step-\d+\.json$/.test(x));
      for (const c of checkpoints) JSON.parse(readFileSync(join(run, 'checkpoints', c), 'utf8')); // every kept checkpoint is whole
      rmSync(ballast);
      resumeToEnd(run);
      assertSameAsReference(run, 'disk full');
    });
  });
});
