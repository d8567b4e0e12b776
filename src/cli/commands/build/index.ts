/** `berth build` and `berth builder …`. */
export { buildCommand } from './build.js';
export { builderCommand, builderPruneCommand } from './prune.js';
