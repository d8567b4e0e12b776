import type { GroupEntry } from '../lazy.js';

/** `berth volume`: create, inspect, ls, prune, rm. */
export const volumeGroup: GroupEntry = {
  name: 'volume',
  description: 'Manage volumes',
  subcommands: [
    {
      name: 'create',
      args: '[options] [VOLUME]',
      description: 'Create a volume',
      load: async (ctx) => (await import('./create.js')).volumeCreateCommand(ctx),
    },
    {
      name: 'inspect',
      args: '[options] <VOLUME...>',
      description: 'Display detailed information on one or more volumes',
      load: async (ctx) => (await import('./inspect.js')).volumeInspectCommand(ctx),
    },
    {
      name: 'ls',
      aliases: ['list'],
      args: '[options]',
      description: 'List volumes',
      load: async (ctx) => (await import('./ls.js')).volumeListCommand(ctx),
    },
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove unused local volumes',
      load: async (ctx) => (await import('./prune.js')).volumePruneCommand(ctx),
    },
    {
      name: 'rm',
      aliases: ['remove'],
      args: '[options] <VOLUME...>',
      description: 'Remove one or more volumes',
      load: async (ctx) => (await import('./rm.js')).volumeRemoveCommand(ctx),
    },
  ],
};
