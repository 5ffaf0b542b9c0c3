/**
 * The non-invertible pieces the flows are built from: a dense layer, the coupling's
 * fully-connected conditioner net (digest §3.2, "BasicFullyConnectedNet") and a 2-D convolution
 * (NHWC) for the spatial condition embedder (digest §3.3). Initialisation follows PyTorch's
 * defaults (U(±1/√fanIn) for weights and biases), as the reference uses them everywhere.
 */
import { tf } from '../engine/index.ts';
import { uniformFanIn, type WeightSource } from './weight-source.ts';

/** y = x·W + b with W of shape [in, out] (PyTorch's Linear stores Wᵀ). */
export class Dense {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(readonly inputDim: number, readonly outputDim: number, source: WeightSource, useBias = true) {
    const init = uniformFanIn(inputDim);
    this.kernel = source.variable('kernel', [inputDim, outputDim], init);
    this.bias = useBias ? source.variable('bias', [outputDim], init) : null;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.kernel as tf.Tensor2D, bias: this.bias ?? undefined }) as tf.Tensor2D;
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>([['kernel', this.kernel]]);
    if (this.bias) out.set('bias', this.bias);
    return out;
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias?.dispose();
  }
}

/** Slope of the LeakyReLU inside the coupling nets (reference: 0.01). */
export const COUPLING_LEAKY_SLOPE = 0.01;

/**
 * Linear(in→hidden) → LeakyReLU → [Linear(hidden→hidden) → LeakyReLU] × depth → Linear(hidden→out),
 * optionally followed by tanh (the coupling's scale net). Weight names: `layers.<i>.kernel|bias`.
 */
export class Mlp {
  readonly layers: Dense[];

  constructor(
    inputDim: number,
    hiddenWidth: number,
    depth: number,
    outputDim: number,
    readonly finalTanh: boolean,
    source: WeightSource,
  ) {
    const dims = [inputDim, ...Array.from({ length: depth + 1 }, () => hiddenWidth), outputDim];
    this.layers = [];
    for (let i = 0; i + 1 < dims.length; i++) this.layers.push(new Dense(dims[i]!, dims[i + 1]!, source.child(`layers.${i}`)));
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x;
      this.layers.forEach((layer, i) => {
        h = layer.apply(h);
        if (i + 1 < this.layers.length) h = tf.leakyRelu(h, COUPLING_LEAKY_SLOPE);
      });
      return this.finalTanh ? tf.tanh(h) : h;
    });
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    this.layers.forEach((layer, i) => {
      for (const [name, v] of layer.weights) out.set(`layers.${i}.${name}`, v);
    });
    return out;
  }

  dispose(): void {
    for (const layer of this.layers) layer.dispose();
  }
}

/** A 2-D convolution on NHWC input with an HWIO kernel and symmetric explicit zero padding. */
export class Conv2d {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: [number, number],
    readonly stride: number,
    readonly padding: number,
    source: WeightSource,
    useBias: boolean,
  ) {
    const init = uniformFanIn(inChannels * kernelSize[0] * kernelSize[1]);
    this.kernel = source.variable('kernel', [kernelSize[0], kernelSize[1], inChannels, outChannels], init);
    this.bias = useBias ? source.variable('bias', [outChannels], init) : null;
  }

  /** Output spatial size for an input size (PyTorch's floor rule). */
  outputSize(size: [number, number]): [number, number] {
    const out = (n: number, k: number) => Math.floor((n + 2 * this.padding - k) / this.stride) + 1;
    return [out(size[0], this.kernelSize[0]), out(size[1], this.kernelSize[1])];
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const p = this.padding;
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [p, p], [p, p], [0, 0]];
      const y = tf.conv2d(x, this.kernel as tf.Tensor4D, this.stride, p === 0 ? 'valid' : pad);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  get weights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>([['kernel', this.kernel]]);
    if (this.bias) out.set('bias', this.bias);
    return out;
  }

  dispose(): void {
    this.kernel.dispose();
    this.bias?.dispose();
  }
}
