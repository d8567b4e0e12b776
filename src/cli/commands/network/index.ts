import type { GroupEntry } from '../lazy.js';

/** `berth network`: connect, create, disconnect, inspect, ls, prune, rm. */
export const networkGroup: GroupEntry = {
  name: 'network',
  description: 'Manage networks',
  subcommands: [
    {
      name: 'connect',
      args: '[options] <NETWORK> <CONTAINER>',
      description: 'Connect a container to a network',
      load: async (ctx) => (await import('./connect.js')).networkConnectCommand(ctx),
    },
    {
      name: 'create',
      args: '[options] <NETWORK>',
      description: 'Create a network',
      load: async (ctx) => (await import('./create.js')).networkCreateCommand(ctx),
    },
    {
      name: 'disconnect',
      args: '[options] <NETWORK> <CONTAINER>',
      description: 'Disconnect a container from a network',
      load: async (ctx) => (await import('./disconnect.js')).networkDisconnectCommand(ctx),
    },
    {
      name: 'inspect',
      args: '[options] <NETWORK...>',
      description: 'Display detailed information on one or more networks',
      load: async (ctx) => (await import('./inspect.js')).networkInspectCommand(ctx),
    },
    {
      name: 'ls',
      aliases: ['list'],
      args: '[options]',
      description: 'List networks',
      load: async (ctx) => (await import('./ls.js')).networkListCommand(ctx),
    },
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove all unused networks',
      load: async (ctx) => (await import('./prune.js')).networkPruneCommand(ctx),
    },
    {
      name: 'rm',
      aliases: ['remove'],
      args: '[options] <NETWORK...>',
      description: 'Remove one or more networks',
      load: async (ctx) => (await import('./rm.js')).networkRemoveCommand(ctx),
    },
  ],
};
