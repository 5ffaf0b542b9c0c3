/**
 * The explorer's HTTP server (Node): serves the bundled page and worker, the tfjs wasm
 * binaries, the chosen model folder and a small ColorMNIST test subset — nothing else.
 *
 * Security rules (docs/explorer.md):
 * - binds 127.0.0.1 unless told otherwise; on a loopback address it answers only requests whose
 *   Host header names a loopback host (a DNS-rebinding page cannot read it);
 * - GET and HEAD only, no request bodies (uploads are decoded in the page, never sent): a body
 *   is refused with 413, other methods with 405;
 * - the model folder is served read-only below `/models/`: a path with `..` or `.` segments
 *   (also percent-encoded), empty segments, backslashes or NUL is refused with 403, and a file
 *   whose real path (symlinks resolved) leaves the folder is refused with 403; only `.json`
 *   files are served;
 * - every response carries a Content-Security-Policy that allows only this origin (no CDN, no
 *   inline script), and `X-Content-Type-Options: nosniff`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { encodeTestSet } from './testset.ts';
import type { DataConfig } from '../pipeline/data-spec.ts';
import type { VirtualZoo } from '../pipeline/run-sources.ts';

/** The assets of build/explorer the server answers for, by URL path. */
const ASSETS: Record<string, [file: string, type: string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/worker.js': ['worker.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

const WASM_FILES = new Set(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']);

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export interface ExplorerServerOptions {
  /** The zoo folder to serve below /models/ (or `runs`). */
  modelDir?: string;
  /** Instead of a folder: run folders gathered into an in-memory manifest (run-sources.ts). */
  runs?: VirtualZoo;
  /** The built page (build/explorer). */
  buildDir: string;
  /** Port; 0 picks a free one. Default 0. */
  port?: number;
  /** Address to bind. Default 127.0.0.1; any other address needs `allowRemote`. */
  host?: string;
  /**
   * Serve on a non-loopback address (the page and the models become readable from the network).
   * The Host header is still checked: loopback names, the bound address itself (unless it is a
   * wildcard such as 0.0.0.0) and `allowedHosts`.
   */
  allowRemote?: boolean;
  /** Extra host names the page may be opened under when serving remotely (e.g. 'gpu-box.lan'). */
  allowedHosts?: string[];
  /** Makes the test subset served at /api/testset.bin (called once, on first request). */
  testSet?: () => Uint8Array;
  /** Name shown in the page. */
  title?: string;
}

export interface ExplorerServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Folder of tfjs-backend-wasm's binaries. */
export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * Maps a URL path below a folder to a file inside it, or throws HttpError (403 for anything
 * that tries to leave the folder, 404 for what does not exist). `rawPath` is still
 * percent-encoded, as it came in the request line.
 */
export function resolveInside(root: string, rawPath: string): string {
  if (rawPath.includes('\0') || /%00/i.test(rawPath)) throw new HttpError(403, 'NUL in path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new HttpError(400, 'malformed percent-encoding');
  }
  if (decoded.includes('\0')) throw new HttpError(403, 'NUL in path');
  if (decoded.includes('\\')) throw new HttpError(403, 'backslash in path');
  const segments = decoded.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new HttpError(403, 'path leaves the folder or has empty segments');
  const rootReal = realpathSync(root);
  const candidate = resolve(rootReal, ...segments);
  if (!candidate.startsWith(rootReal + sep)) throw new HttpError(403, 'path leaves the folder');
  if (!existsSync(candidate)) throw new HttpError(404, 'not found');
  const real = realpathSync(candidate);
  if (!real.startsWith(rootReal + sep)) throw new HttpError(403, 'symlink leads out of the folder');
  if (!statSync(real).isFile()) throw new HttpError(404, 'not a file');
  return real;
}

/**
 * A literal loopback name: localhost, ::1, or an IPv4 address in 127.0.0.0/8. Never a prefix
 * test: a Host header such as '127.attacker.example' names a domain that an attacker can point at
 * 127.0.0.1 (DNS rebinding) and would otherwise pass.
 */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255);
}

