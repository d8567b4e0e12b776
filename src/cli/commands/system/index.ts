import type { CommandEntry, GroupEntry } from '../lazy.js';

export const versionEntry: CommandEntry = {
  name: 'version',
  args: '[options]',
  description: 'Show the berth version information',
  load: async (ctx) => (await import('./version.js')).versionCommand(ctx),
};

/** `info` exists both at the top level and under `system`. */
export const infoEntry: CommandEntry = {
  name: 'info',
  args: '[options]',
  description: 'Display system-wide information',
  load: async (ctx) => (await import('./info.js')).infoCommand(ctx),
};

/** `berth system …`: info, df, prune. */
export const systemGroup: GroupEntry = {
  name: 'system',
  description: 'Manage berth',
  subcommands: [
    infoEntry,
    {
      name: 'df',
      args: '[options]',
      description: 'Show berth disk usage',
      load: async (ctx) => (await import('./df.js')).dfCommand(ctx),
    },
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove unused data',
      load: async (ctx) => (await import('./prune.js')).systemPruneCommand(ctx),
    },
  ],
};
