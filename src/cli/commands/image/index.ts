import type { CommandEntry, GroupEntry } from '../lazy.js';

const history: CommandEntry = {
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

const load: CommandEntry = {
  name: 'load',
  args: '[options]',
  description: 'Load an image from a tar archive or STDIN',
  load: async (ctx) => (await import('./load.js')).loadCommand(ctx),
};

const pull: CommandEntry = {
  name: 'pull',
  args: '[options] <image>',
  description: 'Download an image from a registry',
  load: async (ctx) => (await import('./pull.js')).pullCommand(ctx),
};

const push: CommandEntry = {
  name: 'push',
  args: '[options] <image>',
  description: 'Upload an image to a registry',
  load: async (ctx) => (await import('./push.js')).pushCommand(ctx),
};

const save: CommandEntry = {
  name: 'save',
  args: '[options] <images...>',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  load: async (ctx) => (await import('./save.js')).saveCommand(ctx),
};

const tag: CommandEntry = {
  name: 'tag',
  args: '<source> <target>',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  load: async (ctx) => (await import('./tag.js')).tagCommand(ctx),
};

/** `image ls` under the group, `images` at the top level. */
const list = (name: string, aliases?: string[]): CommandEntry => ({
  name,
  aliases,
  args: '[options] [repository]',
  description: 'List images',
  load: async (ctx) => (await import('./list.js')).imageListCommand(ctx, name),
});

/** `image rm` under the group, `rmi` at the top level. */
const remove = (name: string, aliases?: string[]): CommandEntry => ({
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
    history,
    importEntry,
    {
      name: 'inspect',
      args: '[options] <images...>',
      description: 'Display detailed information on one or more images',
      load: async (ctx) => (await import('./inspect.js')).imageInspectCommand(ctx),
    },
    load,
    list('ls', ['list']),
    {
      name: 'prune',
      args: '[options]',
      description: 'Remove unused images',
      load: async (ctx) => (await import('./prune.js')).imagePruneCommand(ctx),
    },
    pull,
    push,
    remove('rm', ['remove']),
    save,
    tag,
  ],
};

/** The top-level image shortcuts docker has: pull, push, images, rmi, tag, history, save, load, import, login, logout. */
export const imageShortcuts: CommandEntry[] = [
  pull,
  push,
  list('images'),
  remove('rmi'),
  tag,
  history,
  save,
  load,
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
