import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressBar } from '../../src/cli/progress-bar.ts';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 100, write: (t: string) => { chunks.push(t); return true; } } };
}

test('on a terminal the bar redraws in place with steps, metrics and ETA', () => {
  const { chunks, stream } = fakeStream(true);
  let clock = 0;
  const bar = createProgressBar({ stream, now: () => clock });
  bar({ task: 'train', step: 0, total: 100 });
  clock = 10_000;
  bar({ task: 'train', step: 50, total: 100, metrics: { loss: 0.5 } });
  assert.match(chunks[1]!, /^\r\x1b\[2Ktrain \[#+\.+\] 50\/100  loss 0\.5000  ETA 0m10s$/);
  bar({ task: 'train', step: 100, total: 100, done: true });
  assert.ok(chunks[2]!.endsWith('\n'));
});

test('off a terminal it prints throttled plain lines and always the last one', () => {
  const { chunks, stream } = fakeStream(false);
  let clock = 0;
  const bar = createProgressBar({ stream, now: () => clock, plainIntervalMs: 1000 });
  for (let step = 1; step <= 10; step++) {
    clock = step * 300;
    bar({ task: 'sample', step, total: 10, done: step === 10 });
  }
  assert.ok(chunks.length < 10 && chunks.length >= 3, `${chunks.length} lines`);
  assert.ok(chunks.every((c) => !c.includes('\r')));
  assert.match(chunks.at(-1)!, /^sample: 10\/10 .*done in/);
});
