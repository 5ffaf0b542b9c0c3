import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolder } from '../../src/runs/run-folder.ts';
import { RunLockedError } from '../../src/runs/run-lock.ts';
import { writeFileAtomic } from '../../src/runs/atomic-file.ts';

const root = () => mkdtempSync(join(tmpdir(), 'inntrospect-runs-'));

test('a run folder holds config, metrics and checkpoints, named by time and run name', () => {
  const run = RunFolder.create({ root: root(), name: 'cinn-tiny', now: new Date('2026-01-02T03:04:05.678Z') });
  assert.match(run.path, /2026-01-02T03-04-05_cinn-tiny$/);
  run.writeConfig({ lr: 1 });
  run.logMetrics({ step: 1, loss: 2 });
  run.logMetrics({ step: 2, loss: 1.5 });
  run.logMetrics({ step: 3, loss: 1.2 });
  run.writeCheckpoint(2, '{"a":1}');
  run.writeCheckpoint(10, '{"a":2}');
  assert.deepEqual(run.readConfig(), { lr: 1 });
  assert.equal(run.readMetrics().length, 3);
  assert.match(run.latestCheckpoint()!, /step-00000010\.json$/);
  assert.equal(run.resetMetricsTo(2), null);
  assert.deepEqual(run.readMetrics().map((r) => r['step']), [1, 2]);
  run.close();
  assert.ok(!readdirSync(run.path).some((f) => f.endsWith('.tmp')), 'no temp files left behind');
});

test('a second process on the same run folder is refused; a stale lock is taken over', async () => {
  const run = RunFolder.create({ root: root(), name: 'locked' });
  run.writeConfig({});
  // This process holds it: a live pid in run.lock refuses another opener.
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)']);
  try {
    run.close();
    writeFileSync(join(run.path, 'run.lock'), `${child.pid}\n`);
    assert.throws(() => RunFolder.open(run.path), (e: Error) => e instanceof RunLockedError && e.message.includes(String(child.pid)));
  } finally {
    child.kill('SIGKILL');
  }
  await new Promise((r) => child.on('exit', r));
  const reopened = RunFolder.open(run.path); // the owner died: stale lock
  assert.equal(readFileSync(join(run.path, 'run.lock'), 'utf8').trim(), String(process.pid));
  reopened.close();
});

test('writeFileAtomic replaces whole files and leaves no temp file', () => {
  const dir = root();
  const file = join(dir, 'x.json');
  writeFileAtomic(file, 'first');
  writeFileAtomic(file, 'second');
  assert.equal(readFileSync(file, 'utf8'), 'second');
  assert.deepEqual(readdirSync(dir), ['x.json']);
});

test('bad run names and non-run folders are refused with a clear message', () => {
  assert.throws(() => RunFolder.create({ root: root(), name: '../evil' }), /run name '\.\.\/evil'/);
  assert.throws(() => RunFolder.open(root()), /is not a run folder/);
});
