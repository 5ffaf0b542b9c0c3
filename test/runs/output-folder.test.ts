// Output folders and files replace only what inntrospect wrote: reproduce --out with --force
// replaces a zoo's own files (those its manifest lists) and keeps everything else; a clash with a
// user's file is refused before anything moves; a report replaces only an earlier report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkOutputFolder, installOutput, OutputFolderError } from '../../src/runs/output-folder.ts';
import { zooOwnFiles } from '../../src/pipeline/reproduce.ts';
import { checkReportOutputs } from '../../src/report/report.ts';

const entry = (file: string) => ({ file, sha256: '0'.repeat(64), bytes: 1, kind: 'cinn', metrics: {} });

function zoo(dir: string, files: string[]): void {
  mkdirSync(join(dir, 'snapshots'), { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), `old ${f}`);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({
    format: 'inntrospect-zoo/1', ae: entry('ae.json'), classifier: entry('classifier.json'), iin: entry('iin.json'),
    snapshots: [entry('snapshots/step-1.json')], dynamics: [], cinn: { z: entry('cinn-z.json'), old: entry('cinn-old.json') },
  }));
}

test('reproduce --out: empty or absent is fine, non-empty is refused, --force replaces only the zoo\'s own files', () => {
  const root = mkdtempSync(join(tmpdir(), 'inntrospect-out-'));
  assert.deepEqual(checkOutputFolder(join(root, 'new'), zooOwnFiles, false, '--out'), []);
  const out = join(root, 'zoo');
  zoo(out, ['ae.json', 'classifier.json', 'iin.json', 'snapshots/step-1.json', 'cinn-z.json', 'cinn-old.json']);
  writeFileSync(join(out, 'my-notes.md'), 'mine');
  assert.throws(() => checkOutputFolder(out, zooOwnFiles, false, '--out'), /--out .*zoo is not empty .*Add --force to replace the 7 files inntrospect wrote there \(any other file is kept\)/);
  const previous = checkOutputFolder(out, zooOwnFiles, true, '--out');
  assert.equal(previous.length, 7);
  const staging = join(root, 'staging');
  zoo(staging, ['ae.json', 'classifier.json', 'iin.json', 'snapshots/step-1.json', 'cinn-z.json']);
  for (const f of ['ae.json', 'cinn-z.json']) writeFileSync(join(staging, f), `new ${f}`);
  installOutput(staging, out, previous);
  assert.equal(readFileSync(join(out, 'ae.json'), 'utf8'), 'new ae.json');
  assert.equal(readFileSync(join(out, 'my-notes.md'), 'utf8'), 'mine', "the user's file is kept");
  assert.ok(!existsSync(join(out, 'cinn-old.json')), 'an old zoo file the new zoo does not have is removed');
  assert.ok(!existsSync(staging));
});

test('a new file that would land on a file inntrospect did not write is refused before anything moves', () => {
  const root = mkdtempSync(join(tmpdir(), 'inntrospect-out-'));
  const out = join(root, 'zoo');
  zoo(out, ['ae.json']);
  writeFileSync(join(out, 'dynamics.json'), 'mine');
  const staging = join(root, 'staging');
  mkdirSync(staging);
  writeFileSync(join(staging, 'ae.json'), 'new');
  writeFileSync(join(staging, 'dynamics.json'), 'new');
  assert.throws(() => installOutput(staging, out, ['ae.json', 'manifest.json']), (e: Error) => e instanceof OutputFolderError && /dynamics\.json exists and was not written by inntrospect; the new output is left in/.test(e.message));
  assert.equal(readFileSync(join(out, 'ae.json'), 'utf8'), 'old ae.json', 'nothing was moved');
  assert.equal(readFileSync(join(out, 'dynamics.json'), 'utf8'), 'mine');
  assert.ok(existsSync(join(staging, 'ae.json')));
});

test('report -o replaces an earlier report and nothing else', () => {
  const root = mkdtempSync(join(tmpdir(), 'inntrospect-report-out-'));
  checkReportOutputs(join(root, 'r.html'));
  writeFileSync(join(root, 'r.html'), '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="generator" content="inntrospect report"><title>inntrospect report — x</title>');
  writeFileSync(join(root, 'r.json'), JSON.stringify({ format: 'inntrospect-report-numbers/1', source: 'x', claims: [], numbers: {} }));
  checkReportOutputs(join(root, 'r.html'));
  writeFileSync(join(root, 'model.json'), JSON.stringify({ className: 'Autoencoder', weights: {} }));
  assert.throws(() => checkReportOutputs(join(root, 'model.html')), /writes its numbers to .*model\.json, which exists and is not a report's numbers/);
  writeFileSync(join(root, 'page.html'), '<html>my page</html>');
  assert.throws(() => checkReportOutputs(join(root, 'page.html')), /page\.html exists and is not an inntrospect report/);
});
