/**
 * Names of the fused flow-block kernels (src/flows/fused-block.ts computes the block; a backend
 * offers the native version by registering these: the torch backend does, in
 * native/torch/src/coupling.cc). Here, below the flows, so that a backend can name them without
 * importing model code.
 */
export const COUPLING_FORWARD_KERNEL = 'InntrospectCouplingForward';
export const COUPLING_BACKWARD_KERNEL = 'InntrospectCouplingBackward';
export const COUPLING_INVERSE_KERNEL = 'InntrospectCouplingInverse';
