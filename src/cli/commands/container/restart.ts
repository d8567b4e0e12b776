import type { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { stopLikeCommand } from './stop.js';

export const restartCommand = (ctx: CliContext): Command => stopLikeCommand(ctx, 'restart');
