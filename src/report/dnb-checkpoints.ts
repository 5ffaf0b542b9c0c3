/**
 * The report's D&B decoders (Table 1) are trained inside `report`; their training state is kept
 * in a folder beside the report (`report.html` → `report.dnb/`), so a report that is killed and
 * run again continues each decoder from its last save and gives the numbers of an uninterrupted
 * run. The folder holds only files this module writes, and is removed once the report is written.
 * Node only.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '../runs/atomic-file.ts';
import { DIRECT_DECODER_STATE_FORMAT, type DirectDecoderCheckpoints, type DirectDecoderState } from '../analysis/baselines.ts';

/** Beside the report, named from it: report.html → report.dnb. */
export function dnbCheckpointFolder(out: string): string {
  return `${out.replace(/\.html?$/i, '')}.dnb`;
}

function stateFile(dir: string, layer: string): string {
  return join(dir, `dnb-${layer.replace(/[^A-Za-z0-9._-]/g, '_')}.json`);
}

function isOurs(path: string): boolean {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { format?: unknown }).format === DIRECT_DECODER_STATE_FORMAT;
  } catch {
    return false;
  }
}

/**
 * One layer's D&B state as a JSON file in `dir`. A file of another format is never replaced.
 *
 * @example
 *   table1(ctx, { …, dnbCheckpoints: (layer) => dnbFileCheckpoints('report.dnb', layer) });
 */
export function dnbFileCheckpoints(dir: string, layer: string, every = 100): DirectDecoderCheckpoints {
  const path = stateFile(dir, layer);
  return {
    every,
    load: () => {
      if (!existsSync(path)) return null;
      if (!isOurs(path)) throw new Error(`report: ${path} exists and is not a D&B training state of inntrospect; move it away (nothing was written)`);
      return JSON.parse(readFileSync(path, 'utf8')) as DirectDecoderState;
    },
    save: (state) => {
      mkdirSync(dir, { recursive: true });
      writeJsonAtomic(path, state);
    },
  };
}

/** Removes the states this module wrote (and the folder, when nothing else is in it). */
export function removeDnbCheckpoints(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (/^dnb-.*\.json$/.test(name) && isOurs(path)) rmSync(path);
  }
  if (readdirSync(dir).length === 0) rmdirSync(dir);
}
