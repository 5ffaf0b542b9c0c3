/**
 * Output folders that hold files the user did not ask to replace. A command that writes a
 * folder (`reproduce --out DIR`) creates it fresh, or refuses a non-empty one unless told to
 * replace it (`--force`); even then it replaces only the files a marker says it wrote itself
 * and never touches any other file. Node only.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** Every file under `dir`, as paths relative to it (sorted). */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out;
}

export class OutputFolderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputFolderError';
  }
}

/**
 * Checks, before any work, that `dir` may be written: absent, empty, or (with `force`) holding
 * files `owned` lists. Returns the files inntrospect wrote there before (to be replaced).
 */
export function checkOutputFolder(dir: string, owned: (dir: string) => string[] | null, force: boolean, flag: string): string[] {
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new OutputFolderError(`${flag} ${dir} is a file, not a folder; nothing was written`);
  const present = filesUnder(dir);
  if (present.length === 0) return [];
  const ours = owned(dir);
  if (!force) {
    throw new OutputFolderError(
      `${flag} ${dir} is not empty (${present.length} file${present.length === 1 ? '' : 's'}, e.g. ${present[0]}); nothing was written. ` +
      (ours ? `Add --force to replace the ${ours.length} files inntrospect wrote there (any other file is kept).` : 'It was not written by inntrospect: choose an empty or new folder.'),
    );
  }
  if (!ours) throw new OutputFolderError(`${flag} ${dir} holds files inntrospect did not write (e.g. ${present[0]}); --force replaces only inntrospect's own output: choose an empty or new folder`);
  return ours;
}

/**
 * Moves the finished files of `staging` into `dir`: the `previous` files inntrospect wrote are
 * replaced, a new file that would land on any other existing file is an error (raised before
 * anything is moved), and every other file in `dir` is left as it was.
 */
export function installOutput(staging: string, dir: string, previous: string[]): void {
  const incoming = filesUnder(staging);
  const ours = new Set(previous);
  const clash = incoming.find((f) => existsSync(join(dir, f)) && !ours.has(f));
  if (clash) throw new OutputFolderError(`${join(dir, clash)} exists and was not written by inntrospect; the new output is left in ${staging}`);
  for (const f of previous) if (!incoming.includes(f)) rmSync(join(dir, f), { force: true });
  for (const f of incoming) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    renameSync(join(staging, f), join(dir, f));
  }
  rmSync(staging, { recursive: true, force: true });
}
