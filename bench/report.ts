/**
 * Statistics and the docs/benchmarks.md renderer for bench/run.ts.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export type BenchKey = 'a' | 'b' | 'c' | 'd' | 'e';
export const BENCH_KEYS: BenchKey[] = ['a', 'b', 'c', 'd', 'e'];

export const BENCH_TITLES: Record<BenchKey, string> = {
  a: '(a) conv AE train step',
  b: '(b) flow train step',
  c: '(c) flow inverse (sampling)',
  d: '(d) t train step (ColorMNIST conv2)',
  e: '(e) t sampling (16 × 16)',
};

/**
 * tfjs/PyTorch ratio each benchmark must stay under; null: no target, the ratio is only reported.
 * The engine issue's targets apply to every tfjs backend (wasm, cpu, …) except `torch`, whose
 * targets (issue #9) are tighter because it computes on the same libtorch as the PyTorch peer.
 */
export const TARGETS: Record<BenchKey, number | null> = { a: 3.0, b: 3.0, c: 2.0, d: null, e: null };
export const TORCH_BACKEND_TARGETS: Record<BenchKey, number | null> = { a: 1.3, b: 1.3, c: 1.2, d: null, e: null };

export function targetsFor(backend: string): Record<BenchKey, number | null> {
  return backend === 'torch' ? TORCH_BACKEND_TARGETS : TARGETS;
}

/** A 1-minute load average above this at the start marks the run as not a quiet-machine measurement. */
export const QUIET_LOAD_LIMIT = 1.5;

