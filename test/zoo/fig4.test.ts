// Fig. 4 as the paper ran it, on the tiny recipe (seconds; the numbers mean nothing): SqueezeNet
// on 3-factor ColorMNIST with log-spaced checkpoints, a t per checkpoint on conv10 warm-started
// from the previous one, the measure with Pearson/Spearman intervals and the IIN relevance
// cross-check, the claim (which cannot hold with fewer than 20 checkpoints), fig4.json.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../../src/engine/index.ts';
import { runFig4 } from '../../src/report/fig4.ts';
import { jobDefinition } from '../../src/pipeline/jobs/index.ts';
import type { TrainingDynamicsResult } from '../../src/analysis/training-dynamics.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-fig4-'));
test.after(() => rmSync(root, { recursive: true, force: true }));

before(async () => {
  await initEngine({ backend: process.env['INNTROSPECT_BACKEND'] ?? 'wasm' });
});

test('fig4 tiny: log-spaced SqueezeNet checkpoints, warm-started t per checkpoint, correlations with intervals, the relevance cross-check', async () => {
  const out = join(root, 'out');
  const runs = join(root, 'runs');
  const r = await runFig4({ recipe: 'tiny', out, runs });
  assert.equal(r.checkpoints, 6, 'iteration 0 and 5 log-spaced checkpoints');
  const d = r.dynamics as Omit<TrainingDynamicsResult, 'shown'>;
  assert.deepEqual(d.factorNames, ['digit', 'foreground', 'background', 'residual']);
  assert.deepEqual(d.checkpoints.map((c) => c.iteration), [0, 2, 4, 9, 19, 40]);
  for (const c of d.checkpoints) {
    for (const f of d.factorNames) assert.ok(c.factors[f]!.sensitivity >= 0 && c.factors[f]!.sensitivity <= 1, `${c.iteration} ${f}`);
    assert.deepEqual(Object.keys(c.relevance!), ['digit', 'foreground', 'background']);
  }
  assert.ok(d.correlations['digit']!.spearman && Object.keys(d.relevanceCorrelations).length === 3);
  assert.equal(r.claim.holds === null || r.claim.holds === false, true, 'fewer than 20 checkpoints never hold');
  assert.match(r.claim.measured, /Spearman/);
  assert.match(r.images, /images of colormnist-fgbg\/test|colormnist.*test/);
  // Every t after the first starts from its predecessor's weights.
  const second = JSON.parse(readFileSync(join(runs, 'fig4-t-00000002', 'config.json'), 'utf8')) as { init: string; train: { steps: number }; cinn: { numBlocks: number } };
  assert.equal(second.init, join(runs, 'fig4-t-00000000', 'model.json'));
  assert.equal(second.train.steps, 4);
  assert.ok(existsSync(join(out, 'fig4.json')) && existsSync(join(out, 'training-dynamics.svg')));
  // A warm start from a t of another architecture is refused, naming what differs.
  const other = { ...JSON.parse(readFileSync(join(runs, 'fig4-t-00000002', 'config.json'), 'utf8')), cinn: { ...second.cinn, numBlocks: second.cinn.numBlocks + 1 } };
  await assert.rejects(jobDefinition('cinn').create(other), /--init .*another architecture \(numBlocks: \d+ there, \d+ here\)/);
  // e's sizes came from the IIN estimate; a run config from before factorSizing existed resumes with equal chunks.
  const eConfig = JSON.parse(readFileSync(join(runs, 'fig4-iin', 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(eConfig['factorSizing'], 'iin');
  const { factorSizing: _s, ...oldConfig } = eConfig;
  const oldJob = await jobDefinition('iin').create(oldConfig) as unknown as { e: { factorSizes: number[] }; dispose(): void };
  assert.equal(new Set(oldJob.e.factorSizes.slice(0, -1)).size, 1, `equal chunks: ${oldJob.e.factorSizes}`);
  oldJob.dispose();
  // A second call reuses every finished stage.
  const again = await runFig4({ recipe: 'tiny', out, runs });
  assert.deepEqual(again.claim.numbers, r.claim.numbers);
});
