/**
 * Checks, before a resume restores Adam's moments, that the saved state was written for the
 * variables the rebuilt model trains: tfjs matches moments to variables by position only, so a
 * checkpoint written by the unfused flow path (26 variables per block) would otherwise be paired
 * with the fused path's packed variables (one per block; src/flows/fused-stack.ts), or the
 * reverse, and train on wrong moments without an error.
 */
import type { tf } from '../engine/index.ts';
import type { SavedOptimizerTensor } from './optimizer-state.ts';

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
