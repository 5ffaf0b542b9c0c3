// Exact resume at every step, for every trainer: a run killed right after any step k and
// resumed gives byte for byte the metrics.jsonl and final model files of the uninterrupted run
// (test/faults/resume-harness.ts rebuilds the folder a kill leaves, torn metrics line included).
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initEngine } from '../../src/engine/index.ts';
import { resumeAfterKill, tempRoot, tinyConfig, trainReference, type Reference } from './resume-harness.ts';
import type { JobKind } from '../../src/pipeline/job.ts';

const STEPS = Number(process.env["RESUME_STEPS"] ?? 20);
const root = tempRoot();

async function everyStep(ref: Reference): Promise<void> {
  const failures: string[] = [];
  for (let k = 0; k < ref.steps; k++) {
    const r = await resumeAfterKill(ref, k, root);
    if (!r.metricsEqual || !r.modelsEqual) failures.push(`killed after step ${k}: metrics ${r.metricsEqual ? 'equal' : `differ (${r.firstDifference})`}, model ${r.modelsEqual ? 'equal' : 'differs'}`);
  }
  assert.deepEqual(failures, [], `${ref.kind}: ${failures.length} of ${ref.steps} kill points resume inexactly`);
}

describe(`exact resume after a kill at every step (${STEPS} steps)`, () => {
  const refs: Partial<Record<JobKind, Reference>> = {};
  before(async () => {
    await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] });
    refs.ae = await trainReference('ae', tinyConfig('ae', [
      '--data.limit=64', '--data.evalImages=8', `--train.steps=${STEPS}`, '--train.batchSize=8', '--train.decayStart=4',
    ]), root);
    refs.classifier = await trainReference('classifier', tinyConfig('classifier', [
      '--data.limit=64', '--data.evalImages=8', `--train.steps=${STEPS}`, '--train.batchSize=8', '--train.decayStart=4', '--train.checkpoints=2',
    ]), root);
  });

  test('ae', async () => everyStep(refs.ae!));
  test('classifier (snapshots included)', async () => everyStep(refs.classifier!));
  test('cinn', async () => {
    const config = tinyConfig('cinn', [
      '--data.limit=64', '--data.evalImages=8', `--train.steps=${STEPS}`, "--train.batchSize=8",
      `--ae=${join(refs.ae!.path, 'model.json')}`, `--model=${join(refs.classifier!.path, 'model.json')}`, '--layer=conv2',
    ]);
    await everyStep(await trainReference('cinn', config, root));
  });
  test('iin', async () => {
    const config = tinyConfig('iin', ['--data.limit=64', '--data.evalImages=8', `--train.steps=${STEPS}`, "--train.batchSize=8", `--ae=${join(refs.ae!.path, 'model.json')}`]);
    await everyStep(await trainReference('iin', config, root));
  });
});
