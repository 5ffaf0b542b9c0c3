/**
 * One process per run folder: a `run.lock` file holding the owner's pid. A lock whose process
 * is gone (killed with SIGKILL, say) is stale and is taken over; a live one is refused.
 */
import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeError } from './atomic-file.ts';

export class RunLockedError extends Error {
  constructor(readonly folder: string, readonly pid: number) {
    super(`run folder ${folder} is in use by process ${pid}; wait for it to finish or stop it first`);
    this.name = 'RunLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RunLock {
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(folder: string): RunLock {
    const path = join(folder, 'run.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, `${process.pid}\n`);
        } catch (error) {
          closeSync(fd);
          rmSync(path, { force: true });
          throw writeError(path, error);
        }
        closeSync(fd);
        return new RunLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error instanceof Error && error.message.startsWith('cannot write') ? error : writeError(path, error);
        const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
        if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) throw new RunLockedError(folder, pid);
        rmSync(path, { force: true }); // stale: its owner is gone
      }
    }
    throw new Error(`could not lock run folder ${folder}`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    rmSync(this.path, { force: true });
  }
}
