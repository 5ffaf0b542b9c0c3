/**
 * `npm run bench`: times (a) a conv-AE train step, (b) a conditional affine-coupling flow train
 * step, (c) that flow's inverse, (d) a training step of t (our ConditionalINN at the shipped
 * ColorMNIST size, conv2 layer) and (e) sampling 16 × 16 from that t on every available tfjs
 * backend, interleaved round by round with the same five in PyTorch (bench/torch_bench.py,
 * Debian's python3-torch) so that all sides see the same machine load: one round = wasm (a..e),
 * torch (a..e), PyTorch child process (a..e). Writes docs/benchmarks.md; progress goes to
 * stderr, and the last stdout line is one JSON object: the wasm medians and wasm/PyTorch ratios
 * under the keys the single-backend bench had (`ae_step_ms`, …, `torch` = PyTorch, `ratio`; null
 * when wasm was not measured), plus `backends: { wasm: {…, ratio}, torch: {…, ratio} }`.
 *
 * Backends: by default wasm and, when availableBackends() lists it (native addon built), torch.
 * `--backend NAME` (repeatable, or a comma list; `--backends` is the same) restricts the run to
 * those. INNTROSPECT_BACKEND is deliberately not consulted: it selects the library's backend for
 * tests and the CLI, and a stray value in the environment must not silently drop a column from
 * the benchmark; pass `--backend "$INNTROSPECT_BACKEND"` to restrict to it.
 *
 * Options: --rounds N (3)  --steps N (12)  --warmup N (3)  --quick (1 round, 3 steps)
 *          --no-torch (no PyTorch peer)  --only a,b,c,d,e  --backend NAME[,NAME…] (wasm + torch if built)
 *          --no-profile  --out PATH (docs/benchmarks.md)  --python PATH (/usr/bin/python3)
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { version_wasm } from '@tensorflow/tfjs-backend-wasm';
import { availableBackends, engineInfo, initEngine, tf, type EngineInfo } from '../src/engine/index.ts';
import { startWasmHelperNow } from '../src/engine/wasm-threads/node-helper.ts';
import { flowFusion } from '../src/flows/fused-stack.ts';
import { autoNumDown } from '../src/flows/embedders.ts';
import { DEFAULT_AUTOENCODER_CONFIG } from '../src/models/autoencoder.ts';
import { ColorMnistClassifier } from '../src/models/classifier-colormnist.ts';
import { splittableStages } from '../src/models/greybox.ts';
import { CINN_JOB_PRESETS, DEFAULT_CINN_JOB_CONFIG } from '../src/pipeline/jobs/cinn-job.ts';
import { COLORMNIST_RECIPE } from '../src/pipeline/reproduce.ts';
import {
  buildCinnSample, buildCinnTrain, buildConvAE, buildFlowInverse, buildFlowTrain, CINN_BENCH, cinnRoundTripError, flowRoundTripError,
  type Workload,
} from './models.ts';
import {
  BENCH_KEYS, BENCH_TITLES, median, QUIET_LOAD_LIMIT, ratioOf, summarise, writeReport,
  type BackendInfo, type BackendResult, type BenchKey, type CinnBenchInfo, type KernelProfile, type Machine, type ReportData, type Series,
  type Summary, type TorchInfo,
} from './report.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..');

const BUILDERS: Record<BenchKey, () => Workload> = {
  a: buildConvAE, b: buildFlowTrain, c: buildFlowInverse, d: buildCinnTrain, e: buildCinnSample,
};

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface Options {
  rounds: number;
  steps: number;
  warmup: number;
  quick: boolean;
  torch: boolean;
  profile: boolean;
  keys: BenchKey[];
  /** tfjs backends asked for with --backend/--backends, in order; null: the default set. */
  backends: string[] | null;
  out: string;
  python: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: 'string' },
      steps: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'no-torch': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      only: { type: 'string', default: BENCH_KEYS.join(',') },
      backend: { type: 'string', multiple: true },
      backends: { type: 'string', multiple: true },
      out: { type: 'string', default: join(repoRoot, 'docs', 'benchmarks.md') },
      python: { type: 'string', default: '/usr/bin/python3' },
    },
    strict: true,
    allowPositionals: false,
  });
  const int = (name: string, raw: string | undefined, fallback: number, min: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got '${raw}'`);
    return n;
  };
  const quick = values.quick ?? false;
  const keys = (values.only ?? BENCH_KEYS.join(',')).split(',').map((k) => k.trim()).filter((k) => k !== '');
  for (const k of keys) if (!BENCH_KEYS.includes(k as BenchKey)) throw new Error(`--only: unknown benchmark '${k}' (use ${BENCH_KEYS.join(', ')})`);
  if (keys.length === 0) throw new Error('--only: no benchmark selected');
  const named = [...(values.backend ?? []), ...(values.backends ?? [])]
    .flatMap((v) => v.split(',')).map((b) => b.trim()).filter((b) => b !== '');
  if ((values.backend ?? values.backends) !== undefined && named.length === 0) throw new Error('--backend: no backend named');
  return {
    rounds: int('rounds', values.rounds, quick ? 1 : 3, 1),
    steps: int('steps', values.steps, quick ? 3 : 12, 1),
    warmup: int('warmup', values.warmup, quick ? 2 : 3, 1),
    quick,
    torch: !values['no-torch'],
    profile: !values['no-profile'],
    // Keep the canonical a, b, c, d, e order whatever order was asked for.
    keys: BENCH_KEYS.filter((k) => keys.includes(k)),
    backends: named.length > 0 ? [...new Set(named)] : null,
    out: values.out!,
    python: values.python!,
  };
}

// ---------------------------------------------------------------------------------------------
// tfjs side

/** Warm-up then timed steps of one workload; throws if tensors accumulate between steps. */
async function timeTfjs(key: BenchKey, opts: Options): Promise<{ times: number[]; params: number }> {
  const tensorsBefore = tf.memory().numTensors;
  const work = BUILDERS[key]();
  try {
    for (let i = 0; i < opts.warmup; i++) await work.step();
    // Adam creates its moment variables on the first step; from here on the count must not move.
    const flat = tf.memory().numTensors;
    const times: number[] = [];
    for (let i = 0; i < opts.steps; i++) {
      const t0 = performance.now();
      const value = await work.step();
      times.push(performance.now() - t0);
      const now = tf.memory().numTensors;
      if (now !== flat) {
        throw new Error(`tensor leak in ${BENCH_TITLES[key]}: ${flat} tensors after warm-up, ${now} after timed step ${i + 1}`);
      }
      if (!Number.isFinite(value)) throw new Error(`${BENCH_TITLES[key]} produced a non-finite value (${value}) at step ${i + 1}`);
    }
    return { times, params: work.params };
  } finally {
    work.dispose();
    const after = tf.memory().numTensors;
    if (after !== tensorsBefore) {
      // Reported after the finally so that an earlier error is not masked.
      process.exitCode = 1;
      log(`ERROR: ${BENCH_TITLES[key]} left ${after - tensorsBefore} tensors behind after dispose()`);
    }
  }
}

async function profileTfjs(key: BenchKey, backend: string): Promise<KernelProfile> {
  const work = BUILDERS[key]();
  try {
    for (let i = 0; i < 2; i++) await work.step();
    const t0 = performance.now();
    const info = await tf.profile(() => work.step());
    const wallMs = performance.now() - t0;
    const byName = new Map<string, { calls: number; ms: number; shapes: Map<string, { calls: number; ms: number }> }>();
    let kernelMs = 0;
    for (const k of info.kernels) {
      // Ops built with tf.customGrad (fused matMul/conv2d) are recorded as a pseudo-kernel named
      // after the op ('fusedMatMul__op') that wraps the real kernels it runs: counting both would
      // count that time twice, so only kernels registered on the backend are kept.
      if (!tf.getKernel(k.name, backend)) continue;
      // tfjs 4.x resolves kernelTimeMs inside profile(), but the type still allows a promise or
      // an {error} object (backends without a timer): accept all three.
      const t = await k.kernelTimeMs;
      const timeMs = typeof t === 'number' ? t : NaN;
      const row = byName.get(k.name) ?? { calls: 0, ms: 0, shapes: new Map() };
      const ms = Number.isFinite(timeMs) ? timeMs : 0;
      row.calls += 1;
      row.ms += ms;
      byName.set(k.name, row);
      // Which call sites dominate a heavy kernel (say conv-transpose forward vs conv backward).
      const sig = `${k.inputShapes.filter((s) => s != null).map((s) => `[${s.join('×')}]`).join(' ')} → ${k.outputShapes.map((s) => `[${s.join('×')}]`).join(' ')}`;
      const bySig = row.shapes.get(sig) ?? { calls: 0, ms: 0 };
      bySig.calls += 1;
      bySig.ms += ms;
      row.shapes.set(sig, bySig);
      if (Number.isFinite(timeMs)) kernelMs += timeMs;
    }
    const rows = [...byName.entries()]
      .map(([name, r]) => ({
        name,
        calls: r.calls,
        ms: r.ms,
        shapes: [...r.shapes.entries()].map(([shapes, v]) => ({ shapes, ...v })).sort((p, q) => q.ms - p.ms),
      }))
      .sort((p, q) => q.ms - p.ms);
    return { key, backend, wallMs, kernelMs, kernelCount: rows.reduce((n, r) => n + r.calls, 0), rows };
  } finally {
    work.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// PyTorch side (child process)

interface TorchRun {
  results: Partial<Record<BenchKey, number[]>>;
  params: Partial<Record<BenchKey, number>>;
}

function runPython(opts: Options, args: string[], timeoutMs: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      opts.python,
      [join(here, 'torch_bench.py'), ...args],
      // Two OpenMP threads for torch and a single-threaded OpenBLAS: both at 2 oversubscribe 2 cores.
      // The OpenMP wait policy the torch backend loads libtorch with (its loader: PASSIVE unless the
      // environment sets one), so that idle workers sleep on both sides: spinning ones made the
      // PyTorch peer 5-20x slower whenever the shared machine was busy.
      { env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_WAIT_POLICY: ompWaitPolicy() }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout) => {
        if (error) return reject(error);
        const line = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(line) as Record<string, unknown>);
        } catch {
          reject(new Error(`torch_bench.py printed no JSON line: ${JSON.stringify(stdout.slice(-300))}`));
        }
      },
    );
    child.stderr?.pipe(process.stderr);
  });
}

/** The OMP_WAIT_POLICY both libtorch users run under: the environment's, else PASSIVE (src/engine/torch/loader.ts). */
function ompWaitPolicy(): string {
  const v = process.env['OMP_WAIT_POLICY']?.trim();
  return v ? v : 'PASSIVE';
}

function dpkgVersion(pkg: string): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('dpkg-query', ['-W', '-f=${Status}|${Version}', pkg], (error, stdout) => {
      if (error) return resolve(null);
      const [status, version] = stdout.split('|');
      resolve(status?.includes('installed') && !status.includes('not-installed') ? (version ?? null) : null);
    });
  });
}

interface TorchProbe {
  info: TorchInfo | null;
  why: string | null;
  roundTrip: number | null;
  cinnRoundTrip: number | null;
}

/** CINN_BENCH as torch_bench.py's --cinn argument, so the PyTorch t is always built like ours. */
function cinnArgs(): string[] {
  return ['--cinn', JSON.stringify(CINN_BENCH)];
}

async function probeTorch(opts: Options): Promise<TorchProbe> {
  const none = { info: null, roundTrip: null, cinnRoundTrip: null };
  if (!opts.torch) return { ...none, why: 'disabled with --no-torch.' };
  if (!existsSync(opts.python)) return { ...none, why: `${opts.python} not found.` };
  let probe: Record<string, unknown>;
  try {
    probe = await runPython(opts, ['--probe', ...cinnArgs()], 120_000);
  } catch (error) {
    return { ...none, why: `PyTorch not usable with ${opts.python} (${firstLine(error)}); install Debian's python3-torch.` };
  }
  const blas = probe['blas'] as { kind: string; libs: string[]; gemm512_gflops: number };
  const info: TorchInfo = {
    torch: String(probe['torch']),
    debPackage: await dpkgVersion('python3-torch'),
    python: String(probe['python']),
    threads: Number(probe['threads']),
    openblasNumThreads: (probe['openblas_num_threads'] as string | null) ?? null,
    blasKind: blas.kind,
    blasLibs: blas.libs,
    gemmGflops: blas.gemm512_gflops,
    openblasPackage: await dpkgVersion('libopenblas0-pthread'),
    ompWaitPolicy: (probe['omp_wait_policy'] as string | null | undefined) ?? null,
  };
  return { info, why: null, roundTrip: Number(probe['flow_round_trip_error']), cinnRoundTrip: Number(probe['cinn_round_trip_error']) };
}

