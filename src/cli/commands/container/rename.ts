import { Command } from 'commander';
import { CliError, type CliContext } from '../../context.js';

export function renameCommand(ctx: CliContext): Command {
  return new Command('rename')
    .description('Rename a container')
    .usage('CONTAINER NEW_NAME')
    .argument('<container>')
    .argument('<new-name>')
    .action(async (container: string, newName: string) => {
      if (!container.trim() || !newName.trim())
        throw new CliError('Error: Neither old nor new names may be empty');
      const res = await ctx
        .client()
        .request('POST', `/containers/${encodeURIComponent(container.trim())}/rename`, {
          query: { name: newName.trim() },
        });
      res.body.resume();
    });
}
