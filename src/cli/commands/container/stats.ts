import { Command } from 'commander';
import type { IncomingMessage } from 'node:http';
import type { ContainerSummary } from '../../../types/container.js';
import { DaemonError, type ApiClient } from '../../client/api-client.js';
import { CliError, ExitStatus, type CliContext } from '../../context.js';
import { renderList } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import { bytesSize, humanSizeWithPrecision } from '../../format/units.js';

interface StatsFlags {
  all?: boolean;
  noStream?: boolean;
  noTrunc?: boolean;
  format?: string;
}

/** The parts of Docker's stats JSON the table uses (numbers: the CLI needs no 64-bit precision). */
export interface StatsSample {
  read: string;
  name?: string;
  id?: string;
  pids_stats?: { current?: number };
  cpu_stats?: CpuSample;
  precpu_stats?: CpuSample;
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  blkio_stats?: { io_service_bytes_recursive?: { op: string; value: number }[] | null };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

interface CpuSample {
  cpu_usage?: { total_usage?: number; percpu_usage?: number[] };
  system_cpu_usage?: number;
  online_cpus?: number;
}

/** What one row shows, computed as docker/cli does. */
export interface StatsValues {
  cpuPercent: number;
  memory: number;
  memoryLimit: number;
  memoryPercent: number;
  netRx: number;
  netTx: number;
  blockRead: number;
  blockWrite: number;
  pids: number;
}

/** docker/cli's calculateCPUPercentUnix: the container's share of the host's CPU time, times the CPUs. */
export function cpuPercent(sample: StatsSample): number {
  const cpu = sample.cpu_stats;
  const pre = sample.precpu_stats;
  const cpuDelta = (cpu?.cpu_usage?.total_usage ?? 0) - (pre?.cpu_usage?.total_usage ?? 0);
  const systemDelta = (cpu?.system_cpu_usage ?? 0) - (pre?.system_cpu_usage ?? 0);
  const cpus = cpu?.online_cpus || cpu?.cpu_usage?.percpu_usage?.length || 0;
  return systemDelta > 0 && cpuDelta > 0 ? (cpuDelta / systemDelta) * cpus * 100 : 0;
}

/** Memory in use without the page cache that can be dropped (cgroup v1 total_inactive_file, v2 inactive_file). */
export function memoryUsage(sample: StatsSample): number {
  const memory = sample.memory_stats;
  const usage = memory?.usage ?? 0;
  const stats = memory?.stats ?? {};
  const inactive = 'total_inactive_file' in stats ? stats.total_inactive_file : stats.inactive_file;
  return inactive !== undefined && inactive < usage ? usage - inactive : usage;
}

export function statsValues(sample: StatsSample): StatsValues {
  let netRx = 0;
  let netTx = 0;
  for (const network of Object.values(sample.networks ?? {})) {
    netRx += network.rx_bytes;
    netTx += network.tx_bytes;
  }
  let blockRead = 0;
  let blockWrite = 0;
  for (const entry of sample.blkio_stats?.io_service_bytes_recursive ?? []) {
    const op = entry.op.toLowerCase();
    if (op === 'read') blockRead += entry.value;
    else if (op === 'write') blockWrite += entry.value;
  }
  const memory = memoryUsage(sample);
  const memoryLimit = sample.memory_stats?.limit ?? 0;
  return {
    cpuPercent: cpuPercent(sample),
    memory,
    memoryLimit,
    memoryPercent: memoryLimit > 0 ? (memory / memoryLimit) * 100 : 0,
    netRx,
    netTx,
    blockRead,
    blockWrite,
    pids: sample.pids_stats?.current ?? 0,
  };
}

/** What `docker stats --format` templates see (docker/cli's statsContext). */
export class StatsContext {
  constructor(
    private readonly container: string,
    private readonly id: string,
    private readonly name: string,
    private readonly values: StatsValues | undefined,
    private readonly trunc: boolean,
  ) {}
  Container(): string {
    return this.container;
  }
  Name(): string {
    return this.name.replace(/^\//, '') || '--';
  }
  ID(): string {
    return this.trunc ? this.id.slice(0, 12) : this.id;
  }
  CPUPerc(): string {
    return this.values ? `${this.values.cpuPercent.toFixed(2)}%` : '--';
  }
  MemUsage(): string {
    return this.values
      ? `${bytesSize(this.values.memory)} / ${bytesSize(this.values.memoryLimit)}`
      : '-- / --';
  }
  MemPerc(): string {
    return this.values ? `${this.values.memoryPercent.toFixed(2)}%` : '--';
  }
  NetIO(): string {
    const v = this.values;
    return v ? `${humanSizeWithPrecision(v.netRx, 3)} / ${humanSizeWithPrecision(v.netTx, 3)}` : '--';
  }
  BlockIO(): string {
    const v = this.values;
    return v
      ? `${humanSizeWithPrecision(v.blockRead, 3)} / ${humanSizeWithPrecision(v.blockWrite, 3)}`
      : '--';
  }
  PIDs(): string {
    return this.values ? String(this.values.pids) : '--';
  }
}

export const STATS_HEADERS = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
};

export const DEFAULT_STATS_TABLE =
  'table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}';

/** One watched container: its latest numbers. */
interface Watched {
  /** As the user named it (or the ID when listing). */
  container: string;
  id: string;
  name: string;
  values?: StatsValues;
  stop?: () => void;
}

export function renderStats(rows: readonly Watched[], format: string | undefined, trunc: boolean): string {
  try {
    return renderList(
      rows.map((r) => new StatsContext(r.container, r.id, r.name, r.values, trunc)),
      format,
      { defaultTable: DEFAULT_STATS_TABLE, headers: STATS_HEADERS, typeName: '*formatter.statsContext' },
    );
  } catch (err) {
    if (err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
}

/** Reads newline-delimited JSON documents from a streamed response. */
function followSamples(body: IncomingMessage, onSample: (sample: StatsSample) => void): void {
  let pending = '';
  body.setEncoding('utf8');
  body.on('data', (text: string) => {
    pending += text;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) onSample(JSON.parse(line) as StatsSample);
    }
  });
  body.on('error', () => undefined);
}

async function oneSample(api: ApiClient, container: string): Promise<StatsSample> {
  const res = await api.request('GET', `/containers/${encodeURIComponent(container)}/stats`, {
    query: { stream: false },
  });
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as StatsSample;
}

/** Containers the table shows when none are named: running ones, or all with -a. */
async function listContainers(api: ApiClient, all: boolean): Promise<ContainerSummary[]> {
  return api.json<ContainerSummary[]>('GET', '/containers/json', { query: { all: all || undefined } });
}

export function statsCommand(ctx: CliContext): Command {
  return new Command('stats')
    .description('Display a live stream of container(s) resource usage statistics')
    .usage('[OPTIONS] [CONTAINER...]')
    .argument('[containers...]')
    .option('-a, --all', 'Show all containers (default shows just running)')
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-stream', 'Disable streaming stats and only pull the first result')
    .option('--no-trunc', 'Do not truncate output')
    .action(async (names: string[], flags: StatsFlags & { stream?: boolean; trunc?: boolean }) => {
      const api = ctx.client();
      const trunc = flags.trunc !== false;
      const named = names.length > 0;
      const watched: Watched[] = named
        ? names.map((name) => ({ container: name, id: name, name: '' }))
        : (await listContainers(api, flags.all === true)).map((c) => ({
            container: c.Id.slice(0, 12),
            id: c.Id,
            name: c.Names[0] ?? '',
          }));

      if (flags.stream === false) {
        const failures: string[] = [];
        await Promise.all(
          watched.map(async (row) => {
            try {
              const sample = await oneSample(api, row.id);
              row.values = statsValues(sample);
              row.id = sample.id || row.id;
              row.name = sample.name ?? row.name;
            } catch (err) {
              failures.push(
                err instanceof DaemonError ? `Error response from daemon: ${err.message}` : String(err),
              );
            }
          }),
        );
        if (failures.length > 0) {
          ctx.err.write(failures.join('\n') + '\n');
          throw new ExitStatus(1);
        }
        ctx.write(renderStats(watched, flags.format, trunc));
        return;
      }
      await liveStats(ctx, api, watched, { named, all: flags.all === true, format: flags.format, trunc });
    });
}

/** Follows every watched container's stream and redraws the table every second until interrupted. */
async function liveStats(
  ctx: CliContext,
  api: ApiClient,
  watched: Watched[],
  options: { named: boolean; all: boolean; format?: string; trunc: boolean },
): Promise<void> {
  const tty = (ctx.out as NodeJS.WriteStream).isTTY === true;
  const follow = (row: Watched): void => {
    let closed = false;
    row.stop = () => {
      closed = true;
    };
    void api
      .request('GET', `/containers/${encodeURIComponent(row.id)}/stats`, { query: { stream: true } })
      .then((res) => {
        if (closed) return res.body.destroy();
        row.stop = () => res.body.destroy();
        followSamples(res.body, (sample) => {
          row.values = statsValues(sample);
          row.id = sample.id || row.id;
          row.name = sample.name ?? row.name;
        });
      })
      .catch((err: unknown) => {
        if (options.named) {
          ctx.err.write(
            `${err instanceof DaemonError ? `Error response from daemon: ${err.message}` : String(err)}\n`,
          );
          process.exitCode = 1;
        }
      });
  };
  watched.forEach(follow);
  let first = true;
  const draw = async (): Promise<void> => {
    if (!options.named) {
      // New containers join the table, gone ones leave it.
      const current = await listContainers(api, options.all).catch(() => undefined);
      if (current) {
        const ids = new Set(current.map((c) => c.Id));
        for (const row of watched.filter((r) => !ids.has(r.id))) row.stop?.();
        watched.splice(0, watched.length, ...watched.filter((r) => ids.has(r.id)));
        for (const c of current) {
          if (watched.some((r) => r.id === c.Id)) continue;
          const row: Watched = { container: c.Id.slice(0, 12), id: c.Id, name: c.Names[0] ?? '' };
          watched.push(row);
          follow(row);
        }
      }
    }
    const table = renderStats(watched, options.format, options.trunc);
    if (!tty) {
      ctx.write(table);
      return;
    }
    // Home, each line cleared to its end, then the rest of the screen: no flicker.
    const lines = table.replace(/\n$/, '').split('\n');
    ctx.write((first ? '\x1b[2J' : '') + '\x1b[H' + lines.map((l) => `${l}\x1b[K`).join('\n') + '\n\x1b[J');
    first = false;
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => void draw().catch(() => undefined), 1000);
    const stop = (): void => {
      clearInterval(timer);
      for (const row of watched) row.stop?.();
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    setTimeout(() => void draw().catch(() => undefined), 200);
  });
}
