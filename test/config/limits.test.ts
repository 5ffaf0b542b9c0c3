// Config limits: every number of every job's config has a declared limit (so none is forgotten),
// the presets and defaults satisfy their own limits, and the checks are exact at the boundaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, resolveConfig } from '../../src/config/config.ts';
import { BETA, checkLimits, count, describeLimit, numericLeaves, positive } from '../../src/config/limits.ts';
import { JOBS } from '../../src/pipeline/jobs/index.ts';

test('every numeric key of every job has a limit, and its defaults and presets satisfy it', () => {
  for (const def of Object.values(JOBS)) {
    const missing = numericLeaves(def.defaults as never).filter((l) => !(l.pattern in def.limits)).map((l) => l.key);
    assert.deepEqual(missing, [], `${def.kind}: numbers without a declared limit`);
    const unused = Object.keys(def.limits).filter((k) => !numericLeaves(def.defaults as never).some((l) => l.pattern === k) && !/numDown|factorSizes/.test(k));
    assert.deepEqual(unused, [], `${def.kind}: limits of keys that do not exist`);
    for (const preset of ['tiny', 'default'] as const) checkLimits(resolveConfig(def.defaults, { preset: def.presets[preset] }), def.limits);
    for (const key of def.resumable) assert.ok(key in def.limits, `${def.kind}: resumable key ${key} has a limit`);
  }
});

test('boundaries: inclusive and exclusive ends, integers, non-finite values', () => {
  const limits = { 'a.n': count(1, 10), 'a.lr': positive(1), 'a.b': BETA, 'a.list[]': count(0, 3) };
  checkLimits({ a: { n: 1, lr: 1, b: 0, list: [0, 3] } }, limits);
  checkLimits({ a: { n: 10, lr: 1e-12, b: 0.999999, list: [] } }, limits);
  const bad: Array<[object, RegExp]> = [
    [{ a: { n: 0 } }, /config key 'a\.n': must be an integer from 1 to 10, got 0/],
    [{ a: { n: 11 } }, /got 11/],
    [{ a: { n: 2.5 } }, /must be an integer from 1 to 10, got 2\.5/],
    [{ a: { lr: 0 } }, /config key 'a\.lr': must be a finite number > 0 and ≤ 1, got 0/],
    [{ a: { lr: 1.0000001 } }, /got 1\.0000001/],
    [{ a: { b: 1 } }, /config key 'a\.b': must be a finite number ≥ 0 and < 1, got 1/],
    [{ a: { b: -1e-9 } }, /got -1e-9/],
    [{ a: { list: [1, 4] } }, /config key 'a\.list\[1\]': must be an integer from 0 to 3, got 4/],
    [{ a: { other: Number.NaN } }, /config key 'a\.other': must be a finite number, got NaN/],
  ];
  for (const [config, message] of bad) assert.throws(() => checkLimits(config, limits), (e: Error) => e instanceof ConfigError && message.test(e.message), JSON.stringify(config));
  assert.equal(describeLimit({}), 'a finite number');
  assert.equal(describeLimit({ integer: true, min: 0 }), 'an integer ≥ 0');
});

test('moved keys: the old spelling names the new key', () => {
  const cinn = JOBS.cinn;
  assert.throws(() => resolveConfig(cinn.defaults, { overrides: ['--steps=5'], moved: cinn.moved }), /config key 'steps' is now 'train\.steps' \(on the command line: --train\.steps=…\)/);
  assert.throws(() => resolveConfig(cinn.defaults, { files: [{ seed: 3 }], moved: cinn.moved }), /config key 'seed' is now 'train\.seed'/);
  assert.equal((resolveConfig(cinn.defaults, { overrides: ['--train.steps=5'], moved: cinn.moved }) as { train: { steps: number } }).train.steps, 5);
});
