// Serves a bundle of browser code on 127.0.0.1 and drives Debian's Chromium with playwright-core.
// Shared by the browser tests; skips cleanly (with the reason) where Chromium is not installed.
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as esbuild from 'esbuild';

export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export function chromiumMissingReason(): string | false {
  return existsSync(CHROMIUM) ? false : `Chromium not found at ${CHROMIUM} (apt-get install chromium; .ci/run does)`;
}

const WASM_DIR = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';

/** Bundles `entry` for the browser and serves it with an index page and the tfjs wasm binaries. */
export async function serveBundle(entry: string): Promise<{ url: string; close: () => Promise<void> }> {
  const outdir = mkdtempSync(join(tmpdir(), 'inntrospect-browser-'));
  await esbuild.build({
    entryPoints: [entry], bundle: true, format: 'esm', platform: 'browser', outfile: join(outdir, 'bundle.js'),
    logLevel: 'silent', define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files: Record<string, [string, string]> = {
    '/': ['<!doctype html><meta charset="utf-8"><title>inntrospect test</title><script type="module" src="/bundle.js"></script>', 'text/html'],
  };
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (files[path]) {
      res.writeHead(200, { 'content-type': files[path]![1] });
      res.end(files[path]![0]);
    } else if (path === '/bundle.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(join(outdir, 'bundle.js')));
    } else if (/^\/wasm\/[\w-]+\.wasm$/.test(path)) {
      res.writeHead(200, { 'content-type': 'application/wasm' });
      res.end(readFileSync(join(WASM_DIR, path.slice('/wasm/'.length))));
    } else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
