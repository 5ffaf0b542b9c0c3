// Runs every test/**/*.test.ts with Node's own test runner (Node 20's --test takes no globs).
// Optional arguments narrow the run to files whose path contains any of them. The
// fault-injection suite (test/faults, `npm run test:faults`) runs only when asked for by name.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return collect(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const filters = process.argv.slice(2);
const files = collect('test').filter((f) => (filters.length === 0 ? !f.startsWith(join('test', 'faults')) : filters.some((s) => f.includes(s))));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(', ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
