// Exact-resume harness: trains a tiny job once without interruption (a checkpoint after every
// step, all kept), then, for each kill point k, rebuilds the run folder as a kill right after
// step k would have left it (checkpoints up to k, metrics lines past k and a torn last line),
// resumes it with a fresh job, and compares metrics.jsonl and the final model files byte for
// byte with the uninterrupted run. Used by test/faults/exact-resume.test.ts (every step) and the
// fault-injection suite (test/faults).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig } from '../../src/config/config.ts';
import { jobDefinition } from '../../src/pipeline/jobs/index.ts';
import { runJob, type RunnerOptions } from '../../src/pipeline/runner.ts';
import { RunFolder } from '../../src/runs/run-folder.ts';
import type { JobKind } from '../../src/pipeline/job.ts';

export interface Reference {
  kind: JobKind;
  config: object;
  path: string;
  steps: number;
  metrics: string;
  /** Final model files' bytes by name. */
  models: Record<string, string>;
}

const RUNNER: Partial<RunnerOptions> = { checkpointEvery: 1, keepCheckpoints: 1_000_000, sampleEvery: 0, evalEvery: 0 };

export function tempRoot(prefix = 'inntrospect-resume-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The tiny preset with `overrides`, resolved as the CLI resolves it. */
export function tinyConfig(kind: JobKind, overrides: string[]): object {
  const def = jobDefinition(kind);
  return resolveConfig(def.defaults, { preset: def.presets.tiny, overrides });
}

function modelFiles(path: string, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, readFileSync(join(path, n), 'utf8')]));
}

/** Trains `config` uninterrupted in `root/<kind>-reference`, a checkpoint after every step. */
export async function trainReference(kind: JobKind, config: object, root: string): Promise<Reference> {
  const job = await jobDefinition(kind).create(config);
  const run = RunFolder.createAt(join(root, `${kind}-reference`));
  run.writeConfig(config);
  try {
    const result = await runJob(job, run, RUNNER);
    const names = Object.keys(job.finalModels());
    return { kind, config, path: run.path, steps: result.steps, metrics: readFileSync(join(run.path, 'metrics.jsonl'), 'utf8'), models: modelFiles(run.path, names) };
  } finally {
    job.dispose();
    run.close();
  }
}

export interface ResumeOutcome {
  killedAfter: number;
  metricsEqual: boolean;
  modelsEqual: boolean;
  /** The first differing metrics line (1-based), if any. */
  firstDifference?: string;
}

/**
 * Rebuilds what a kill right after step `k` leaves (checkpoints ≤ k, the metrics log one step
 * further and torn mid-line, as a kill between logging step k+1 and checkpointing it does),
 * resumes it with a fresh job and compares with the reference.
 */
export async function resumeAfterKill(ref: Reference, k: number, root: string): Promise<ResumeOutcome> {
  const path = join(root, `${ref.kind}-killed-${k}`);
  mkdirSync(join(path, 'checkpoints'), { recursive: true });
  copyFileSync(join(ref.path, 'config.json'), join(path, 'config.json'));
  for (const f of readdirSync(join(ref.path, 'checkpoints'))) {
    const step = Number(/step-(\d+)\.json$/.exec(f)?.[1] ?? NaN);
    if (step <= k) copyFileSync(join(ref.path, 'checkpoints', f), join(path, 'checkpoints', f));
  }
  const lines = ref.metrics.split('\n').filter(Boolean);
  const upTo = lines.filter((l) => (JSON.parse(l) as { step: number }).step <= k + 1 && !l.includes('"eval"'));
  const torn = lines[upTo.length]?.slice(0, 7) ?? '{"step":';
  writeFileSync(join(path, 'metrics.jsonl'), `${upTo.map((l) => `${l}\n`).join('')}${torn}`);
  const job = await jobDefinition(ref.kind).create(ref.config);
  const run = RunFolder.open(path);
  try {
    await runJob(job, run, { ...RUNNER, resume: true });
  } finally {
    job.dispose();
    run.close();
  }
  const metrics = readFileSync(join(path, 'metrics.jsonl'), 'utf8');
  const models = modelFiles(path, Object.keys(ref.models));
  const outcome: ResumeOutcome = {
    killedAfter: k,
    metricsEqual: metrics === ref.metrics,
    modelsEqual: Object.keys(ref.models).every((n) => models[n] === ref.models[n]),
  };
  if (!outcome.metricsEqual) {
    const a = metrics.split('\n');
    const b = ref.metrics.split('\n');
    const i = a.findIndex((l, j) => l !== b[j]);
    outcome.firstDifference = `line ${i + 1}: resumed ${a[i]} vs uninterrupted ${b[i]}`;
  }
  return outcome;
}
