/**
 * Imports in src/ run only downwards (docs/architecture.md): a module may import its own folder
 * and folders of a lower rank, never a higher one. Reads every import of every src/**\/*.ts,
 * type-only imports included (they couple the layers as much as the others).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, resolve } from 'node:path';

/** The layers from the bottom up; folders of one rank may not import each other. */
export const LAYERS: string[][] = [
  ['engine'],
  ['config'],
  ['runs'],
  ['flows', 'models', 'data'],
  ['train'],
  ['zoo'],
  ['analysis'],
  ['figures'],
  ['pipeline'],
  ['report'],
  ['explorer'],
  ['api', 'cli'],
  ['index.ts', 'index.browser.ts'],
];

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** The top-level entry under src/ a path belongs to: a folder name, or a file at src/. */
function unit(path: string): string {
  return relative(SRC, path).split('/')[0]!;
}

function rank(u: string): number {
  const r = LAYERS.findIndex((l) => l.includes(u));
  if (r < 0) throw new Error(`src/${u} has no place in LAYERS (test/architecture/imports.test.ts): give it one and say where in docs/architecture.md`);
  return r;
}

/** Every relative import specifier of a file (static, dynamic, re-export, type-only). */
export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(m[1]!);
  return out;
}

/** Upward imports of src/ as 'file → target' lines. */
function upwardImports(): string[] {
  const bad: string[] = [];
  for (const file of files(SRC)) {
    const from = unit(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = normalize(join(dirname(file), spec));
      if (!target.startsWith(SRC)) continue;
      const to = unit(target);
      if (to === from) continue;
      if (rank(to) >= rank(from)) bad.push(`src/${relative(SRC, file)} → src/${relative(SRC, target)} (${to} is not below ${from})`);
    }
  }
  return bad;
}

test('every import in src/ runs downwards', () => {
  assert.deepEqual(upwardImports(), []);
});

test('the checker sees every kind of import, and would fail on an upward one', () => {
  assert.deepEqual(importsOf(`import { a } from '../x.ts';\nimport type { B } from "./y.ts";\nexport * from '../z.ts';\nconst m = await import('../w.ts');\nimport '../side.ts';`), ['../x.ts', './y.ts', '../z.ts', '../w.ts', '../side.ts']);
  assert.ok(rank('report') < rank('cli'), 'report sits below cli');
  assert.ok(rank('engine') < rank('analysis'));
  assert.throws(() => rank('newfolder'), /no place in LAYERS/);
});
