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

/** tfjs/torch ratio each benchmark must stay under; null: no target, the ratio is only reported. */
export const TARGETS: Record<BenchKey, number | null> = { a: 3.0, b: 3.0, c: 2.0, d: null, e: null };

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
  backend: string;
  wasmSimd: boolean | null;
  wasmThreads: number;
  loadBefore: string;
  loadAfter: string;
}

export interface ReportData {
  date: string;
  command: string;
  quick: boolean;
  rounds: number;
  steps: number;
  warmup: number;
  keys: BenchKey[];
  machine: Machine;
  torch: TorchInfo | null;
  /** Why torch numbers are missing, when they are. */
  torchMissing: string | null;
  tfjs: Partial<Record<BenchKey, Summary>>;
  torchResults: Partial<Record<BenchKey, Summary>>;
  params: Partial<Record<BenchKey, { tfjs: number; torch: number | null }>>;
  roundTrip: { tfjs: number; torch: number | null };
  /** Round trip through t at the (d)/(e) size; null when neither (d) nor (e) ran. */
  cinnRoundTrip: { tfjs: number; torch: number | null } | null;
  cinn: CinnBenchInfo;
  profiles: KernelProfile[];
  warnings: string[];
}

export function ratioOf(data: ReportData, key: BenchKey): number | null {
  const a = data.tfjs[key];
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

export function renderMarkdown(data: ReportData, analysis: string | null): string {
  const m = data.machine;
  const L: string[] = [];
  L.push('# Benchmarks: TensorFlow.js engine vs PyTorch');
  L.push('');
  L.push(`Generated by \`npm run bench\` (bench/run.ts) on ${data.date}. Command: \`${data.command}\`.`);
  if (data.quick) L.push('', '> **Quick smoke-test run (`--quick`): 1 round, few steps. These numbers are not representative.**');
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
  L.push(`Method: ${data.rounds} interleaved round(s); each round runs tfjs (${data.keys.join(', ')}) in this process, then PyTorch (same) in a child`);
  L.push(`process. Per benchmark and round: ${data.warmup} warm-up steps, then ${data.steps} timed steps. A tfjs step ends when its result has been`);
  L.push('read back (`await loss.data()`); a torch step ends with `loss.item()`. The headline is the median of the per-round medians;');
  L.push('min–max spans every timed step of every round. tfjs checks after every step that `tf.memory().numTensors` stays flat.');
  L.push('PyTorch uses NCHW and symmetric padding (k3 s2 p1; transposed: p1, output_padding 1); tfjs uses NHWC and `same` padding:');
  L.push('identical shapes, parameter counts and FLOPs. (a)–(c): weights N(0, 1/fan_in), biases 0, Adam lr 1e-3. (d), (e): PyTorch\'s');
  L.push('default U(±1/√fan_in) for weights and biases on both sides (ours in src/flows/layers.ts, torch\'s nn.Linear/nn.Conv2d), each');
  L.push('side with its own random draws. float32 on both sides. (d) and (e) have no target: their ratios are reported.');
  L.push('');

  L.push('## Results');
  L.push('');
  L.push(`| benchmark | tfjs (${m.backend}) median | tfjs min–max | PyTorch median | PyTorch min–max | ratio tfjs/torch | target | status |`);
  L.push('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const key of data.keys) {
    const t = data.tfjs[key];
    const p = data.torchResults[key];
    const r = ratioOf(data, key);
    const target = TARGETS[key];
    const status = r === null ? 'no torch' : target === null ? 'reported' : r <= target ? 'met' : '**MISSED**';
    L.push(`| ${BENCH_TITLES[key]} | ${t ? ms(t.median) + ' ms' : '–'} | ${t ? fmtRange(t) : '–'} | ${p ? ms(p.median) + ' ms' : '–'} | ${p ? fmtRange(p) : '–'} | ${r === null ? '–' : r.toFixed(2) + '×'} | ${target === null ? '–' : `≤ ${target.toFixed(1)}×`} | ${status} |`);
  }
  L.push('');
  L.push('Per-round medians (ms):');
  L.push('');
  L.push('| benchmark | tfjs | PyTorch |');
  L.push('|---|---|---|');
  for (const key of data.keys) {
    const t = data.tfjs[key];
    const p = data.torchResults[key];
    L.push(`| ${BENCH_TITLES[key]} | ${t ? t.roundMedians.map(ms).join(', ') : '–'} | ${p ? p.roundMedians.map(ms).join(', ') : '–'} |`);
  }
  L.push('');

  L.push('## Targets');
  L.push('');
  if (data.torchMissing) {
    L.push(`**No PyTorch comparison in this run: ${data.torchMissing}** The targets cannot be checked.`);
  } else {
    const withTarget = data.keys.filter((k) => TARGETS[k] !== null);
    const missed = withTarget.filter((k) => { const r = ratioOf(data, k); return r !== null && r > TARGETS[k]!; });
    for (const key of data.keys) {
      const r = ratioOf(data, key);
      if (r === null) continue;
      const target = TARGETS[key];
      L.push(target === null
        ? `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — no target, reported.`
        : r <= target
          ? `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — target ≤ ${target.toFixed(1)}× **met**.`
          : `- ${BENCH_TITLES[key]}: ${r.toFixed(2)}× PyTorch — target ≤ ${target.toFixed(1)}× **MISSED** (tfjs would need ${ms(data.torchResults[key]!.median * target)} ms or less).`);
    }
    L.push('');
    if (withTarget.length === 0) L.push('No benchmark with a target ran in this run.');
    else L.push(missed.length === 0
      ? 'All targets measured in this run are met.'
      : `**${missed.length} of ${withTarget.length} targets missed in this run.** See Analysis.`);
  }
  L.push('');

  L.push('## Analysis');
  L.push('');
  L.push(ANALYSIS_BEGIN);
  L.push(analysis ?? ANALYSIS_PLACEHOLDER);
  L.push(ANALYSIS_END);
  L.push('');

  L.push(`## Per-kernel profile (tfjs, ${m.backend})`);
  L.push('');
  if (data.profiles.length === 0) {
    L.push('Not profiled in this run.');
  } else {
    L.push('One step each, after warm-up, via `tf.profile`. Kernel time is the backend\'s own timer around each kernel (on wasm:');
    L.push('synchronous wall time). "outside kernels" = step wall time − Σ kernel time: JS op dispatch, gradient tape, Adam bookkeeping,');
    L.push('GC and the read-back. Profiling adds a little overhead per kernel. Pseudo-kernels that tfjs records for `tf.customGrad` ops');
    L.push('(`fusedMatMul__op`, …) are left out because they contain the real kernels. Under a gradient tape tfjs un-fuses fused');
    L.push('matMul/conv2d with a non-linear activation into BatchMatMul/Conv2D + Add + Relu, so training shows BatchMatMul where sampling shows _FusedMatMul.');
    for (const p of data.profiles) {
      const outside = p.wallMs - p.kernelMs;
      L.push('');
      L.push(`### ${BENCH_TITLES[p.key]}: wall ${ms(p.wallMs)} ms, Σ kernels ${ms(p.kernelMs)} ms in ${p.kernelCount} kernel calls, outside kernels ${ms(Math.max(0, outside))} ms (${pct(Math.max(0, outside), p.wallMs)} of wall)`);
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
  }
  L.push('');

  L.push('## Machine and versions');
  L.push('');
  L.push(`- CPU: ${m.cpu}, ${m.cores} cores (${m.simdFlags}), ${m.memGiB.toFixed(0)} GiB RAM; ${m.os}`);
  L.push(`- Load average (1/5/15 min) before: ${m.loadBefore}; after: ${m.loadAfter} — the machine is shared, expect ±15–20 % noise.`);
  L.push(`- Node ${m.node}; @tensorflow/tfjs-core ${m.tfjs}, @tensorflow/tfjs-backend-wasm ${m.tfjsWasm}; backend \`${m.backend}\`` +
    (m.backend === 'wasm' ? ` (SIMD ${m.wasmSimd ? 'on' : 'off'}, ${m.wasmThreads} thread${m.wasmThreads === 1 ? '' : 's'}; inntrospect's training kernels installed)` : ''));
  if (data.torch) {
    const t = data.torch;
    L.push(`- PyTorch ${t.torch}${t.debPackage ? ` (Debian python3-torch ${t.debPackage})` : ''}, Python ${t.python}, /usr/bin/python3; ` +
      `torch.set_num_threads(${t.threads}), OPENBLAS_NUM_THREADS=${t.openblasNumThreads ?? 'unset'}`);
    L.push(`- BLAS used by torch: **${t.blasKind}** (${t.blasLibs.join(', ') || 'no BLAS library mapped'}); ` +
      `libopenblas0-pthread ${t.openblasPackage ?? 'not installed'}; 512³ sgemm ${t.gemmGflops} GFLOP/s on this run`);
    if (t.blasKind !== 'openblas') {
      L.push(`- **Warning: torch is not using OpenBLAS.** Debian's torch then falls back to the reference BLAS (≈18× slower flow step); the ratios above flatter tfjs. Install \`libopenblas0-pthread\`.`);
    }
  } else {
    L.push(`- PyTorch: not used (${data.torchMissing ?? 'unknown reason'})`);
  }
  L.push('');
  L.push('Architecture cross-check (trainable parameters) and flow correctness (max |inverse(forward(x)) − x|, 8 samples, non-trivial ActNorm):');
  L.push('');
  L.push('| | tfjs | PyTorch |');
  L.push('|---|---:|---:|');
  for (const key of data.keys) {
    const p = data.params[key];
    if (p) L.push(`| params ${BENCH_TITLES[key]} | ${p.tfjs.toLocaleString('en-US')} | ${p.torch === null ? '–' : p.torch.toLocaleString('en-US')} |`);
  }
  L.push(`| flow round-trip error | ${data.roundTrip.tfjs.toExponential(1)} | ${data.roundTrip.torch === null ? '–' : data.roundTrip.torch.toExponential(1)} |`);
  if (data.cinnRoundTrip) {
    L.push(`| t round-trip error ((d)/(e) size) | ${data.cinnRoundTrip.tfjs.toExponential(1)} | ${data.cinnRoundTrip.torch === null ? '–' : data.cinnRoundTrip.torch.toExponential(1)} |`);
  }
  if (data.warnings.length > 0) {
    L.push('');
    L.push('## Warnings from this run');
    L.push('');
    for (const w of data.warnings) L.push(`- ${w}`);
  }
  L.push('');
  return L.join('\n');
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)} %` : '–';
}

/** Writes the report atomically (temp file + rename), keeping a hand-written Analysis. */
export function writeReport(path: string, data: ReportData): void {
  const text = renderMarkdown(data, existingAnalysis(path));
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