async function runTorchRound(opts: Options): Promise<TorchRun> {
  const out = await runPython(
    opts,
    ['--only', opts.keys.join(','), '--steps', String(opts.steps), '--warmup', String(opts.warmup), '--threads', '2', ...cinnArgs()],
    30 * 60_000,
  );
  return {
    results: out['results'] as TorchRun['results'],
    params: out['params'] as TorchRun['params'],
  };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
}

// ---------------------------------------------------------------------------------------------

/**
 * (d)/(e) claim to run the shipped pipeline's t: compare CINN_BENCH with the values the pipeline
 * itself would use (recipe, cinn job defaults, AE zDim, the default classifier's conv2 shape).
 * Returns one message per difference.
 */
function cinnDrift(): string[] {
  const c = CINN_BENCH;
  // Job defaults, then the job's 'default' preset, then the recipe (what `reproduce` resolves).
  const preset = CINN_JOB_PRESETS.default as { cinn?: Record<string, unknown> };
  const step = COLORMNIST_RECIPE.default.cinn as Partial<typeof DEFAULT_CINN_JOB_CONFIG> & { cinn?: Record<string, unknown> };
  const job = { ...DEFAULT_CINN_JOB_CONFIG, ...preset, ...step };
  const arch = { ...DEFAULT_CINN_JOB_CONFIG.cinn, ...preset.cinn, ...step.cinn } as Record<string, unknown>;
  const embedder = {
    ...DEFAULT_CINN_JOB_CONFIG.cinn.embedder,
    ...((preset.cinn?.['embedder'] as object | undefined) ?? {}),
    ...((step.cinn?.['embedder'] as object | undefined) ?? {}),
  } as Record<string, unknown>;
  const clf = new ColorMnistClassifier();
  let conv2: number[];
  try {
    conv2 = splittableStages({ name: clf.className, inputShape: clf.inputShape, stages: clf.stages }).split('conv2').zShape;
  } finally {
    clf.dispose();
  }
  const expected: Array<[string, unknown, unknown]> = [
    ['dim (AE zDim)', c.dim, DEFAULT_AUTOENCODER_CONFIG.zDim],
    ['conditionShape (classifier conv2)', c.conditionShape.join('×'), conv2.join('×')],
    ['numBlocks', c.numBlocks, arch['numBlocks']],
    ['hiddenWidth', c.hiddenWidth, arch['hiddenWidth']],
    ['hiddenDepth', c.hiddenDepth, arch['hiddenDepth']],
    ['embeddingDim', c.embeddingDim, arch['embeddingDim']],
    ['embedder.numDown', c.numDown, embedder['numDown']],
    ['embedder.baseChannels', c.baseChannels, embedder['baseChannels']],
    ['embedder.maxChannels', c.maxChannels, embedder['maxChannels']],
    ['batch', c.batch, job.train.batchSize],
    ['learningRate', c.learningRate, job.train.learningRate],
    ['beta1', c.beta1, job.train.beta1],
    ['beta2', c.beta2, job.train.beta2],
  ];
  return expected
    .filter(([, ours, theirs]) => ours !== theirs)
    .map(([name, ours, theirs]) => `(d)/(e) no longer match the shipped ColorMNIST t: ${name} is ${String(ours)} in bench/models.ts CINN_BENCH but ${String(theirs)} in the pipeline.`);
}

