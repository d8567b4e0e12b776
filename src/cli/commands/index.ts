import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { infoCommand } from './system/info.js';
import { versionCommand } from './system/version.js';
import { dfCommand } from './system/df.js';
import { systemPruneCommand } from './system/prune.js';
import { imageCommand, imageShortcuts } from './image/index.js';
import { volumeCommand } from './volume/index.js';
import { containerCommand, containerShortcuts } from './container/index.js';
import { networkCommand } from './network/index.js';
import { buildCommand, builderCommand } from './build/index.js';

/** Every top-level command and management command group of the CLI. */
export function registerCommands(program: Command, ctx: CliContext): void {
  program.addCommand(versionCommand(ctx));
  program.addCommand(infoCommand(ctx));
  const system = program.command('system').description('Manage berth');
  system.addCommand(infoCommand(ctx));
  system.addCommand(dfCommand(ctx));
  system.addCommand(systemPruneCommand(ctx));
  program.addCommand(inheritSettings(volumeCommand(ctx), program));
  program.addCommand(inheritSettings(networkCommand(ctx), program));
  program.addCommand(inheritSettings(imageCommand(ctx), program));
  for (const shortcut of imageShortcuts(ctx)) program.addCommand(inheritSettings(shortcut, program));
  program.addCommand(inheritSettings(containerCommand(ctx), program));
  for (const shortcut of containerShortcuts(ctx)) program.addCommand(inheritSettings(shortcut, program));
  program.addCommand(inheritSettings(buildCommand(ctx), program));
  program.addCommand(inheritSettings(builderCommand(ctx), program));
}

/** addCommand does not pass on exitOverride and output settings; a command group and its subcommands need them. */
function inheritSettings(command: Command, parent: Command): Command {
  command.copyInheritedSettings(parent);
  for (const sub of command.commands) inheritSettings(sub, command);
  return command;
}
