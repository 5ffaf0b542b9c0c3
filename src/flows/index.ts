/**
 * The invertible-network core (paper §3; digest §3–§4): the block contract, ActNorm, double
 * affine coupling, Shuffle, Sequence, condition embedders, the conditional INN t (Eq. 2–5), the
 * semantic INN e (Eq. 6), their losses, save/load and training steps. Browser-safe: file IO lives
 * in io-node.ts, which this module does not export.
 */
export * from './module.ts';
export * from './config.ts';
export * from './weight-source.ts';
export * from './registry.ts';
export { Dense, Mlp, Conv2d, COUPLING_LEAKY_SLOPE } from './layers.ts';
export * from './actnorm.ts';
export * from './coupling.ts';
export * from './shuffle.ts';
export * from './sequence.ts';
export * from './coupling-stack.ts';
export * from './fused-block.ts';
export * from './fused-stack.ts';
export * from './embedders.ts';
export * from './losses.ts';
export * from './cinn.ts';
export * from './iin.ts';
export * from './factor-dims.ts';
export * from './serialize.ts';
