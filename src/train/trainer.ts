/**
 * A model-agnostic training loop: it knows nothing about models or losses. It runs a step
 * function `steps` times, reports typed progress events, calls back at the requested checkpoint
 * iterations and evaluation intervals, and stops early when asked. Library code: never prints.
 *
 * Iteration k means "after k steps": a checkpoint at iteration 0 is the untrained model.
 */
import type { ProgressEvent } from '../runs/progress.ts';

/** Progress of a training run (a ProgressEvent with the kind of event and the time spent). */
export interface TrainEvent extends ProgressEvent {
  kind: 'start' | 'step' | 'checkpoint' | 'eval' | 'end';
  /** Milliseconds since the loop started. */
  elapsedMs: number;
}

export interface TrainLoopOptions {
  /** Task name in events, e.g. 'train ae'. */
  task: string;
  /** Total number of steps (the last iteration). */
  steps: number;
  /** First iteration when resuming (steps already done). Default 0. */
  startIteration?: number;
  /** One optimisation step; `iteration` counts from 0. Returns numbers to report (loss, …). */
  step: (iteration: number) => Promise<Record<string, number>> | Record<string, number>;
  /** Iterations at which to call `onCheckpoint` (see checkpointIterations). */
  checkpointAt?: readonly number[];
  onCheckpoint?: (iteration: number) => Promise<void> | void;
  /** Evaluate every `evalEvery` steps (and at the end); 0 or absent: never. */
  evalEvery?: number;
  evaluate?: (iteration: number) => Promise<Record<string, number>> | Record<string, number>;
  /** Emit a 'step' event every `reportEvery` steps (default 10) and on the last one. */
  reportEvery?: number;
  onProgress?: (event: TrainEvent) => void;
  /** Checked after each step; true ends the run early (after a final checkpoint callback). */
  shouldStop?: (iteration: number) => boolean;
}

export interface TrainLoopResult {
  /** Iterations completed (== steps unless stopped early). */
  iterations: number;
  elapsedMs: number;
  /** The last step's numbers. */
  last: Record<string, number>;
  /** The last evaluation's numbers, if any. */
  lastEval?: Record<string, number>;
  stoppedEarly: boolean;
}

/**
 * @example
 *   await trainLoop({ task: 'train clf', steps: 1000, step: (i) => trainer.step(sampler.next()),
 *                     checkpointAt: checkpointIterations(1000, 20), onCheckpoint: save });
 */
export async function trainLoop(options: TrainLoopOptions): Promise<TrainLoopResult> {
  const { task, steps } = options;
  const start = options.startIteration ?? 0;
  const reportEvery = options.reportEvery ?? 10;
  const pending = new Set((options.checkpointAt ?? []).filter((k) => k >= start && k <= steps));
  const t0 = performance.now();
  const emit = (e: Omit<TrainEvent, 'task' | 'elapsedMs' | 'total'>) =>
    options.onProgress?.({ task, total: steps, elapsedMs: performance.now() - t0, ...e });

  const checkpoint = async (iteration: number) => {
    if (!pending.has(iteration)) return;
    pending.delete(iteration);
    await options.onCheckpoint?.(iteration);
    emit({ kind: 'checkpoint', step: iteration });
  };

  emit({ kind: 'start', step: start });
  await checkpoint(start);
  let last: Record<string, number> = {};
  let lastEval: Record<string, number> | undefined;
  let iteration = start;
  let stoppedEarly = false;
  while (iteration < steps) {
    last = await options.step(iteration);
    iteration++;
    if (iteration % reportEvery === 0 || iteration === steps) emit({ kind: 'step', step: iteration, metrics: last });
    if (options.evaluate && options.evalEvery && (iteration % options.evalEvery === 0 || iteration === steps)) {
      lastEval = await options.evaluate(iteration);
      emit({ kind: 'eval', step: iteration, metrics: lastEval });
    }
    await checkpoint(iteration);
    if (iteration < steps && options.shouldStop?.(iteration)) {
      stoppedEarly = true;
      break;
    }
  }
  const elapsedMs = performance.now() - t0;
  options.onProgress?.({ task, step: iteration, total: steps, kind: 'end', elapsedMs, metrics: last, done: true });
  return { iterations: iteration, elapsedMs, last, lastEval, stoppedEarly };
}
