/**
 * Drives a TrainingJob inside a run folder: logs metrics, writes resumable checkpoints
 * atomically, keeps snapshots and sample images, resumes from the last checkpoint (rewriting
 * metrics.jsonl to that checkpoint's step), stops cleanly when asked (SIGINT, SIGTERM), and
 * stops with a clear error on a NaN/Inf loss while keeping the last checkpoint that is known to
 * be good (its own loss and the step after it were finite). Node only (it writes files); emits
 * progress events and notes, never prints.
 */
import { readFileSync, renameSync, rmSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../runs/atomic-file.ts';
import type { RunFolder } from '../runs/run-folder.ts';
import type { ProgressListener } from '../runs/progress.ts';
import { TRAIN_STATE_FORMAT, type TrainingJob, type TrainState } from './job.ts';

export interface RunnerOptions {
  /** Write a resumable checkpoint every this many steps (and when stopped). */
  checkpointEvery: number;
  /** Write sample images every this many steps (0: only at the end). */
  sampleEvery: number;
  /** Evaluate every this many steps (0: only at the end). */
  evalEvery: number;
  /** Resumable checkpoints to keep (older ones are deleted). */
  keepCheckpoints: number;
  /** Continue from the run folder's last checkpoint. */
  resume: boolean;
  /** Checked after every step; true writes a checkpoint and returns (SIGINT, SIGTERM). */
  shouldStop?: () => boolean;
  /** Test hook: called after each completed step. */
  afterStep?: (iteration: number) => void;
  /** Test hook: called with a checkpoint's temp file, fully written, before it replaces the file. */
  duringCheckpoint?: (iteration: number, temp: string) => void;
  onProgress?: ProgressListener;
  /** Called after a resume has read and restored its checkpoint, before anything is written. */
  onResumed?: (step: number) => void;
  /** Things the user should know that are not errors (a torn metrics line dropped on resume). */
  onNote?: (message: string) => void;
}

export const DEFAULT_RUNNER_OPTIONS: RunnerOptions = {
  checkpointEvery: 200, sampleEvery: 0, evalEvery: 0, keepCheckpoints: 2, resume: false,
};

export interface RunResult {
  /** Steps completed in total (including those before a resume). */
  steps: number;
  /** True when stopped by shouldStop before the last step. */
  stopped: boolean;
  lastMetrics: Record<string, number>;
  evaluation?: Record<string, number>;
  elapsedMs: number;
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly value: number | string, readonly checkpoint: string | null, readonly setAside: string[] = []) {
    super(
      `training stopped at step ${step}: the loss became ${value}. ` +
      (checkpoint ? `The last good checkpoint is kept: ${checkpoint} (resume from it with a lower learning rate).` : 'No good checkpoint had been written yet.') +
      (setAside.length ? ` Set aside, because the step after them was not finite: ${setAside.join(', ')}.` : ''),
    );
    this.name = 'NonFiniteLossError';
  }
}

function checkpointStep(path: string): number {
  return Number(/step-(\d+)\.json$/.exec(path)?.[1] ?? NaN);
}

/** Where a checkpoint whose next step was not finite is moved (out of --resume's way, not deleted). */
export function setAsidePath(path: string): string {
  return join(dirname(path), basename(path).replace(/\.json$/, '.next-step-not-finite.json'));
}

