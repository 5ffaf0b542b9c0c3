/**
 * A training run's folder, `runs/<time>_<name>/`: the resolved config, metrics as JSON lines,
 * checkpoints and sample images. Node only; every file is written atomically.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from './atomic-file.ts';
import { RunLock } from './run-lock.ts';

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

  /** An existing folder (for `--resume`); refused while another process holds it. */
  static open(path: string): RunFolder {
    if (!existsSync(join(path, 'config.json'))) throw new Error(`${path} is not a run folder (no config.json)`);
    return new RunFolder(path);
  }

  writeConfig(config: unknown): void {
    writeJsonAtomic(join(this.path, 'config.json'), config);
  }

  readConfig<T>(): T {
    return JSON.parse(readFileSync(join(this.path, 'config.json'), 'utf8')) as T;
  }

  /** Appends one metrics record (a JSON line). */
  logMetrics(record: Record<string, unknown>): void {
    appendFileSync(join(this.path, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }

  readMetrics(): Array<Record<string, unknown>> {
    const file = join(this.path, 'metrics.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /**
   * Drops metric lines past `step` (after a resume from an earlier checkpoint, so the log has
   * each step once).
   */
  truncateMetricsAfter(step: number): void {
    const kept = this.readMetrics().filter((r) => typeof r['step'] !== 'number' || (r['step'] as number) <= step);
    writeFileAtomic(join(this.path, 'metrics.jsonl'), kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  writeCheckpoint(step: number, data: string | Uint8Array): string {
    const file = join(this.checkpoints, `step-${String(step).padStart(8, '0')}.json`);
    writeFileAtomic(file, data);
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
