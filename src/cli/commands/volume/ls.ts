import { Command, Option } from 'commander';
import type { CliContext } from '../../context.js';
import { CliError } from '../../context.js';
import { HEADERS, renderList } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import { humanSize } from '../../format/units.js';
import type { Volume, VolumeListResponse } from '../../../types/volume.js';
import { naturalCompare } from './shared.js';
import { collect, filtersJSON } from '../options.js';

/** What `docker volume ls --format` templates see (docker/cli's volumeContext). */
export class VolumeContext {
  constructor(private readonly v: Volume) {}
  Name(): string {
    return this.v.Name;
  }
  Driver(): string {
    return this.v.Driver;
  }
  Scope(): string {
    return this.v.Scope;
  }
  Mountpoint(): string {
    return this.v.Mountpoint;
  }
  Labels(): string {
    if (!this.v.Labels) return '';
    return Object.entries(this.v.Labels)
      .map(([k, value]) => `${k}=${value}`)
      .join(',');
  }
  Label(name: string): string {
    return this.v.Labels?.[name] ?? '';
  }
  Links(): string {
    return this.v.UsageData ? String(this.v.UsageData.RefCount) : 'N/A';
  }
  Size(): string {
    return this.v.UsageData ? humanSize(this.v.UsageData.Size) : 'N/A';
  }
  Group(): string {
    return 'N/A';
  }
  Availability(): string {
    return 'N/A';
  }
  Status(): string {
    return 'N/A';
  }
}

export const VOLUME_HEADERS = {
  ID: 'ID',
  Name: 'VOLUME NAME',
  Group: 'GROUP',
  Driver: HEADERS.Driver,
  Scope: HEADERS.Scope,
  Availability: 'AVAILABILITY',
  Mountpoint: 'MOUNTPOINT',
  Labels: HEADERS.Labels,
  Links: 'LINKS',
  Size: HEADERS.Size,
  Status: 'STATUS',
};

export const DEFAULT_VOLUME_TABLE = 'table {{.Driver}}\t{{.Name}}';

interface ListOptions {
  quiet?: boolean;
  format?: string;
  filter: string[];
  cluster?: boolean;
}

/** Renders volumes as `docker volume ls` does, sorted by name. */
export function renderVolumes(volumes: Volume[], format: string | undefined, quiet = false): string {
  const sorted = [...volumes].sort((a, b) => naturalCompare(a.Name, b.Name));
  const custom = format !== undefined && format !== '' && format !== 'table';
  try {
    return renderList(
      sorted.map((v) => new VolumeContext(v)),
      custom ? format : undefined,
      {
        defaultTable: DEFAULT_VOLUME_TABLE,
        quiet: quiet && !custom,
        quietFormat: '{{.Name}}',
        headers: VOLUME_HEADERS,
        typeName: '*formatter.volumeContext',
      },
    );
  } catch (err) {
    if (err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
}

export function volumeListCommand(ctx: CliContext): Command {
  return new Command('ls')
    .alias('list')
    .description('List volumes')
    .usage('[OPTIONS]')
    .option('-q, --quiet', 'Only display volume names')
    .option('--format <string>', 'Format output using a custom template')
    .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collect, [])
    .addOption(
      new Option(
        '--cluster',
        'Display only cluster volumes, and use cluster volume list formatting',
      ).hideHelp(),
    )
    .action(async (options: ListOptions) => {
      const response = await ctx.client().json<VolumeListResponse>('GET', '/volumes', {
        query: { filters: filtersJSON(options.filter) },
      });
      const volumes = options.cluster ? response.Volumes.filter((v) => v.ClusterVolume) : response.Volumes;
      for (const warning of response.Warnings ?? []) ctx.err.write(`${warning}\n`);
      ctx.write(renderVolumes(volumes, options.format, options.quiet));
    });
}
