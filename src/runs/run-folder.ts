/**
 * A training run's folder, `runs/<time>_<name>/`: the resolved config, metrics as JSON lines,
 * checkpoints and sample images. Node only; every file is written atomically.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeError, writeFileAtomic, writeJsonAtomic, type AtomicWriteHooks } from './atomic-file.ts';
import { RunLock } from './run-lock.ts';
import type { HistoryEntry } from './run-history.ts';

export interface RunFolderOptions {
  /** Parent folder of all runs. Default: 'runs'. */
  root?: string;
  /** Short run name, appended to the timestamp. */
  name: string;
  /** Clock for the folder name (tests pass a fixed one). */
  now?: Date;
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, '').replace(/:/g, '-');
}

export class RunFolder {
  readonly checkpoints: string;
  readonly samples: string;
  private readonly lock: RunLock;

  private constructor(readonly path: string) {
    this.lock = RunLock.acquire(path);
    this.checkpoints = join(path, 'checkpoints');
    this.samples = join(path, 'samples');
    mkdirSync(this.checkpoints, { recursive: true });
    mkdirSync(this.samples, { recursive: true });
  }

  /** A new folder `<root>/<time>_<name>`. */
  static create(options: RunFolderOptions): RunFolder {
    if (!/^[\w.-]+$/.test(options.name)) throw new Error(`run name '${options.name}' may contain only letters, digits, '.', '_' and '-'`);
    const root = options.root ?? 'runs';
    let path = join(root, `${timestamp(options.now ?? new Date())}_${options.name}`);
    for (let n = 2; existsSync(path); n++) path = join(root, `${timestamp(options.now ?? new Date())}_${options.name}-${n}`);
    mkdirSync(path, { recursive: true });
    return new RunFolder(path);
  }

  /** A new run folder at exactly `path` (pipelines that name their stages' folders). */
  static createAt(path: string): RunFolder {
    if (existsSync(path)) throw new Error(`run folder ${path} already exists`);
    mkdirSync(path, { recursive: true });
    return new RunFolder(path);
  }

  /**
   * An existing folder (for `--resume`); refused while another process holds it. Temp files of
   * atomic writes that a killed process left behind (never renamed into place) are removed.
   */
  static open(path: string): RunFolder {
    if (!existsSync(join(path, 'config.json'))) throw new Error(`${path} is not a run folder (no config.json)`);
    const run = new RunFolder(path);
    for (const dir of [path, run.checkpoints, run.samples]) {
      for (const name of readdirSync(dir)) if (/^\..+\.\d+\.\d+\.tmp$/.test(name)) rmSync(join(dir, name), { force: true });
    }
    return run;
  }

  writeConfig(config: unknown): void {
    writeJsonAtomic(join(this.path, 'config.json'), config);
  }

  readConfig<T>(): T {
    const file = join(this.path, 'config.json');
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (error) {
      throw new Error(`${file} is not valid JSON (${error instanceof Error ? error.message : String(error)}); it is the run's config and is left as it is`);
    }
  }

  /** The resumes that changed the config (history.jsonl), oldest first. */
  readHistory(): HistoryEntry[] {
    const file = join(this.path, 'history.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((line, i) => {
      try {
        return JSON.parse(line) as HistoryEntry;
      } catch {
        throw new Error(`${file} line ${i + 1} is not valid JSON`);
      }
    });
  }

  /** Records a resume that changed the config; config.json itself is never rewritten. */
  appendHistory(entry: HistoryEntry): void {
    const file = join(this.path, 'history.jsonl');
    const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
    writeFileAtomic(file, `${before}${JSON.stringify(entry)}\n`);
  }

  /** Appends one metrics record (a JSON line). */
  logMetrics(record: Record<string, unknown>): void {
    const file = join(this.path, 'metrics.jsonl');
    try {
      appendFileSync(file, `${JSON.stringify(record)}\n`);
    } catch (error) {
      // A line cut short here is dropped, with a note, when the run is resumed.
      throw writeError(file, error);
    }
  }

  /**
   * The metrics records. A last line cut short (a crash or power loss while appending) is not a
   * record: it is left out and `torn` says so; a broken line elsewhere is an error naming it.
   */
  readMetricsChecked(): { records: Array<Record<string, unknown>>; torn: string | null } {
    const file = join(this.path, 'metrics.jsonl');
    if (!existsSync(file)) return { records: [], torn: null };
    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n');
    const records: Array<Record<string, unknown>> = [];
    let torn: string | null = null;
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      const last = i === lines.length - 1 || lines.slice(i + 1).every((l) => !l.trim());
      try {
        const record = JSON.parse(line) as unknown;
        if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not a JSON object');
        // A last line without its newline was cut short even when it happens to parse.
        if (last && !text.endsWith('\n')) throw new Error('no newline');
        records.push(record as Record<string, unknown>);
      } catch (error) {
        if (!last) throw new Error(`${file} line ${i + 1} is not a metrics record (${error instanceof Error ? error.message : String(error)}): ${line.slice(0, 80)}`);
        torn = line;
      }
    });
    return { records, torn };
  }

  readMetrics(): Array<Record<string, unknown>> {
    return this.readMetricsChecked().records;
  }

  /**
   * Rewrites the log to the state of the checkpoint at `step` (the resume point): records of
   * later steps go, as do evaluation lines at `step` itself when `dropEvalAt` (the final
   * evaluation runs after the last checkpoint and is repeated). Returns a note when a torn last
   * line was dropped.
   */
  resetMetricsTo(step: number, dropEvalAt = false): string | null {
    const { records, torn } = this.readMetricsChecked();
    const kept = records.filter((r) => {
      const s = r['step'];
      if (typeof s !== 'number') return true;
      return s < step || (s === step && !(dropEvalAt && 'eval' in r));
    });
    const file = join(this.path, 'metrics.jsonl');
    if (existsSync(file) || kept.length) writeFileAtomic(file, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return torn === null ? null : `${file}: dropped a torn last line (${JSON.stringify(torn.slice(0, 60))}), left by a crash while it was written`;
  }

  writeCheckpoint(step: number, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): string {
    const file = join(this.checkpoints, `step-${String(step).padStart(8, '0')}.json`);
    writeFileAtomic(file, data, hooks);
    return file;
  }

  /** The checkpoint files, oldest first. */
  listCheckpoints(): string[] {
    return readdirSync(this.checkpoints).filter((f) => /^step-\d+\.json$/.test(f)).sort().map((f) => join(this.checkpoints, f));
  }

  latestCheckpoint(): string | null {
    return this.listCheckpoints().at(-1) ?? null;
  }

  writeSample(name: string, data: Uint8Array): string {
    const file = join(this.samples, name);
    writeFileAtomic(file, data);
    return file;
  }

  close(): void {
    this.lock.release();
  }
}
