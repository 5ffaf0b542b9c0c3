/**
 * Data: browser-safe core (dataset type, IDX parsing, the reference's preprocessing, ColorMNIST,
 * batch iterator, pair samplers). File loaders live in `./node.ts`.
 */
export * from './dataset.ts';
export * from './idx.ts';
export * from './preprocess.ts';
export * from './color-mnist.ts';
export * from './batches.ts';
export * from './pairs.ts';
