import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { forEachContainer } from './common.js';

interface RmFlags {
  force?: boolean;
  link?: boolean;
  volumes?: boolean;
}

export function rmCommand(ctx: CliContext, name = 'rm'): Command {
  return new Command(name)
    .description('Remove one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<container...>')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-l, --link', 'Remove the specified link')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .action(async (names: string[], flags: RmFlags) => {
      const api = ctx.client();
      await forEachContainer(ctx, names, async (container) => {
        const trimmed = container.replace(/^\/+/, '');
        if (!trimmed) throw new Error('Container name cannot be empty');
        const res = await api.request('DELETE', `/containers/${encodeURIComponent(trimmed)}`, {
          query: {
            force: flags.force ? 1 : undefined,
            v: flags.volumes ? 1 : undefined,
            link: flags.link ? 1 : undefined,
          },
        });
        res.body.resume();
      });
    });
}
