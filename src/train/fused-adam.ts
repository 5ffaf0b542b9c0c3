/**
 * Adam (Kingma & Ba 2015, Algorithm 1, with tfjs's ε placement) that updates every variable of a
 * step in ONE kernel call where the active backend registers the fused update
 * (src/engine/adam-update.ts; the native `torch` backend does), instead of tfjs's ≈ 13
 * element-wise kernels per variable. On every other backend (wasm, cpu, webgl, a browser) it is
 * tfjs's own AdamOptimizer, unchanged.
 *
 * It IS a tf.AdamOptimizer: the same moment variables (named `<variable>/m`, `<variable>/v`),
 * the same β-power scalars and iteration count, so getWeights/setWeights (and
 * src/train/optimizer-state.ts's exact resume) work unchanged, and a state saved by either
 * path resumes on the other. The fused kernel computes tfjs's update operation by operation in
 * float32, so both paths give the same numbers.
 */
import { tf } from '../engine/index.ts';
import { adamUpdate, hasAdamUpdateKernel, type AdamSlot } from '../engine/adam-update.ts';

type VariableGradients = Parameters<tf.AdamOptimizer['applyGradients']>[0];

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

/** AdamOptimizer's private state, which the fused path reads and advances exactly as tfjs does. */
interface AdamState {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Slot[];
  accumulatedSecondMoment: Slot[];
}

export class FusedAdamOptimizer extends tf.AdamOptimizer {
  /** Same arguments and defaults as `tf.train.adam`. */
  constructor(learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon: number | null = null) {
    super(learningRate, beta1, beta2, epsilon ?? undefined);
  }

  /** Whether the next step will use the fused kernel (the active backend registers it). */
  get fused(): boolean {
    return hasAdamUpdateKernel();
  }

  override applyGradients(variableGradients: VariableGradients): void {
    if (!this.fused) {
      super.applyGradients(variableGradients);
      return;
    }
    const state = this as unknown as AdamState;
    const named = Array.isArray(variableGradients)
      ? variableGradients.map(({ name, tensor }) => ({ name, gradient: tensor as tf.Tensor | null | undefined }))
      : Object.keys(variableGradients).map((name) => ({ name, gradient: variableGradients[name] as tf.Tensor | null | undefined }));
    const registered = tf.engine().registeredVariables;
    const values = named.map(({ name }) => {
      const value = registered[name];
      if (!value) throw new Error(`FusedAdamOptimizer: no variable named '${name}'`);
      return value;
    });
    // The kernel is float32-only and updates every variable from its value before the step, so a
    // list naming a variable twice, or another dtype, takes tfjs's own path (whatever tfjs does
    // with it, this optimizer does the same).
    const repeated = new Set(named.map(({ name }) => name)).size !== named.length;
    if (repeated || named.some(({ gradient }, i) => values[i]!.dtype !== 'float32' || (gradient != null && gradient.dtype !== 'float32'))) {
      super.applyGradients(variableGradients);
      return;
    }
    tf.tidy(() => {
      const slots: AdamSlot[] = [];
      const targets: Array<{ value: tf.Variable; m: tf.Variable; v: tf.Variable }> = [];
      named.forEach(({ name, gradient }, i) => {
        const value = values[i]!;
        // As tfjs: moment slots are created for every listed variable, by position.
        state.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        state.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (gradient == null) return;
        const m = state.accumulatedFirstMoment[i]!.variable;
        const v = state.accumulatedSecondMoment[i]!.variable;
        slots.push({ variable: value, gradient, m, v });
        targets.push({ value, m, v });
      });
      const updates = adamUpdate(state.accBeta1, state.accBeta2, slots, {
        learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon,
      });
      updates.forEach((update, k) => {
        const target = targets[k]!;
        target.m.assign(update.m);
        target.v.assign(update.v);
        target.value.assign(update.variable);
      });
      state.accBeta1.assign(tf.mul(state.accBeta1, this.beta1));
      state.accBeta2.assign(tf.mul(state.accBeta2, this.beta2));
    });
    this.incrementIterations();
  }
}
