import type { CommandEntry, GroupEntry } from '../lazy.js';

/** `berth build`. */
export const buildEntry: CommandEntry = {
  name: 'build',
  args: '[options] <path>',
  description: 'Build an image from a Dockerfile',
  load: async (ctx) => (await import('./build.js')).buildCommand(ctx),
};

/** `berth builder …`: the build cache commands. */
export const builderGroup: GroupEntry = {
  name: 'builder',
  description: 'Manage builds',
  subcommands: [
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove build cache',
      load: async (ctx) => (await import('./prune.js')).builderPruneCommand(ctx),
    },
  ],
};
