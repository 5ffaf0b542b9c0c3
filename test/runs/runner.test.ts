// The runner with a fake job (no engine): after a NaN it keeps the last checkpoint whose next
// step was finite and sets later ones aside; pruning never drops that checkpoint; a resume
// rewrites metrics.jsonl to the checkpoint's step (also when there is none) and drops a torn line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../src/runs/run-folder.ts';
import { NonFiniteLossError, runJob } from '../../src/pipeline/runner.ts';
import { TRAIN_STATE_FORMAT, type TrainingJob, type TrainState } from '../../src/pipeline/job.ts';

/** A job whose state is one number; its loss is `losses[step]` (NaN where the test wants one). */
class FakeJob implements TrainingJob {
  readonly kind = 'ae' as const;
  value = 0;
  constructor(readonly totalSteps: number, private readonly lossAt: (step: number) => number) {}
  async step(iteration: number) { this.value += 1; return { loss: this.lossAt(iteration + 1) }; }
  async saveState(step: number): Promise<TrainState> {
    return { format: TRAIN_STATE_FORMAT, kind: 'ae', step, models: { v: String(this.value) }, optimizers: {}, random: {}, data: {} };
  }
  async restoreState(state: TrainState) { this.value = Number(state.models['v']); }
  finalModels() { return { 'model.json': String(this.value) }; }
  dispose() {}
}

function fresh(): RunFolder {
  const run = RunFolder.createAt(join(mkdtempSync(join(tmpdir(), 'inntrospect-runner-')), 'run'));
  run.writeConfig({});
  return run;
}

test('a NaN at step 7 (checkpoint every step, keep 2): step 5 is kept as good, step 6 is set aside', async () => {
  const run = fresh();
  const error = await runJob(new FakeJob(10, (s) => (s === 7 ? NaN : 1 / s)), run, { checkpointEvery: 1, keepCheckpoints: 2 }).catch((e: unknown) => e);
  assert.ok(error instanceof NonFiniteLossError);
  assert.equal(error.step, 7);
  assert.match(error.checkpoint!, /step-00000005\.json$/);
  assert.match(error.message, /The last good checkpoint is kept: .*step-00000005\.json .*Set aside, because the step after them was not finite: .*step-00000006\.next-step-not-finite\.json/);
  assert.deepEqual(readdirSync(run.checkpoints).sort(), ['step-00000005.json', 'step-00000006.next-step-not-finite.json']);
  assert.match(run.latestCheckpoint()!, /step-00000005\.json$/);
  run.close();
});

test('pruning keeps the newest checkpoint whose next step is known to be finite', async () => {
  const run = fresh();
  // A NaN right after a checkpoint at step 4 (every 2 steps, keep 1): checkpoint 2 must still be there.
  const error = await runJob(new FakeJob(10, (s) => (s === 5 ? Infinity : 1)), run, { checkpointEvery: 2, keepCheckpoints: 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof NonFiniteLossError);
  assert.match(error.checkpoint!, /step-00000002\.json$/);
  assert.deepEqual(readdirSync(run.checkpoints).sort(), ['step-00000002.json', 'step-00000004.next-step-not-finite.json']);
  run.close();
});

test('a NaN at the first step: no good checkpoint, nothing to set aside', async () => {
  const run = fresh();
  const error = await runJob(new FakeJob(5, () => NaN), run, { checkpointEvery: 1 }).catch((e: unknown) => e);
  assert.ok(error instanceof NonFiniteLossError);
  assert.equal(error.checkpoint, null);
  assert.match(error.message, /No good checkpoint had been written yet/);
  run.close();
});

test('resume rewrites metrics.jsonl to the checkpoint (or to nothing) and notes a torn last line', async () => {
  const run = fresh();
  // Killed before its first checkpoint, with half a line at the end.
  writeFileSync(join(run.path, 'metrics.jsonl'), '{"step":1,"loss":1}\n{"step":2,"loss":0.5}\n{"step":3,"lo');
  const notes: string[] = [];
  await runJob(new FakeJob(4, (s) => 1 / s), run, { checkpointEvery: 2, resume: true, onNote: (n) => notes.push(n) });
  const steps = readFileSync(join(run.path, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; eval?: unknown }).filter((r) => !r.eval).map((r) => r.step);
  assert.deepEqual(steps, [1, 2, 3, 4], 'each step once, in order');
  assert.equal(notes.length, 1);
  assert.match(notes[0]!, /metrics\.jsonl: dropped a torn last line \("\{\\"step\\":3,\\"lo"\)/);
  assert.equal(readFileSync(join(run.path, 'model.json'), 'utf8'), '4');
  assert.ok(existsSync(join(run.checkpoints, 'step-00000004.json')));
  run.close();
});

test('a broken metrics line that is not the last is an error naming the file and line', () => {
  const run = fresh();
  writeFileSync(join(run.path, 'metrics.jsonl'), '{"step":1}\nnot json\n{"step":3}\n');
  assert.throws(() => run.readMetrics(), /metrics\.jsonl line 2 is not a metrics record/);
  run.close();
});
