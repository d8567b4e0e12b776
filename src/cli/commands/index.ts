import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { buildEntry, builderGroup } from './build/index.js';
import { containerGroup, containerShortcuts } from './container/index.js';
import { imageGroup, imageShortcuts } from './image/index.js';
import { addCommands, type Entry } from './lazy.js';
import { networkGroup } from './network/index.js';
import { infoEntry, systemGroup, versionEntry } from './system/index.js';
import { volumeGroup } from './volume/index.js';

/** Every top-level command and management command group of the CLI, in help order. */
export const topLevelCommands: readonly Entry[] = [
  versionEntry,
  infoEntry,
  systemGroup,
  volumeGroup,
  networkGroup,
  imageGroup,
  ...imageShortcuts,
  containerGroup,
  ...containerShortcuts,
  buildEntry,
  builderGroup,
];

/**
 * Registers the CLI's commands on `program`, loading only the one that the
 * command-line words `words` (from the command name on) select.
 */
export function registerCommands(program: Command, ctx: CliContext, words: readonly string[]): Promise<void> {
  return addCommands(program, topLevelCommands, words, ctx);
}
