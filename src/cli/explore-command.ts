/**
 * `inntrospect explore [zoo]`: builds the in-browser explorer if its sources changed, serves it
 * on 127.0.0.1 with the chosen zoo folder and a ColorMNIST test subset, and prints the URL.
 * Opens a browser when one can be started (a display and xdg-open/open) unless --no-open.
 */
import { existsSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { DEFAULT_BUILD_DIR, ensureExplorerBuilt } from '../explorer/build.ts';
import { colorMnistTestSet, startExplorerServer } from '../explorer/server.ts';

export interface ExploreOptions {
  port?: string;
  host?: string;
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

export async function exploreCommand(folder: string | undefined, options: ExploreOptions): Promise<void> {
  const dir = resolve(folder ?? 'zoo/colormnist');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`${dir} is not a folder; give a zoo folder (with manifest.json), e.g. zoo/colormnist, or make one with 'inntrospect reproduce colormnist'`);
  }
  if (!existsSync(resolve(dir, 'manifest.json'))) {
    throw new Error(`${dir} has no manifest.json; the explorer reads zoo folders (make one with 'inntrospect reproduce colormnist --out ${folder ?? 'zoo/colormnist'}')`);
  }
  const port = parsePort(options.port);
  const count = Number(options.testImages ?? '256');
  if (!Number.isInteger(count) || count < 2 || count > 10000) throw new Error(`--test-images must be an integer 2…10000, got '${options.testImages}'`);
  const build = await ensureExplorerBuilt(DEFAULT_BUILD_DIR, options.rebuild === true);
  process.stdout.write(build.rebuilt ? `built the explorer (${build.reason}) in ${(build.millis / 1000).toFixed(1)} s → ${build.dir}\n` : `explorer bundle up to date (${build.dir})\n`);
  const server = await startExplorerServer({ modelDir: dir, buildDir: build.dir, port, host: options.host ?? '127.0.0.1', testSet: await colorMnistTestSet(count) });
  process.stdout.write(`serving ${dir}\nexplorer: ${server.url}\n`);
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
