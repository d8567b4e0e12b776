import { Command } from 'commander';
import type { ImageDeleteResponseItem } from '../../../types/image.js';
import { DaemonError } from '../../client/api-client.js';
import { CliError, type CliContext } from '../../context.js';

export function removeCommand(ctx: CliContext, name = 'rm'): Command {
  const command = new Command(name)
    .description('Remove one or more images')
    .usage('[OPTIONS] IMAGE [IMAGE...]')
    .argument('<images...>')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents')
    .action(async (images: string[], options: { force?: boolean; prune: boolean }) => {
      const errors: string[] = [];
      for (const image of images) {
        try {
          const deleted = await ctx.client().json<ImageDeleteResponseItem[]>('DELETE', `/images/${image}`, {
            query: { force: options.force ? '1' : undefined, noprune: options.prune ? undefined : '1' },
          });
          for (const item of deleted) {
            if (item.Untagged) ctx.write(`Untagged: ${item.Untagged}\n`);
            if (item.Deleted) ctx.write(`Deleted: ${item.Deleted}\n`);
          }
        } catch (err) {
          if (!(err instanceof DaemonError)) throw err;
          errors.push(`Error response from daemon: ${err.message}`);
        }
      }
      if (errors.length > 0) throw new CliError(errors.join('\n'));
    });
  if (name === 'rm') command.alias('remove');
  return command;
}
