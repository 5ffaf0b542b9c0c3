/**
 * Reading a zoo folder (Node): the manifest, and model files verified against their sha256 —
 * a file whose checksum does not match is an error, never a silently different model.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readModel, type LoadedModel } from './model-files.ts';
import { manifestFiles, ZOO_FORMAT, ZooChecksumError, type ZooFileEntry, type ZooManifest } from '../zoo/manifest.ts';
import { readJsonFile } from '../runs/json-file.ts';
import { resolveInside } from '../models/contained-path.ts';

export { ZooChecksumError };

export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class Zoo {
  private constructor(readonly dir: string, readonly manifest: ZooManifest) {}

  static open(dir: string): Zoo {
    const path = join(dir, 'manifest.json');
    if (!existsSync(path)) throw new Error(`${dir} is not a zoo folder (no manifest.json)`);
    const manifest = readJsonFile<ZooManifest>(path, 'zoo manifest');
    if (typeof manifest !== 'object' || manifest === null || manifest.format !== ZOO_FORMAT) throw new Error(`${path}: unknown zoo format '${String((manifest as Partial<ZooManifest> | null)?.format)}'`);
    return new Zoo(resolve(dir), manifest);
  }

  /** The file's bytes after checking its sha256. */
  readVerified(entry: ZooFileEntry): Buffer {
    const path = resolveInside(this.dir, entry.file, join(this.dir, 'manifest.json'), `the entry for '${String(entry.file)}'`);
    if (!existsSync(path)) throw new Error(`zoo file ${path} is missing`);
    const bytes = readFileSync(path);
    const actual = sha256(bytes);
    if (actual !== entry.sha256) throw new ZooChecksumError(path, entry.sha256, actual);
    return bytes;
  }

  load(entry: ZooFileEntry): LoadedModel {
    this.readVerified(entry);
    return readModel(join(this.dir, entry.file));
  }

  /** Checks every file's checksum; returns the number of files checked. */
  verifyAll(): number {
    const files = manifestFiles(this.manifest);
    for (const entry of files) this.readVerified(entry);
    return files.length;
  }
}
