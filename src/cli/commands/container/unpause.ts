import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { pauseLikeCommand } from './pause.js';

export const unpauseCommand = (ctx: CliContext): Command => pauseLikeCommand(ctx, 'unpause');
