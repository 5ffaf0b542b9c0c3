// `npm run build` (and `prepack`): the package's dist/.
//   dist/**/*.js, *.d.ts   tsc of src/ (tsconfig.build.json; relative '.ts' imports rewritten to '.js')
//   dist/browser/index.js  esbuild bundle of src/index.browser.ts (dependencies left as imports)
//   dist/explorer-page/    esbuild bundle of the explorer's page and worker, so that
//                          `inntrospect explore` from an installed package needs no esbuild
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const t0 = Date.now();
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

// tsc rewrites '.ts' specifiers in the JS it emits but leaves them in declarations; a consumer's
// tsc resolves '.js' to the shipped '.d.ts', so rewrite relative ones there too.
function walk(dir) {
  return readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
}
let rewritten = 0;
for (const file of walk('dist').filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  const out = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
  if (out !== text) {
    writeFileSync(file, out);
    rewritten++;
  }
}

const esbuild = await import('esbuild');
await esbuild.build({
  entryPoints: ['src/index.browser.ts'], outfile: 'dist/browser/index.js', bundle: true, format: 'esm', platform: 'browser',
  target: 'es2022', packages: 'external', logLevel: 'warning',
});
const { ensureExplorerBuilt } = await import('../dist/explorer/build.js');
const page = await ensureExplorerBuilt('dist/explorer-page', true);
console.log(`built dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s (declarations rewritten: ${rewritten}; explorer: ${page.dir})`);
