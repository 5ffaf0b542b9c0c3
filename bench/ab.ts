/**
 * A/B of the fused flow path and of wasm's second core, in one process, interleaved: for guidance
 * on a busy machine, where `npm run bench` (the benchmark of record) cannot be run. Prints per
 * variant the min and median step time over interleaved rounds and the kernel calls of one
 * step (tf.profile: a count that load does not change).
 *
 *   node --import tsx bench/ab.ts [--backend wasm,torch] [--only b,d,e] [--rounds 4] [--steps 6]
 *
 * Variants: (d), (e) fused vs unfused (flowFusion); on wasm, (e) fused and (b) with and without
 * the matmul helper (setMatMulSplit). Not a benchmark against PyTorch: see bench/run.ts.
 */
import { parseArgs } from 'node:util';
import { initEngine, tf } from '../src/engine/index.ts';
import { setFlowFusion, type FlowFusion } from '../src/flows/fused-stack.ts';
import { startWasmHelperNow } from '../src/engine/wasm-threads/node-helper.ts';
import { setMatMulSplit } from '../src/engine/wasm-threads/split-matmul.ts';
import { buildCinnSample, buildCinnTrain, buildFlowTrain, type Workload } from './models.ts';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm,torch' },
    only: { type: 'string', default: 'b,d,e' },
    rounds: { type: 'string', default: '4' },
    steps: { type: 'string', default: '6' },
  },
});
const backends = values.backend!.split(',').filter(Boolean);
const only = new Set(values.only!.split(','));
const rounds = Number(values.rounds);
const steps = Number(values.steps);

interface Variant { name: string; build: () => Workload; setup?: () => void; teardown?: () => void }

function fusion(mode: FlowFusion, build: () => Workload): () => Workload {
  return () => {
    const before = setFlowFusion(mode);
    try {
      return build();
    } finally {
      setFlowFusion(before);
    }
  };
}

async function kernelCalls(w: Workload): Promise<number> {
  const info = await tf.profile(async () => { await w.step(); });
  return info.kernels.filter((k) => !k.name.endsWith('__op')).length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const backend of backends) {
  await initEngine({ backend });
  if (backend === 'wasm') await startWasmHelperNow();
  const variants: Array<{ bench: string; variant: Variant }> = [];
  for (const mode of ['unfused', 'fused'] as const) {
    if (only.has('d')) variants.push({ bench: 'd', variant: { name: mode, build: fusion(mode, () => buildCinnTrain()) } });
    if (only.has('e')) variants.push({ bench: 'e', variant: { name: mode, build: fusion(mode, () => buildCinnSample()) } });
  }
  if (only.has('e') && backend === 'wasm') {
    variants.push({ bench: 'e', variant: { name: 'fused, 1 thread', build: fusion('fused', () => buildCinnSample()), setup: () => setMatMulSplit(false), teardown: () => setMatMulSplit(true) } });
  }
  if (only.has('b') && backend === 'wasm') {
    variants.push({ bench: 'b', variant: { name: '1 thread', build: () => buildFlowTrain(), setup: () => setMatMulSplit(false), teardown: () => setMatMulSplit(true) } });
    variants.push({ bench: 'b', variant: { name: '2 threads', build: () => buildFlowTrain() } });
  }
  const live = variants.map(({ bench, variant }) => ({ bench, variant, w: variant.build(), times: [] as number[], calls: 0 }));
  for (const v of live) {
    v.variant.setup?.();
    for (let i = 0; i < 3; i++) await v.w.step();
    v.calls = await kernelCalls(v.w);
    v.variant.teardown?.();
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of live) {
      v.variant.setup?.();
      for (let s = 0; s < steps; s++) {
        const t0 = performance.now();
        await v.w.step();
        v.times.push(performance.now() - t0);
      }
      v.variant.teardown?.();
    }
  }
  for (const v of live) {
    console.log(`${backend} (${v.bench}) ${v.variant.name}: min ${Math.min(...v.times).toFixed(1)} ms, median ${median(v.times).toFixed(1)} ms, ${v.calls} kernel calls per step`);
    v.w.dispose();
  }
}
process.exit(0);
