/**
 * Where a component's weights come from when it is built: fresh from a seeded `Random`, or from
 * a saved model (registry.ts). Every block asks its source for each named variable or buffer;
 * the same constructor thus serves "new model" and "load model", and a loaded model never
 * touches the random initialisers.
 */
import { tf } from '../engine/index.ts';
import { Random } from '../engine/random.ts';
import type { Buffer } from './module.ts';

/** Saved values by full dotted name. */
export type SavedValues = Map<string, Buffer>;

/** Fills `size` initial values from the generator. */
export type Initialiser = (rng: Random, size: number) => Float32Array;

/** PyTorch's default for Linear and Conv2d weights and biases: U(−1/√fanIn, 1/√fanIn). */
export function uniformFanIn(fanIn: number): Initialiser {
  const bound = 1 / Math.sqrt(fanIn);
  return (rng, size) => rng.fillUniform(new Float32Array(size), -bound, bound);
}

export function constant(value: number): Initialiser {
  return (_rng, size) => new Float32Array(size).fill(value);
}


function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Shared bookkeeping of one build: which saved names were used. */
class Ledger {
  readonly used = new Set<string>();
  readonly created: tf.Variable[] = [];
  constructor(readonly saved: SavedValues | null) {}
}

export class WeightSource {
  private constructor(
    private readonly rng: Random,
    private readonly ledger: Ledger,
    private readonly prefix: string,
  ) {}

  /**
   * A source that initialises everything from `rng`.
   *
   * @example
   *   const coupling = new DoubleAffineCoupling({ dim: 8 }, WeightSource.fresh(new Random(3)));
   */
  static fresh(rng: Random): WeightSource {
    return new WeightSource(rng, new Ledger(null), '');
  }

  /**
   * A source that reads every weight from `saved` (names are full dotted names); loadFlow uses it.
   *
   * @example
   *   const source = WeightSource.fromSaved(decodeSavedWeights(saved));
   *   const model = buildFlowComponent(saved.className, saved.config, source);
   *   source.assertAllUsed();
   */
  static fromSaved(saved: SavedValues): WeightSource {
    return new WeightSource(new Random(0), new Ledger(saved), '');
  }

  /** True when weights come from a saved model. */
  get loading(): boolean {
    return this.ledger.saved !== null;
  }

  /** The generator for fresh weights (also for seeded choices such as permutations). */
  get random(): Random {
    return this.rng;
  }

  /** A source whose names are prefixed with `name.`; fresh children get an independent stream. */
  child(name: string | number): WeightSource {
    const rng = this.loading ? this.rng : this.rng.fork();
    return new WeightSource(rng, this.ledger, this.fullName(String(name)));
  }

  private fullName(name: string): string {
    return this.prefix === '' ? name : `${this.prefix}.${name}`;
  }

  private take(name: string, shape: number[], dtype: 'float32' | 'int32'): Float32Array | Int32Array | null {
    const saved = this.ledger.saved;
    if (!saved) return null;
    const full = this.fullName(name);
    const entry = saved.get(full);
    if (!entry) throw new Error(`loading weights: '${full}' (shape [${shape.join(', ')}]) is missing from the saved model`);
    if (!sameShape(entry.shape, shape)) {
      throw new Error(`loading weights: '${full}' has shape [${entry.shape.join(', ')}] in the saved model, the model expects [${shape.join(', ')}]`);
    }
    const isInt = entry.data instanceof Int32Array;
    if (isInt !== (dtype === 'int32')) {
      throw new Error(`loading weights: '${full}' is ${isInt ? 'int32' : 'float32'} in the saved model, the model expects ${dtype}`);
    }
    this.ledger.used.add(full);
    return entry.data;
  }

  /** A trainable float32 variable: the saved value when loading, else `init`. */
  variable(name: string, shape: number[], init: Initialiser): tf.Variable {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = (this.take(name, shape, 'float32') as Float32Array | null) ?? init(this.rng, size);
    const initial = tf.tensor(data, shape, 'float32');
    const variable = tf.variable(initial, true);
    initial.dispose();
    this.ledger.created.push(variable);
    return variable;
  }

  /** A float32 buffer (copied): the saved value when loading, else `make()`. */
  floatBuffer(name: string, shape: number[], make: () => Float32Array): Float32Array {
    const data = this.take(name, shape, 'float32') as Float32Array | null;
    return data ? Float32Array.from(data) : make();
  }

  /** An int32 buffer (copied): the saved value when loading, else `make()`. */
  intBuffer(name: string, shape: number[], make: () => Int32Array): Int32Array {
    const data = this.take(name, shape, 'int32') as Int32Array | null;
    return data ? Int32Array.from(data) : make();
  }

  /** Frees every variable made through this source (a build that failed half-way). */
  disposeCreated(): void {
    for (const v of this.ledger.created.splice(0)) if (!v.isDisposed) v.dispose();
  }

  /** After a load: throws if the saved model held names the built model did not ask for. */
  assertAllUsed(): void {
    const saved = this.ledger.saved;
    if (!saved) return;
    const unused = [...saved.keys()].filter((k) => !this.ledger.used.has(k));
    if (unused.length > 0) {
      throw new Error(`loading weights: the saved model has entries the model does not use: ${unused.slice(0, 8).join(', ')}${unused.length > 8 ? ', …' : ''}`);
    }
  }
}
