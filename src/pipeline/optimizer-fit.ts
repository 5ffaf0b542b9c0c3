/**
 * Fits saved Adam state to the variables a resumed model trains: tfjs matches moments to
 * variables by position only, so a checkpoint written by the unfused flow path (26 variables per
 * block) would otherwise be paired with the fused path's packed variables (one per block;
 * src/flows/fused-stack.ts) and train on wrong moments without an error. Unfused state is
 * converted to the fused layout (Adam is element-wise, so a packed variable's moments are its
 * pieces' moments end to end: the run continues exactly); fused state resumed on the unfused
 * path is refused with a message naming the setting.
 */
import type { tf } from '../engine/index.ts';
import { base64ToBytes, bytesToBase64 } from '../engine/base64.ts';
import { FusedCouplingStack } from '../flows/fused-stack.ts';
import { trainableVariables, type FlowComponent } from '../flows/module.ts';
import type { SavedOptimizerTensor } from '../train/optimizer-state.ts';

/** A model whose flow body may be fused (t, e). */
export interface FlowModel extends FlowComponent {
  readonly flow: FlowComponent;
}

/**
 * The saved state, converted to the fused layout when it was written by the unfused path;
 * unchanged when it fits; an Error when it cannot fit.
 *
 * @example
 *   await restoreOptimizerState(optimizer, adaptOptimizerState(state.optimizers['t']!, t, 't'));
 */
export function adaptOptimizerState(saved: SavedOptimizerTensor[], model: FlowModel, name: string): SavedOptimizerTensor[] {
  const variables = trainableVariables(model);
  if (fitsShapes(saved, variables) || !(model.flow instanceof FusedCouplingStack)) {
    assertOptimizerStateFits(saved, variables, name);
    return saved;
  }
  // The unfused path's order: every weight in name order (module.ts trainableVariables).
  const unfused = [...model.weights.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  assertOptimizerStateFits(saved, unfused, name);
  const position = new Map(unfused.map((v, i) => [v, i]));
  const packed = model.flow.trainableVariables();
  const groups = new Map(model.flow.packedGroups().map((named, k) => [packed[k]!, named]));
  const first = saved.findIndex((s) => isMoment(s));
  const last = saved.length - 1 - [...saved].reverse().findIndex((s) => isMoment(s));
  const convert = (suffix: 'm' | 'v') => {
    const moments = saved.filter((s) => s.name.endsWith(`/${suffix}`));
    return variables.map((v): SavedOptimizerTensor => {
      const members = groups.get(v) ?? [v];
      const values = new Float32Array(v.size);
      let offset = 0;
      for (const member of members) {
        const entry = moments[position.get(member)!]!;
        const data = new Float32Array(base64ToBytes(entry.data).slice().buffer);
        values.set(data, offset);
        offset += data.length;
      }
      return { name: `${v.name}/${suffix}`, shape: [...v.shape], dtype: 'float32', data: bytesToBase64(new Uint8Array(values.buffer)) };
    });
  };
  return [...saved.slice(0, first), ...convert('m'), ...convert('v'), ...saved.slice(last + 1)];
}

function isMoment(s: SavedOptimizerTensor): boolean {
  return s.name.endsWith('/m') || s.name.endsWith('/v');
}

function fitsShapes(saved: SavedOptimizerTensor[], variables: tf.Variable[]): boolean {
  const moments = saved.filter((s) => s.name.endsWith('/m'));
  return moments.length === 0 || (moments.length === variables.length && moments.every((m, i) => sameShape(m.shape, variables[i]!.shape)));
}

/**
 * Throws, naming the counts and the setting to use, when the saved first moments do not have the
 * shapes of `variables`, in order.
 *
 * @example
 *   assertOptimizerStateFits(state.optimizers['t']!, trainableVariables(t), 't');
 */
export function assertOptimizerStateFits(saved: SavedOptimizerTensor[], variables: tf.Variable[], model: string): void {
  const moments = saved.filter((s) => s.name.endsWith('/m'));
  if (moments.length === 0) return;  // no step taken yet: nothing to pair
  const fits = moments.length === variables.length && moments.every((m, i) => sameShape(m.shape, variables[i]!.shape));
  if (fits) return;
  throw new Error(
    `resume: the checkpoint's optimizer state for ${model} holds moments for ${moments.length} variables, but ${model} now trains ` +
    `${variables.length} (the flow blocks are ${variables.length < moments.length ? 'fused' : 'unfused'} now and were not when the checkpoint was written); ` +
    `resume with INNTROSPECT_FLOW_FUSION=${variables.length < moments.length ? 'unfused' : 'fused'}, the path the run was started with`,
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
