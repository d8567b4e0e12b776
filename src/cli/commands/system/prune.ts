/**
 * `berth system prune`: stopped containers, unused networks, dangling (or
 * with -a all unused) images, build cache, and with --volumes anonymous
 * volumes, each through its own prune endpoint, reported as docker does.
 */
import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { ImageDeleteResponseItem } from '../../../types/image.js';
import type { CliContext } from '../../context.js';
import { humanSize } from '../../format/units.js';
import { filtersQuery } from '../container/filters.js';
import { collect } from '../options.js';

interface PruneFlags {
  all?: boolean;
  volumes?: boolean;
  force?: boolean;
  filter?: string[];
}

export function pruneWarning(flags: PruneFlags): string {
  const items = [
    'all stopped containers',
    'all networks not used by at least one container',
    ...(flags.volumes ? ['all anonymous volumes not used by at least one container'] : []),
    flags.all ? 'all images without at least one container associated to them' : 'all dangling images',
    flags.all ? 'all build cache' : 'unused build cache',
  ];
  return `WARNING! This will remove:\n${items.map((item) => `  - ${item}\n`).join('')}\nAre you sure you want to continue?`;
}

async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.write(`${question} [y/N] `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    return ['y', 'yes'].includes((await rl.question('')).trim().toLowerCase());
  } catch {
    return false;
  } finally {
    rl.close();
  }
}

/** A section of the report: "Deleted X:" and one line per item, or nothing. */
const section = (title: string, lines: string[]): string =>
  lines.length > 0 ? `${title}:\n${lines.map((l) => `${l}\n`).join('')}` : '';

export function systemPruneCommand(ctx: CliContext): Command {
  return new Command('prune')
    .description('Remove unused data')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Remove all unused images not just dangling ones')
    .option('--filter <filter>', 'Provide filter values (e.g. "label=<key>=<value>")', collect)
    .option('-f, --force', 'Do not prompt for confirmation')
    .option('--volumes', 'Prune anonymous volumes')
    .action(async (flags: PruneFlags) => {
      if (!flags.force && !(await confirm(ctx, pruneWarning(flags)))) return;
      const api = ctx.client();
      const filters = filtersQuery(flags.filter);
      let reclaimed = 0;
      const outputs: string[] = [];

      const containers = await api.json<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }>(
        'POST',
        '/containers/prune',
        { query: { filters } },
      );
      reclaimed += containers.SpaceReclaimed;
      outputs.push(section('Deleted Containers', containers.ContainersDeleted ?? []));

      const networks = await api.json<{ NetworksDeleted: string[] | null }>('POST', '/networks/prune', {
        query: { filters },
      });
      outputs.push(section('Deleted Networks', networks.NetworksDeleted ?? []));

      if (flags.volumes) {
        const volumes = await api.json<{ VolumesDeleted: string[] | null; SpaceReclaimed: number }>(
          'POST',
          '/volumes/prune',
          { query: { filters } },
        );
        reclaimed += volumes.SpaceReclaimed;
        outputs.push(section('Deleted Volumes', volumes.VolumesDeleted ?? []));
      }

      const imageFilters = JSON.parse(filters ?? '{}') as Record<string, Record<string, boolean>>;
      imageFilters.dangling = { [flags.all ? 'false' : 'true']: true };
      const images = await api.json<{
        ImagesDeleted: ImageDeleteResponseItem[] | null;
        SpaceReclaimed: number;
      }>('POST', '/images/prune', { query: { filters: JSON.stringify(imageFilters) } });
      reclaimed += images.SpaceReclaimed;
      outputs.push(
        section(
          'Deleted Images',
          (images.ImagesDeleted ?? []).flatMap((item) => [
            ...(item.Untagged ? [`untagged: ${item.Untagged}`] : []),
            ...(item.Deleted ? [`deleted: ${item.Deleted}`] : []),
          ]),
        ),
      );

      const cache = await api.json<{ CachesDeleted: string[] | null; SpaceReclaimed: number }>(
        'POST',
        '/build/prune',
        { query: { all: flags.all === true, filters } },
      );
      reclaimed += cache.SpaceReclaimed;
      outputs.push(section('Deleted build cache objects', cache.CachesDeleted ?? []));

      for (const output of outputs) if (output) ctx.write(`${output}\n`);
      ctx.write(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
    });
}
