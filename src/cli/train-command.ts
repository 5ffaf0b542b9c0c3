/**
 * `inntrospect train ae|classifier|cinn|iin`: resolves the config (defaults ← preset ← config
 * files ← dotted overrides) and checks every number of it before anything loads, trains in a
 * run folder with progress bars, writes checkpoints atomically, resumes with --resume
 * (training-only keys may change, recorded in the run's history), checkpoints and exits on
 * Ctrl-C or SIGTERM.
 */
import { readFileSync, statSync, truncateSync } from 'node:fs';
import { initEngine } from '../engine/index.ts';
import { applyOverrides, resolveConfig, withMovedKeys, type ConfigObject } from '../config/config.ts';
import { checkLimits } from '../config/limits.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { resumeConfig, type ResumeChange } from '../runs/run-history.ts';
import { jobDefinition, type JobDefinition, type PresetName } from '../pipeline/jobs/index.ts';
import { NonFiniteLossError, runJob } from '../pipeline/runner.ts';
import { createProgressBar } from './progress-bar.ts';
import { intOption } from './option-values.ts';
import { withNotesPrinted } from './notes.ts';

export interface TrainOptions {
  preset: string;
  config?: string[];
  name?: string;
  runs: string;
  resume?: string;
  checkpointEvery: string;
  sampleEvery: string;
  evalEvery: string;
  backend?: string;
  ae?: string;
  model?: string;
  layer?: string;
  /** Shortcut for --data.dataset=folder --data.folder=DIR. */
  data?: string;
  /** iin: shortcut for --pairs=FILE (a JSON file of pairs or attributes). */
  pairs?: string;
  /** Test hook: exit abruptly (like SIGKILL) right after this step. */
  crashAfterStep?: string;
  /** Test hook: SIGKILL while this step's checkpoint is half written (its temp file cut in half). */
  crashDuringCheckpoint?: string;
}

/** Exit code of a run stopped by Ctrl-C after writing its checkpoint (as shells report SIGINT). */
export const EXIT_INTERRUPTED = 130;
/** Exit code of a run stopped by SIGTERM after writing its checkpoint (128 + 15). */
export const EXIT_TERMINATED = 143;
/** Exit code of a run stopped by a NaN/Inf loss. */
export const EXIT_NON_FINITE = 3;