function cinnInfo(): CinnBenchInfo {
  const c = CINN_BENCH;
  return {
    dim: c.dim,
    conditionShape: [...c.conditionShape],
    numBlocks: c.numBlocks,
    hiddenWidth: c.hiddenWidth,
    hiddenDepth: c.hiddenDepth,
    embeddingDim: c.embeddingDim,
    embedderStages: c.numDown ?? autoNumDown(c.conditionShape[0], c.conditionShape[1]),
    batch: c.batch,
    learningRate: c.learningRate,
    sampleConditions: c.sampleConditions,
    samplesPerCondition: c.samplesPerCondition,
  };
}

function machineInfo(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  let flags = '';
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    cpu = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpu;
    flags = /^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '';
  } catch { /* not Linux: keep os.cpus() */ }
  const has = (f: string): boolean => flags.split(/\s+/).includes(f);
  const simdFlags = flags
    ? ['avx2', 'fma', 'avx512f'].map((f) => `${f.toUpperCase()} ${has(f) ? 'yes' : 'no'}`).join(', ')
    : 'flags unknown';
  let os = process.platform as string;
  try {
    os = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os;
  } catch { /* keep platform */ }
  return {
    cpu, cores: cpus().length, simdFlags, memGiB: totalmem() / 2 ** 30, os,
    node: process.version, tfjs: tf.version_core, tfjsWasm: version_wasm,
    loadBefore: loadString(), loadAfter: '', load1Before: loadavg()[0]!, roundLoads: [],
  };
}

