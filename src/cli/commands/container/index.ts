import type { CommandEntry, GroupEntry } from '../lazy.js';

/** Commands that exist both under `container` and at the top level. */
const shared: CommandEntry[] = [
  {
    name: 'attach',
    args: '[options] <container>',
    description: 'Attach local standard input, output, and error streams to a running container',
    load: async (ctx) => (await import('./attach.js')).attachCommand(ctx),
  },
  {
    name: 'commit',
    args: '[options] <container> [reference]',
    description: "Create a new image from a container's changes",
    load: async (ctx) => (await import('./commit.js')).commitCommand(ctx),
  },
  {
    name: 'cp',
    args: '[options] <source> <destination>',
    description: 'Copy files/folders between a container and the local filesystem',
    load: async (ctx) => (await import('./cp.js')).cpCommand(ctx),
  },
  {
    name: 'create',
    args: '[options] <image> [command...]',
    description: 'Create a new container',
    load: async (ctx) => (await import('./create.js')).createCommand(ctx),
  },
  {
    name: 'diff',
    args: '<container>',
    description: "Inspect changes to files or directories on a container's filesystem",
    load: async (ctx) => (await import('./diff.js')).diffCommand(ctx),
  },
  {
    name: 'exec',
    args: '[options] <container> <command...>',
    description: 'Execute a command in a running container',
    load: async (ctx) => (await import('./exec.js')).execCommand(ctx),
  },
  {
    name: 'export',
    args: '[options] <container>',
    description: "Export a container's filesystem as a tar archive",
    load: async (ctx) => (await import('./export.js')).exportCommand(ctx),
  },
  {
    name: 'kill',
    args: '[options] <container...>',
    description: 'Kill one or more running containers',
    load: async (ctx) => (await import('./kill.js')).killCommand(ctx),
  },
  {
    name: 'logs',
    args: '[options] <container>',
    description: 'Fetch the logs of a container',
    load: async (ctx) => (await import('./logs.js')).logsCommand(ctx),
  },
  {
    name: 'pause',
    args: '<container...>',
    description: 'Pause all processes within one or more containers',
    load: async (ctx) => (await import('./pause.js')).pauseCommand(ctx),
  },
  {
    name: 'port',
    args: '<container> [port]',
    description: 'List port mappings or a specific mapping for the container',
    load: async (ctx) => (await import('./port.js')).portCommand(ctx),
  },
  {
    name: 'rename',
    args: '<container> <new-name>',
    description: 'Rename a container',
    load: async (ctx) => (await import('./rename.js')).renameCommand(ctx),
  },
  {
    name: 'restart',
    args: '[options] <container...>',
    description: 'Restart one or more containers',
    load: async (ctx) => (await import('./restart.js')).restartCommand(ctx),
  },
  {
    name: 'run',
    args: '[options] <image> [command...]',
    description: 'Create and run a new container from an image',
    load: async (ctx) => (await import('./run.js')).runCommand(ctx),
  },
  {
    name: 'start',
    args: '[options] <container...>',
    description: 'Start one or more stopped containers',
    load: async (ctx) => (await import('./start.js')).startCommand(ctx),
  },
  {
    name: 'stats',
    args: '[options] [containers...]',
    description: 'Display a live stream of container(s) resource usage statistics',
    load: async (ctx) => (await import('./stats.js')).statsCommand(ctx),
  },
  {
    name: 'stop',
    args: '[options] <container...>',
    description: 'Stop one or more running containers',
    load: async (ctx) => (await import('./stop.js')).stopCommand(ctx),
  },
  {
    name: 'top',
    args: '<container> [ps-options...]',
    description: 'Display the running processes of a container',
    load: async (ctx) => (await import('./top.js')).topCommand(ctx),
  },
  {
    name: 'unpause',
    args: '<container...>',
    description: 'Unpause all processes within one or more containers',
    load: async (ctx) => (await import('./unpause.js')).unpauseCommand(ctx),
  },
  {
    name: 'update',
    args: '[options] <container...>',
    description: 'Update configuration of one or more containers',
    load: async (ctx) => (await import('./update.js')).updateCommand(ctx),
  },
  {
    name: 'wait',
    args: '<container...>',
    description: 'Block until one or more containers stop, then print their exit codes',
    load: async (ctx) => (await import('./wait.js')).waitCommand(ctx),
  },
];

/** `berth container …`: the container management commands. */
export const containerGroup: GroupEntry = {
  name: 'container',
  description: 'Manage containers',
  subcommands: [
    ...shared,
    {
      name: 'inspect',
      args: '[options] <names...>',
      description: 'Display detailed information on one or more containers',
      load: async (ctx) => (await import('./inspect.js')).inspectCommand(ctx, 'container'),
    },
    {
      name: 'ls',
      aliases: ['ps', 'list'],
      args: '[options]',
      description: 'List containers',
      load: async (ctx) => (await import('./ps.js')).psCommand(ctx, 'ls').aliases(['ps', 'list']),
    },
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove all stopped containers',
      load: async (ctx) => (await import('./prune.js')).pruneCommand(ctx),
    },
    {
      name: 'rm',
      aliases: ['remove'],
      args: '[options] <container...>',
      description: 'Remove one or more containers',
      load: async (ctx) => (await import('./rm.js')).rmCommand(ctx).alias('remove'),
    },
  ],
};

/** The top-level container shortcuts: run, ps, rm, start, stop, ..., plus inspect (any object) and events. */
export const containerShortcuts: CommandEntry[] = [
  ...shared,
  {
    name: 'ps',
    args: '[options]',
    description: 'List containers',
    load: async (ctx) => (await import('./ps.js')).psCommand(ctx),
  },
  {
    name: 'rm',
    args: '[options] <container...>',
    description: 'Remove one or more containers',
    load: async (ctx) => (await import('./rm.js')).rmCommand(ctx),
  },
  {
    name: 'inspect',
    args: '[options] <names...>',
    description: 'Return low-level information on Docker objects',
    load: async (ctx) => (await import('./inspect.js')).inspectCommand(ctx),
  },
  {
    name: 'events',
    args: '[options]',
    description: 'Get real time events from the server',
    load: async (ctx) => (await import('./events.js')).eventsCommand(ctx),
  },
];
