/**
 * The benchmark workloads in TensorFlow.js. (a)–(c) are written with raw tfjs ops (no Layers) so
 * that they match bench/torch_bench.py layer for layer; (d) and (e) run our real ConditionalINN
 * (src/flows) at the size the shipped ColorMNIST pipeline trains, and torch_bench.py rebuilds
 * that architecture. Shapes are fixed by the benchmark spec in docs/benchmarks.md; layouts are
 * NHWC / HWIO here and NCHW in PyTorch.
 *
 * Each builder returns a `step()` that does the whole unit of work and only resolves once the
 * backend has finished it (we read the result back), plus `dispose()` that frees every tensor
 * the workload owns, so the caller can check that nothing leaks.
 */
import { tf } from '../src/engine/index.ts';
import { Random } from '../src/engine/random.ts';
import { ConditionalINN } from '../src/flows/cinn.ts';
import { parameterCount } from '../src/flows/module.ts';
import { cinnTrainStep, createFlowOptimizer } from '../src/train/flow-train-step.ts';
import { FusedAdamOptimizer } from '../src/train/fused-adam.ts';

export interface Workload {
  /** One unit of work (train step or sampling pass); resolves when its result has been read back. */
  step(): Promise<number>;
  /** Trainable parameter count (checked against the PyTorch twin). */
  params: number;
  dispose(): void;
}

export const AE_BATCH = 64;
export const FLOW_BATCH = 256;
export const FLOW_DIM = 128;
export const FLOW_COND = 128;
export const FLOW_BLOCKS = 12;
export const FLOW_HIDDEN = 512;

/** Owns the variables and constants of one workload and frees them together. */
class Store {
  readonly vars: tf.Variable[] = [];
  readonly consts: tf.Tensor[] = [];

  constructor(private readonly rng: Random) {}

  /** Normal(0, std) variable; the generated tensor is freed once the variable holds a copy. */
  normal(shape: number[], std: number): tf.Variable {
    const init = this.rng.normalTensor(shape, 0, std);
    const v = tf.variable(init, true);
    init.dispose();
    this.vars.push(v);
    return v;
  }

  zeros(shape: number[]): tf.Variable {
    const init = tf.zeros(shape);
    const v = tf.variable(init, true);
    init.dispose();
    this.vars.push(v);
    return v;
  }

  keep<T extends tf.Tensor>(t: T): T {
    this.consts.push(t);
    return t;
  }

  params(): number {
    return this.vars.reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    for (const t of [...this.vars, ...this.consts]) t.dispose();
  }
}

/** Weight scale shared with torch_bench.py: N(0, 1/fan_in), biases zero. */
function fanInStd(fanIn: number): number {
  return 1 / Math.sqrt(fanIn);
}