function readState(path: string): TrainState {
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(path, 'utf8')) as TrainState;
  } catch (error) {
    throw new Error(`cannot read checkpoint ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (state.format !== TRAIN_STATE_FORMAT) throw new Error(`${path} is not a training checkpoint (format '${String(state.format)}')`);
  return state;
}

export async function runJob(job: TrainingJob, run: RunFolder, options: Partial<RunnerOptions> = {}): Promise<RunResult> {
  const o: RunnerOptions = { ...DEFAULT_RUNNER_OPTIONS, ...options };
  const task = `train ${job.kind}`;
  const t0 = performance.now();
  let start = 0;
  if (o.resume) {
    const latest = run.latestCheckpoint();
    if (latest) {
      const state = readState(latest);
      if (state.kind !== job.kind) throw new Error(`checkpoint ${latest} is for '${state.kind}', not '${job.kind}'`);
      if (!Number.isInteger(state.step) || state.step < 0 || state.step > job.totalSteps) {
        throw new Error(`checkpoint ${latest} is at step ${String(state.step)}, outside this run's 0…${job.totalSteps} steps`);
      }
      await job.restoreState(state);
      start = state.step;
    }
    o.onResumed?.(start);
    // The log is rewritten to the checkpoint's state (no checkpoint: to nothing), so a resumed
    // run logs each step once, in order, as an uninterrupted run does.
    const note = run.resetMetricsTo(start, start === job.totalSteps);
    if (note) o.onNote?.(note);
  }
  const snapshots = new Set(job.snapshotIterations ?? []);
  const snapshotDir = join(run.path, 'snapshots');
  const writeSnapshot = (iteration: number) => {
    if (!snapshots.has(iteration) || !job.snapshot) return;
    mkdirSync(snapshotDir, { recursive: true });
    for (const [name, text] of Object.entries(job.snapshot(iteration))) {
      writeFileAtomic(join(snapshotDir, `step-${String(iteration).padStart(8, '0')}-${name}`), text);
    }
  };
  // Old checkpoints are pruned to the newest keepCheckpoints, but the newest one whose next step
  // is known to be finite (its step < the steps completed) always stays: it is what a NaN falls
  // back to.
  const prune = (completed: number) => {
    const all = run.listCheckpoints();
    const verified = all.filter((f) => checkpointStep(f) < completed).at(-1);
    for (const old of all.slice(0, Math.max(0, all.length - o.keepCheckpoints))) if (old !== verified) rmSync(old, { force: true });
  };
  const writeCheckpoint = async (iteration: number) => {
    const state = await job.saveState(iteration);
    run.writeCheckpoint(iteration, JSON.stringify(state), { beforeRename: (temp) => o.duringCheckpoint?.(iteration, temp) });
    prune(iteration);
  };
  /** The NaN at step `failed`: checkpoints after step failed − 2 had a non-finite next step. */
  const nonFinite = (failed: number, value: string): NonFiniteLossError => {
    const all = run.listCheckpoints();
    const good = all.filter((f) => checkpointStep(f) <= failed - 2).at(-1) ?? null;
    const bad = all.filter((f) => checkpointStep(f) > failed - 2);
    for (const f of bad) renameSync(f, setAsidePath(f));
    return new NonFiniteLossError(failed, value, good, bad.map(setAsidePath));
  };
  const writeSamples = async (iteration: number) => {
    if (!job.samples) return;
    for (const image of await job.samples(iteration)) run.writeSample(`step-${String(iteration).padStart(8, '0')}-${image.name}`, image.bytes);
  };

  if (start === 0) writeSnapshot(0);
  o.onProgress?.({ task, step: start, total: job.totalSteps });
  let lastMetrics: Record<string, number> = {};
  let evaluation: Record<string, number> | undefined;
  let iteration = start;
  while (iteration < job.totalSteps) {
    let metrics: Record<string, number>;
    try {
      metrics = await job.step(iteration);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const token = /-?Infinity|NaN/.exec(message);
      if (token || /not finite|non-finite/i.test(message)) throw nonFinite(iteration + 1, token?.[0] ?? 'not finite');
      throw error;
    }
    iteration++;
    const loss = metrics['loss'];
    if (loss === undefined || !Number.isFinite(loss)) throw nonFinite(iteration, String(loss));
    lastMetrics = metrics;
    run.logMetrics({ step: iteration, ...metrics });
    o.onProgress?.({ task, step: iteration, total: job.totalSteps, metrics: { loss } });
    writeSnapshot(iteration);
    if (o.evalEvery > 0 && iteration % o.evalEvery === 0 && iteration < job.totalSteps && job.evaluate) {
      evaluation = await job.evaluate();
      run.logMetrics({ step: iteration, eval: evaluation });
    }
    if (o.sampleEvery > 0 && iteration % o.sampleEvery === 0 && iteration < job.totalSteps) await writeSamples(iteration);
    o.afterStep?.(iteration);
    // Steps resolve through microtasks only; yielding a macrotask lets signal handlers (Ctrl-C)
    // and I/O callbacks run between steps.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const stopping = iteration < job.totalSteps && (o.shouldStop?.() ?? false);
    if (stopping || (o.checkpointEvery > 0 && iteration % o.checkpointEvery === 0) || iteration === job.totalSteps) {
      await writeCheckpoint(iteration);
    }
    if (stopping) {
      o.onProgress?.({ task, step: iteration, total: job.totalSteps, done: true });
      return { steps: iteration, stopped: true, lastMetrics, elapsedMs: performance.now() - t0 };
    }
  }
  if (job.evaluate) {
    evaluation = await job.evaluate();
    run.logMetrics({ step: iteration, eval: evaluation });
  }
  await writeSamples(iteration);
  for (const [name, text] of Object.entries(job.finalModels())) writeFileAtomic(join(run.path, name), text);
  o.onProgress?.({ task, step: iteration, total: job.totalSteps, metrics: { loss: lastMetrics['loss'] ?? NaN }, done: true });
  return { steps: iteration, stopped: false, lastMetrics, evaluation, elapsedMs: performance.now() - t0 };
}
