/**
 * Paths read from a user's file (a model.json's weightsManifest shard paths, say) are resolved
 * inside the folder of that file, or refused: no absolute paths, no `..` that leaves the folder,
 * no symbolic link that leads out of it. The error names the file, the entry and the path, so
 * a model folder can never make inntrospect read (or the explorer serve) a file elsewhere.
 * Node only.
 */
import { existsSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/**
 * `entry` (a relative path from `source`, which lives in `dir`) as an absolute path inside `dir`.
 *
 * @example
 *   resolveInside('models/m', 'group1-shard1of1.bin', 'models/m/model.json', 'weightsManifest[0].paths[0]')
 */
export function resolveInside(dir: string, entry: unknown, source: string, where: string): string {
  if (typeof entry !== 'string' || entry === '') throw new Error(`${source}: ${where} must be a file name relative to ${dir}, got ${JSON.stringify(entry)}`);
  if (entry.includes('\0')) throw new Error(`${source}: ${where} ${JSON.stringify(entry)} contains a NUL character`);
  if (isAbsolute(entry) || /^[a-zA-Z]:[\\/]/.test(entry)) throw new Error(`${source}: ${where} '${entry}' is an absolute path; paths must stay inside ${dir}`);
  const root = resolve(dir);
  const path = resolve(root, entry);
  if (!inside(root, path)) throw new Error(`${source}: ${where} '${entry}' leaves the folder ${dir}; paths must stay inside it`);
  if (existsSync(path)) {
    const real = realpathSync(path);
    const realRoot = realpathSync(root);
    if (!inside(realRoot, real)) throw new Error(`${source}: ${where} '${entry}' is a link that leads out of the folder ${dir}; paths must stay inside it`);
  }
  return path;
}
