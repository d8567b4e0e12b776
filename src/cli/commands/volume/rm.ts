import { Command } from 'commander';
import { DaemonError } from '../../client/api-client.js';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';

export function volumeRemoveCommand(ctx: CliContext): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<VOLUME...>')
    .option('-f, --force', 'Force the removal of one or more volumes')
    .action(async (names: string[], options: { force?: boolean }) => {
      const errors: string[] = [];
      for (const name of names) {
        try {
          await ctx.client().request('DELETE', `/volumes/${encodeURIComponent(name)}`, {
            query: { force: options.force ? true : undefined },
          });
          ctx.write(`${name}\n`);
        } catch (err) {
          if (!(err instanceof DaemonError)) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}
