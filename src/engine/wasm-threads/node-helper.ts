/**
 * The matmul helper in Node (split-matmul.ts): a worker_threads worker running its own
 * tfjs-wasm instance (XNNPACK, SIMD), fed through SharedArrayBuffers and woken with
 * Atomics.notify; the calling thread blocks in Atomics.wait until the worker's rows are done
 * (tfjs kernels are synchronous). The worker starts on the first matmul large enough to split and
 * is used once it is ready (its tfjs and wasm load in ~0.3–1 s); it never keeps the process alive.
 *
 * Why not tfjs's own threaded wasm build: its pthread workers are blob URLs, which Node refuses
 * (docs/engine.md), and it passes no thread pool to XNNPACK's matmul.
 *
 * Opt-in (INNTROSPECT_WASM_THREADS=2; see enableWasmThreads). Where SharedArrayBuffer or
 * worker_threads is missing there is no helper either, and `wasmThreadsNote()` says why.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { HELPER_ACTIVATIONS, setMatMulHelper, setMatMulHelperStarter, type HelperJob, type MatMulHelper } from './split-matmul.ts';

// Control words (Int32Array over a SharedArrayBuffer).
const STATE = 0; // 0 idle, 1 job posted, 2 done, 3 quit, 4 failed
const ROWS = 1, INNER = 2, COLS = 3, HAS_BIAS = 4, ACTIVATION = 5, NEW_BUFFER = 6;
const B_SLOT = 9, B_FRESH = 10;  // which of the worker's kept B matrices to use; 1: B is in the buffer, keep it there
/** B matrices the worker keeps (least recently used goes first). */
const B_SLOTS = 16;
const ALPHA = 8;  // a Float32 word
const IDLE = 0, POSTED = 1, DONE = 2, QUIT = 3, FAILED = 4;

