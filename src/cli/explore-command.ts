/**
 * `inntrospect explore [zoo | run folders…]`: builds the in-browser explorer if its sources changed, serves it
 * on 127.0.0.1 with the chosen zoo folder (or run folders, gathered by run-sources.ts) and a
 * ColorMNIST test subset, and prints the URL.
 * Opens a browser when one can be started (a display and xdg-open/open) unless --no-open.
 */
import { existsSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { explorerBundle } from '../explorer/build.ts';
import { DEFAULT_ZOO, resolveSourcePath } from '../pipeline/zoo-source.ts';
import { colorMnistTestSet, dataTestSet, remoteHostNames, startExplorerServer } from '../explorer/server.ts';
import { virtualZooFromRuns, type VirtualZoo } from '../explorer/run-sources.ts';
import { withNotesPrinted } from './notes.ts';

export interface ExploreOptions {
  port?: string;
  host?: string;
  allowRemote?: boolean;
  allowedHost?: string[];
  testImages?: string;
  open?: boolean;
  rebuild?: boolean;
}

function parsePort(value: string | undefined): number {
  const port = Number(value ?? '8321');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0…65535 (0 picks a free port), got '${value}'`);
  return port;
}

function tryOpen(url: string): string {
  const display = process.env['DISPLAY'] || process.env['WAYLAND_DISPLAY'];
  if (process.platform === 'linux' && !display) return 'no display: open the URL in a browser yourself';
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return `asked ${command} to open it`;
  } catch {
    return `could not start ${command}: open the URL yourself`;
  }
}

export async function exploreCommand(sources: string[] | undefined, options: ExploreOptions): Promise<void> {
  // Options first, before anything loads.
  const port = parsePort(options.port);
  const count = Number(options.testImages ?? '256');
  if (!Number.isInteger(count) || count < 2 || count > 10000) throw new Error(`--test-images must be an integer 2…10000, got '${options.testImages}'`);
  const host = options.host ?? '127.0.0.1';
  remoteHostNames(host, options.allowRemote === true, options.allowedHost ?? []);
  const given = (sources && sources.length > 0 ? sources : [DEFAULT_ZOO]).map(resolveSourcePath);
  const single = resolve(given[0]!);
  let source: { modelDir: string } | { runs: VirtualZoo };
  if (given.length === 1 && single === resolve(DEFAULT_ZOO) && !existsSync(single)) {
    throw new Error(`the shipped zoo ${single} is missing; make it with 'inntrospect reproduce colormnist' (or 'inntrospect reproduce colormnist --preset tiny --out /tmp/zoo-tiny' in a minute), or give a zoo folder or run folders`);
  }
  if (given.length === 1 && existsSync(join(single, 'manifest.json'))) {
    source = { modelDir: single };
  } else {
    for (const g of given) {
      if (!existsSync(g) || !statSync(g).isDirectory()) {
        throw new Error(`${resolve(g)} is not a folder; give a zoo folder (with manifest.json), e.g. zoo/colormnist (make one with 'inntrospect reproduce colormnist'), or cinn run folders`);
      }
    }
    source = { runs: await virtualZooFromRuns(given) };
  }
  const build = await explorerBundle(options.rebuild === true);
  process.stdout.write(build.rebuilt ? `built the explorer (${build.reason}) in ${(build.millis / 1000).toFixed(1)} s → ${build.dir}\n` : `explorer bundle ${build.reason} (${build.dir})\n`);
  const server = await startExplorerServer({ ...source, buildDir: build.dir, port, host, allowRemote: options.allowRemote === true, allowedHosts: options.allowedHost ?? [], testSet: 'runs' in source ? await withNotesPrinted(() => dataTestSet(source.runs.data, count)) : await colorMnistTestSet(count) });
  const what = 'modelDir' in source ? source.modelDir : `${source.runs.manifest.description} (${source.runs.files.size} model files)`;
  process.stdout.write(`serving ${what}\nexplorer: ${server.url}\n`);
  if (options.open !== false) process.stdout.write(`${tryOpen(server.url)}\n`);
  process.stdout.write('press Ctrl+C to stop\n');
  await new Promise<void>((done) => {
    const stop = () => {
      void server.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
