/**
 * The flow body shared by t (digest §3.2) and e (§4.1): `numBlocks` × [ActNorm → double affine
 * coupling → Shuffle], weights named flow.<3k>, flow.<3k+1>, flow.<3k+2> under `source`.
 * Fused (fused-stack.ts: one packed variable and, on torch, one kernel call per block) unless
 * `flowFusion()` says 'unfused'; both paths draw the same initial weights and save the same names.
 */
import { ActNorm } from './actnorm.ts';
import { DoubleAffineCoupling } from './coupling.ts';
import { FusedCouplingStack, flowFusion, type FlowFusion } from './fused-stack.ts';
import { Sequence } from './sequence.ts';
import { Shuffle } from './shuffle.ts';
import type { WeightSource } from './weight-source.ts';

export interface CouplingStackOptions {
  dim: number;
  /** Size of the condition every coupling sees (0: unconditional). */
  conditionDim: number;
  numBlocks: number;
  hiddenWidth: number;
  hiddenDepth: number;
}

/** What couplingStack builds: the plain Sequence or its fused form. */
export type CouplingFlow = Sequence | FusedCouplingStack;

export function couplingStack(options: CouplingStackOptions, source: WeightSource, fusion: FlowFusion = flowFusion()): CouplingFlow {
  const { dim, conditionDim, hiddenWidth, hiddenDepth } = options;
  const stack = new Sequence({ dim }, source);
  for (let k = 0; k < options.numBlocks; k++) {
    const i = 3 * k;
    stack
      .append(new ActNorm({ dim }, source.child(i)))
      .append(new DoubleAffineCoupling({ dim, conditionDim, hiddenWidth, hiddenDepth }, source.child(i + 1)))
      .append(new Shuffle({ dim }, source.child(i + 2)));
  }
  return fusion === 'fused' ? new FusedCouplingStack(stack) : stack;
}