/** The worker's code (CommonJS, so it runs unchanged under tsx, from dist and from any bundle). */
const WORKER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const tf = require(workerData.core);
require(workerData.wasm);
const ACTS = ${JSON.stringify(HELPER_ACTIVATIONS)};
(async () => {
  const ok = await tf.setBackend('wasm');
  const control = new Int32Array(workerData.control);
  const alpha = new Float32Array(workerData.control);
  let data = new Float32Array(workerData.data);
  const kept = new Array(${B_SLOTS}).fill(null);
  workerData.port.postMessage({ ready: ok });
  if (!ok) return;
  for (;;) {
    Atomics.wait(control, ${STATE}, ${IDLE});
    const state = Atomics.load(control, ${STATE});
    if (state === ${QUIT}) return;
    if (state !== ${POSTED}) continue;
    try {
      if (control[${NEW_BUFFER}] === 1) {
        data = new Float32Array(receiveMessageOnPort(workerData.port).message.data);
        control[${NEW_BUFFER}] = 0;
      }
      const rows = control[${ROWS}], inner = control[${INNER}], cols = control[${COLS}];
      const bOff = rows * inner, biasOff = bOff + inner * cols, outOff = biasOff + cols;
      const slot = control[${B_SLOT}];
      if (control[${B_FRESH}] === 1) {
        if (kept[slot]) tf.dispose([kept[slot].b, kept[slot].bias || []]);
        kept[slot] = {
          b: tf.tensor2d(data.subarray(bOff, biasOff), [inner, cols]),
          bias: control[${HAS_BIAS}] ? tf.tensor1d(data.subarray(biasOff, outOff)) : null,
        };
      }
      const y = tf.tidy(() => tf.fused.matMul({
        a: tf.tensor2d(data.subarray(0, bOff), [rows, inner]),
        b: kept[slot].b,
        bias: kept[slot].bias || undefined,
        activation: ACTS[control[${ACTIVATION}]],
        leakyreluAlpha: alpha[${ALPHA}],
      }));
      data.set(y.dataSync(), outOff);
      y.dispose();
      Atomics.store(control, ${STATE}, ${DONE});
    } catch (error) {
      Atomics.store(control, ${STATE}, ${FAILED});
    }
    Atomics.notify(control, ${STATE});
  }
})();
`;

class WorkerHelper implements MatMulHelper {
  private data: SharedArrayBuffer;
  private view: Float32Array;
  private readonly control: Int32Array;
  private readonly alpha: Float32Array;
  private outOffset = 0;
  private outSize = 0;
  /** Mirror of the worker's kept B matrices: slot → identity, most recently used last. */
  private readonly slots: Array<{ b: object; bias: object | null } | null> = new Array(B_SLOTS).fill(null);
  private readonly order: number[] = Array.from({ length: B_SLOTS }, (_, i) => i);

  constructor(private readonly worker: Worker, private readonly port: MessagePort, control: SharedArrayBuffer, data: SharedArrayBuffer) {
    this.control = new Int32Array(control);
    this.alpha = new Float32Array(control);
    this.data = data;
    this.view = new Float32Array(data);
  }

  submit(job: HelperJob): boolean {
    if (Atomics.load(this.control, STATE) !== IDLE) return false;
    const bOff = job.rows * job.inner;
    const biasOff = bOff + job.inner * job.cols;
    const outOff = biasOff + job.cols;
    const need = outOff + job.rows * job.cols;
    if (need > this.view.length) {
      // A bigger buffer, handed over before the job (the worker reads it synchronously).
      this.data = new SharedArrayBuffer(4 * Math.max(need, 2 * this.view.length));
      this.view = new Float32Array(this.data);
      this.port.postMessage({ data: this.data });
      this.control[NEW_BUFFER] = 1;
    }
    this.view.set(job.a, 0);
    // B and the bias are kept together: XNNPACK caches its packed weights per (B, bias) pair.
    let slot = this.slots.findIndex((s) => s !== null && s.b === job.bKey && s.bias === job.biasKey);
    const fresh = slot < 0;
    if (fresh) {
      slot = this.order[0]!;
      this.slots[slot] = { b: job.bKey, bias: job.biasKey };
      this.view.set(job.b, bOff);
      if (job.bias) this.view.set(job.bias, biasOff);
    }
    this.order.splice(this.order.indexOf(slot), 1);
    this.order.push(slot);
    this.control[B_SLOT] = slot;
    this.control[B_FRESH] = fresh ? 1 : 0;
    this.control[ROWS] = job.rows;
    this.control[INNER] = job.inner;
    this.control[COLS] = job.cols;
    this.control[HAS_BIAS] = job.bias ? 1 : 0;
    this.control[ACTIVATION] = HELPER_ACTIVATIONS.indexOf(job.activation);
    this.alpha[ALPHA] = job.leakyreluAlpha;
    this.outOffset = outOff;
    this.outSize = job.rows * job.cols;
    Atomics.store(this.control, STATE, POSTED);
    Atomics.notify(this.control, STATE);
    return true;
  }

  wait(): Float32Array {
    // This thread cannot see the worker's exit event while it blocks, so a helper that has not
    // answered in a minute is taken as gone.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const state = Atomics.load(this.control, STATE);
      if (state === DONE || state === FAILED) break;
      if (Date.now() > deadline) {
        stopWasmHelper();
        note = 'one thread: the matmul helper stopped answering';
        throw new Error('wasm matmul helper: no answer from the worker in 60 s; continuing on one thread');
      }
      Atomics.wait(this.control, STATE, state, 1000);
    }
    const failed = Atomics.load(this.control, STATE) === FAILED;
    Atomics.store(this.control, STATE, IDLE);
    if (failed) {
      this.slots.fill(null);  // the worker's kept matrices are no longer known: send B again
      throw new Error('wasm matmul helper: the worker failed on a job');
    }
    return this.view.subarray(this.outOffset, this.outOffset + this.outSize);
  }

  stop(): void {
    Atomics.store(this.control, STATE, QUIT);
    Atomics.notify(this.control, STATE);
    void this.worker.terminate();
  }
}

let note: string | null = null;
let starting = false;
let running: WorkerHelper | null = null;

/** Why the wasm backend computes on one thread, or null when the helper is available. */
export function wasmThreadsNote(): string | null {
  return note;
}

/** The running helper, or null (benchmarks time it on its own). */
export function wasmHelper(): MatMulHelper | null {
  return running;
}

/** Threads wasm matmuls use now: 2 with the helper running, else 1. */
export function wasmThreadCount(): number {
  return running ? 2 : 1;
}

/**
 * Makes the helper available (started on the first large matmul) when INNTROSPECT_WASM_THREADS=2.
 * Off by default: on the shared machine it was measured on, a split 256 × 512 · 512 × 512 took
 * 8.2 ms (min of 150) against 6.5 ms on one thread, although the helper's half finished before
 * this thread's (docs/engine.md); it stays opt-in until a quiet machine shows a gain. Returns
 * the note when there is no helper.
 */
export function enableWasmThreads(): string | null {
  const setting = process.env['INNTROSPECT_WASM_THREADS'];
  note = null;
  if (setting !== undefined && setting !== '' && setting !== '1' && setting !== '2') {
    note = `one thread: INNTROSPECT_WASM_THREADS must be 1 or 2, got '${setting}'`;
  } else if (setting !== '2') note = 'one thread: the matmul helper is off (INNTROSPECT_WASM_THREADS=2 turns it on)';
  if (note) return note;
  return helperAvailable();
}

/** Why a helper cannot run here, or null (and the starter installed). */
function helperAvailable(): string | null {
  if (typeof SharedArrayBuffer === 'undefined') note = 'one thread: SharedArrayBuffer is not available';
  else if (availableParallelism() < 2) note = 'one thread: this machine has one core';
  if (note) return note;
  setMatMulHelperStarter(startHelper);
  return null;
}

/**
 * Starts the worker now, whatever INNTROSPECT_WASM_THREADS says (tests, bench/ab.ts), and
 * resolves once it computes; false (with the note) where it cannot run.
 */
export async function startWasmHelperNow(): Promise<boolean> {
  note = null;
  if (helperAvailable()) return false;
  startHelper();
  while (starting) await new Promise((r) => setTimeout(r, 10));
  return running !== null;
}

function startHelper(): void {
  if (starting || running || note) return;
  starting = true;
  try {
    const require = createRequire(import.meta.url);
    const control = new SharedArrayBuffer(64);
    const data = new SharedArrayBuffer(4 * (1 << 20));
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Plain CommonJS: none of the parent's flags (--input-type=module, --import tsx) apply.
      execArgv: [],
      workerData: { core: require.resolve('@tensorflow/tfjs-core'), wasm: require.resolve('@tensorflow/tfjs-backend-wasm'), control, data, port: port2 },
      transferList: [port2],
    });
    worker.unref();
    port1.unref();
    const fail = (why: string) => {
      note = `one thread: the matmul helper did not start (${why})`;
      starting = false;
      void worker.terminate();
    };
    worker.once('error', (error) => fail(error.message));
    port1.once('message', (message: { ready: boolean }) => {
      if (!message.ready) return fail('its wasm backend did not initialise');
      running = new WorkerHelper(worker, port1, control, data);
      setMatMulHelper(running);
      starting = false;
    });
  } catch (error) {
    note = `one thread: the matmul helper did not start (${(error as Error).message})`;
    starting = false;
  }
}

/** Stops the helper (tests); matmuls run on one thread until it is started again. */
export function stopWasmHelper(): void {
  setMatMulHelper(null);
  running?.stop();
  running = null;
}