function hostAllowed(header: string | undefined, port: number, extra: ReadonlySet<string>): boolean {
  if (!header) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header);
  if (!m) return false;
  const name = m[1]!.replace(/^\[|\]$/g, '').toLowerCase();
  return (isLoopback(name) || extra.has(name)) && (m[2] === undefined || Number(m[2]) === port);
}

const WILDCARDS = new Set(['0.0.0.0', '::', '[::]', '::0']);

/** The Host names a server bound to `host` answers to, beyond loopback; refuses remote binding unless allowed. */
export function remoteHostNames(host: string, allowRemote: boolean, allowedHosts: readonly string[]): Set<string> {
  if (isLoopback(host)) return new Set(allowedHosts.map((h) => h.toLowerCase()));
  if (!allowRemote) {
    throw new Error(`--host ${host} would serve the explorer (and the model files) to ${WILDCARDS.has(host) ? 'every network interface' : `the network at ${host}`}; add --allow-remote to do that on purpose (the Host header is still checked: add --allowed-host NAME for each name the page is opened under)`);
  }
  const names = new Set(allowedHosts.map((h) => h.toLowerCase()));
  if (!WILDCARDS.has(host)) names.add(host.toLowerCase().replace(/^\[|\]$/g, ''));
  return names;
}

function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, head: boolean, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(bytes.length),
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(head ? undefined : bytes);
}

/**
 * Starts the server; resolves once it listens.
 *
 * @example
 *   const s = await startExplorerServer({ modelDir: 'zoo/colormnist', buildDir: 'build/explorer', port: 0 });
 *   console.log(s.url);   // http://127.0.0.1:40123/
 */
