import { Command } from 'commander';
import type { ContainerChange } from '../../../types/container.js';
import type { CliContext } from '../../context.js';

const KIND = ['C', 'A', 'D'];

export function diffCommand(ctx: CliContext): Command {
  return new Command('diff')
    .description("Inspect changes to files or directories on a container's filesystem")
    .usage('CONTAINER')
    .argument('<container>')
    .action(async (container: string) => {
      const changes = await ctx
        .client()
        .json<ContainerChange[] | null>('GET', `/containers/${encodeURIComponent(container)}/changes`);
      for (const change of changes ?? []) ctx.write(`${KIND[change.Kind] ?? '?'} ${change.Path}\n`);
    });
}
