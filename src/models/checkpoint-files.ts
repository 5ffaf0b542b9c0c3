/**
 * Checkpoint files (Node only), written atomically (temp file + fsync + rename, src/runs/atomic-file.ts)
 * so a crash or a concurrent reader never sees half a checkpoint.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../runs/atomic-file.ts';
import { parseCheckpoint, serializeCheckpoint, type ModelCheckpoint } from './checkpoints.ts';

export function writeCheckpointFile(path: string, ckpt: ModelCheckpoint): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, serializeCheckpoint(ckpt));
}

export function readCheckpointFile(path: string): ModelCheckpoint {
  return parseCheckpoint(readFileSync(path, 'utf8'));
}
