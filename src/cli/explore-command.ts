/**
 * `inntrospect explore [zoo | run folders…]`: builds the in-browser explorer if its sources changed, serves it
 * on 127.0.0.1 with the chosen zoo folder (or run folders, resolved by src/pipeline/pipeline-source.ts as every command does) and a
 * ColorMNIST test subset, and prints the URL.
 * Opens a browser when one can be started (a display and xdg-open/open) unless --no-open.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { explorerBundle } from '../explorer/build.ts';
import { DEFAULT_ZOO } from '../pipeline/zoo-source.ts';
import { resolveSources } from '../pipeline/pipeline-source.ts';
import { colorMnistTestSet, dataTestSet, remoteHostNames, startExplorerServer } from '../explorer/server.ts';
import { virtualZooFromRuns, type VirtualZoo } from '../pipeline/run-sources.ts';
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
  // The one resolver of the CLI's analyses, the report and open(): a zoo folder, or run folders.
  const resolved = resolveSources(sources && sources.length > 0 ? sources : [DEFAULT_ZOO]);
  const source: { modelDir: string } | { runs: VirtualZoo } = resolved.kind === 'zoo' ? { modelDir: resolve(resolved.dir) } : { runs: await virtualZooFromRuns(resolved.paths) };
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
