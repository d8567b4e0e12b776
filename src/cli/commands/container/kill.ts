import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { forEachContainer } from './common.js';

export function killCommand(ctx: CliContext): Command {
  return new Command('kill')
    .description('Kill one or more running containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-s, --signal <string>', 'Signal to send to the container')
    .action(async (names: string[], flags: { signal?: string }) => {
      const api = ctx.client();
      await forEachContainer(ctx, names, async (name) => {
        const res = await api.request('POST', `/containers/${encodeURIComponent(name)}/kill`, {
          query: { signal: flags.signal },
        });
        res.body.resume();
      });
    });
}
