#!/usr/bin/env node
// The `inntrospect` command. In a checkout (src/ present) it runs the TypeScript sources through
// tsx, a devDependency, so no build step is needed while developing; an installed package has
// no src/ and runs the compiled dist/ with plain Node.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let main;
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import(source.href));
} else {
  ({ main } = await import(new URL('../dist/cli/main.js', import.meta.url).href));
}
process.exit(await main(process.argv.slice(2)));
