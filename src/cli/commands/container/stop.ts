import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { forEachContainer } from './common.js';

interface StopFlags {
  signal?: string;
  timeout?: string;
  time?: string;
}

/** stop and restart share their flags. */
export function stopLikeCommand(ctx: CliContext, verb: 'stop' | 'restart'): Command {
  return new Command(verb)
    .description(verb === 'stop' ? 'Stop one or more running containers' : 'Restart one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .option('-t, --timeout <int>', 'Seconds to wait before killing the container')
    .option('--time <int>', 'Seconds to wait before killing the container (deprecated: use --timeout)')
    .action(async (names: string[], flags: StopFlags) => {
      const api = ctx.client();
      const timeout = flags.timeout ?? flags.time;
      await forEachContainer(ctx, names, async (name) => {
        const res = await api.request('POST', `/containers/${encodeURIComponent(name)}/${verb}`, {
          query: { t: timeout, signal: flags.signal },
        });
        res.body.resume();
      });
    });
}

export const stopCommand = (ctx: CliContext): Command => stopLikeCommand(ctx, 'stop');