/** Minimises `lossFn` with Adam and waits for the loss value. */
async function trainStep(optimizer: tf.Optimizer, vars: tf.Variable[], lossFn: () => tf.Scalar): Promise<number> {
  const loss = optimizer.minimize(lossFn, true, vars);
  if (!loss) throw new Error('optimizer.minimize returned no loss');
  // Reading the value forces the step to complete (wasm is synchronous, but other backends are not).
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

// ---------------------------------------------------------------------------------------------
// (a) Convolutional autoencoder, batch 64, 32x32x3.

const AE_ENC = [3, 32, 64, 128, 256];
const AE_DEC = [256, 128, 64, 32, 3];
const AE_LATENT = 128;

interface Dense {
  w: tf.Variable;
  b: tf.Variable;
}

interface Conv {
  /** HWIO for conv2d; [h, w, out, in] for conv2dTranspose (tfjs convention). */
  w: tf.Variable;
  b: tf.Variable;
}

function dense(store: Store, nIn: number, nOut: number): Dense {
  return { w: store.normal([nIn, nOut], fanInStd(nIn)), b: store.zeros([nOut]) };
}

export function buildConvAE(seed = 1): Workload {
  const rng = new Random(seed);
  const store = new Store(rng);
  const enc: Conv[] = [];
  for (let i = 0; i < 4; i++) {
    const cin = AE_ENC[i]!;
    const cout = AE_ENC[i + 1]!;
    enc.push({ w: store.normal([3, 3, cin, cout], fanInStd(9 * cin)), b: store.zeros([cout]) });
  }
  const toLatent = dense(store, 2 * 2 * 256, AE_LATENT);
  const fromLatent = dense(store, AE_LATENT, 2 * 2 * 256);
  const dec: Conv[] = [];
  for (let i = 0; i < 4; i++) {
    const cin = AE_DEC[i]!;
    const cout = AE_DEC[i + 1]!;
    dec.push({ w: store.normal([3, 3, cout, cin], fanInStd(9 * cin)), b: store.zeros([cout]) });
  }
  const images = store.keep(rng.uniformTensor([AE_BATCH, 32, 32, 3]) as tf.Tensor4D);
  const optimizer = new FusedAdamOptimizer(1e-3);  // tf.train.adam, one fused kernel per step where offered

  // 'same' padding with stride 2 gives 32→16→8→4→2 like torch's k3 s2 p1 (tfjs pads bottom/right
  // where torch pads symmetrically: same shapes and FLOPs, different alignment).
  const loss = (): tf.Scalar => {
    let h: tf.Tensor4D = images;
    for (const layer of enc) {
      h = tf.fused.conv2d({ x: h, filter: layer.w as tf.Tensor4D, strides: 2, pad: 'same', bias: layer.b, activation: 'relu' });
    }
    const z = tf.fused.matMul({ a: tf.reshape(h, [AE_BATCH, 1024]), b: toLatent.w as tf.Tensor2D, bias: toLatent.b });
    const g = tf.fused.matMul({ a: z, b: fromLatent.w as tf.Tensor2D, bias: fromLatent.b, activation: 'relu' });
    let d: tf.Tensor4D = tf.reshape(g, [AE_BATCH, 2, 2, 256]);
    dec.forEach((layer, i) => {
      const size = d.shape[1] * 2;
      const up = tf.add(
        tf.conv2dTranspose(d, layer.w as tf.Tensor4D, [AE_BATCH, size, size, AE_DEC[i + 1]!], 2, 'same'),
        layer.b,
      ) as tf.Tensor4D;
      d = i < dec.length - 1 ? tf.relu(up) : tf.sigmoid(up);
    });
    return tf.mean(tf.square(tf.sub(d, images)));
  };

  return {
    params: store.params(),
    step: () => trainStep(optimizer, store.vars, loss),
    dispose: () => {
      optimizer.dispose();
      store.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// (b), (c) Conditional affine-coupling flow: D=128, condition 128, 12 blocks, batch 256.

interface FlowBlock {
  /** ActNorm: h = (x + loc) · exp(logs), logdet = Σ logs. */
  loc: tf.Variable;
  logs: tf.Variable;
  /** Coupling MLP [x1 ‖ c] 192 → 512 → 512 → 128 (s_raw ‖ t). */
  l1: Dense;
  l2: Dense;
  l3: Dense;
  perm: tf.Tensor1D;
  invPerm: tf.Tensor1D;
}

interface Flow {
  store: Store;
  blocks: FlowBlock[];
}

function buildFlowParams(rng: Random): Flow {
  const store = new Store(rng);
  const half = FLOW_DIM / 2;
  const blocks: FlowBlock[] = [];
  for (let i = 0; i < FLOW_BLOCKS; i++) {
    const loc = store.zeros([FLOW_DIM]);
    const logs = store.zeros([FLOW_DIM]);
    const l1 = dense(store, half + FLOW_COND, FLOW_HIDDEN);
    const l2 = dense(store, FLOW_HIDDEN, FLOW_HIDDEN);
    const l3 = dense(store, FLOW_HIDDEN, FLOW_DIM);
    const p = rng.permutation(FLOW_DIM);
    const inv = new Int32Array(FLOW_DIM);
    p.forEach((to, from) => { inv[to] = from; });
    const perm = store.keep(tf.tensor1d(p, 'int32'));
    const invPerm = store.keep(tf.tensor1d(inv, 'int32'));
    blocks.push({ loc, logs, l1, l2, l3, perm, invPerm });
  }
  return { store, blocks };
}

/** The coupling network: returns tanh-bounded log-scale s and shift t, each [batch, 64]. */
function coupling(block: FlowBlock, x1: tf.Tensor2D, cond: tf.Tensor2D): { s: tf.Tensor2D; t: tf.Tensor2D } {
  const inp = tf.concat([x1, cond], 1);
  const h1 = tf.fused.matMul({ a: inp, b: block.l1.w as tf.Tensor2D, bias: block.l1.b, activation: 'relu' });
  const h2 = tf.fused.matMul({ a: h1, b: block.l2.w as tf.Tensor2D, bias: block.l2.b, activation: 'relu' });
  const out = tf.fused.matMul({ a: h2, b: block.l3.w as tf.Tensor2D, bias: block.l3.b });
  const [sRaw, t] = tf.split(out, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
  return { s: tf.tanh(sRaw), t };
}

/** x → (v, Σ logdet per sample) through all blocks. */
function flowForward(flow: Flow, x: tf.Tensor2D, cond: tf.Tensor2D): { v: tf.Tensor2D; logdet: tf.Tensor1D } {
  let h = x;
  let logdet: tf.Tensor1D = tf.zeros([x.shape[0]]);
  for (const block of flow.blocks) {
    h = tf.mul(tf.add(h, block.loc), tf.exp(block.logs));
    logdet = tf.add(logdet, tf.sum(block.logs));
    const [x1, x2] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const { s, t } = coupling(block, x1, cond);
    const y2 = tf.add(tf.mul(x2, tf.exp(s)), t);
    logdet = tf.add(logdet, tf.sum(s, 1));
    h = tf.gather(tf.concat([x1, y2], 1), block.perm, 1) as tf.Tensor2D;
  }
  return { v: h, logdet };
}

/** v → x, exactly undoing flowForward. */
function flowInverse(flow: Flow, v: tf.Tensor2D, cond: tf.Tensor2D): tf.Tensor2D {
  let h = v;
  for (let i = flow.blocks.length - 1; i >= 0; i--) {
    const block = flow.blocks[i]!;
    h = tf.gather(h, block.invPerm, 1) as tf.Tensor2D;
    const [x1, y2] = tf.split(h, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const { s, t } = coupling(block, x1, cond);
    const x2 = tf.mul(tf.sub(y2, t), tf.exp(tf.neg(s)));
    h = tf.concat([x1, x2], 1) as tf.Tensor2D;
    h = tf.sub(tf.mul(h, tf.exp(tf.neg(block.logs))), block.loc);
  }
  return h;
}

export function buildFlowTrain(seed = 2): Workload {
  const rng = new Random(seed);
  const flow = buildFlowParams(rng);
  const x = flow.store.keep(rng.normalTensor([FLOW_BATCH, FLOW_DIM]) as tf.Tensor2D);
  const cond = flow.store.keep(rng.normalTensor([FLOW_BATCH, FLOW_COND]) as tf.Tensor2D);
  const optimizer = new FusedAdamOptimizer(1e-3);  // tf.train.adam, one fused kernel per step where offered
  const loss = (): tf.Scalar => {
    const { v, logdet } = flowForward(flow, x, cond);
    const nll = tf.sub(tf.mean(tf.mul(0.5, tf.sum(tf.square(v), 1))), tf.mean(logdet));
    return nll as tf.Scalar;
  };
  return {
    params: flow.store.params(),
    step: () => trainStep(optimizer, flow.store.vars, loss),
    dispose: () => {
      optimizer.dispose();
      flow.store.dispose();
    },
  };
}

export function buildFlowInverse(seed = 3): Workload {
  const rng = new Random(seed);
  const flow = buildFlowParams(rng);
  const v = flow.store.keep(rng.normalTensor([FLOW_BATCH, FLOW_DIM]) as tf.Tensor2D);
  const cond = flow.store.keep(rng.normalTensor([FLOW_BATCH, FLOW_COND]) as tf.Tensor2D);
  return {
    params: flow.store.params(),
    step: async () => {
      const x = tf.tidy(() => flowInverse(flow, v, cond));
      // Read back the whole sample batch: that is what a caller of sampling gets.
      const data = await x.data();
      x.dispose();
      return data[0]!;
    },
    dispose: () => flow.store.dispose(),
  };
}

/**
 * Self-test for the flow: forward then inverse must return the input (guards against a
 * benchmark that is fast because it is wrong). Returns the max abs reconstruction error.
 */
export async function flowRoundTripError(seed = 4): Promise<number> {
  const rng = new Random(seed);
  const flow = buildFlowParams(rng);
  // Non-trivial ActNorm and coupling parameters so the check exercises every term.
  for (const b of flow.blocks) {
    for (const p of [b.loc, b.logs]) {
      const value = rng.normalTensor([FLOW_DIM], 0, 0.1);
      p.assign(value);
      value.dispose();
    }
  }
  const x = rng.normalTensor([8, FLOW_DIM]) as tf.Tensor2D;
  const cond = rng.normalTensor([8, FLOW_COND]) as tf.Tensor2D;
  const err = tf.tidy(() => {
    const { v } = flowForward(flow, x, cond);
    return tf.max(tf.abs(tf.sub(flowInverse(flow, v, cond), x)));
  });
  const value = (await err.data())[0]!;
  for (const t of [err, x, cond]) t.dispose();
  flow.store.dispose();
  return value;
}

// ---------------------------------------------------------------------------------------------
// (d), (e) The conditional INN t at the shipped ColorMNIST size, for the classifier's conv2 layer.

/**
 * What (d) and (e) run: COLORMNIST_RECIPE's t (src/pipeline/reproduce.ts) on top of the cinn job's
 * defaults (src/pipeline/jobs/cinn-job.ts) for the default classifier's `conv2` layer; dim is
 * the default AE's zDim. bench/run.ts checks these against the pipeline's own values and passes
 * them to torch_bench.py, so both sides always build the same model.
 */
export const CINN_BENCH = {
  /** dim z̄ (AE zDim). */
  dim: 64,
  /** conv2 of the default ColorMNIST classifier (channels 32-64-128-256), NHWC. */
  conditionShape: [4, 4, 128] as [number, number, number],
  numBlocks: 8,
  hiddenWidth: 128,
  hiddenDepth: 1,
  embeddingDim: 64,
  /** Conv embedder: null = autoNumDown (0 stages for 4×4), base and cap as the job's defaults. */
  numDown: null as number | null,
  baseChannels: 64,
  maxChannels: 1024,
  /** Training batch (the cinn job's batchSize). */
  batch: 64,
  learningRate: 5e-4,
  beta1: 0.5,
  beta2: 0.9,
  epsilon: 1e-8,
  /** (e): conditions per call and samples per condition (the explorer's "resample 16 images"). */
  sampleConditions: 16,
  samplesPerCondition: 16,
};

function buildCinn(seed: number): ConditionalINN {
  const c = CINN_BENCH;
  return new ConditionalINN({
    dim: c.dim,
    conditionShape: [...c.conditionShape],
    embeddingDim: c.embeddingDim,
    numBlocks: c.numBlocks,
    hiddenWidth: c.hiddenWidth,
    hiddenDepth: c.hiddenDepth,
    embedder: { kind: 'conv', numDown: c.numDown, baseChannels: c.baseChannels, maxChannels: c.maxChannels },
    seed,
  });
}

/** (d) One cinnTrainStep (forward + backward + Adam β = (0.5, 0.9)) on random z̄ and z. */
export function buildCinnTrain(seed = 5): Workload {
  const c = CINN_BENCH;
  const rng = new Random(seed + 1000);
  const t = buildCinn(seed);
  const zbar = rng.normalTensor([c.batch, c.dim]) as tf.Tensor2D;
  const z = rng.normalTensor([c.batch, ...c.conditionShape]);
  const optimizer = createFlowOptimizer({ learningRate: c.learningRate, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon });
  return {
    params: parameterCount(t),
    // cinnTrainStep reads the loss back (dataSync) before it returns. The first (warm-up) step
    // also runs ActNorm's data-dependent initialisation.
    step: async () => cinnTrainStep(t, optimizer, zbar, z).loss,
    dispose: () => {
      optimizer.dispose();
      t.dispose();
      tf.dispose([zbar, z]);
    },
  };
}

/**
 * (e) t.sample(z, 16) for 16 conditions: embed z once, repeat each embedding 16×, draw v ~ N(0, I)
 * [256, 64] and run the flow backwards; no gradient. The ActNorms are initialised by one forward
 * batch first, as in a trained t.
 */
export function buildCinnSample(seed = 6): Workload {
  const c = CINN_BENCH;
  const rng = new Random(seed + 1000);
  const t = buildCinn(seed);
  tf.tidy(() => {
    t.forward(rng.normalTensor([c.batch, c.dim]) as tf.Tensor2D, rng.normalTensor([c.batch, ...c.conditionShape]));
  });
  const z = rng.normalTensor([c.sampleConditions, ...c.conditionShape]);
  const sampleRng = new Random(seed + 2000);
  return {
    params: parameterCount(t),
    step: async () => {
      const zbar = t.sample(z, c.samplesPerCondition, sampleRng);
      // Read back the whole sample batch: that is what the explorer decodes.
      const data = await zbar.data();
      zbar.dispose();
      return data[0]!;
    },
    dispose: () => {
      t.dispose();
      z.dispose();
    },
  };
}

/**
 * Self-test for t at the benchmark size: z̄ → v → z̄ through ConditionalINN.forward/inverse after
 * the ActNorms were initialised on a shifted batch (so loc and scale are not trivial). Returns
 * the max abs reconstruction error.
 */
export async function cinnRoundTripError(seed = 7): Promise<number> {
  const c = CINN_BENCH;
  const rng = new Random(seed + 1000);
  const t = buildCinn(seed);
  const err = tf.tidy(() => {
    t.forward(tf.add(tf.mul(rng.normalTensor([c.batch, c.dim]), 1.5), 0.5) as tf.Tensor2D, rng.normalTensor([c.batch, ...c.conditionShape]));
    const x = rng.normalTensor([8, c.dim]) as tf.Tensor2D;
    const z = rng.normalTensor([8, ...c.conditionShape]);
    const back = t.inverse(t.forward(x, z).output, z).output;
    return tf.max(tf.abs(tf.sub(back, x)));
  });
  const value = (await err.data())[0]!;
  err.dispose();
  t.dispose();
  return value;
}
