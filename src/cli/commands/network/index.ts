import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { networkConnectCommand } from './connect.js';
import { networkCreateCommand } from './create.js';
import { networkDisconnectCommand } from './disconnect.js';
import { networkInspectCommand } from './inspect.js';
import { networkListCommand } from './ls.js';
import { networkPruneCommand } from './prune.js';
import { networkRemoveCommand } from './rm.js';

/** `berth network`: connect, create, disconnect, inspect, ls, prune, rm. */
export function networkCommand(ctx: CliContext): Command {
  return new Command('network')
    .description('Manage networks')
    .usage('COMMAND')
    .addCommand(networkConnectCommand(ctx))
    .addCommand(networkCreateCommand(ctx))
    .addCommand(networkDisconnectCommand(ctx))
    .addCommand(networkInspectCommand(ctx))
    .addCommand(networkListCommand(ctx))
    .addCommand(networkPruneCommand(ctx))
    .addCommand(networkRemoveCommand(ctx));
}
