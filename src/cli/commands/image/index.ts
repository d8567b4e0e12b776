import type { CommandEntry, GroupEntry } from '../lazy.js';

const historyEntry: CommandEntry = {
  name: 'history',
  args: '[options] [image]',
  description: 'Show the history of an image',
  load: async (ctx) => (await import('./history.js')).historyCommand(ctx),
};

const importEntry: CommandEntry = {
  name: 'import',
  args: '[options] <source> [repository]',
  description: 'Import the contents from a tarball to create a filesystem image',
  load: async (ctx) => (await import('./import.js')).importCommand(ctx),
};

const loadEntry: CommandEntry = {
  name: 'load',
  args: '[options]',
  description: 'Load an image from a tar archive or STDIN',
  load: async (ctx) => (await import('./load.js')).loadCommand(ctx),
};

const pullEntry: CommandEntry = {
  name: 'pull',
  args: '[options] <image>',
  description: 'Download an image from a registry',
  load: async (ctx) => (await import('./pull.js')).pullCommand(ctx),
};

const pushEntry: CommandEntry = {
  name: 'push',
  args: '[options] <image>',
  description: 'Upload an image to a registry',
  load: async (ctx) => (await import('./push.js')).pushCommand(ctx),
};

const saveEntry: CommandEntry = {
  name: 'save',
  args: '[options] <images...>',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  load: async (ctx) => (await import('./save.js')).saveCommand(ctx),
};

const tagEntry: CommandEntry = {
  name: 'tag',
  args: '<source> <target>',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  load: async (ctx) => (await import('./tag.js')).tagCommand(ctx),
};

/** `image ls` under the group, `images` at the top level. */
const listEntry = (name: string, aliases?: string[]): CommandEntry => ({
  name,
  aliases,
  args: '[options] [repository]',
  description: 'List images',
  load: async (ctx) => (await import('./list.js')).imageListCommand(ctx, name),
});

/** `image rm` under the group, `rmi` at the top level. */
const removeEntry = (name: string, aliases?: string[]): CommandEntry => ({
  name,
  aliases,
  args: '[options] <images...>',
  description: 'Remove one or more images',
  load: async (ctx) => (await import('./remove.js')).removeCommand(ctx, name),
});

/** `berth image …`: the image management commands. */
export const imageGroup: GroupEntry = {
  name: 'image',
  description: 'Manage images',
  subcommands: [
    historyEntry,
    importEntry,
    {
      name: 'inspect',
      args: '[options] <images...>',
      description: 'Display detailed information on one or more images',
      load: async (ctx) => (await import('./inspect.js')).imageInspectCommand(ctx),
    },
    loadEntry,
    listEntry('ls', ['list']),
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove unused images',
      load: async (ctx) => (await import('./prune.js')).imagePruneCommand(ctx),
    },
    pullEntry,
    pushEntry,
    removeEntry('rm', ['remove']),
    saveEntry,
    tagEntry,
  ],
};

/** The top-level image shortcuts docker has: pull, push, images, rmi, tag, history, save, load, import, login, logout. */
export const imageShortcuts: CommandEntry[] = [
  pullEntry,
  pushEntry,
  listEntry('images'),
  removeEntry('rmi'),
  tagEntry,
  historyEntry,
  saveEntry,
  loadEntry,
  importEntry,
  {
    name: 'login',
    args: '[options] [server]',
    description: 'Authenticate to a registry',
    load: async (ctx) => (await import('./login.js')).loginCommand(ctx),
  },
  {
    name: 'logout',
    args: '[server]',
    description: 'Log out from a registry',
    load: async (ctx) => (await import('./logout.js')).logoutCommand(ctx),
  },
];
