/**
 * Parameter bookkeeping and the few layer functions the models of src/models share.
 *
 * A model owns a `Parameters` store: named variables (trainable) and named buffers (saved,
 * not trained: ActNorm's `initialized` flag). Names are dotted paths ('enc.0.conv.kernel');
 * the store turns into the `weights` of a checkpoint and back, bit for bit.
 *
 * Layout conventions (tfjs): activations NHWC, conv kernels HWIO, conv-transpose kernels
 * [h, w, out, in], dense kernels [in, out].
 */
import { tf } from '../engine/index.ts';
import type { Random } from '../engine/random.ts';

/** One saved array: shape and values (Float32, so a save → load round trip is exact). */
export interface NamedWeight {
  shape: number[];
  data: Float32Array;
}

/** Saved arrays by dotted name. */
export type NamedWeights = Record<string, NamedWeight>;

let storeCounter = 0;

/** Named trainable variables plus named buffers of one model. */
export class Parameters {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly bufs = new Map<string, NamedWeight>();
  /** Unique prefix so tfjs variable names never collide between model instances. */
  private readonly uid = `m${storeCounter++}`;

  /** Creates a trainable variable from values drawn by `init`. */
  add(name: string, shape: number[], init: (size: number) => Float32Array): tf.Variable {
    if (this.vars.has(name) || this.bufs.has(name)) throw new Error(`Parameters: duplicate name '${name}'`);
    const size = shape.reduce((a, b) => a * b, 1);
    const data = init(size);
    if (data.length !== size) throw new Error(`Parameters: initialiser for '${name}' gave ${data.length} values, expected ${size}`);
    const v = tf.variable(tf.tensor(data, shape, 'float32'), true, `${this.uid}/${name}`);
    this.vars.set(name, v);
    return v;
  }

  /** Declares a non-trainable saved array (a snapshot is taken on save). */
  addBuffer(name: string, shape: number[], data: Float32Array): NamedWeight {
    if (this.vars.has(name) || this.bufs.has(name)) throw new Error(`Parameters: duplicate name '${name}'`);
    const buf = { shape, data };
    this.bufs.set(name, buf);
    return buf;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (!v) throw new Error(`Parameters: no variable '${name}' (have ${[...this.vars.keys()].join(', ')})`);
    return v;
  }

  buffer(name: string): NamedWeight {
    const b = this.bufs.get(name);
    if (!b) throw new Error(`Parameters: no buffer '${name}'`);
    return b;
  }

  /** Trainable variables in name order, optionally only those whose name starts with `prefix`. */
  trainable(prefix = ''): tf.Variable[] {
    return [...this.vars.entries()].filter(([n]) => n.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  }

  names(): string[] {
    return [...this.vars.keys(), ...this.bufs.keys()].sort();
  }

  /** Number of trainable scalars. */
  count(prefix = ''): number {
    return this.trainable(prefix).reduce((n, v) => n + v.size, 0);
  }

  /** Snapshot of every variable and buffer (copies). */
  toWeights(): NamedWeights {
    const out: NamedWeights = {};
    for (const name of this.names()) {
      const v = this.vars.get(name);
      if (v) out[name] = { shape: [...v.shape], data: new Float32Array(v.dataSync() as Float32Array) };
      else {
        const b = this.bufs.get(name)!;
        out[name] = { shape: [...b.shape], data: new Float32Array(b.data) };
      }
    }
    return out;
  }

  /** Overwrites every variable and buffer from saved weights; names and shapes must match exactly. */
  loadWeights(weights: NamedWeights, where: string): void {
    const saved = Object.keys(weights).sort();
    const mine = this.names();
    const missing = mine.filter((n) => !(n in weights));
    const extra = saved.filter((n) => !mine.includes(n));
    if (missing.length || extra.length) {
      throw new Error(`${where}: checkpoint weights do not match the model (missing: ${missing.join(', ') || 'none'}; unexpected: ${extra.join(', ') || 'none'})`);
    }
    for (const name of mine) {
      const w = weights[name]!;
      const v = this.vars.get(name);
      const expected = v ? v.shape : this.bufs.get(name)!.shape;
      if (w.shape.length !== expected.length || w.shape.some((d, i) => d !== expected[i])) {
        throw new Error(`${where}: weight '${name}' has shape [${w.shape.join(', ')}], the model expects [${expected.join(', ')}]`);
      }
      if (v) v.assign(tf.tensor(w.data, w.shape, 'float32'));
      else this.bufs.get(name)!.data.set(w.data);
    }
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

/** N(mean, std) initialiser drawing from `rng` (the reference initialises convs with N(0, 0.02)). */
export function normalInit(rng: Random, std: number, mean = 0): (size: number) => Float32Array {
  return (size) => rng.fillNormal(new Float32Array(size), mean, std);
}

/** He-normal initialiser for ReLU nets: N(0, 2/fanIn). */
export function heInit(rng: Random, fanIn: number): (size: number) => Float32Array {
  return normalInit(rng, Math.sqrt(2 / fanIn));
}

export function constantInit(value: number): (size: number) => Float32Array {
  return (size) => new Float32Array(size).fill(value);
}

/** PyTorch's Conv2d(kernel 4, stride 2, padding 1): halves H and W. */
export const PAD_4x4_S2: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];

export function conv4x4s2(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(x, kernel, 2, PAD_4x4_S2);
}

/**
 * PyTorch's ConvTranspose2d(kernel 4, stride 2, padding 1): doubles H and W. tfjs's 'same'
 * padding for a transposed conv with k=4, s=2 pads 1 before and 1 after, i.e. output pixel
 * o = i·2 − 1 + k, exactly PyTorch's (checked against a direct loop in test/models).
 * Kernel layout [4, 4, out, in].
 */
export function convTranspose4x4s2(x: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w] = x.shape;
  return tf.conv2dTranspose(x, kernel, [b, h * 2, w * 2, kernel.shape[2]], 2, 'same');
}

/** x·W + b for x [B, in], W [in, out]. */
export function dense(x: tf.Tensor2D, kernel: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = tf.matMul(x, kernel) as tf.Tensor2D;
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}

/** An ordered, named stage of a model: the unit a Greybox splits at (Φ = stages up to a layer). */
export interface Stage {
  /** Layer name, unique within the model ('conv3', 'fire5', 'z', 'logits'). */
  name: string;
  /** Maps the previous stage's output (or the input image) to this stage's output. */
  apply: (h: tf.Tensor) => tf.Tensor;
}

/** Runs stages [from, to) of a staged model (indices into `stages`). */
export function runStages(stages: readonly Stage[], x: tf.Tensor, from = 0, to = stages.length): tf.Tensor {
  return tf.tidy(() => {
    let h = x;
    for (let i = from; i < to; i++) h = stages[i]!.apply(h);
    return h;
  });
}