/** The configuration of t that (d) and (e) ran (bench/models.ts CINN_BENCH), for the report. */
export interface CinnBenchInfo {
  dim: number;
  conditionShape: number[];
  numBlocks: number;
  hiddenWidth: number;
  hiddenDepth: number;
  embeddingDim: number;
  /** Resolved number of stride-2 stages of the conv embedder. */
  embedderStages: number;
  batch: number;
  learningRate: number;
  sampleConditions: number;
  samplesPerCondition: number;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((p, q) => p - q);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Timings of one benchmark on one side (tfjs or torch), one array of step times per round. */
export interface Series {
  rounds: number[][];
}

export interface Summary {
  /** Median of the per-round medians (robust to one noisy round). */
  median: number;
  min: number;
  max: number;
  roundMedians: number[];
  steps: number;
}

export function summarise(series: Series | undefined): Summary | null {
  if (!series || series.rounds.length === 0) return null;
  const all = series.rounds.flat();
  const roundMedians = series.rounds.map(median);
  return { median: median(roundMedians), min: Math.min(...all), max: Math.max(...all), roundMedians, steps: all.length };
}

export interface KernelRow {
  name: string;
  calls: number;
  ms: number;
  /** The same kernel split by input → output shapes, heaviest first. */
  shapes: Array<{ shapes: string; calls: number; ms: number }>;
}

export interface KernelProfile {
  key: BenchKey;
  backend: string;
  /** Wall time of the profiled step (profiling adds a little overhead per kernel). */
  wallMs: number;
  /** Sum of all kernel times; wall − this is time spent outside kernels (JS, tape, GC, readback). */
  kernelMs: number;
  kernelCount: number;
  rows: KernelRow[];
}

export interface TorchInfo {
  torch: string;
  debPackage: string | null;
  python: string;
  threads: number;
  openblasNumThreads: string | null;
  blasKind: string;
  blasLibs: string[];
  gemmGflops: number;
  openblasPackage: string | null;
  /** OMP_WAIT_POLICY the PyTorch child ran under (null: unset, OpenMP's default, which spins). */
  ompWaitPolicy: string | null;
}

/** One tfjs backend as initialised for the run. */
export interface BackendInfo {
  name: string;
  /** wasm only: whether the SIMD build runs. */
  simd: boolean | null;
  /** Compute threads (wasm in Node: 2 with the matmul helper, else 1; torch: libtorch intra-op threads). */
  threads: number;
  /** torch only: OpenBLAS threads. */
  blasThreads: number | null;
  /** Kernels inntrospect installed on the backend (torch: native ones). */
  ownKernels: number;
  /** torch only: OMP_WAIT_POLICY libtorch was loaded with (the loader's default is PASSIVE). */
  ompWaitPolicy: string | null;
}

/** Everything measured on one tfjs backend. */
export interface BackendResult {
  info: BackendInfo;
  results: Partial<Record<BenchKey, Summary>>;
  /** Max |inverse(forward(x)) − x| of the (b)/(c) flow on this backend. */
  roundTrip: number;
  /** Same through t at the (d)/(e) size; null when neither (d) nor (e) ran. */
  cinnRoundTrip: number | null;
}

export interface Machine {
  cpu: string;
  cores: number;
  simdFlags: string;
  memGiB: number;
  os: string;
  node: string;
  tfjs: string;
  tfjsWasm: string;
  loadBefore: string;
  loadAfter: string;
  /** 1-minute load average when the run started. */
  load1Before: number;
  /** 1-minute load average at the start of each round. */
  roundLoads: number[];
}

export interface ReportData {
  date: string;
  command: string;
  /** The flow path t's blocks took ('fused' unless INNTROSPECT_FLOW_FUSION says otherwise; src/flows/fused-stack.ts). */
  flowFusion: string;
  quick: boolean;
  rounds: number;
  steps: number;
  warmup: number;
  keys: BenchKey[];
  machine: Machine;
  torch: TorchInfo | null;
  /** Why torch numbers are missing, when they are. */
  torchMissing: string | null;
  /** The tfjs backends, in the order each round ran them. */
  backends: BackendResult[];
  /** PyTorch's timings. */
  torchResults: Partial<Record<BenchKey, Summary>>;
  /** Trainable parameters: tfjs (the same builders on every backend) and PyTorch. */
  params: Partial<Record<BenchKey, { tfjs: number; torch: number | null }>>;
  /** PyTorch's flow and t round-trip errors (null: not run, or t not measured). */
  torchRoundTrip: { flow: number | null; cinn: number | null };
  cinn: CinnBenchInfo;
  profiles: KernelProfile[];
  warnings: string[];
}

/** Median tfjs-on-`backend` / median PyTorch, or null when either is missing. */
export function ratioOf(data: ReportData, backend: string, key: BenchKey): number | null {
  const a = data.backends.find((b) => b.info.name === backend)?.results[key];
  const b = data.torchResults[key];
  return a && b ? a.median / b.median : null;
}

const ANALYSIS_BEGIN = '<!-- analysis:begin (kept when the file is regenerated) -->';
const ANALYSIS_END = '<!-- analysis:end -->';
const ANALYSIS_PLACEHOLDER = '_To be written: why each missed target is missed, using the per-kernel profiles below._';

/** The hand-written Analysis text of an existing report, so regenerating does not erase it. */
function existingAnalysis(path: string): string | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(ANALYSIS_BEGIN);
  const end = text.indexOf(ANALYSIS_END);
  if (start < 0 || end < start) return null;
  const body = text.slice(start + ANALYSIS_BEGIN.length, end).trim();
  return body === '' || body === ANALYSIS_PLACEHOLDER ? null : body;
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const fmtRange = (s: Summary): string => `${ms(s.min)}–${ms(s.max)}`;

const GENERATED_SECTIONS = [/^What is measured$/, /^Results$/, /^Targets$/, /^Analysis$/, /^Per-kernel profile/, /^Machine and versions$/, /^Warnings from this run$/];

/**
 * Hand-written `## ` sections of an existing report that the generator does not produce (say
 * "## Explorer"), verbatim and in order, so that regenerating keeps them (after the generated part).
 */
function existingExtraSections(path: string): string | null {
  if (!existsSync(path)) return null;
  const lines = readFileSync(path, 'utf8').split('\n');
  const kept: string[] = [];
  let keep = false;
  let fence = false;
  for (const line of lines) {
    if (/^(```|~~~)/.test(line)) fence = !fence;
    if (!fence && line.startsWith('## ')) {
      const title = line.slice(3).trim();
      keep = !GENERATED_SECTIONS.some((re) => re.test(title));
    } else if (!fence && line.startsWith('# ')) {
      keep = false;
    }
    if (keep) kept.push(line);
  }
  const text = kept.join('\n').trim();
  return text === '' ? null : text;
}

const ratioCell = (r: number | null, target: number | null): string => {
  if (r === null) return '–';
  const verdict = target === null ? 'reported' : r <= target ? `≤ ${target.toFixed(1)}× met` : `≤ ${target.toFixed(1)}× **MISSED**`;
  return `${r.toFixed(2)}× (${verdict})`;
};

function backendLabel(b: BackendInfo): string {
  if (b.name === 'wasm') return `wasm (SIMD ${b.simd ? 'on' : 'off'}, ${b.threads} thread${b.threads === 1 ? '' : 's'}; inntrospect's training kernels installed)`;
  if (b.name === 'torch') {
    return `torch (native libtorch addon, ${b.threads} intra-op thread${b.threads === 1 ? '' : 's'}, OpenBLAS ${b.blasThreads ?? '?'} thread(s), ` +
      `OMP_WAIT_POLICY=${b.ompWaitPolicy ?? 'unset'} when libtorch was loaded; ${b.ownKernels} native kernels, the rest on the cpu bridge)`;
  }
  return `${b.name} (${b.threads} thread${b.threads === 1 ? '' : 's'})`;
}

export function renderMarkdown(data: ReportData, analysis: string | null, extra: string | null = null): string {
  const m = data.machine;
  const names = data.backends.map((b) => b.info.name);
  const L: string[] = [];
  L.push('# Benchmarks: TensorFlow.js engine vs PyTorch');
  L.push('');
  L.push(`Generated by \`npm run bench\` (bench/run.ts) on ${data.date}. Command: \`${data.command}\`. tfjs backends measured: ${names.map((n) => `\`${n}\``).join(', ')}.`);
  L.push(`t's flow blocks (d, e): **${data.flowFusion}** (docs/flows.md: one packed variable per block; on torch and wasm one block-kernel call per block and direction).`);
  if (data.quick) L.push('', '> **Quick smoke-test run (`--quick`): 1 round, few steps. These numbers are not representative.**');
  if (m.load1Before > QUIET_LOAD_LIMIT) {
    L.push('', `> **Warning: the 1-minute load average was ${m.load1Before.toFixed(2)} when this run started (> ${QUIET_LOAD_LIMIT} on ${m.cores} cores): ` +
      'these numbers are not a quiet-machine measurement.** Interleaving keeps the ratios comparable within the run, but absolute times and spreads are inflated.');
  }
  L.push('');
  L.push('## What is measured');
  L.push('');
  L.push('- **(a) conv AE train step**: batch 64, 32×32×3; encoder 4× conv 3×3 stride 2 (32-64-128-256) + ReLU → dense 1024→128;');
  L.push('  decoder dense 128→1024 + ReLU → reshape 2×2×256 → 4× conv-transpose 3×3 stride 2 (128-64-32-3), ReLU between, sigmoid last; MSE; forward + backward + Adam.');
  L.push('- **(b) conditional affine-coupling flow train step**: D=128, condition 128, 12 blocks of [ActNorm h=(x+loc)·exp(logs),');
  L.push('  affine coupling with MLP [x1‖c] 192→512→512→128 (ReLU), s=tanh(·) (64), t (64), y2=x2·exp(s)+t, fixed random permutation];');
  L.push('  batch 256; NLL = mean(½‖v‖²) − mean(logdet); forward + backward + Adam.');
  L.push('- **(c) flow inverse (sampling)**: the same flow run backwards, batch 256, no gradient.');
  const c = data.cinn;
  const stages = c.embedderStages === 0
    ? `no stride-2 stage for ${c.conditionShape[0]}×${c.conditionShape[1]}, so a single conv ${c.conditionShape[0]}×${c.conditionShape[1]}×${c.conditionShape[2]}→${c.embeddingDim} with bias`
    : `${c.embedderStages} × [conv k4 s2 p1 without bias → ActNorm → LeakyReLU(0.2)], then a conv over the remaining size to ${c.embeddingDim}`;
  L.push(`- **(d) t train step**: our \`ConditionalINN\` + \`cinnTrainStep\` at the shipped ColorMNIST size (COLORMNIST_RECIPE) for the classifier's`);
  L.push(`  \`conv2\` layer: dim z̄ = ${c.dim}, condition z ${c.conditionShape.join('×')} through the conv embedder (${stages});`);
  L.push(`  ${c.numBlocks} blocks of [ActNorm (data-dependent init) → double affine coupling (4 MLPs [half ‖ embedding ${c.embeddingDim}] → ${c.hiddenWidth}` +
    `${' → ' + c.hiddenWidth}`.repeat(c.hiddenDepth) + ` → half, LeakyReLU 0.01, scale nets end in tanh) → fixed permutation];`);
  L.push(`  batch ${c.batch}, z̄ and z random normal (the AE and the classifier are not timed); NLL = mean(½‖v‖²) − mean(logdet);`);
  L.push(`  forward + backward + Adam (lr ${c.learningRate}, β = (0.5, 0.9), ε 1e-8), as the cinn job.`);
  L.push(`- **(e) t sampling**: \`t.sample(z, ${c.samplesPerCondition})\` for ${c.sampleConditions} conditions (the explorer's "resample ${c.samplesPerCondition} images"): embed z once, repeat`);
  L.push(`  each embedding ${c.samplesPerCondition}×, draw v ~ N(0, I) [${c.sampleConditions * c.samplesPerCondition}, ${c.dim}], run t backwards; no gradient; ActNorms initialised by one forward batch first.`);
  L.push('');
  const order = [...names.map((n) => `tfjs on \`${n}\` (${data.keys.join(', ')})`), `PyTorch (${data.keys.join(', ')}) in a child process`].join(', then ');
  L.push(`Method: ${data.rounds} interleaved round(s); each round runs ${order}, so that every side sees the same machine load.`);
  L.push('All tfjs backends run in this one process (`initEngine({ backend })` switches between them). By default the run measures');
  L.push('`wasm` and, when its native addon is built (`availableBackends()`), `torch`; `--backend NAME` (repeatable, or a comma list) restricts it.');
  L.push('INNTROSPECT_BACKEND is not consulted: one run always covers the backends named above, whatever the environment selects for the library.');
  L.push(`Per benchmark, backend and round: ${data.warmup} warm-up steps, then ${data.steps} timed steps. A tfjs step ends when its result has been`);
  L.push('read back (`await loss.data()`); a torch step ends with `loss.item()`. The headline is the median of the per-round medians;');
  L.push('min–max spans every timed step of every round. tfjs checks after every step that `tf.memory().numTensors` stays flat.');
  L.push('PyTorch uses NCHW and symmetric padding (k3 s2 p1; transposed: p1, output_padding 1); tfjs uses NHWC and `same` padding:');
  L.push('identical shapes, parameter counts and FLOPs. (a)–(c): weights N(0, 1/fan_in), biases 0, Adam lr 1e-3. (d), (e): PyTorch\'s');
  L.push('default U(±1/√fan_in) for weights and biases on both sides (ours in src/flows/layers.ts, torch\'s nn.Linear/nn.Conv2d), each');
  L.push('side with its own random draws. float32 on both sides. (d) and (e) have no target: their ratios are reported.');
  const omp = data.torch?.ompWaitPolicy ?? null;
  L.push(`PyTorch runs with \`torch.set_num_threads(2)\`, OPENBLAS_NUM_THREADS=1 and OMP_WAIT_POLICY=${omp ?? 'unset'}: the torch backend loads`);
  L.push('libtorch with OMP_WAIT_POLICY=PASSIVE (idle OpenMP workers sleep instead of spinning; spinning workers made small kernels 5–20×');
  L.push('slower on this shared 2-core machine), and the PyTorch peer gets the same policy so both sides run under the same OpenMP settings.');
  L.push('');

  L.push('## Results');
  L.push('');
  L.push('Each cell: median (min–max), ms. Ratios: tfjs backend median / PyTorch median, with the target for that backend.');
  L.push('');
  L.push(`| benchmark | ${names.map((n) => `tfjs \`${n}\``).join(' | ')} | PyTorch | ${names.map((n) => `\`${n}\` / PyTorch`).join(' | ')} |`);
  L.push(`|---|${names.map(() => '---:').join('|')}|---:|${names.map(() => '---:').join('|')}|`);
  const cell = (s: Summary | undefined): string => (s ? `${ms(s.median)} (${fmtRange(s)})` : '–');
  for (const key of data.keys) {
    const cells = data.backends.map((b) => cell(b.results[key]));
    const ratios = data.backends.map((b) => ratioCell(ratioOf(data, b.info.name, key), targetsFor(b.info.name)[key]));
    L.push(`| ${BENCH_TITLES[key]} | ${cells.join(' | ')} | ${cell(data.torchResults[key])} | ${ratios.join(' | ')} |`);
  }
  L.push('');
  L.push('Per-round medians (ms):');
  L.push('');
  L.push(`| benchmark | ${names.map((n) => `\`${n}\``).join(' | ')} | PyTorch |`);
  L.push(`|---|${names.map(() => '---').join('|')}|---|`);
  const rounds = (s: Summary | undefined): string => (s ? s.roundMedians.map(ms).join(', ') : '–');
  for (const key of data.keys) {
    L.push(`| ${BENCH_TITLES[key]} | ${data.backends.map((b) => rounds(b.results[key])).join(' | ')} | ${rounds(data.torchResults[key])} |`);
  }
  L.push('');
  L.push(`1-minute load average at the start of each round: ${m.roundLoads.map((x) => x.toFixed(2)).join(', ')} (${m.cores} cores).`);
  L.push('');

  L.push('## Targets');
  L.push('');
  if (data.torchMissing) {
    L.push(`**No PyTorch comparison in this run: ${data.torchMissing}** The targets cannot be checked.`);
  } else {
    let measured = 0;
    let missedAll = 0;
    for (const b of data.backends) {
      const name = b.info.name;
      const targets = targetsFor(name);
      const withTarget = data.keys.filter((k) => targets[k] !== null && ratioOf(data, name, k) !== null);
      const missed = withTarget.filter((k) => ratioOf(data, name, k)! > targets[k]!);
      measured += withTarget.length;
      missedAll += missed.length;
      const spec = BENCH_KEYS.filter((k) => targets[k] !== null).map((k) => `(${k}) ≤ ${targets[k]!.toFixed(1)}×`).join(', ');
      L.push(`### \`${name}\` (targets: ${spec}; (d), (e) reported)`);
      L.push('');
      for (const key of data.keys) {
        const r = ratioOf(data, name, key);
        if (r === null) continue;
        const target = targets[key];
        L.push(target === null
          ? `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — no target, reported.`
          : r <= target
            ? `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — target ≤ ${target.toFixed(1)}× **met**.`
            : `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — target ≤ ${target.toFixed(1)}× **MISSED** (\`${name}\` would need ${ms(data.torchResults[key]!.median * target)} ms or less).`);
      }
      L.push('');
      if (withTarget.length === 0) L.push('No benchmark with a target ran on this backend in this run.');
      else L.push(missed.length === 0
        ? `All ${withTarget.length} targets measured on \`${name}\` in this run are met.`
        : `**${missed.length} of ${withTarget.length} targets missed on \`${name}\` in this run.** See Analysis.`);
      L.push('');
    }
    if (data.backends.length > 1 && measured > 0) {
      L.push(missedAll === 0 ? 'All targets measured in this run are met.' : `**${missedAll} of ${measured} targets missed in this run, all backends together.**`);
    }
  }
  L.push('');

  L.push('## Analysis');
  L.push('');
  L.push(ANALYSIS_BEGIN);
  L.push(analysis ?? ANALYSIS_PLACEHOLDER);
  L.push(ANALYSIS_END);
  L.push('');

  for (const b of data.backends) {
    const name = b.info.name;
    L.push(`## Per-kernel profile (tfjs, ${name})`);
    L.push('');
    const profiles = data.profiles.filter((p) => p.backend === name);
    if (profiles.length === 0) {
      L.push('Not profiled in this run.');
      L.push('');
      continue;
    }
    L.push(name === 'torch'
      ? 'One step each, after warm-up, via `tf.profile`. Kernel time is the torch backend\'s timer: synchronous wall time around each kernel call'
        + ' (JS attribute handling, the N-API call and the libtorch operator; cpu-bridge kernels include their copies).'
      : `One step each, after warm-up, via \`tf.profile\`. Kernel time is the backend's own timer around each kernel${name === 'wasm' ? ' (on wasm: synchronous wall time)' : ''}.`);
    L.push('"outside kernels" = step wall time − Σ kernel time: JS op dispatch, gradient tape, Adam bookkeeping,');
    L.push('GC and the read-back. Profiling adds a little overhead per kernel. Pseudo-kernels that tfjs records for `tf.customGrad` ops');
    L.push('(`fusedMatMul__op`, …) are left out because they contain the real kernels. Under a gradient tape tfjs un-fuses fused');
    L.push('matMul/conv2d with a non-linear activation into BatchMatMul/Conv2D + Add + Relu, so training shows BatchMatMul where sampling shows _FusedMatMul.');
    for (const p of profiles) {
      const outside = p.wallMs - p.kernelMs;
      L.push('');
      L.push(`### \`${name}\` ${BENCH_TITLES[p.key]}: wall ${ms(p.wallMs)} ms, Σ kernels ${ms(p.kernelMs)} ms in ${p.kernelCount} kernel calls, outside kernels ${ms(Math.max(0, outside))} ms (${pct(Math.max(0, outside), p.wallMs)} of wall)`);
      L.push('');
      L.push('| # | kernel | calls | total ms | ms/call | share of Σ kernels | share of wall |');
      L.push('|---:|---|---:|---:|---:|---:|---:|');
      p.rows.slice(0, 8).forEach((row, i) => {
        L.push(`| ${i + 1} | ${row.name} | ${row.calls} | ${row.ms.toFixed(1)} | ${(row.ms / row.calls).toFixed(2)} | ${pct(row.ms, p.kernelMs)} | ${pct(row.ms, p.wallMs)} |`);
      });
      const rest = p.rows.slice(8);
      if (rest.length > 0) {
        const restMs = rest.reduce((s, r) => s + r.ms, 0);
        L.push(`| | ${rest.length} other kernels | ${rest.reduce((s, r) => s + r.calls, 0)} | ${restMs.toFixed(1)} | | ${pct(restMs, p.kernelMs)} | ${pct(restMs, p.wallMs)} |`);
      }
      L.push('');
      L.push('Top 3 kernels by call shape (inputs → output, NHWC / HWIO):');
      L.push('');
      for (const row of p.rows.slice(0, 3)) {
        const parts = row.shapes.slice(0, 6).map((s) => `${s.shapes}: ${s.calls}× ${s.ms.toFixed(1)} ms`);
        if (row.shapes.length > 6) parts.push(`${row.shapes.length - 6} more shapes`);
        L.push(`- ${row.name}: ${parts.join('; ')}`);
      }
    }
    L.push('');
  }

  L.push('## Machine and versions');
  L.push('');
  L.push(`- CPU: ${m.cpu}, ${m.cores} cores (${m.simdFlags}), ${m.memGiB.toFixed(0)} GiB RAM; ${m.os}`);
  L.push(`- Load average (1/5/15 min) before: ${m.loadBefore}; after: ${m.loadAfter} — the machine is shared, expect ±15–20 % noise.` +
    (m.load1Before > QUIET_LOAD_LIMIT ? ` **1-minute load ${m.load1Before.toFixed(2)} > ${QUIET_LOAD_LIMIT} at the start: not a quiet-machine measurement.**` : ''));
  L.push(`- Node ${m.node}; @tensorflow/tfjs-core ${m.tfjs}, @tensorflow/tfjs-backend-wasm ${m.tfjsWasm}`);
  for (const b of data.backends) L.push(`- tfjs backend ${backendLabel(b.info)}`);
  if (data.torch) {
    const t = data.torch;
    L.push(`- PyTorch ${t.torch}${t.debPackage ? ` (Debian python3-torch ${t.debPackage})` : ''}, Python ${t.python}, /usr/bin/python3; ` +
      `torch.set_num_threads(${t.threads}), OPENBLAS_NUM_THREADS=${t.openblasNumThreads ?? 'unset'}, OMP_WAIT_POLICY=${t.ompWaitPolicy ?? 'unset'}`);
    L.push(`- BLAS used by torch: **${t.blasKind}** (${t.blasLibs.join(', ') || 'no BLAS library mapped'}); ` +
      `libopenblas0-pthread ${t.openblasPackage ?? 'not installed'}; 512³ sgemm ${t.gemmGflops} GFLOP/s on this run`);
    if (t.blasKind !== 'openblas') {
      L.push(`- **Warning: torch is not using OpenBLAS.** Debian's torch then falls back to the reference BLAS (≈18× slower flow step); the ratios above flatter tfjs. Install \`libopenblas0-pthread\`.`);
    }
  } else {
    L.push(`- PyTorch: not used (${data.torchMissing ?? 'unknown reason'})`);
  }
  L.push('');
  L.push('Architecture cross-check (trainable parameters; tfjs builds the same models on every backend) and flow correctness');
  L.push('(max |inverse(forward(x)) − x|, 8 samples, non-trivial ActNorm):');
  L.push('');
  L.push(`| | tfjs | PyTorch |`);
  L.push('|---|---:|---:|');
  for (const key of data.keys) {
    const p = data.params[key];
    if (p) L.push(`| params ${BENCH_TITLES[key]} | ${p.tfjs.toLocaleString('en-US')} | ${p.torch === null ? '–' : p.torch.toLocaleString('en-US')} |`);
  }
  L.push('');
  L.push(`| round-trip error | ${names.map((n) => `\`${n}\``).join(' | ')} | PyTorch |`);
  L.push(`|---|${names.map(() => '---:').join('|')}|---:|`);
  const exp = (x: number | null): string => (x === null ? '–' : x.toExponential(1));
  L.push(`| flow ((b)/(c)) | ${data.backends.map((b) => exp(b.roundTrip)).join(' | ')} | ${exp(data.torchRoundTrip.flow)} |`);
  if (data.backends.some((b) => b.cinnRoundTrip !== null)) {
    L.push(`| t ((d)/(e) size) | ${data.backends.map((b) => exp(b.cinnRoundTrip)).join(' | ')} | ${exp(data.torchRoundTrip.cinn)} |`);
  }
  if (data.warnings.length > 0) {
    L.push('');
    L.push('## Warnings from this run');
    L.push('');
    for (const w of data.warnings) L.push(`- ${w}`);
  }
  L.push('');
  if (extra) {
    L.push(extra);
    L.push('');
  }
  return L.join('\n');
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–';
}

/** Writes the report atomically (temp file + rename), keeping a hand-written Analysis and hand-written extra sections. */
export function writeReport(path: string, data: ReportData): void {
  const text = renderMarkdown(data, existingAnalysis(path), existingExtraSections(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
