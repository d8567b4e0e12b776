import { Command } from 'commander';
import { DaemonError } from '../../client/api-client.js';
import { CliError, type CliContext } from '../../context.js';
import { renderTemplate } from '../../output.js';
import { inspectJSON } from '../volume/shared.js';

export function networkInspectCommand(ctx: CliContext): Command {
  return new Command('inspect')
    .description('Display detailed information on one or more networks')
    .usage('[OPTIONS] NETWORK [NETWORK...]')
    .argument('<NETWORK...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Verbose output for diagnostics')
    .action(async (names: string[], flags: { format?: string; verbose?: boolean }) => {
      const found: unknown[] = [];
      const errors: string[] = [];
      for (const name of names) {
        try {
          found.push(
            await ctx.client().json('GET', `/networks/${encodeURIComponent(name)}`, {
              query: { verbose: flags.verbose ? 'true' : undefined },
            }),
          );
        } catch (err) {
          if (!(err instanceof DaemonError)) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (flags.format) {
        for (const network of found) ctx.write(renderTemplate(flags.format, network) + '\n');
      } else {
        ctx.write(inspectJSON(found));
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}
