/**
 * The flow body shared by t (digest §3.2) and e (§4.1): `numBlocks` × [ActNorm → double affine
 * coupling → Shuffle], weights named flow.<3k>, flow.<3k+1>, flow.<3k+2> under `source`.
 */
import { ActNorm } from './actnorm.ts';
import { DoubleAffineCoupling } from './coupling.ts';
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

export function couplingStack(options: CouplingStackOptions, source: WeightSource): Sequence {
  const { dim, conditionDim, hiddenWidth, hiddenDepth } = options;
  const stack = new Sequence({ dim }, source);
  for (let k = 0; k < options.numBlocks; k++) {
    const i = 3 * k;
    stack
      .append(new ActNorm({ dim }, source.child(i)))
      .append(new DoubleAffineCoupling({ dim, conditionDim, hiddenWidth, hiddenDepth }, source.child(i + 1)))
      .append(new Shuffle({ dim }, source.child(i + 2)));
  }
  return stack;
}
