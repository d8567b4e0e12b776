import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import { humanSize } from '../../format/units.js';
import type { VolumePruneResponse } from '../../../types/volume.js';
import { readAnswer } from './shared.js';
import { collect, filtersJSON } from '../options.js';

const ANONYMOUS_WARNING =
  'WARNING! This will remove anonymous local volumes not used by at least one container.\nAre you sure you want to continue?';
const ALL_WARNING =
  'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?';

interface PruneOptions {
  all?: boolean;
  force?: boolean;
  filter: string[];
}

/** docker volume prune's report: the deleted names, then the space reclaimed. */
export function pruneReport(report: VolumePruneResponse): string {
  let output = '';
  const deleted = report.VolumesDeleted ?? [];
  if (deleted.length > 0) output += `Deleted Volumes:\n${deleted.map((name) => `${name}\n`).join('')}\n`;
  const reclaimed = deleted.length > 0 ? report.SpaceReclaimed : 0;
  return `${output}Total reclaimed space: ${humanSize(reclaimed)}\n`;
}

export function volumePruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove unused local volumes')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collect, [])
    .action(async (options: PruneOptions) => {
      const filters = [...options.filter];
      if (options.all) {
        if (filters.some((f) => f.split('=')[0].trim().toLowerCase() === 'all')) {
          throw new CliError('conflicting options: cannot specify both --all and --filter all=1');
        }
        filters.push('all=true');
      }
      if (!options.force) {
        ctx.write(`${options.all ? ALL_WARNING : ANONYMOUS_WARNING} [y/N] `);
        const answer = await readAnswer();
        if (answer !== 'y' && answer !== 'Y') return;
      }
      const report = await ctx.client().json<VolumePruneResponse>('POST', '/volumes/prune', {
        query: { filters: filtersJSON(filters) },
      });
      ctx.write(pruneReport(report));
    });
}
