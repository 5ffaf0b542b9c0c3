/**
 * Atomic file writes (Node only): data goes to a temp file in the same folder, is flushed to
 * disk, and is renamed over the target, so a reader or a crash never sees a half-written file.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A failed write, naming the file and, for a full disk, saying so. */
export function writeError(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === 'ENOSPC' ? 'the disk is full' : code === 'EDQUOT' ? 'the disk quota is used up' : code === 'EROFS' ? 'the file system is read-only' : error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(`cannot write ${path}: ${why}${code ? ` (${code})` : ''}; the previous version of the file, if any, is unchanged`), { code });
}

export interface AtomicWriteHooks {
  /** Testing: called with the temp file once it is written, before it replaces `path`. */
  beforeRename?: (temp: string) => void;
}

export function writeFileAtomic(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, 'w');
  } catch (error) {
    throw writeError(path, error);
  }
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw writeError(path, error);
  }
  closeSync(fd);
  hooks.beforeRename?.(temp);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw writeError(path, error);
  }
  // Make the rename itself durable.
  try {
    const dirFd = openSync(dirname(path), 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
  } catch {
    // Some file systems do not allow fsync on a directory; the rename is still atomic.
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}
