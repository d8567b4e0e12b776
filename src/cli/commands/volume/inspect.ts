import { Command } from 'commander';
import { DaemonError } from '../../client/api-client.js';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import { renderTemplate } from '../../output.js';
import type { Volume } from '../../../types/volume.js';
import { inspectJSON, volumeForDisplay } from './shared.js';

export function volumeInspectCommand(ctx: CliContext): Command {
  return new Command('inspect')
    .description('Display detailed information on one or more volumes')
    .usage('[OPTIONS] VOLUME [VOLUME...]')
    .argument('<VOLUME...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (names: string[], options: { format?: string }) => {
      const found: Record<string, unknown>[] = [];
      const errors: string[] = [];
      for (const name of names) {
        try {
          const volume = await ctx.client().json<Volume>('GET', `/volumes/${encodeURIComponent(name)}`);
          found.push(volumeForDisplay(volume));
        } catch (err) {
          if (!(err instanceof DaemonError)) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (options.format) {
        for (const volume of found) ctx.write(renderTemplate(options.format, volume) + '\n');
      } else {
        ctx.write(inspectJSON(found));
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}
