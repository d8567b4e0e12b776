import { Command } from 'commander';
import type { CliContext } from '../../context.js';
import type { NetworkPruneResponse } from '../../../types/network.js';
import { readAnswer } from '../volume/shared.js';
import { collect, filtersJSON } from '../options.js';

const WARNING =
  'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?';

/** docker network prune's report: the deleted names followed by an empty line. */
export function networkPruneReport(report: NetworkPruneResponse): string {
  const deleted = report.NetworksDeleted ?? [];
  if (deleted.length === 0) return '';
  return `Deleted Networks:\n${deleted.map((name) => `${name}\n`).join('')}\n`;
}

export function networkPruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove all unused networks')
    .usage('[OPTIONS]')
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collect, [])
    .action(async (flags: { force?: boolean; filter: string[] }) => {
      if (!flags.force) {
        ctx.write(`${WARNING} [y/N] `);
        const answer = await readAnswer();
        if (answer !== 'y' && answer !== 'Y') return;
      }
      const report = await ctx.client().json<NetworkPruneResponse>('POST', '/networks/prune', {
        query: { filters: filtersJSON(flags.filter) },
      });
      ctx.write(networkPruneReport(report));
    });
}
