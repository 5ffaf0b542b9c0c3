import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/engine/random.ts';

test('a seed fixes the stream; different seeds differ', () => {
  const a = new Random(42);
  const b = new Random(42);
  const c = new Random(43);
  const draw = (r: Random) => Array.from({ length: 20 }, () => r.nextUint32());
  const first = draw(a);
  assert.deepEqual(draw(b), first);
  assert.notDeepEqual(draw(c), first);
});

test('state() and fromState() resume exactly, including a cached normal', () => {
  const rng = new Random(5);
  rng.normal(); // leaves the second Box-Muller value cached
  const saved = JSON.parse(JSON.stringify(rng.state()));
  const expected = Array.from({ length: 7 }, () => rng.normal());
  const resumed = Random.fromState(saved);
  assert.deepEqual(Array.from({ length: 7 }, () => resumed.normal()), expected);
});

test('normal draws have mean 0 and variance 1; uniform draws lie in [0, 1)', () => {
  const rng = new Random(9);
  const xs = rng.fillNormal(new Float32Array(200_000));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(variance - 1) < 0.01, `variance ${variance}`);
  const us = rng.fillUniform(new Float32Array(10_000));
  assert.ok(us.every((u) => u >= 0 && u < 1));
});

test('permutation is a permutation and int() is unbiased enough', () => {
  const rng = new Random(1);
  const perm = Array.from(rng.permutation(100));
  assert.deepEqual([...perm].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  const counts = new Array(3).fill(0);
  for (let i = 0; i < 30_000; i++) counts[rng.int(3)]++;
  for (const n of counts) assert.ok(Math.abs(n - 10_000) < 500, `counts ${counts}`);
  assert.throws(() => rng.int(0), /positive integer/);
});

test('a forked generator can be saved and restored (state words stay unsigned)', () => {
  const root = new Random(3);
  for (let i = 0; i < 50; i++) {
    const child = root.fork();
    const resumed = Random.fromState(JSON.parse(JSON.stringify(child.state())));
    assert.equal(resumed.nextUint32(), child.nextUint32());
  }
});
