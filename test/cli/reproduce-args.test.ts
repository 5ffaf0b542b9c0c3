// `inntrospect reproduce` recipes: the names it takes, the old --preset spelling, and the errors
// for anything else (before any training starts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { COLORMNIST_RECIPE } from '../../src/pipeline/reproduce.ts';
import { FIG4_RECIPES } from '../../src/report/fig4.ts';

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['bin/inntrospect.js', ...args], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

test('reproduce: unknown recipes and pipelines, and --recipe with --preset, are refused', () => {
  assert.match(cli(['reproduce', 'colormnist', '--recipe', 'bogus']).stderr, /--recipe must be full, quick or tiny, got 'bogus'/);
  assert.match(cli(['reproduce', 'colormnist', '--recipe', 'tiny', '--preset', 'tiny']).stderr, /give --recipe or --preset \(its old name\), not both/);
  const gan = cli(['reproduce', 'gan']);
  assert.equal(gan.status, 1);
  assert.match(gan.stderr, /unknown pipeline 'gan'; reproducible: colormnist, fig4/);
});

test('recipes: quick and tiny say what they are expected to miss; Fig. 4 full has ≥ 20 log-spaced checkpoints on SqueezeNet', () => {
  assert.ok(COLORMNIST_RECIPE.quick.expectedMisses.some((m) => m.startsWith('sampling')));
  assert.ok(FIG4_RECIPES.quick.expectedMisses.length > 0 && FIG4_RECIPES.full.expectedMisses.length === 0);
  const train = (FIG4_RECIPES.full.classifier as { arch: string; train: { checkpoints: number; checkpointSpacing: string } });
  assert.equal(train.arch, 'squeezenet');
  assert.ok(train.train.checkpoints >= 20 && train.train.checkpointSpacing === 'log');
  assert.deepEqual((FIG4_RECIPES.full.ae as { data: { dataset: string } }).data.dataset, 'colormnist-fgbg');
});
