/**
 * `berth system df`: the four-line summary docker prints (or any --format
 * over its rows), and with -v each kind of object listed.
 */
import { Command } from 'commander';
import { familiarName, parseNormalizedNamed } from '../../../registry/reference.js';
import type { ContainerSummary } from '../../../types/container.js';
import type { ImageSummary } from '../../../types/image.js';
import type { BuildCacheRecord, SystemDataUsage } from '../../../types/system.js';
import type { Volume } from '../../../types/volume.js';
import { CliError, type CliContext } from '../../context.js';
import { formatItems, HEADERS } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import { humanSize, humanSizeWithPrecision, timeAgo } from '../../format/units.js';
import { ContainerContext } from '../container/ps.js';
import { IMAGE_HEADERS, ImageContext } from '../image/list.js';
import { VOLUME_HEADERS, VolumeContext } from '../volume/ls.js';

/** One summary row: what `system df --format` templates see (docker/cli's diskUsage contexts). */
class UsageRow {
  constructor(
    readonly Type: string,
    readonly TotalCount: string,
    readonly Active: string,
    readonly Size: string,
    readonly Reclaimable: string,
  ) {}
}

const SUMMARY_HEADERS = {
  Type: 'TYPE',
  TotalCount: 'TOTAL',
  Active: 'ACTIVE',
  Size: HEADERS.Size,
  Reclaimable: 'RECLAIMABLE',
};
const DEFAULT_SUMMARY = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

/** "1.5MB (40%)": the percentage of the total, left out when there is no total. */
function withPercent(reclaimable: number, total: number): string {
  const size = humanSize(reclaimable);
  return total > 0 ? `${size} (${Math.trunc((reclaimable * 100) / total)}%)` : size;
}

const isActive = (c: ContainerSummary): boolean =>
  ['running', 'paused', 'restarting'].some((state) => c.State.includes(state));

const builderSize = (cache: readonly BuildCacheRecord[]): number =>
  cache.reduce((sum, r) => sum + (r.Shared ? 0 : r.Size), 0);

export function summaryRows(du: SystemDataUsage): UsageRow[] {
  const images = du.Images ?? [];
  let imagesUsed = 0;
  for (const i of images) {
    if (i.Containers > 0 && i.Size !== -1 && i.SharedSize !== -1) imagesUsed += i.Size - i.SharedSize;
  }
  const containers = du.Containers ?? [];
  const containersSize = containers.reduce((sum, c) => sum + (c.SizeRw ?? 0), 0);
  const containersReclaimable = containers.reduce((sum, c) => sum + (isActive(c) ? 0 : (c.SizeRw ?? 0)), 0);
  const volumes = du.Volumes ?? [];
  const sized = volumes.filter((v) => (v.UsageData?.Size ?? -1) !== -1);
  const volumesSize = sized.reduce((sum, v) => sum + v.UsageData!.Size, 0);
  const volumesReclaimable = sized.reduce(
    (sum, v) => sum + (v.UsageData!.RefCount > 0 ? 0 : v.UsageData!.Size),
    0,
  );
  const cache = du.BuildCache ?? [];
  const cacheSize = builderSize(cache);
  const cacheInUse = cache.reduce((sum, r) => sum + (r.InUse && !r.Shared ? r.Size : 0), 0);
  return [
    new UsageRow(
      'Images',
      String(images.length),
      String(images.filter((i) => i.Containers > 0).length),
      humanSize(du.LayersSize),
      withPercent(du.LayersSize - imagesUsed, du.LayersSize),
    ),
    new UsageRow(
      'Containers',
      String(containers.length),
      String(containers.filter(isActive).length),
      humanSize(containersSize),
      withPercent(containersReclaimable, containersSize),
    ),
    new UsageRow(
      'Local Volumes',
      String(volumes.length),
      String(volumes.filter((v) => (v.UsageData?.RefCount ?? 0) > 0).length),
      humanSize(volumesSize),
      withPercent(volumesReclaimable, volumesSize),
    ),
    new UsageRow(
      'Build Cache',
      String(cache.length),
      String(cache.filter((r) => r.InUse).length),
      humanSize(cacheSize),
      humanSize(cacheSize - cacheInUse),
    ),
  ];
}

