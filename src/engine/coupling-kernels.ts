/**
 * The fused flow-block kernels' contract: their names and the packed weight layout they read
 * (src/flows/fused-block.ts computes the block with stock ops; a backend offers the block
 * kernels by registering these names: torch in native/torch/src/coupling.cc, wasm in
 * ./wasm-kernels/coupling.ts). Here, below the flows, so that a backend can use them without
 * importing model code.
 */
export const COUPLING_FORWARD_KERNEL = 'InntrospectCouplingForward';
export const COUPLING_BACKWARD_KERNEL = 'InntrospectCouplingBackward';
export const COUPLING_INVERSE_KERNEL = 'InntrospectCouplingInverse';

/** The geometry of one block (what the native kernels take as attributes, with `perm`). */
export interface BlockSpec {
  /** Input size D. */
  dim: number;
  /** Condition size C (0: unconditional). */
  conditionDim: number;
  hiddenWidth: number;
  hiddenDepth: number;
}

/** One named piece of the packed vector. */
export interface PackedPiece {
  /** 'loc', 'scale' or '<s|t>.<0|1>.layers.<l>.<kernel|bias>' (the coupling's own names). */
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** The nets in packing order: S₀, T₀ (read [a, c], write b), S₁, T₁ (read [b', c], write a). */
export const PACKED_NETS = ['s.0', 't.0', 's.1', 't.1'] as const;

export function halves(dim: number): { sizeA: number; sizeB: number } {
  const sizeA = Math.ceil(dim / 2);
  return { sizeA, sizeB: dim - sizeA };
}

/** Layer widths of one net of the block (net 0 or 1 of the coupling). */
function netWidths(spec: BlockSpec, which: 0 | 1): number[] {
  const { sizeA, sizeB } = halves(spec.dim);
  const [inSize, outSize] = which === 0 ? [sizeA, sizeB] : [sizeB, sizeA];
  return [inSize + spec.conditionDim, ...Array.from({ length: spec.hiddenDepth + 1 }, () => spec.hiddenWidth), outSize];
}

/**
 * The pieces of a block's packed vector, in order, and its total size.
 *
 * @example
 *   blockLayout({ dim: 4, conditionDim: 0, hiddenWidth: 8, hiddenDepth: 0 }).pieces[2];   // { name: 's.0.layers.0.kernel', shape: [2, 8], ... }
 */
export function blockLayout(spec: BlockSpec): { pieces: PackedPiece[]; size: number } {
  const pieces: PackedPiece[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]) => {
    const size = shape.reduce((p, d) => p * d, 1);
    pieces.push({ name, shape, offset, size });
    offset += size;
  };
  add('loc', [spec.dim]);
  add('scale', [spec.dim]);
  for (const net of PACKED_NETS) {
    const widths = netWidths(spec, net.endsWith('0') ? 0 : 1);
    for (let l = 0; l + 1 < widths.length; l++) {
      add(`${net}.layers.${l}.kernel`, [widths[l]!, widths[l + 1]!]);
      add(`${net}.layers.${l}.bias`, [widths[l + 1]!]);
    }
  }
  return { pieces, size: offset };
}
