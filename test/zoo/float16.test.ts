import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHalf, toHalf } from '../../src/zoo/float16.ts';

test('float16 round trip: exact for representable values, nearest-even otherwise, specials kept', () => {
  for (const v of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1.5, 3.140625]) assert.equal(fromHalf(toHalf(v)), v, `${v}`);
  assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1, 'tie rounds to even (down)');
  assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9, 'tie rounds to even (up)');
  assert.equal(fromHalf(toHalf(70000)), Infinity);
  assert.equal(fromHalf(toHalf(-Infinity)), -Infinity);
  assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
  assert.equal(Object.is(fromHalf(toHalf(-0)), -0), true);
  assert.equal(fromHalf(toHalf(2 ** -26)), 0, 'underflow');
  // Relative error of normal numbers is at most 2^-11.
  for (let i = 0; i < 1000; i++) {
    const v = (Math.random() - 0.5) * 100;
    assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= Math.abs(v) * 2 ** -11 + 2 ** -25);
  }
});