function readConfigFile(path: string): ConfigObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new Error(`config file ${path} cannot be read`);
  }
  try {
    return JSON.parse(text) as ConfigObject;
  } catch (error) {
    throw new Error(`config file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Resolves and checks a new run's config (nothing is read but config files). */
function newRunConfig(def: JobDefinition, overrides: string[], options: TrainOptions): object {
  const shortcuts = (['ae', 'model', 'layer', 'pairs'] as const).filter((k) => options[k] !== undefined).map((k) => `--${k}=${options[k]}`);
  if (options.data !== undefined) shortcuts.unshift('--data.dataset=folder', `--data.folder=${options.data}`);
  return resolveConfig(def.defaults, {
    preset: def.presets[options.preset as PresetName],
    files: (options.config ?? []).map(readConfigFile),
    overrides: [...shortcuts, ...overrides],
    moved: def.moved,
  });
}

export async function trainCommand(kind: string, overrides: string[], options: TrainOptions): Promise<void> {
  const def = jobDefinition(kind);
  if (options.preset !== 'tiny' && options.preset !== 'default') throw new Error(`--preset must be tiny or default, got '${options.preset}'`);
  for (const o of overrides) if (!o.startsWith('--') || !o.includes('=')) throw new Error(`unexpected argument '${o}' (config overrides look like --key.sub=value)`);
  const checkpointEvery = intOption(options.checkpointEvery, '--checkpoint-every', 0, 1e7);
  const sampleEvery = intOption(options.sampleEvery, '--sample-every', 0, 1e7);
  const evalEvery = intOption(options.evalEvery, '--eval-every', 0, 1e7);
  const crashAfter = options.crashAfterStep !== undefined ? intOption(options.crashAfterStep, '--crash-after-step', 1) : -1;
  const crashDuring = options.crashDuringCheckpoint !== undefined ? intOption(options.crashDuringCheckpoint, '--crash-during-checkpoint', 1) : -1;

  // Everything about the config is checked before the engine starts or anything loads, and the
  // job is built (models loaded, layer checked, data read) before any file is written, so a bad
  // argument leaves nothing behind and changes nothing.
  let run: RunFolder | null = null;
  let config: object;
  let changes: ResumeChange[] = [];
  if (options.resume) {
    // The preset and config files belonged to the run's start and are not re-applied; dotted
    // overrides may change training-only keys (a lower learning rate after a NaN, more steps).
    if (options.config?.length) throw new Error('--resume continues a run with its saved config; drop --config (dotted overrides of training keys are allowed)');
    run = RunFolder.open(options.resume);
    try {
      const resumed = resumeConfig(run, { kind, defaults: def.defaults, resumable: def.resumable, moved: def.moved }, (base) => withMovedKeys(def.moved, () => applyOverrides(base, overrides)));
      config = resumed.config;
      changes = resumed.changes;
      checkLimits(config, def.limits);
    } catch (error) {
      run.close();
      throw error;
    }
  } else {
    config = newRunConfig(def, overrides, options);
    checkLimits(config, def.limits);
  }

  let job;
  try {
    const info = await initEngine({ backend: options.backend });
    process.stderr.write(`backend ${info.backend}\n`);
    // Notes from data loading and model opening (grey images converted, resizing, assumptions).
    job = await withNotesPrinted(() => def.create(config));
  } catch (error) {
    run?.close();
    throw error;
  }
  if (!run) {
    run = RunFolder.create({ root: options.runs, name: options.name ?? `${kind}-${options.preset}` });
    run.writeConfig(config);
  }

  let stopRequested = false;
  let stopSignal = 'SIGINT' as NodeJS.Signals;
  // SIGTERM (what schedulers and `kill` send) stops as Ctrl-C does: after this step, with a checkpoint.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested) process.exit(signal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED);
    stopRequested = true;
    stopSignal = signal;
    process.stderr.write(`\ninntrospect: ${signal}: stopping after this step and writing a checkpoint (${signal === 'SIGINT' ? 'Ctrl-C' : 'the signal'} again to quit at once)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const openedRun = run;
  try {
    process.stderr.write(`run folder ${run.path}\n`);
    const result = await runJob(job, run, {
      resume: Boolean(options.resume),
      checkpointEvery, sampleEvery, evalEvery,
      shouldStop: () => stopRequested,
      afterStep: (step) => { if (step === crashAfter) process.kill(process.pid, 'SIGKILL'); },
      duringCheckpoint: (step, temp) => {
        if (step !== crashDuring) return;
        truncateSync(temp, Math.floor(statSync(temp).size / 2));
        process.kill(process.pid, 'SIGKILL');
      },
      // Written only once the checkpoint has been read and restored into the job.
      onResumed: (step) => { if (changes.length) openedRun.appendHistory({ at: new Date().toISOString(), resumedAtStep: step, changes }); },
      onProgress: createProgressBar(),
      onNote: (message) => process.stderr.write(`note: ${message}\n`),
    });
    if (result.stopped) {
      process.stderr.write(`stopped at step ${result.steps}; continue with: inntrospect train ${kind} --resume ${run.path}\n`);
      process.exitCode = stopSignal === 'SIGTERM' ? EXIT_TERMINATED : EXIT_INTERRUPTED;
      return;
    }
    process.stdout.write(`${JSON.stringify({ run: run.path, model: `${run.path}/model.json`, steps: result.steps, last: result.lastMetrics, evaluation: result.evaluation ?? {}, seconds: Math.round(result.elapsedMs / 100) / 10 })}\n`);
  } catch (error) {
    if (error instanceof NonFiniteLossError) {
      process.stderr.write(`inntrospect: error: ${error.message}\n`);
      process.exitCode = EXIT_NON_FINITE;
      return;
    }
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    job.dispose();
    run.close();
  }
}
