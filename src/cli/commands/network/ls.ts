import { Command } from 'commander';
import { CliError, type CliContext } from '../../context.js';
import { HEADERS, renderList } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import type { Network } from '../../../types/network.js';
import { naturalCompare } from '../volume/shared.js';
import { collect, filtersJSON } from '../options.js';
import { goTimeFromRfc3339 } from './options.js';

/** What `docker network ls --format` templates see (docker/cli's networkContext). */
export class NetworkContext {
  constructor(
    private readonly n: Network,
    private readonly trunc: boolean,
  ) {}
  ID(): string {
    return this.trunc ? this.n.Id.slice(0, 12) : this.n.Id;
  }
  Name(): string {
    return this.n.Name;
  }
  Driver(): string {
    return this.n.Driver;
  }
  Scope(): string {
    return this.n.Scope;
  }
  IPv4(): string {
    return String(this.n.EnableIPv4 ?? true);
  }
  IPv6(): string {
    return String(this.n.EnableIPv6);
  }
  Internal(): string {
    return String(this.n.Internal);
  }
  Labels(): string {
    return Object.entries(this.n.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(',');
  }
  Label(name: string): string {
    return this.n.Labels?.[name] ?? '';
  }
  CreatedAt(): string {
    return goTimeFromRfc3339(this.n.Created);
  }
}

export const NETWORK_HEADERS = {
  ID: 'NETWORK ID',
  Name: HEADERS.Name,
  Driver: HEADERS.Driver,
  Scope: HEADERS.Scope,
  IPv4: 'IPV4',
  IPv6: 'IPV6',
  Internal: 'INTERNAL',
  Labels: HEADERS.Labels,
  CreatedAt: HEADERS.CreatedAt,
};

export const DEFAULT_NETWORK_TABLE = 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}';

interface ListFlags {
  quiet?: boolean;
  noTrunc?: boolean;
  format?: string;
  filter: string[];
}

/** Networks as `docker network ls` prints them, in natural name order. */
export function renderNetworks(networks: readonly Network[], flags: Omit<ListFlags, 'filter'>): string {
  const sorted = [...networks].sort((a, b) => naturalCompare(a.Name, b.Name));
  try {
    return renderList(
      sorted.map((n) => new NetworkContext(n, !flags.noTrunc)),
      flags.format,
      {
        defaultTable: DEFAULT_NETWORK_TABLE,
        quiet: flags.quiet && (!flags.format || flags.format === 'table'),
        headers: NETWORK_HEADERS,
        typeName: '*network.networkContext',
      },
    );
  } catch (err) {
    if (err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
}

export function networkListCommand(ctx: CliContext): Command {
  return new Command('ls')
    .alias('list')
    .description('List networks')
    .usage('[OPTIONS]')
    .option('-q, --quiet', 'Only display network IDs')
    .option('--no-trunc', 'Do not truncate the output')
    .option('--format <string>', 'Format output using a custom template')
    .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collect, [])
    .action(async (flags: ListFlags & { trunc?: boolean }) => {
      const networks = await ctx
        .client()
        .json<Network[]>('GET', '/networks', { query: { filters: filtersJSON(flags.filter) } });
      ctx.write(renderNetworks(networks, { ...flags, noTrunc: flags.trunc === false }));
    });
}
