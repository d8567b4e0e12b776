import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { CliContext } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { filtersQuery } from './filters.js';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The y/N question of docker's prune commands; anything but y/yes declines. */
async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.write(`${question} [y/N] `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    const answer = await rl.question('');
    return ['y', 'yes'].includes(answer.trim().toLowerCase());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

export function pruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove all stopped containers')
    .usage('[OPTIONS]')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (flags: { filter?: string[]; force?: boolean }) => {
      if (
        !flags.force &&
        !(await confirm(
          ctx,
          'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?',
        ))
      ) {
        return;
      }
      const result = await ctx
        .client()
        .json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>('POST', '/containers/prune', {
          query: { filters: filtersQuery(flags.filter) },
        });
      if (result.ContainersDeleted?.length) {
        ctx.write('Deleted Containers:\n');
        for (const id of result.ContainersDeleted) ctx.write(`${id}\n`);
        ctx.write('\n');
      }
      ctx.write(`Total reclaimed space: ${humanSize(result.SpaceReclaimed)}\n`);
    });
}
