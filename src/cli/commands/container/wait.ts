import { Command } from 'commander';
import type { ContainerWaitResponse } from '../../../types/container.js';
import type { CliContext } from '../../context.js';
import { forEachContainer } from './common.js';

export function waitCommand(ctx: CliContext): Command {
  return new Command('wait')
    .description('Block until one or more containers stop, then print their exit codes')
    .usage('CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .action(async (names: string[]) => {
      const api = ctx.client();
      const codes = new Map<string, number>();
      await forEachContainer(
        ctx,
        names,
        async (name) => {
          const result = await api.json<ContainerWaitResponse>(
            'POST',
            `/containers/${encodeURIComponent(name)}/wait`,
            {
              query: { condition: 'not-running' },
            },
          );
          codes.set(name, result.StatusCode);
        },
        (name) => String(codes.get(name)),
      );
    });
}
