/**
 * What a resume may change, and the record of it. A run's config.json is written once, when
 * the run starts, and never rewritten; each resume that changes a key (only training keys such
 * as the number of steps or the learning rate may change) appends an entry to the run's
 * history.jsonl. The config a resume continues with is config.json with the history's changes
 * applied in order. Node only.
 */
import { ConfigError, mergeConfig, moveKeys, type ConfigObject, type ConfigValue, type MovedKeys } from '../config/config.ts';
import type { RunFolder } from './run-folder.ts';

/** One key changed by a resume. */
export interface ResumeChange {
  key: string;
  from: unknown;
  to: unknown;
}

/** One line of history.jsonl. */
export interface HistoryEntry {
  /** ISO time of the resume. */
  at: string;
  /** The checkpoint's step the run continued from. */
  resumedAtStep: number;
  changes: ResumeChange[];
}

function leaves(value: unknown, path = ''): Map<string, string> {
  const out = new Map<string, string>();
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) for (const [kk, vv] of leaves(v, path ? `${path}.${k}` : k)) out.set(kk, vv);
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}

function setKey(config: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let cursor = config;
  for (const key of keys.slice(0, -1)) cursor = cursor[key] as Record<string, unknown>;
  cursor[keys.at(-1)!] = value;
}

/**
 * The config a resume of `run` continues with: config.json, the history's changes, then
 * `apply` (the command line's overrides). A key outside `rules.resumable` that would change is
 * an error naming it; nothing is written here.
 */
export function resumeConfig(
  run: RunFolder,
  rules: { kind: string; defaults: object; resumable: readonly string[]; moved: MovedKeys },
  apply: (config: object) => object,
): { config: object; changes: ResumeChange[] } {
  let effective = moveKeys(run.readConfig<Record<string, unknown>>(), rules.moved);
  try {
    // The saved config must have this kind's shape (a classifier run resumed as an AE has not).
    mergeConfig(structuredClone(rules.defaults), effective as ConfigObject);
  } catch (error) {
    throw new Error(`${run.path} is not a '${rules.kind}' run: its config.json does not fit one (${error instanceof Error ? error.message : String(error)})`);
  }
  for (const entry of run.readHistory()) {
    effective = structuredClone(effective);
    for (const change of entry.changes) setKey(effective, change.key, change.to as ConfigValue);
  }
  const merged = apply(effective);
  const before = leaves(effective);
  const after = leaves(merged);
  const changes: ResumeChange[] = [];
  for (const [key, value] of after) {
    if (before.get(key) === value) continue;
    if (!rules.resumable.includes(key)) {
      throw new ConfigError(key, `cannot change on --resume: the checkpoint was trained with ${before.get(key) ?? 'nothing'} (keys that may change on resume: ${rules.resumable.join(', ')})`);
    }
    changes.push({ key, from: JSON.parse(before.get(key)!), to: JSON.parse(value) });
  }
  return { config: merged, changes };
}
