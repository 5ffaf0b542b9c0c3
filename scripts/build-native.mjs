// Builds the libtorch addon (native/torch) with node-gyp against Debian's libtorch.
// `npm run build:native`; needs `apt-get install libtorch-dev libopenblas0-pthread`.
// Not part of `npm ci`: machines without libtorch install and test on wasm.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = join(root, 'native', 'torch');

if (!existsSync('/usr/include/torch/csrc/api/include/torch/version.h') || !existsSync('/usr/include/ATen/ATen.h')) {
  console.error('build:native: libtorch headers not found. Install them with:\n' +
    '  apt-get install -y libtorch-dev libopenblas0-pthread');
  process.exit(1);
}

// npm passes its bundled node-gyp to scripts; otherwise look beside the running node.
const candidates = [
  process.env['npm_config_node_gyp'],
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].filter((p) => p && existsSync(p));
if (candidates.length === 0) {
  console.error('build:native: node-gyp not found (it ships with npm); run this through `npm run build:native`.');
  process.exit(1);
}
const args = [candidates[0], 'rebuild', '--directory', addonDir, '--jobs', '2'];
// Offline: use the headers of the installed node (e.g. /usr/include/node) instead of downloading them.
const prefix = resolve(dirname(process.execPath), '..');
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

console.log(`build:native: node-gyp ${args.slice(1).join(' ')}`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
