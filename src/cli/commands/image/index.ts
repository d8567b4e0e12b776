import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { historyCommand } from './history.js';
import { importCommand } from './import.js';
import { imageInspectCommand } from './inspect.js';
import { imageListCommand } from './list.js';
import { loadCommand } from './load.js';
import { loginCommand } from './login.js';
import { logoutCommand } from './logout.js';
import { imagePruneCommand } from './prune.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { removeCommand } from './remove.js';
import { saveCommand } from './save.js';
import { tagCommand } from './tag.js';

/** `berth image …`: the image management commands. */
export function imageCommand(ctx: CliContext): Command {
  return new Command('image')
    .description('Manage images')
    .usage('COMMAND')
    .addCommand(historyCommand(ctx))
    .addCommand(importCommand(ctx))
    .addCommand(imageInspectCommand(ctx))
    .addCommand(loadCommand(ctx))
    .addCommand(imageListCommand(ctx))
    .addCommand(imagePruneCommand(ctx))
    .addCommand(pullCommand(ctx))
    .addCommand(pushCommand(ctx))
    .addCommand(removeCommand(ctx))
    .addCommand(saveCommand(ctx))
    .addCommand(tagCommand(ctx));
}

/** The top-level image shortcuts docker has: pull, push, images, rmi, tag, history, save, load, import, login, logout. */
export function imageShortcuts(ctx: CliContext): Command[] {
  return [
    pullCommand(ctx),
    pushCommand(ctx),
    imageListCommand(ctx, 'images'),
    removeCommand(ctx, 'rmi'),
    tagCommand(ctx),
    historyCommand(ctx),
    saveCommand(ctx),
    loadCommand(ctx),
    importCommand(ctx),
    loginCommand(ctx),
    logoutCommand(ctx),
  ];
}