/** A df -v container row: the SIZE column is the writable layer alone. */
class DiskUsageContainer extends ContainerContext {
  constructor(private readonly summary: ContainerSummary) {
    super(summary, true);
  }
  override Size(): string {
    return humanSize(this.summary.SizeRw ?? 0);
  }
}

/** A df -v image row: the first tag only, as docker shows it. */
function imageRow(image: ImageSummary): ImageContext {
  let repo = '<none>';
  let tag = '<none>';
  const first = image.RepoTags[0];
  if (first && first !== '<none>:<none>') {
    try {
      const ref = parseNormalizedNamed(first);
      if (ref.tag !== undefined) {
        repo = familiarName(ref);
        tag = ref.tag;
      }
    } catch {
      // Left as <none>.
    }
  }
  return new ImageContext(image, repo, tag, '', true);
}

class BuildCacheRow {
  constructor(private readonly r: BuildCacheRecord) {}
  ID(): string {
    return this.r.ID;
  }
  CacheType(): string {
    return this.r.Type;
  }
  Size(): string {
    return humanSizeWithPrecision(this.r.Size, 3);
  }
  CreatedSince(): string {
    return timeAgo(this.r.CreatedAt);
  }
  LastUsedSince(): string {
    return this.r.LastUsedAt ? timeAgo(this.r.LastUsedAt) : '';
  }
  UsageCount(): string {
    return String(this.r.UsageCount);
  }
  Shared(): string {
    return String(this.r.Shared);
  }
}

const BUILD_CACHE_HEADERS = {
  ID: 'CACHE ID',
  CacheType: 'CACHE TYPE',
  Size: HEADERS.Size,
  CreatedSince: HEADERS.CreatedSince,
  LastUsedSince: 'LAST USED',
  UsageCount: 'USAGE',
  Shared: 'SHARED',
};

const CONTAINER_HEADERS = {
  ID: HEADERS.ContainerID,
  Image: HEADERS.Image,
  Command: 'COMMAND',
  LocalVolumes: 'LOCAL VOLUMES',
  Size: HEADERS.Size,
  RunningFor: HEADERS.CreatedSince,
  Status: HEADERS.Status,
  Names: 'NAMES',
};

export function verboseOutput(du: SystemDataUsage): string {
  const images = formatItems(
    (du.Images ?? []).map(imageRow),
    'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}',
    { headers: IMAGE_HEADERS },
  );
  const containers = formatItems(
    (du.Containers ?? []).map((c) => new DiskUsageContainer(c)),
    'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}',
    { headers: CONTAINER_HEADERS },
  );
  const volumes = formatItems(
    (du.Volumes ?? []).map((v: Volume) => new VolumeContext(v)),
    'table {{.Name}}\t{{.Links}}\t{{.Size}}',
    { headers: VOLUME_HEADERS },
  );
  const cache = du.BuildCache ?? [];
  const buildCache = formatItems(
    cache.map((r) => new BuildCacheRow(r)),
    'table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}',
    { headers: BUILD_CACHE_HEADERS },
  );
  return (
    `Images space usage:\n\n${images}\n` +
    `Containers space usage:\n\n${containers}\n` +
    `Local Volumes space usage:\n\n${volumes}\n` +
    `Build cache usage: ${humanSize(builderSize(cache))}\n\n${buildCache}`
  );
}

export function dfCommand(ctx: CliContext): Command {
  return new Command('df')
    .description('Show berth disk usage')
    .usage('[OPTIONS]')
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage')
    .action(async (flags: { format?: string; verbose?: boolean }) => {
      const du = await ctx.client().json<SystemDataUsage>('GET', '/system/df');
      try {
        if (flags.verbose && !flags.format) {
          ctx.write(verboseOutput(du));
          return;
        }
        const format = !flags.format || flags.format === 'table' ? DEFAULT_SUMMARY : flags.format;
        ctx.write(formatItems(summaryRows(du), format, { headers: SUMMARY_HEADERS }));
      } catch (err) {
        if (err instanceof TemplateError) throw new CliError(err.message);
        throw err;
      }
    });
}
