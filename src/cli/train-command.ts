/**
 * `inntrospect train ae|classifier|cinn|iin`: resolves the config (defaults ← preset ← config
 * files ← dotted overrides), trains in a run folder with progress bars, writes checkpoints
 * atomically, resumes with --resume, checkpoints and exits on Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { initEngine } from '../engine/index.ts';
import { applyOverrides, resolveConfig, type ConfigObject } from '../config/config.ts';
import { RunFolder } from '../runs/run-folder.ts';
import { jobDefinition, type PresetName } from '../pipeline/jobs/index.ts';
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
}

/** Exit code of a run stopped by Ctrl-C after writing its checkpoint (as shells report SIGINT). */
export const EXIT_INTERRUPTED = 130;
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

export async function trainCommand(kind: string, overrides: string[], options: TrainOptions): Promise<void> {
  const def = jobDefinition(kind);
  if (options.preset !== 'tiny' && options.preset !== 'default') throw new Error(`--preset must be tiny or default, got '${options.preset}'`);
  for (const o of overrides) if (!o.startsWith('--') || !o.includes('=')) throw new Error(`unexpected argument '${o}' (config overrides look like --key.sub=value)`);
  const checkpointEvery = intOption(options.checkpointEvery, '--checkpoint-every');
  const sampleEvery = intOption(options.sampleEvery, '--sample-every');
  const evalEvery = intOption(options.evalEvery, '--eval-every');
  const info = await initEngine({ backend: options.backend });

  // The job is built (models loaded, layer checked, data read) before any run folder is made,
  // so a bad argument leaves nothing behind.
  let run: RunFolder | null = null;
  let config: object;
  if (options.resume) {
    // Overrides may change the saved config (say, a lower learning rate after a NaN); the
    // preset and config files belonged to the run's start and are not re-applied.
    if (options.config?.length) throw new Error('--resume continues a run with its saved config; drop --config (dotted overrides are allowed)');
    run = RunFolder.open(options.resume);
    config = applyOverrides(run.readConfig<object>(), overrides);
    if (overrides.length) run.writeConfig(config);
  } else {
    const shortcuts = (['ae', 'model', 'layer', 'pairs'] as const).filter((k) => options[k] !== undefined).map((k) => `--${k}=${options[k]}`);
    if (options.data !== undefined) shortcuts.unshift('--data.dataset=folder', `--data.folder=${options.data}`);
    config = resolveConfig(def.defaults, {
      preset: def.presets[options.preset as PresetName],
      files: (options.config ?? []).map(readConfigFile),
      overrides: [...shortcuts, ...overrides],
    });
  }
  // Notes from data loading and model opening (grey images converted, resizing, assumptions).
  let job;
  try {
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
  const onSigint = () => {
    if (stopRequested) process.exit(EXIT_INTERRUPTED);
    stopRequested = true;
    process.stderr.write('\ninntrospect: stopping after this step and writing a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const crashAfter = options.crashAfterStep !== undefined ? intOption(options.crashAfterStep, '--crash-after-step') : -1;
  try {
    process.stderr.write(`run folder ${run.path} (backend ${info.backend})\n`);
    const result = await runJob(job, run, {
      resume: Boolean(options.resume),
      checkpointEvery, sampleEvery, evalEvery,
      shouldStop: () => stopRequested,
      afterStep: (step) => { if (step === crashAfter) process.kill(process.pid, 'SIGKILL'); },
      onProgress: createProgressBar(),
    });
    if (result.stopped) {
      process.stderr.write(`stopped at step ${result.steps}; continue with: inntrospect train ${kind} --resume ${run.path}\n`);
      process.exitCode = EXIT_INTERRUPTED;
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
    process.off('SIGINT', onSigint);
    job.dispose();
    run.close();
  }
}
