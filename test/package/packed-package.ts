/**
 * The package as a user installs it (issue 16): `npm pack` (its prepack builds dist/), the
 * tarball installed into a fresh folder, then, with plain Node (no tsx, no devDependencies):
 * the README's library example runs and prints the invariance numbers `inntrospect invariance`
 * prints for the same options; `tsc` type-checks the same example against the shipped .d.ts;
 * `inntrospect explore` serves the prebuilt explorer.
 *
 * The install is `npm ci --offline` of a lock made from this checkout's package-lock.json (the
 * dependency tarballs come from the npm cache that this checkout's own `npm ci` filled), so the
 * test needs no network and installs exactly the locked versions. Run once in CI (not per
 * backend): `npm run test:package`. About a minute and a half on 2 cores.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'inntrospect-pack-'));
const app = join(work, 'app');
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(command, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, `${command} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The README's library example: the first ```js block of its "As a library" section. */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## As a library'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, "README.md: no ```js block in '## As a library'");
  return code;
}

/** A lock for the app: inntrospect from the tarball, its dependencies exactly as this checkout locks them. */
function writeAppFiles(tarball: string): void {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const spec = `file:../${tarball}`;
  const integrity = `sha512-${createHash('sha512').update(readFileSync(join(work, tarball))).digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'app', dependencies: { inntrospect: spec } },
    'node_modules/inntrospect': { version: pkg.version, resolved: spec, integrity, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; link?: boolean }>)) {
    if (path !== '' && !entry.dev && !entry.link) packages[path] = entry;
  }
  run('mkdir', ['-p', app], work);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { inntrospect: spec }, allowScripts: pkg.allowScripts }, null, 1));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 1));
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

test('npm pack → install in a fresh folder → the README example, its types and the explorer work without the checkout', { timeout: 600_000 }, async () => {
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], ROOT);
  const tarball = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
  const shipped = tarball.files.map((f) => f.path);
  for (const f of ['dist/index.js', 'dist/index.d.ts', 'dist/browser/index.js', 'dist/explorer-page/app.js', 'dist/explorer-page/worker.js', 'dist/cli/main.js', 'bin/inntrospect.js', 'zoo/colormnist/manifest.json']) {
    assert.ok(shipped.includes(f), `the tarball lacks ${f}`);
  }
  assert.ok(!shipped.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'sources and tests stay out of the tarball');
  writeAppFiles(tarball.filename);
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], app);
  for (const dev of ['tsx', 'esbuild', 'typescript']) assert.ok(!existsSync(join(app, 'node_modules', dev)), `${dev} (a devDependency) was installed`);

  // The README's example with plain Node, and the CLI of the installed package on the same options.
  const code = readmeExample();
  writeFileSync(join(app, 'example.mjs'), code);
  const example = run(process.execPath, ['example.mjs'], app);
  const inv = /p\.invariance\(\{ inputs: (\d+) \}\)/.exec(code);
  assert.ok(inv, 'the README example calls p.invariance({ inputs: N })');
  const cli = run(join(app, 'node_modules', '.bin', 'inntrospect'), ['invariance', '--inputs', inv[1]!, '--out', join(work, 'invariance')], app);
  // The CLI also says which images it analysed (held out or training images); the numbers are the library's.
  const { analysedImages, ...cliNumbers } = lastJson(cli.stdout) as Record<string, unknown>;
  assert.match(String(analysedImages), /512 images of colormnist\/test/);
  assert.deepEqual(lastJson(example.stdout), cliNumbers, 'open().invariance() and `inntrospect invariance` print the same numbers');
  assert.deepEqual(JSON.parse(example.stdout.trim().split('\n').at(-2)!), [32, 32, 32, 3], 'the sample grid: 8 samples for each of 4 inputs');

  // The same example as TypeScript against the shipped declarations (skipLibCheck: tfjs's own
  // .d.ts do not pass a strict check), plus typed uses that fail to compile if the types are wrong.
  writeFileSync(join(app, 'example.ts'), `${code}\nconst share: number = inv.layers[0]!.zbarShare;\nconst shape: [number, number, number, number] = grid.samples.shape;\nvoid share; void shape;\n`);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'DOM'], types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ['example.ts'],
  }));
  run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], app);
  writeFileSync(join(app, 'wrong.ts'), "import { open } from 'inntrospect';\nconst p = await open('zoo/colormnist');\nawait p.invariance({ inputs: 'many' });\n");
  const wrong = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node', '--typeRoots', join(ROOT, 'node_modules', '@types'), 'wrong.ts'], { cwd: app, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0, 'a wrong option type must not compile');
  assert.match(wrong.stdout, /wrong\.ts\(3,\d+\): error TS2322/);

  // `inntrospect explore` from the install serves the prebuilt page (no esbuild there).
  const server = spawn(join(app, 'node_modules', '.bin', 'inntrospect'), ['explore', '--port', '0', '--no-open', '--test-images', '16'], { cwd: app, env: { ...process.env, NODE_OPTIONS: '' } });
  try {
    const url = await new Promise<string>((done, fail) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => fail(new Error(`explore printed no URL in 60 s:\n${out}\n${err}`)), 60_000);
      server.stderr.on('data', (d) => (err += d));
      server.stdout.on('data', (d) => {
        out += d;
        const m = /explorer: (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          assert.match(out, /prebuilt in the package/);
          done(m[1]!);
        }
      });
      server.on('exit', (c) => fail(new Error(`explore exited (${c}):\n${out}\n${err}`)));
    });
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<script/);
    for (const path of ['app.js', 'worker.js', 'models/manifest.json']) {
      const r = await fetch(new URL(path, url));
      assert.equal(r.status, 200, path);
      await r.arrayBuffer();
    }
  } finally {
    server.removeAllListeners('exit');
    server.kill('SIGTERM');
  }
});
