/**
 * The one seeded random source of inntrospect: weight initialisers, data order and sampling all
 * draw from a `Random`, so a seed fixes a run and a saved `state()` resumes it exactly.
 *
 * Generator: xoshiro128** (32-bit state words, fast in JavaScript), seeded through SplitMix32 so
 * that nearby seeds give unrelated streams. Normals use the Box-Muller transform.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Serializable generator state: four 32-bit words plus a cached second Box-Muller normal. */
export interface RandomState {
  words: [number, number, number, number];
  spareNormal: number | null;
}

function splitMix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export class Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  /** @param seed any integer; the same seed gives the same stream on every platform. */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Random: seed must be a finite number, got ${seed}`);
    const next = splitMix32(Math.floor(seed));
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  static fromState(state: RandomState): Random {
    const rng = new Random(0);
    rng.setState(state);
    return rng;
  }

  state(): RandomState {
    return { words: [this.s0, this.s1, this.s2, this.s3], spareNormal: this.spareNormal };
  }

  setState(state: RandomState): void {
    const [a, b, c, d] = state.words;
    if ([a, b, c, d].some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new Error('Random.setState: state words must be unsigned 32-bit integers');
    }
    this.s0 = a;
    this.s1 = b;
    this.s2 = c;
    this.s3 = d;
    this.spareNormal = state.spareNormal;
  }

  /** Uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). Rejection sampling, so there is no modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Random.int: n must be a positive integer, got ${n}`);
    const limit = Math.floor(4294967296 / n) * n;
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return x % n;
  }

  /** Standard normal draw. */
  normal(): number {
    if (this.spareNormal !== null) {
      const value = this.spareNormal;
      this.spareNormal = null;
      return value;
    }
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  fillNormal(out: Float32Array, mean = 0, std = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }

  fillUniform(out: Float32Array, low = 0, high = 1): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
    }
    return perm;
  }

  /** An independent generator derived from this one (advances this stream by four draws). */
  fork(): Random {
    const child = new Random(0);
    child.setState({
      words: [this.nextUint32(), this.nextUint32(), this.nextUint32(), (this.nextUint32() | 1) >>> 0],
      spareNormal: null,
    });
    return child;
  }

  normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(this.fillNormal(new Float32Array(size), mean, std), shape, 'float32');
  }

  uniformTensor(shape: number[], low = 0, high = 1): tf.Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(this.fillUniform(new Float32Array(size), low, high), shape, 'float32');
  }
}
