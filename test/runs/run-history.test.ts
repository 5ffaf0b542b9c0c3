// resumeConfig: the config a resume continues with is config.json (in today's shape, even when
// it was written in an older one) plus the history's changes plus the overrides; only the job's
// training keys may change, and nothing is written while deciding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides } from '../../src/config/config.ts';
import { RunFolder } from '../../src/runs/run-folder.ts';
import { resumeConfig } from '../../src/runs/run-history.ts';
import { JOBS } from '../../src/pipeline/jobs/index.ts';

const cinn = JOBS.cinn;
const rules = { kind: 'cinn', defaults: cinn.defaults, resumable: cinn.resumable, moved: cinn.moved };

test('a cinn run saved with the old top-level steps resumes with them under train', () => {
  const run = RunFolder.createAt(join(mkdtempSync(join(tmpdir(), 'inntrospect-history-')), 'run'));
  const { train, ...rest } = structuredClone(cinn.defaults) as { train: Record<string, number> };
  run.writeConfig({ ...train, ...rest, steps: 40 });
  const before = readdirSync(run.path).sort();
  const { config, changes } = resumeConfig(run, rules, (c) => applyOverrides(c, ['--train.steps=60', '--train.learningRate=1e-4']));
  assert.equal((config as { train: { steps: number } }).train.steps, 60);
  assert.deepEqual(changes.map((c) => [c.key, c.from, c.to]), [['train.steps', 40, 60], ['train.learningRate', 5e-4, 1e-4]]);
  assert.deepEqual(readdirSync(run.path).sort(), before, 'nothing written');
  run.appendHistory({ at: 'now', resumedAtStep: 40, changes });
  const next = resumeConfig(run, rules, (c) => c);
  assert.equal((next.config as { train: { steps: number } }).train.steps, 60, 'the history is applied');
  assert.deepEqual(next.changes, []);
  assert.throws(() => resumeConfig(run, rules, (c) => applyOverrides(c, ['--cinn.numBlocks=3'])), /config key 'cinn\.numBlocks': cannot change on --resume: the checkpoint was trained with 12 \(keys that may change on resume: train\.steps, train\.learningRate\)/);
  run.close();
});
