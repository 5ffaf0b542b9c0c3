/** Data: everything in `./index.ts` plus the Node-only file loaders. */
export * from './index.ts';
export * from './idx-node.ts';
export * from './mnist.ts';
export * from './image-folder.ts';
