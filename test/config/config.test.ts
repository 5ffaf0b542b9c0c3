import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyOverrides, ConfigError, mergeConfig, resolveConfig } from '../../src/config/config.ts';

const DEFAULTS = {
  seed: 0,
  name: 'run',
  cinn: { blocks: 20, hidden: 1024, zeroInit: false, widths: [64, 128], temperature: null as number | null },
  train: { lr: 7.2e-5, betas: [0.5, 0.9] },
};

test('presets, files and overrides apply left to right', () => {
  const config = resolveConfig(DEFAULTS, {
    preset: { cinn: { blocks: 4 } },
    files: [{ cinn: { blocks: 6, hidden: 64 } }, { train: { lr: 1e-3 } }],
    overrides: ['--cinn.blocks=12', 'cinn.zeroInit=true', 'name=tiny run', 'cinn.widths=[8,16,32]', 'cinn.temperature=0.7'],
  });
  assert.equal(config.cinn.blocks, 12);
  assert.equal(config.cinn.hidden, 64);
  assert.equal(config.cinn.zeroInit, true);
  assert.equal(config.name, 'tiny run');
  assert.deepEqual(config.cinn.widths, [8, 16, 32]);
  assert.equal(config.cinn.temperature, 0.7);
  assert.equal(config.train.lr, 1e-3);
  assert.equal(DEFAULTS.cinn.blocks, 20, 'defaults are never mutated');
});

test('an unknown key is an error that names the dotted key and the valid ones', () => {
  assert.throws(() => applyOverrides(DEFAULTS, ['--cinn.block=3']), (e: Error) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /'cinn\.block'.*unknown key.*cinn\.blocks/);
    return true;
  });
  assert.throws(() => mergeConfig(DEFAULTS, { train: { momentum: 0.9 } } as never), /'train\.momentum': unknown key/);
});

test('a wrong type is an error that names the key and both types', () => {
  assert.throws(() => applyOverrides(DEFAULTS, ['cinn.blocks=many']), /'cinn\.blocks': expected a number, got 'many'/);
  assert.throws(() => applyOverrides(DEFAULTS, ['cinn.zeroInit=yes']), /'cinn\.zeroInit': expected true or false/);
  assert.throws(() => mergeConfig(DEFAULTS, { cinn: { blocks: '3' } } as never), /'cinn\.blocks': expected number, got string/);
  assert.throws(() => mergeConfig(DEFAULTS, { cinn: 3 } as never), /'cinn': expected a section/);
  assert.throws(() => applyOverrides(DEFAULTS, ['cinn=3']), /'cinn': is a section/);
  assert.throws(() => applyOverrides(DEFAULTS, ['blocks']), /not of the form key\.sub=value/);
});
