// The explorer's server: it serves its own assets, the wasm binaries, the chosen folder's .json
// files and the test subset — and refuses everything else: path traversal (plain, percent-encoded,
// absolute, backslashes, NUL, symlinks out of the folder), request bodies (413), other methods
// (405) and foreign Host headers (403).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTENT_SECURITY_POLICY, colorMnistTestSet, startExplorerServer, type ExplorerServer } from '../../src/explorer/server.ts';
import { decodeTestSet } from '../../src/explorer/testset.ts';

const root = mkdtempSync(join(tmpdir(), 'inntrospect-explorer-server-'));
const zoo = join(root, 'zoo');
const build = join(root, 'build');
let server: ExplorerServer;

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function get(path: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close the connection while a refused body is still being sent.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: -1, headers: {}, body: Buffer.alloc(0) });
      else reject(error);
    });
    if (options.body) req.write(options.body);
    req.end();
  });
}

before(async () => {
  mkdirSync(join(zoo, 'snapshots'), { recursive: true });
  mkdirSync(build);
  writeFileSync(join(zoo, 'manifest.json'), '{"format":"inntrospect-zoo/1"}');
  writeFileSync(join(zoo, 'snapshots', 'step-1.json'), '{"ok":1}');
  writeFileSync(join(zoo, 'notes.txt'), 'not a model');
  writeFileSync(join(root, 'outside.json'), '{"secret":true}');
  symlinkSync(join(root, 'outside.json'), join(zoo, 'link.json'));
  symlinkSync('/', join(zoo, 'rootlink'));
  for (const f of ['index.html', 'app.js', 'worker.js', 'style.css']) writeFileSync(join(build, f), `/* ${f} */`);
  server = await startExplorerServer({ modelDir: zoo, buildDir: build, port: 0, testSet: await colorMnistTestSet(16) });
});

after(async () => {
  await server.close();
});

test('serves the page, its assets, the wasm binaries and the folder with a strict CSP', async () => {
  for (const [path, type] of [['/', 'text/html'], ['/app.js', 'text/javascript'], ['/worker.js', 'text/javascript'], ['/style.css', 'text/css'], ['/wasm/tfjs-backend-wasm-simd.wasm', 'application/wasm'], ['/models/manifest.json', 'application/json'], ['/models/snapshots/step-1.json', 'application/json']] as const) {
    const r = await get(path);
    assert.equal(r.status, 200, path);
    assert.ok(String(r.headers['content-type']).startsWith(type), `${path}: ${String(r.headers['content-type'])}`);
    assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
  }
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.equal((await get('/models/missing.json')).status, 404);
  assert.equal((await get('/nothing-here')).status, 404);
  assert.equal((await get('/wasm/../package.json')).status, 404);
});

test('path traversal out of the model folder is refused', async () => {
  const refused = [
    '/models/../outside.json',
    '/models/%2e%2e/outside.json',
    '/models/%2E%2E/outside.json',
    '/models/%2e%2e%2foutside.json',
    '/models/snapshots/..%2f..%2foutside.json',
    '/models/snapshots/../../outside.json',
    '/models/./manifest.json',
    '/models//etc/passwd',
    '/models/%2fetc%2fpasswd',
    '/models/..%5coutside.json',
    '/models/manifest.json%00.txt',
    '/models/link.json',
    '/models/rootlink/etc/passwd',
    '/models/notes.txt',
  ];
  for (const path of refused) {
    const r = await get(path);
    assert.equal(r.status, 403, `${path} → ${r.status} ${r.body.toString()}`);
    assert.ok(!r.body.toString().includes('secret'), path);
  }
  assert.equal((await get('/models/%zz')).status, 400);
});

test('request bodies, other methods and foreign Host headers are refused', async () => {
  const big = await get('/', { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024, 1), headers: { 'content-type': 'image/png' } });
  assert.ok(big.status === 413 || big.status === -1, `a 2 MB upload → ${big.status}`);
  assert.equal((await get('/models/manifest.json', { body: Buffer.from('x'), headers: { 'content-length': '1' } })).status, 413);
  assert.equal((await get('/', { method: 'POST' })).status, 405);
  assert.equal((await get('/models/manifest.json', { method: 'DELETE' })).status, 405);
  assert.equal((await get('/', { headers: { host: 'evil.example:80' } })).status, 403);
  // DNS rebinding: names that merely start like a loopback address are foreign.
  for (const host of [`127.attacker.example:${server.port}`, `127.0.0.1.nip.io:${server.port}`, `127.0.0.300:${server.port}`]) {
    assert.equal((await get('/api/info', { headers: { host } })).status, 403, host);
  }
  assert.equal((await get('/', { headers: { host: `127.0.0.1:${server.port}` } })).status, 200);
  assert.equal((await get('/', { headers: { host: `localhost:${server.port}` } })).status, 200);
  const head = await get('/models/manifest.json', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
});

test('the test subset: the first images of the frozen ColorMNIST test split', async () => {
  const r = await get('/api/testset.bin');
  assert.equal(r.status, 200);
  const buffer = r.body.buffer.slice(r.body.byteOffset, r.body.byteOffset + r.body.length) as ArrayBuffer;
  const ts = decodeTestSet(buffer);
  assert.deepEqual(ts.shape, [16, 32, 32, 3]);
  assert.deepEqual(Array.from(ts.labels.subarray(0, 5)), [7, 2, 1, 0, 4]);
  assert.ok(ts.images.every((v) => v >= -1 && v <= 1));
  assert.deepEqual(ts.valueRange, [-1, 1]);
  assert.throws(() => decodeTestSet(buffer.slice(0, buffer.byteLength - 4)), /bytes, expected/);
});

test('a non-loopback --host needs allowRemote, and the Host header is still checked against an allow-list', async () => {
  await assert.rejects(startExplorerServer({ modelDir: zoo, buildDir: build, port: 0, host: '0.0.0.0' }), /--host 0\.0\.0\.0 would serve the explorer .* to every network interface; add --allow-remote/);
  const remote = await startExplorerServer({ modelDir: zoo, buildDir: build, port: 0, host: '0.0.0.0', allowRemote: true, allowedHosts: ['box.lan'] });
  const saved = server;
  server = remote;
  try {
    assert.equal((await get('/api/info', { headers: { host: `box.lan:${remote.port}` } })).status, 200);
    assert.equal((await get('/api/info', { headers: { host: `127.0.0.1:${remote.port}` } })).status, 200);
    assert.equal((await get('/api/info', { headers: { host: `evil.example:${remote.port}` } })).status, 403);
    assert.equal((await get('/api/info', { headers: { host: `0.0.0.0:${remote.port}` } })).status, 403);
  } finally {
    server = saved;
    await remote.close();
  }
});
