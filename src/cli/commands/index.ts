import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { infoCommand } from './system/info.js';
import { versionCommand } from './system/version.js';

/** Every top-level command and management command group of the CLI. */
export function registerCommands(program: Command, ctx: CliContext): void {
  program.addCommand(versionCommand(ctx));
  program.addCommand(infoCommand(ctx));
  const system = program.command('system').description('Manage berth');
  system.addCommand(infoCommand(ctx));
}
