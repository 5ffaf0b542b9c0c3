/**
 * The one contract every invertible block of inntrospect implements: ActNorm, the double affine
 * coupling, Shuffle, the Sequence container, the conditional INN t (paper §3.1, Eq. 2–5) and the
 * semantic INN e (§3.2, Eq. 6).
 *
 * Sign convention (the same for every block):
 *   forward(x, c)  → { output: y = f(x|c),     logDet:  log|det ∂f/∂x|   evaluated at x }
 *   inverse(y, c)  → { output: x = f⁻¹(y|c),   logDet: −log|det ∂f/∂x|   evaluated at x = f⁻¹(y|c) }
 * so that forward(x).logDet + inverse(forward(x).output).logDet = 0, and the change of variables
 * of Eq. (1) reads log p(x|c) = log N(f(x|c)) + forward(x, c).logDet.
 * `logDet` holds one value per batch element: shape [B].
 *
 * Shapes: flow inputs are flat vectors [B, D] (z̄ is a vector); conditions reach the couplings
 * as [B, C] vectors after the condition embedder. Shapes in this module always include the batch
 * axis; a batch size of −1 means "any".
 */
import { tf } from '../engine/index.ts';

/** A JSON value: what configs are made of. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** A JSON object: every config is one. */
export type JsonObject = { [key: string]: Json };

/** What forward and inverse return. The caller owns (and disposes) both tensors. */
export interface FlowResult {
  /** Transformed batch, same shape as the input for every block here. */
  output: tf.Tensor2D;
  /** log|det J| per batch element (negated for inverse), shape [B]. */
  logDet: tf.Tensor1D;
}

/**
 * Non-trainable state saved with a model: ActNorm's `initialized` flag, Shuffle's permutation.
 * The module's own copy is the source of truth; `buffers()` returns a snapshot.
 */
export interface Buffer {
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Anything that has a registered class name, a JSON config and named weights. */
export interface FlowComponent {
  /** Name under which the class is registered (see registry.ts). */
  readonly className: string;
  /** Plain-JSON configuration; with the weights it rebuilds the component exactly. */
  readonly config: JsonObject;
  /** Trainable parameters by dotted name ('flow.1.s0.layers.0.kernel'). Variables are live. */
  readonly weights: Map<string, tf.Variable>;
  /** Non-trainable saved state by dotted name (a snapshot). */
  buffers(): Map<string, Buffer>;
  /**
   * What an optimizer updates, when that differs from `weights` (the fused coupling stack keeps
   * one packed variable per block; fused-stack.ts). Without it: `weights` in name order.
   */
  trainableVariables?(): tf.Variable[];
  /** Frees every variable this component owns. */
  dispose(): void;
}

/** An invertible block. See the file header for the sign convention. */
export interface InvertibleModule extends FlowComponent {
  /** y = f(x | condition) and log|det ∂y/∂x| per batch element. */
  forward(x: tf.Tensor2D, condition?: tf.Tensor): FlowResult;
  /** x = f⁻¹(y | condition) and −log|det ∂f/∂x| per batch element. */
  inverse(y: tf.Tensor2D, condition?: tf.Tensor): FlowResult;
  /** Output shape for an input shape (batch axis included); throws ShapeError if it does not fit. */
  outputShape(inputShape: readonly number[]): number[];
}

/** A shape that does not fit, with both shapes at hand for the caller's message. */
export class ShapeError extends Error {
  constructor(
    message: string,
    readonly expected: readonly number[],
    readonly received: readonly number[],
  ) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** Formats a shape as [B, 6] (batch −1 shown as B). */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.map((d, i) => (i === 0 && d < 0 ? 'B' : String(d))).join(', ')}]`;
}

/** Checks that a shape is [B, dim]; `where` names the block in the error. */
export function checkFlatShape(shape: readonly number[], dim: number, where: string): void {
  if (shape.length !== 2 || shape[1] !== dim) {
    const expected = [-1, dim];
    throw new ShapeError(
      `${where}: expected input of shape ${formatShape(expected)}, got ${formatShape(shape)}`,
      expected,
      shape,
    );
  }
}

/** Checks a condition tensor against [B, conditionDim] with the input's batch size. */
export function checkCondition(
  condition: tf.Tensor | undefined,
  conditionDim: number,
  batch: number,
  where: string,
): void {
  if (conditionDim === 0) {
    if (condition !== undefined) throw new Error(`${where}: unconditional block got a condition of shape ${formatShape(condition.shape)}`);
    return;
  }
  if (condition === undefined) throw new Error(`${where}: needs a condition of shape [${batch}, ${conditionDim}], got none`);
  const shape = condition.shape;
  if (shape.length !== 2 || shape[0] !== batch || shape[1] !== conditionDim) {
    throw new ShapeError(
      `${where}: expected condition of shape [${batch}, ${conditionDim}], got ${formatShape(shape)}`,
      [batch, conditionDim],
      shape,
    );
  }
}

/**
 * Trainable variables of a component (what an optimizer gets): its own `trainableVariables()`,
 * else its weights in name order.
 *
 * @example
 *   optimizer.minimize(() => t.loss(zbar, z), false, trainableVariables(t));
 */
export function trainableVariables(component: FlowComponent): tf.Variable[] {
  if (component.trainableVariables) return component.trainableVariables();
  return [...component.weights.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/**
 * Total number of trainable scalars.
 *
 * @example
 *   parameterCount(new ConditionalINN({ dim: 128, conditionShape: [10], ...REFERENCE_CINN_CONFIG }));   // ≈ 189 M
 */
export function parameterCount(component: FlowComponent): number {
  let n = 0;
  for (const v of component.weights.values()) n += v.size;
  return n;
}

/** Prefixes every key of a child's map with `prefix.` and merges it into `into`. */
export function mergePrefixed<T>(into: Map<string, T>, prefix: string, from: Map<string, T>): Map<string, T> {
  for (const [name, value] of from) into.set(`${prefix}.${name}`, value);
  return into;
}

/**
 * tf.tidy for a function returning a FlowResult: everything else it creates is freed.
 *
 * @example
 *   forward(x) { return tidyFlow(() => ({ output: tf.neg(x), logDet: tf.zeros([x.shape[0]]) })); }
 */
export function tidyFlow(fn: () => FlowResult): FlowResult {
  const [output, logDet] = tf.tidy(() => {
    const r = fn();
    return [r.output, r.logDet] as [tf.Tensor2D, tf.Tensor1D];
  });
  return { output: output!, logDet: logDet! };
}
