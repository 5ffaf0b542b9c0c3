/**
 * Greybox: a trained model f split at a named layer into Φ (input → layer) and Ψ (layer →
 * output), so that f(x) = Ψ(Φ(x)) and z = Φ(x) is the representation the conditional INN
 * interprets (paper §3.1; the reference's `greybox/models.py::encode` applies `layers[0..k)`,
 * digest §3.4). Browser-safe.
 *
 * Two kinds of model can be split:
 * - the project's own models: an ordered list of named stages, each a function tensor → tensor
 *   (`StagedModel`, which `StagedClassifier` satisfies); every stage boundary is a cut;
 * - TensorFlow.js Layers models, including non-sequential graphs (`layers-model.ts`): a layer is a
 *   cut when its output is the only tensor that the rest of the graph needs from before it.
 *
 * A cut named `input` (stages) or the input layer's name (Layers) gives Φ = identity.
 */
import { tf } from '../engine/index.ts';

/** A named stage of an own model (structurally the same as `models/layers.ts::Stage`). */
export interface Stage {
  /** Layer name, unique within the model. */
  name: string;
  /** Maps the previous stage's output (or the input image) to this stage's output. */
  apply: (h: tf.Tensor) => tf.Tensor;
}

/** What a model offers to be split: ordered named stages and its input shape. */
export interface StagedModel {
  /** Model name for messages (default 'model'). */
  readonly name?: string;
  /** Input shape without the batch axis, e.g. [32, 32, 3]. */
  readonly inputShape: readonly number[];
  readonly stages: readonly Stage[];
}

/** One layer of a splittable model, as `inntrospect layers` lists it. */
export interface LayerInfo {
  name: string;
  /** Layer type, e.g. 'Conv2D', 'Add', or 'stage'. */
  className: string;
  /** Output shape without the batch axis. */
  outputShape: number[];
  /** Whether the model can be split here (Φ ends at this layer's output). */
  cut: boolean;
  /** Why it is not a cut, when `cut` is false. */
  reason?: string;
}

/** f = Ψ∘Φ split at `layer`. All functions take and return batched tensors. */
export interface Greybox {
  readonly modelName: string;
  readonly layer: string;
  /** Input shape without the batch axis. */
  readonly inputShape: number[];
  /** Shape of z = Φ(x) without the batch axis. */
  readonly zShape: number[];
  /** Shape of f(x) without the batch axis. */
  readonly outputShape: number[];
  /** z = Φ(x): input → the layer's output. */
  phi(x: tf.Tensor): tf.Tensor;
  /** Ψ(z): the layer's output → the model's output. */
  psi(z: tf.Tensor): tf.Tensor;
  /** f(x), the unsplit model. */
  f(x: tf.Tensor): tf.Tensor;
}

/** A model that can list its layers and be split at any clean cut. */
export interface SplittableModel {
  readonly name: string;
  readonly inputShape: number[];
  layers(): LayerInfo[];
  /** Throws, listing the valid cut points, for an unknown layer or one that is not a cut. */
  split(layer: string): Greybox;
}

/** Error for a layer name a model does not have or cannot be split at; lists the valid ones. */
export function layerError(model: string, layer: string, layers: LayerInfo[], problem?: string): Error {
  const cuts = layers.filter((l) => l.cut).map((l) => l.name);
  const head = problem ?? `unknown layer '${layer}'`;
  return new Error(`${model}: ${head}. Valid cut points (${cuts.length}): ${cuts.join(', ')}`);
}

/** Throws unless x is [B, ...shape]. */
export function checkBatchShape(x: tf.Tensor, shape: readonly number[], what: string): void {
  const ok = x.rank === shape.length + 1 && shape.every((d, i) => d < 0 || x.shape[i + 1] === d);
  if (!ok) throw new Error(`${what}: expected a batch of shape [B, ${shape.join(', ')}], got [${x.shape.join(', ')}]`);
}

function runRange(stages: readonly Stage[], x: tf.Tensor, from: number, to: number): tf.Tensor {
  if (from === to) return x;
  return tf.tidy(() => {
    let h = x;
    for (let i = from; i < to; i++) h = stages[i]!.apply(h);
    return h;
  });
}

/**
 * Makes a staged model splittable. Output shapes come from one forward pass on a zero batch of
 * one (no gradients, freed at once). The pseudo-layer `input` is the first cut (Φ = identity).
 *
 * @example
 *   const gb = splittableStages(classifier).split('conv3');
 *   const z = gb.phi(x);          // [B, ...gb.zShape]
 *   const logits = gb.psi(z);     // equals classifier.logits(x)
 */
export function splittableStages(model: StagedModel): SplittableModel {
  const name = model.name ?? 'model';
  const inputShape = [...model.inputShape];
  const names = new Set<string>();
  for (const s of model.stages) {
    if (s.name === 'input') throw new Error(`${name}: a stage may not be called 'input' (that is the input cut)`);
    if (names.has(s.name)) throw new Error(`${name}: two stages are called '${s.name}'`);
    names.add(s.name);
  }
  if (model.stages.length === 0) throw new Error(`${name}: has no stages`);
  let shapes: number[][] | null = null;
  const outputShapes = (): number[][] => {
    if (shapes === null) {
      const result: number[][] = [];
      tf.tidy(() => {
        let h: tf.Tensor = tf.zeros([1, ...inputShape]);
        for (const s of model.stages) {
          h = s.apply(h);
          result.push(h.shape.slice(1));
        }
      });
      shapes = result;
    }
    return shapes;
  };
  const layers = (): LayerInfo[] => [
    { name: 'input', className: 'input', outputShape: [...inputShape], cut: true },
    ...model.stages.map((s, i) => ({ name: s.name, className: 'stage', outputShape: outputShapes()[i]!, cut: true })),
  ];
  return {
    name,
    inputShape,
    layers,
    split(layer: string): Greybox {
      const k = layer === 'input' ? 0 : model.stages.findIndex((s) => s.name === layer) + 1;
      if (k === 0 && layer !== 'input') throw layerError(name, layer, layers());
      const all = outputShapes();
      const zShape = k === 0 ? [...inputShape] : all[k - 1]!;
      const n = model.stages.length;
      return {
        modelName: name,
        layer,
        inputShape,
        zShape,
        outputShape: all[n - 1]!,
        phi: (x) => {
          checkBatchShape(x, inputShape, `${name} Φ (input)`);
          return runRange(model.stages, x, 0, k);
        },
        psi: (z) => {
          checkBatchShape(z, zShape, `${name} Ψ (layer '${layer}')`);
          return runRange(model.stages, z, k, n);
        },
        f: (x) => {
          checkBatchShape(x, inputShape, `${name} f (input)`);
          return runRange(model.stages, x, 0, n);
        },
      };
    },
  };
}

/**
 * Gradient of a scalar objective of z = Φ(x) with respect to the input x (for adversarial
 * attacks and saliency). `objective` defaults to the sum of z.
 *
 * @example
 *   const g = inputGradient(gb, x, (z) => tf.sum(tf.square(z)));   // same shape as x
 */
export function inputGradient(gb: Greybox, x: tf.Tensor, objective: (z: tf.Tensor) => tf.Scalar = (z) => tf.sum(z)): tf.Tensor {
  return tf.tidy(() => tf.grad((input: tf.Tensor) => objective(gb.phi(input)))(x));
}
