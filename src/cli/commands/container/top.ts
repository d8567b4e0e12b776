import { Command } from 'commander';
import type { ContainerTopResponse } from '../../../types/container.js';
import type { CliContext } from '../../context.js';
import { DOCKER_TABLE, TabWriter } from '../../format/tabwriter.js';

export function topCommand(ctx: CliContext): Command {
  return new Command('top')
    .description('Display the running processes of a container')
    .usage('CONTAINER [ps OPTIONS]')
    .argument('<container>')
    .argument('[ps-options...]')
    .passThroughOptions()
    .allowUnknownOption()
    .action(async (container: string, psOptions: string[]) => {
      const top = await ctx
        .client()
        .json<ContainerTopResponse>('GET', `/containers/${encodeURIComponent(container)}/top`, {
          query: { ps_args: psOptions.length ? psOptions.join(' ') : undefined },
        });
      const writer = new TabWriter({ ...DOCKER_TABLE, minwidth: 20 });
      writer.write(top.Titles.join('\t') + '\n');
      for (const row of top.Processes ?? []) writer.write(row.join('\t') + '\n');
      ctx.write(writer.flush());
    });
}
