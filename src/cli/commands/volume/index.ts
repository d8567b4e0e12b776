import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { volumeCreateCommand } from './create.js';
import { volumeInspectCommand } from './inspect.js';
import { volumeListCommand } from './ls.js';
import { volumePruneCommand } from './prune.js';
import { volumeRemoveCommand } from './rm.js';

/** `berth volume`: create, inspect, ls, prune, rm. */
export function volumeCommand(ctx: CliContext): Command {
  return new Command('volume')
    .description('Manage volumes')
    .usage('COMMAND')
    .addCommand(volumeCreateCommand(ctx))
    .addCommand(volumeInspectCommand(ctx))
    .addCommand(volumeListCommand(ctx))
    .addCommand(volumePruneCommand(ctx))
    .addCommand(volumeRemoveCommand(ctx));
}
