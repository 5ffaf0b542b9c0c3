// Bundling and the command: the bundle is rebuilt only when a source changed; `inntrospect
// explore` serves a zoo folder on a free port and prints the URL; a missing folder is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureExplorerBuilt, REPO_ROOT } from '../../src/explorer/build.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-explorer-build-'));

test('the bundle is rebuilt only when one of its sources is newer', async () => {
  const dir = join(root, 'build');
  const first = await ensureExplorerBuilt(dir);
  assert.equal(first.rebuilt, true);
  for (const f of ['index.html', 'app.js', 'worker.js', 'style.css']) assert.ok(statSync(join(dir, f)).size > 0, f);
  assert.ok(statSync(join(dir, 'worker.js')).size > 100_000, 'the worker bundles tfjs');
  const second = await ensureExplorerBuilt(dir);
  assert.equal(second.rebuilt, false);
  const css = join(REPO_ROOT, 'src', 'explorer', 'static', 'style.css');
  const before = statSync(css);
  try {
    const later = new Date(Date.now() + 5000);
    utimesSync(css, later, later);
    const third = await ensureExplorerBuilt(dir);
    assert.equal(third.rebuilt, true);
    assert.match(third.reason, /style\.css changed/);
  } finally {
    utimesSync(css, before.atime, before.mtime);
  }
});

test("'inntrospect explore' serves a zoo folder on a free port and prints the URL", { timeout: 120_000 }, async () => {
  const zoo = join(root, 'zoo');
  mkdirSync(zoo);
  writeFileSync(join(zoo, 'manifest.json'), '{"format":"inntrospect-zoo/1"}');
  const child = spawn(process.execPath, ['bin/inntrospect.js', 'explore', zoo, '--port', '0', '--no-open'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /explorer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('exit', (code) => reject(new Error(`explore exited with ${code}: ${out}${err}`)));
    });
    const body = await new Promise<string>((resolve, reject) => {
      get(`${url}models/manifest.json`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve(`${res.statusCode} ${text}`));
      }).on('error', reject);
    });
    assert.equal(body, '200 {"format":"inntrospect-zoo/1"}');
  } finally {
    child.kill('SIGTERM');
  }
});

test("'inntrospect explore' on a folder that is not there says what to give", () => {
  const r = spawnSync(process.execPath, ['bin/inntrospect.js', 'explore', join(root, 'nope'), '--no-open'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /nope' does not exist; give a zoo folder \(with manifest\.json\)/);
});