function loadString(): string {
  return loadavg().map((x) => x.toFixed(2)).join(' / ');
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round2 = (x: number): number => Math.round(x * 100) / 100;

function backendInfo(e: EngineInfo): BackendInfo {
  return {
    name: e.backend,
    simd: e.simd,
    threads: e.threads,
    blasThreads: e.blasThreads,
    ownKernels: e.ownKernels.length,
    ompWaitPolicy: e.backend === 'torch' ? ompWaitPolicy() : null,
  };
}

/** The tfjs backends to measure, in round order: --backend's, else wasm (+ torch when built). */
function chooseBackends(opts: Options): string[] {
  const available = availableBackends();
  if (opts.backends) {
    const unknown = opts.backends.filter((b) => !available.includes(b));
    if (unknown.length > 0) {
      throw new Error(`--backend: ${unknown.map((b) => `'${b}'`).join(', ')} not available here (available: ${available.join(', ')}` +
        `${unknown.includes('torch') ? "; torch needs its addon: npm run build:native" : ''})`);
    }
    // Round order as in the default run (wasm, then torch), any other backend after them.
    const rank = (b: string): number => { const i = ['wasm', 'torch'].indexOf(b); return i < 0 ? 2 : i; };
    return [...opts.backends].sort((p, q) => rank(p) - rank(q));
  }
  const env = process.env['INNTROSPECT_BACKEND']?.trim();
  if (env) log(`INNTROSPECT_BACKEND=${env} is not used to pick the bench's backends (all available are measured); pass --backend ${env} to restrict`);
  const chosen = ['wasm'];
  if (available.includes('torch')) chosen.push('torch');
  else log('torch backend not available (native addon not built: npm run build:native), measuring wasm only');
  return chosen;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const machine = machineInfo();
  const backendNames = chooseBackends(opts);
  const warnings: string[] = [];
  if (machine.load1Before > QUIET_LOAD_LIMIT) {
    const w = `the 1-minute load average was ${machine.load1Before.toFixed(2)} at the start (> ${QUIET_LOAD_LIMIT}): not a quiet-machine measurement.`;
    warnings.push(w);
    log(`WARNING: ${w}`);
  }
  log(`backends ${backendNames.join(', ')}${opts.torch ? ' + PyTorch' : ''}, ${machine.cores} cores, load ${machine.loadBefore}; ` +
    `${opts.rounds} round(s) × ${opts.steps} steps (+${opts.warmup} warm-up) of ${opts.keys.join(',')}`);

  const runsCinn = opts.keys.includes('d') || opts.keys.includes('e');
  const backends: BackendResult[] = [];
  for (const name of backendNames) {
    let engine = await initEngine({ backend: name });
    // wasm with INNTROSPECT_WASM_THREADS=2: the second core's worker starts before timing, not
    // during the first large matmuls.
    if (name === 'wasm' && process.env['INNTROSPECT_WASM_THREADS'] === '2' && await startWasmHelperNow()) engine = engineInfo();
    const info = backendInfo(engine);
    log(`backend ${name}: ${info.threads} thread(s)${info.simd !== null ? `, SIMD ${info.simd ? 'on' : 'off'}` : ''}` +
      `${info.blasThreads !== null ? `, OpenBLAS ${info.blasThreads} thread(s)` : ''}, ${info.ownKernels} own kernels (tfjs ${engine.tfjsVersion})`);
    const roundTrip = await flowRoundTripError();
    if (!(roundTrip < 1e-3)) throw new Error(`flow inverse does not undo forward on tfjs ${name} (max error ${roundTrip})`);
    let cinnRoundTrip: number | null = null;
    if (runsCinn) {
      cinnRoundTrip = await cinnRoundTripError();
      if (!(cinnRoundTrip < 1e-3)) throw new Error(`t's inverse does not undo its forward on tfjs ${name} (max error ${cinnRoundTrip})`);
    }
    backends.push({ info, results: {}, roundTrip, cinnRoundTrip });
  }
  if (runsCinn) {
    // Builds the default classifier, so it needs an initialised backend (the last one above).
    for (const w of cinnDrift()) {
      warnings.push(w);
      log(`WARNING: ${w}`);
    }
  }

  const probe = await probeTorch(opts);
  let torchMissing = probe.why;
  if (probe.info) {
    const t = probe.info;
    log(`torch ${t.torch}${t.debPackage ? ` (deb ${t.debPackage})` : ''}, ${t.threads} threads, OMP_WAIT_POLICY=${t.ompWaitPolicy ?? 'unset'}, ` +
      `BLAS ${t.blasKind} (${t.gemmGflops} GFLOP/s sgemm 512)`);
    if (t.blasKind !== 'openblas') {
      const w = `torch is using ${t.blasKind} BLAS, not OpenBLAS (libopenblas0-pthread ${t.openblasPackage ?? 'not installed'}): torch numbers are far too slow and the ratios are not meaningful.`;
      warnings.push(w);
      log(`WARNING: ${w}`);
    }
  } else {
    log(`no PyTorch comparison: ${torchMissing}`);
  }

  const tfjsSeries = new Map<string, Partial<Record<BenchKey, Series>>>(backendNames.map((n) => [n, {}]));
  const torchSeries: Partial<Record<BenchKey, Series>> = {};
  const params: ReportData['params'] = {};
  let torchOk = probe.info !== null;

  for (let round = 1; round <= opts.rounds; round++) {
    machine.roundLoads.push(loadavg()[0]!);
    for (const name of backendNames) {
      await initEngine({ backend: name });
      const series = tfjsSeries.get(name)!;
      for (const key of opts.keys) {
        const { times, params: n } = await timeTfjs(key, opts);
        (series[key] ??= { rounds: [] }).rounds.push(times);
        const known = params[key];
        if (known && known.tfjs !== n) {
          warnings.push(`${BENCH_TITLES[key]}: parameter count on ${name} (${n}) differs from ${known.tfjs} on ${backendNames[0]}.`);
        }
        params[key] = { tfjs: known?.tfjs ?? n, torch: known?.torch ?? null };
        log(`round ${round}/${opts.rounds} ${name} ${BENCH_TITLES[key]}: median ${median(times).toFixed(1)} ms (min ${Math.min(...times).toFixed(1)})`);
      }
    }
    if (!torchOk) continue;
    try {
      const run = await runTorchRound(opts);
      for (const key of opts.keys) {
        const times = run.results[key];
        if (!times) throw new Error(`no result for ${key}`);
        (torchSeries[key] ??= { rounds: [] }).rounds.push(times);
        params[key] = { tfjs: params[key]!.tfjs, torch: run.params[key] ?? null };
        log(`round ${round}/${opts.rounds} PyTorch ${BENCH_TITLES[key]}: median ${median(times).toFixed(1)} ms`);
      }
    } catch (error) {
      torchOk = false;
      torchMissing = `the PyTorch child failed in round ${round} (${firstLine(error)}).`;
      log(`ERROR: ${torchMissing}`);
      for (const key of opts.keys) delete torchSeries[key];
    }
  }

  if (runsCinn && torchOk && !(probe.cinnRoundTrip !== null && probe.cinnRoundTrip < 1e-3)) {
    warnings.push(`the PyTorch t's inverse does not undo its forward (max error ${probe.cinnRoundTrip}): its (d)/(e) numbers time a wrong model.`);
  }
  for (const key of opts.keys) {
    const p = params[key];
    if (p && p.torch !== null && p.torch !== p.tfjs) {
      warnings.push(`${BENCH_TITLES[key]}: parameter counts differ (tfjs ${p.tfjs}, torch ${p.torch}) — the two models are not identical.`);
    }
  }

  const profiles: KernelProfile[] = [];
  if (opts.profile) {
    for (const name of backendNames) {
      await initEngine({ backend: name });
      for (const key of opts.keys) {
        log(`profiling one ${BENCH_TITLES[key]} on ${name}`);
        profiles.push(await profileTfjs(key, name));
      }
    }
  }
  machine.loadAfter = loadString();

  const torchResults: Partial<Record<BenchKey, Summary>> = {};
  for (const key of opts.keys) {
    for (const b of backends) {
      const t = summarise(tfjsSeries.get(b.info.name)![key]);
      if (t) b.results[key] = t;
    }
    const p = summarise(torchSeries[key]);
    if (p) torchResults[key] = p;
  }
  const data: ReportData = {
    date: new Date().toISOString(),
    flowFusion: flowFusion(),
    command: ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' '),
    quick: opts.quick,
    rounds: opts.rounds,
    steps: opts.steps,
    warmup: opts.warmup,
    keys: opts.keys,
    machine,
    torch: torchOk ? probe.info : null,
    torchMissing: torchOk ? null : torchMissing,
    backends,
    torchResults,
    params,
    torchRoundTrip: { flow: torchOk ? probe.roundTrip : null, cinn: torchOk && runsCinn ? probe.cinnRoundTrip : null },
    cinn: cinnInfo(),
    profiles,
    warnings,
  };
  writeReport(opts.out, data);
  log(`wrote ${relative(process.cwd(), opts.out) || opts.out}`);

  const med = (s: Partial<Record<BenchKey, Summary>>, k: BenchKey): number | null => (s[k] ? round1(s[k]!.median) : null);
  const haveTorch = Object.keys(torchResults).length > 0;
  const ratios = (name: string): Record<string, number | null> | null => {
    if (!haveTorch) return null;
    const r = (k: BenchKey): number | null => { const x = ratioOf(data, name, k); return x === null ? null : round2(x); };
    return { ae: r('a'), flow: r('b'), inverse: r('c'), cinn_step: r('d'), cinn_sample: r('e') };
  };
  const medians = (s: Partial<Record<BenchKey, Summary>>): Record<string, number | null> => ({
    ae_step_ms: med(s, 'a'), flow_step_ms: med(s, 'b'), inverse_ms: med(s, 'c'), cinn_step_ms: med(s, 'd'), cinn_sample_ms: med(s, 'e'),
  });
  // The top-level keys keep their meaning from the single-backend bench: wasm vs PyTorch.
  const wasm = backends.find((b) => b.info.name === 'wasm');
  const summary = {
    ...medians(wasm?.results ?? {}),
    torch: haveTorch ? medians(torchResults) : null,
    ratio: wasm ? ratios('wasm') : null,
    backends: Object.fromEntries(backends.map((b) => [b.info.name, { ...medians(b.results), ratio: ratios(b.info.name) }])),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
