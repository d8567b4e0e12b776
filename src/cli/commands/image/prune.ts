import { Command } from 'commander';
import type { ImagePruneResponse } from '../../../types/image.js';
import type { CliContext } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { readAnswer } from '../volume/shared.js';
import { collect, filtersJSON } from '../options.js';

const DANGLING_WARNING = 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?';
const ALL_WARNING =
  'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?';

/** docker image prune's report. */
export function imagePruneReport(report: ImagePruneResponse): string {
  let output = '';
  const deleted = report.ImagesDeleted ?? [];
  if (deleted.length > 0) {
    output += 'Deleted Images:\n';
    for (const item of deleted) {
      if (item.Untagged) output += `untagged: ${item.Untagged}\n`;
      if (item.Deleted) output += `deleted: ${item.Deleted}\n`;
    }
    output += '\n';
  }
  return `${output}Total reclaimed space: ${humanSize(report.SpaceReclaimed)}\n`;
}

export function imagePruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove unused images')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
    .action(async (options: { all?: boolean; force?: boolean; filter: string[] }) => {
      const filters = [...options.filter, `dangling=${options.all ? 'false' : 'true'}`];
      if (!options.force) {
        ctx.write(`${options.all ? ALL_WARNING : DANGLING_WARNING} [y/N] `);
        const answer = await readAnswer();
        if (answer !== 'y' && answer !== 'Y') return;
      }
      const report = await ctx.client().json<ImagePruneResponse>('POST', '/images/prune', {
        query: { filters: filtersJSON(filters) },
      });
      ctx.write(imagePruneReport(report));
    });
}
