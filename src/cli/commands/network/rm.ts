import { Command } from 'commander';
import { DaemonError } from '../../client/api-client.js';
import { CliError, type CliContext } from '../../context.js';

export function networkRemoveCommand(ctx: CliContext): Command {
  return new Command('rm')
    .alias('remove')
    .description('Remove one or more networks')
    .usage('NETWORK [NETWORK...]')
    .argument('<NETWORK...>')
    .option('-f, --force', 'Do not error if the network does not exist')
    .action(async (names: string[], flags: { force?: boolean }) => {
      let failed = false;
      for (const name of names) {
        try {
          await ctx.client().request('DELETE', `/networks/${encodeURIComponent(name)}`);
          ctx.write(`${name}\n`);
        } catch (err) {
          if (!(err instanceof DaemonError)) throw err;
          if (flags.force && err.status === 404) continue;
          ctx.err.write(`Error response from daemon: ${err.message}\n`);
          failed = true;
        }
      }
      if (failed) throw new CliError('exit status 1');
    });
}
