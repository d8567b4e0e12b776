import { Command } from 'commander';
import { humanSize, ramInBytes } from '../../format/units.js';
import type { CliContext } from '../../context.js';
import { collect } from '../options.js';

interface PruneOptions {
  all?: boolean;
  filter: string[];
  keepStorage?: string;
  force?: boolean;
}

/** `berth builder prune`: removes build cache (all of it with --all, else what no image uses). */
export function builderPruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove build cache')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused build cache, not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=24h")', collect, [])
    .option('--keep-storage <bytes>', 'Amount of disk space to keep for cache')
    .option('-f, --force', 'Do not prompt for confirmation')
    .action(async (options: PruneOptions) => {
      const filters: Record<string, string[]> = {};
      for (const item of options.filter) {
        const eq = item.indexOf('=');
        const key = eq < 0 ? item : item.slice(0, eq);
        (filters[key] ??= []).push(eq < 0 ? '' : item.slice(eq + 1));
      }
      const params = new URLSearchParams();
      if (options.all) params.set('all', '1');
      if (Object.keys(filters).length > 0) params.set('filters', JSON.stringify(filters));
      if (options.keepStorage) params.set('keep-storage', String(ramInBytes(options.keepStorage)));
      const report = await ctx
        .client()
        .json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>(
          'POST',
          `/build/prune?${params.toString()}`,
        );
      if (report.CachesDeleted && report.CachesDeleted.length > 0) {
        ctx.write('Deleted build cache objects:\n');
        for (const id of report.CachesDeleted) ctx.write(`${id}\n`);
        ctx.write('\n');
      }
      ctx.write(`Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`);
    });
}
