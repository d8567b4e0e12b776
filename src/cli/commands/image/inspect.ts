import { Command } from 'commander';
import type { ImageInspect } from '../../../types/image.js';
import { DaemonError } from '../../client/api-client.js';
import { CliError, type CliContext } from '../../context.js';
import { renderTemplate } from '../../output.js';
import { inspectJSON } from '../volume/shared.js';

export function imageInspectCommand(ctx: CliContext): Command {
  return new Command('inspect')
    .description('Display detailed information on one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-f, --format <string>', 'Format output using a custom template')
    .action(async (names: string[], options: { format?: string }) => {
      const found: ImageInspect[] = [];
      const errors: string[] = [];
      for (const name of names) {
        try {
          found.push(await ctx.client().json<ImageInspect>('GET', `/images/${name}/json`));
        } catch (err) {
          if (!(err instanceof DaemonError) || err.status !== 404) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (options.format) {
        for (const image of found) ctx.write(renderTemplate(options.format, image) + '\n');
      } else {
        ctx.write(inspectJSON(found));
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
}
