import { Command } from 'commander';
import type { ContainerSummary, Port } from '../../../types/container.js';
import type { CliContext } from '../../context.js';
import { HEADERS, renderList } from '../../format/formatter.js';
import { quote } from '../../format/gofmt.js';
import { ellipsis, goTimeString, humanSizeWithPrecision, timeAgo, truncateId } from '../../format/units.js';
import { CliError } from '../../context.js';
import { TemplateError } from '../../format/template.js';
import { filtersQuery } from './filters.js';

const DEFAULT_TABLE =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

/** docker/cli's DisplayablePorts: published ports as ip:public->private/proto, others as private/proto. */
export function displayPorts(ports: Port[]): string {
  return [...ports]
    .sort((a, b) => (a.PublicPort ?? 0) - (b.PublicPort ?? 0) || a.PrivatePort - b.PrivatePort)
    .map((p) => {
      if (!p.PublicPort) return `${p.PrivatePort}/${p.Type}`;
      const ip = p.IP ? (p.IP.includes(':') ? `[${p.IP}]:` : `${p.IP}:`) : '';
      return `${ip}${p.PublicPort}->${p.PrivatePort}/${p.Type}`;
    })
    .join(', ');
}

/** What `ps --format` templates see for one container (docker/cli's ContainerContext). */
export class ContainerContext {
  constructor(
    private readonly c: ContainerSummary,
    private readonly trunc: boolean,
  ) {}

  ID(): string {
    return this.trunc ? truncateId(this.c.Id) : this.c.Id;
  }

  Names(): string {
    const names = this.c.Names.map((n) => n.replace(/^\//, ''));
    // Truncated output leaves out link names (those with a slash inside).
    return (this.trunc ? names.filter((n) => !n.includes('/')) : names).join(',');
  }

  Image(): string {
    const image = this.c.Image || '<no image>';
    if (!this.trunc) return image;
    if (truncateId(image) === truncateId(this.c.ImageID)) return truncateId(image);
    return image.replace(/@sha256:[0-9a-f]{64}$/, '');
  }

  Command(): string {
    return quote(this.trunc ? ellipsis(this.c.Command, 20) : this.c.Command);
  }

  CreatedAt(): string {
    return goTimeString(this.c.Created);
  }

  RunningFor(): string {
    return timeAgo(this.c.Created * 1000);
  }

  Ports(): string {
    return displayPorts(this.c.Ports ?? []);
  }

  State(): string {
    return this.c.State;
  }

  Status(): string {
    return this.c.Status;
  }

  Size(): string {
    if (this.c.SizeRw === undefined && this.c.SizeRootFs === undefined) return '0B';
    const rw = humanSizeWithPrecision(this.c.SizeRw ?? 0, 3);
    return `${rw} (virtual ${humanSizeWithPrecision(this.c.SizeRootFs ?? 0, 3)})`;
  }

  Labels(): string {
    return Object.entries(this.c.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
  }

  Label(name: string): string {
    return this.c.Labels?.[name] ?? '';
  }

  Mounts(): string {
    return (this.c.Mounts ?? [])
      .map((m) => (this.trunc ? ellipsis(m.Name || m.Source, 15) : m.Name || m.Source))
      .join(',');
  }

  LocalVolumes(): string {
    return String((this.c.Mounts ?? []).filter((m) => m.Driver === 'local').length);
  }

  Networks(): string {
    return Object.keys(this.c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(',');
  }
}

const PS_HEADERS = {
  ID: HEADERS.ContainerID,
  Image: HEADERS.Image,
  Command: 'COMMAND',
  CreatedAt: HEADERS.CreatedAt,
  RunningFor: HEADERS.CreatedSince,
  Ports: HEADERS.Ports,
  State: HEADERS.State,
  Status: HEADERS.Status,
  Size: HEADERS.Size,
  Names: 'NAMES',
  Labels: HEADERS.Labels,
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
};

interface PsFlags {
  all?: boolean;
  filter?: string[];
  format?: string;
  last?: string;
  latest?: boolean;
  noTrunc?: boolean;
  quiet?: boolean;
  size?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function psCommand(ctx: CliContext, name = 'ps'): Command {
  return new Command(name)
    .description('List containers')
    .usage('[OPTIONS]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect)
    .option('--format <string>', 'Format output using a custom template')
    .option('-n, --last <int>', 'Show n last created containers (includes all states)')
    .option('-l, --latest', 'Show the latest created container (includes all states)')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only display container IDs')
    .option('-s, --size', 'Display total file sizes')
    .action(async (flags: PsFlags) => {
      const limit = flags.latest ? 1 : flags.last !== undefined ? Number(flags.last) : -1;
      const format = flags.format;
      const wantsSize = flags.size === true || (format !== undefined && format.includes('.Size'));
      const containers = await ctx.client().json<ContainerSummary[]>('GET', '/containers/json', {
        query: {
          all: flags.all ? 1 : undefined,
          limit: limit > 0 ? limit : undefined,
          size: wantsSize ? 1 : undefined,
          filters: filtersQuery(flags.filter),
        },
      });
      const trunc = flags.noTrunc !== false;
      const items = containers.map((c) => new ContainerContext(c, trunc));
      try {
        ctx.write(
          renderList(items, format, {
            defaultTable: flags.size ? `${DEFAULT_TABLE}\t{{.Size}}` : DEFAULT_TABLE,
            quiet: flags.quiet,
            headers: PS_HEADERS,
            typeName: '*formatter.ContainerContext',
          }),
        );
      } catch (err) {
        if (err instanceof TemplateError) throw new CliError(err.message);
        throw err;
      }
    });
}
