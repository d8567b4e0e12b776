import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { forEachContainer } from './common.js';

/** pause and unpause: one request per container, names echoed. */
export function pauseLikeCommand(ctx: CliContext, verb: 'pause' | 'unpause'): Command {
  return new Command(verb)
    .description(
      verb === 'pause'
        ? 'Pause all processes within one or more containers'
        : 'Unpause all processes within one or more containers',
    )
    .usage('CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .action(async (names: string[]) => {
      const api = ctx.client();
      await forEachContainer(ctx, names, async (name) => {
        (await api.request('POST', `/containers/${encodeURIComponent(name)}/${verb}`)).body.resume();
      });
    });
}

export const pauseCommand = (ctx: CliContext): Command => pauseLikeCommand(ctx, 'pause');
