import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableBackends, initEngine, requestedBackendName, tf } from '../../src/engine/index.ts';

test('wasm is the default, INNTROSPECT_BACKEND overrides it, the option overrides both', () => {
  const saved = process.env['INNTROSPECT_BACKEND'];
  try {
    delete process.env['INNTROSPECT_BACKEND'];
    assert.equal(requestedBackendName(), 'wasm');
    process.env['INNTROSPECT_BACKEND'] = 'cpu';
    assert.equal(requestedBackendName(), 'cpu');
    assert.equal(requestedBackendName({ backend: 'wasm' }), 'wasm');
  } finally {
    if (saved === undefined) delete process.env['INNTROSPECT_BACKEND'];
    else process.env['INNTROSPECT_BACKEND'] = saved;
  }
});

test('an unknown backend is an error that names it and lists the available ones', async () => {
  await assert.rejects(initEngine({ backend: 'tpu9000' }), (error: Error) => {
    assert.match(error.message, /unknown backend 'tpu9000'/);
    for (const name of availableBackends()) assert.ok(error.message.includes(name));
    return true;
  });
});

test('switching between cpu and wasm keeps both usable', async () => {
  const cpu = await initEngine({ backend: 'cpu' });
  assert.equal(cpu.backend, 'cpu');
  const x = tf.tensor1d([1, 2, 3]);
  const wasm = await initEngine({ backend: 'wasm' });
  assert.equal(wasm.backend, 'wasm');
  assert.equal(wasm.simd, true);
  assert.ok(wasm.ownKernels.includes('Conv2DBackpropFilter'));
  assert.deepEqual(Array.from(tf.mul(tf.tensor1d([1, 2, 3]), 2).dataSync()), [2, 4, 6]);
  x.dispose();
});

test('`inntrospect engine --json` reports the backend and a passing self-check', () => {
  const result = spawnSync(process.execPath, ['bin/inntrospect.js', 'engine', '--json'], { encoding: 'utf8', env: { ...process.env, INNTROSPECT_BACKEND: 'wasm' } });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  assert.equal(report.engine.backend, 'wasm');
  assert.equal(report.selfCheck.failed, 0);
  assert.ok(report.selfCheck.passed >= 40);
});

test('the CLI rejects an unknown backend with a clear message and a non-zero exit', () => {
  const result = spawnSync(process.execPath, ['bin/inntrospect.js', 'engine', '--backend', 'nope'], { encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr, /unknown backend 'nope'.*available: .*wasm/);
  assert.ok(!result.stderr.includes('    at '), 'no stack trace for a user error');
});

test('gather with an out-of-range index is an error naming the index, not garbage', async () => {
  await initEngine({ backend: 'wasm' });
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const bad = tf.tensor1d([0, 5], 'int32');
  assert.throws(() => tf.gather(x, bad, 0), /index 5 .*not in \[0, 1\]/);
  tf.dispose([x, bad]);
});