export async function startExplorerServer(options: ExplorerServerOptions): Promise<ExplorerServer> {
  const host = options.host ?? '127.0.0.1';
  if ((options.modelDir === undefined) === (options.runs === undefined)) throw new Error('startExplorerServer: give either modelDir or runs');
  const modelDir = options.modelDir !== undefined ? realpathSync(options.modelDir) : null;
  const runs = options.runs ?? null;
  const buildDir = options.buildDir;
  const wasm = wasmDir();
  let testSet: Uint8Array | null = null;
  let port = 0;
  const extraHosts = remoteHostNames(host, options.allowRemote ?? false, options.allowedHosts ?? []);
  const info = JSON.stringify({ title: options.title ?? (modelDir ? modelDir.split(sep).pop() : runs!.manifest.name), hasTestSet: options.testSet !== undefined });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const head = req.method === 'HEAD';
    try {
      if (!hostAllowed(req.headers.host, port, extraHosts)) throw new HttpError(403, 'Host header is not a name this server answers to');
      const length = Number(req.headers['content-length'] ?? 0);
      if (length > 0 || req.headers['transfer-encoding'] !== undefined) {
        throw new HttpError(413, 'this server accepts no request bodies (uploaded images stay in the page)');
      }
      if (req.method !== 'GET' && !head) throw new HttpError(405, `method ${req.method ?? '?'} not allowed`);
      const raw = req.url ?? '/';
      if (!raw.startsWith('/')) throw new HttpError(403, 'absolute-form request target');
      const path = raw.split('?')[0]!;
      const asset = ASSETS[path];
      if (asset) {
        const file = join(buildDir, asset[0]);
        if (!existsSync(file)) throw new HttpError(500, `the page is not built (${file} is missing)`);
        send(res, 200, readFileSync(file), asset[1], head);
        return;
      }
      if (path === '/favicon.ico') {
        send(res, 204, '', 'text/plain', head);
        return;
      }
      if (path === '/api/info') {
        send(res, 200, info, 'application/json', head);
        return;
      }
      if (path === '/api/testset.bin') {
        if (!options.testSet) throw new HttpError(404, 'no test set');
        testSet ??= options.testSet();
        send(res, 200, testSet, 'application/octet-stream', head);
        return;
      }
      if (path.startsWith('/wasm/')) {
        const name = path.slice('/wasm/'.length);
        if (!WASM_FILES.has(name)) throw new HttpError(404, 'not found');
        send(res, 200, readFileSync(join(wasm, name)), 'application/wasm', head);
        return;
      }
      if (path.startsWith('/models/') && runs) {
        let name: string;
        try {
          name = decodeURIComponent(path.slice('/models/'.length));
        } catch {
          throw new HttpError(400, 'malformed percent-encoding');
        }
        if (name === 'manifest.json') {
          send(res, 200, JSON.stringify(runs.manifest), 'application/json', head);
          return;
        }
        // Only the exact names of the in-memory manifest: nothing else can be reached.
        const file = runs.files.get(name);
        if (!file) throw new HttpError(404, 'not found');
        send(res, 200, typeof file === 'string' ? readFileSync(file) : file, name.endsWith('.json') ? 'application/json' : 'application/octet-stream', head);
        return;
      }
      if (path.startsWith('/models/') && modelDir) {
        const file = resolveInside(modelDir, path.slice('/models/'.length));
        if (!file.endsWith('.json')) throw new HttpError(403, 'only .json model files are served');
        send(res, 200, readFileSync(file), 'application/json', head);
        return;
      }
      throw new HttpError(404, 'not found');
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof Error ? error.message : String(error);
      send(res, status, `${status} ${message}\n`, 'text/plain; charset=utf-8', head, status === 413 ? { connection: 'close' } : {});
      if (status === 413) req.resume();
    }
  };

  const server = createServer(handle);
  // Bound the header size and slow clients; bodies are refused anyway.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, host, () => ok());
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    server,
    close: () => new Promise((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

/**
 * The images the explorer offers for run folders: the first `count` analysis images of the runs'
 * data section (the test split; for an image folder, its held-out part), at the AE's size.
 */
export async function dataTestSet(data: DataConfig, count: number): Promise<() => Uint8Array> {
  const { analysisImages } = await import('../pipeline/analysis-loader.ts');
  const { spreadOverLabels, subsetImages } = await import('../data/dataset.ts');
  if (data.dataset === 'folder') {
    // A folder is often sorted by class: show a seeded sample spread over its labels, not the first files.
    // Every image it analyses (held out, or the training images when nothing is held out), then a sample.
    const all = await analysisImages({ ...data, limit: 0 }, Number.POSITIVE_INFINITY);
    const ds = subsetImages(all, spreadOverLabels(all.labels, count, 0));
    const what = `image folder ${data.folder}, ${ds.shape[0]} of ${all.shape[0]} images spread over ${new Set(ds.labels).size} label(s) (seed 0) at ${ds.shape[1]}×${ds.shape[2]}`;
    return () => encodeTestSet(ds, count, what);
  }
  const ds = await analysisImages(data, count);
  const what = `${data.dataset} test split, first ${Math.min(count, ds.shape[0])} images at ${ds.shape[1]}×${ds.shape[2]}`;
  return () => encodeTestSet(ds, count, what);
}

/** The ColorMNIST test subset the explorer shows: the first `count` images of the frozen test split. */
export async function colorMnistTestSet(count: number): Promise<() => Uint8Array> {
  const { loadMnistRaw } = await import('../data/mnist.ts');
  const { buildColorMnist, COLOR_MNIST_TEST_SEED } = await import('../data/color-mnist.ts');
  return () => {
    const raw = loadMnistRaw('test');
    const ds = buildColorMnist(raw, { seed: COLOR_MNIST_TEST_SEED });
    return encodeTestSet(ds, count, `ColorMNIST test split (reference variant, frozen seed ${COLOR_MNIST_TEST_SEED}), first ${Math.min(count, ds.shape[0])} images`);
  };
}
