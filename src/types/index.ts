/** Docker Engine API models, re-exported for convenience. */
export * from './container.js';
export * from './image.js';
export * from './network.js';
export * from './system.js';
export * from './volume.js';
