/**
 * `npm run bench:onnx`: Φ and f of torchvision's ResNet-18 at 224 px (seeded weights, exported by
 * Debian's PyTorch at opset 17 into the ignored .cache/) run by inntrospect's ONNX runner
 * (src/models/onnx/) on wasm and torch, against onnxruntime-node on the same file: the inference
 * engine a user would pick, so the ratio says what running the graph as TensorFlow.js ops
 * (differentiable, in the browser too) costs. Φ is taken at /layer3/layer3.1/relu_1/Relu (a clean
 * cut, 14×14×256); for onnxruntime that value is made an extra graph output. Rounds interleave
 * the engines so that all see the same machine load. Prints a Markdown table to stderr and one
 * JSON object on stdout.
 *
 * Options: --rounds N (3)  --steps N (5)  --batch N (1)  --backend NAME[,NAME…] (wasm,torch)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { availableBackends, initEngine, tf } from '../src/engine/index.ts';
import { modelProtoType } from '../src/models/onnx/onnx-encode.ts';
import { parseOnnx } from '../src/models/onnx/onnx-graph.ts';
import { loadOnnxProgram } from '../src/models/onnx/program.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = join(root, '.cache', 'onnx-bench', 'resnet18-224.onnx');
const CUT = '/layer3/layer3.1/relu_1/Relu';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, steps: { type: 'string', default: '5' }, batch: { type: 'string', default: '1' }, backend: { type: 'string', default: 'wasm,torch' } } });
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const batch = Number(values.batch);

function log(message: string): void {
  process.stderr.write(`[bench:onnx] ${message}\n`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

async function timeIt(fn: () => Promise<void> | void): Promise<number[]> {
  await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

type OrtModule = typeof import('onnxruntime-node');

/** onnxruntime-node when it is installed (a devDependency; its CPU binaries ship in the npm tarball). */
function loadOrt(): OrtModule | string {
  try {
    return createRequire(import.meta.url)('onnxruntime-node') as OrtModule;
  } catch (error) {
    return `onnxruntime-node is not installed (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
}

/** The model with the cut's value as a second graph output, so onnxruntime returns Φ too. */
function withCutOutput(bytes: Uint8Array, value: string): Uint8Array {
  const type = modelProtoType();
  const message = type.toObject(type.decode(bytes)) as { graph: { output: object[] } };
  message.graph.output.push({ name: value, type: { tensorType: { elemType: 1 } } });
  return type.encode(type.fromObject(message)).finish();
}

async function main(): Promise<void> {
  if (!existsSync(MODEL)) {
    log(`exporting ResNet-18 at 224 px with Debian's PyTorch → ${MODEL}`);
    execFileSync('/usr/bin/python3', [join(root, 'scripts', 'onnx-reference-models.py')], { env: { ...process.env, ONNX_BENCH_MODEL: MODEL }, stdio: 'inherit' });
  }
  const bytes = new Uint8Array(readFileSync(MODEL));
  const input = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i) * 0.5);
  const wanted = values.backend!.split(',').filter(Boolean);
  const backends = wanted.filter((b) => b === 'wasm' || availableBackends().includes(b));
  for (const b of wanted) if (!backends.includes(b)) log(`backend ${b} is not available here (build it with npm run build:native); skipped`);
  const ort = loadOrt();
  const series: Record<string, { f: number[]; phi: number[] }> = {};
  let cutValue = '';
  let ortSessions: { f: import('onnxruntime-node').InferenceSession; phi: import('onnxruntime-node').InferenceSession } | null = null;
  for (let round = 0; round < rounds; round++) {
    for (const backend of backends) {
      await initEngine({ backend });
      const program = loadOnnxProgram(parseOnnx(bytes, 'resnet18-224.onnx'), [3, 224, 224]);
      cutValue = program.cut(CUT)!.output;
      const x = tf.tidy(() => tf.transpose(tf.tensor(input, [batch, 3, 224, 224]), [0, 2, 3, 1]));
      const s = (series[backend] ??= { f: [], phi: [] });
      s.f.push(...await timeIt(() => { const y = program.run(x); y.dataSync(); y.dispose(); }));
      s.phi.push(...await timeIt(() => { const y = program.run(x, cutValue); y.dataSync(); y.dispose(); }));
      x.dispose();
      program.dispose();
      log(`round ${round + 1}: ${backend} f ${median(s.f).toFixed(0)} ms, Φ ${median(s.phi).toFixed(0)} ms`);
    }
    if (typeof ort !== 'string') {
      ortSessions ??= {
        f: await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 }),
        phi: await ort.InferenceSession.create(withCutOutput(bytes, cutValue), { intraOpNumThreads: 2 }),
      };
      const feeds = { [ortSessions.f.inputNames[0]!]: new ort.Tensor('float32', input, [batch, 3, 224, 224]) };
      const s = (series['onnxruntime'] ??= { f: [], phi: [] });
      s.f.push(...await timeIt(async () => { await ortSessions!.f.run(feeds); }));
      s.phi.push(...await timeIt(async () => { await ortSessions!.phi.run(feeds, [cutValue]); }));
      log(`round ${round + 1}: onnxruntime f ${median(s.f).toFixed(0)} ms, Φ ${median(s.phi).toFixed(0)} ms`);
    }
  }
  const reference = series['onnxruntime'];
  const result = Object.fromEntries(Object.entries(series).map(([k, s]) => [k, {
    f_ms: median(s.f), phi_ms: median(s.phi),
    ...(reference && k !== 'onnxruntime' ? { f_ratio: median(s.f) / median(reference.f), phi_ratio: median(s.phi) / median(reference.phi) } : {}),
  }]));
  const rows = Object.entries(result).map(([k, r]) => `| ${k} | ${r.f_ms.toFixed(0)} | ${r.phi_ms.toFixed(0)} | ${'f_ratio' in r ? `${r.f_ratio!.toFixed(2)}× / ${r.phi_ratio!.toFixed(2)}×` : k === 'onnxruntime' ? '1 / 1' : '–'} |`);
  log(`ResNet-18, 224 px, batch ${batch}, Φ at ${CUT}, medians of ${rounds}×${steps}\n| engine | f ms | Φ ms | ratio to onnxruntime (f / Φ) |\n|---|---|---|---|\n${rows.join('\n')}`);
  process.stdout.write(`${JSON.stringify({ model: 'resnet18-224', batch, cut: CUT, onnxruntime: typeof ort === 'string' ? ort : 'onnxruntime-node', ...result })}\n`);
}

await main();
