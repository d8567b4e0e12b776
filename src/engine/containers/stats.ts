/**
 * docker stats: Docker's StatsJSON from containerd's task metrics (cgroup v1
 * and v2 schemas), the host's /proc/stat and the container's own
 * /proc/<pid>/net/dev (its network namespace). Counters stay bigint from
 * containerd to the JSON text, so 64-bit values keep every digit.
 *
 * Unlike Docker, a non-streamed answer never waits for a second sample: its
 * precpu is the previous sample taken for the container when there is a
 * recent one, else the container's whole run (zero CPU at StartedAt), so CPU
 * percentages mean something at once.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { ContainerdClient } from '../../containerd/client.js';
import type { BlkioEntry, CgroupV1Metrics, CgroupV2Metrics } from '../../containerd/metrics.js';
import type { TaskMetricsData } from '../../containerd/services/tasks.js';
import type { ContainerEntry } from './entry.js';
import { ZERO_TIME, nowRfc3339Nano } from './record.js';

const NANOS_PER_SECOND = 1_000_000_000n;
/** USER_HZ: /proc/stat counts in these. */
const CLOCK_TICKS = 100n;
const STREAM_INTERVAL_MS = 1000;
/** A previous sample older than this is not used as precpu. */
const PREVIOUS_MAX_AGE_MS = 30_000;
/** Nor one younger than this (the delta would be noise). */
const PREVIOUS_MIN_AGE_MS = 100;

type Counter = bigint | number;

export interface CpuStatsJson {
  cpu_usage: {
    total_usage: Counter;
    percpu_usage?: Counter[];
    usage_in_kernelmode: Counter;
    usage_in_usermode: Counter;
  };
  system_cpu_usage?: Counter;
  online_cpus?: number;
  throttling_data: { periods: Counter; throttled_periods: Counter; throttled_time: Counter };
}

interface BlkioEntryJson {
  major: Counter;
  minor: Counter;
  op: string;
  value: Counter;
}

export interface StatsJson {
  read: string;
  preread: string;
  pids_stats: { current?: Counter; limit?: Counter };
  blkio_stats: Record<string, BlkioEntryJson[] | null>;
  num_procs: number;
  storage_stats: Record<string, never>;
  cpu_stats: CpuStatsJson;
  precpu_stats: CpuStatsJson;
  memory_stats: {
    usage?: Counter;
    max_usage?: Counter;
    stats?: Record<string, Counter>;
    failcnt?: Counter;
    limit?: Counter;
  };
  name: string;
  id: string;
  networks?: Record<string, Record<string, Counter>>;
}

export interface StatsContainers {
  entryOf(term: string): ContainerEntry;
}

export interface StatsServiceDeps {
  containerd: () => ContainerdClient;
  containers: StatsContainers;
}

interface Sample {
  at: number;
  read: string;
  cpu: CpuStatsJson;
}

/** JSON text with bigint values written as plain numbers (every digit kept). */
export function statsJsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? `\u0000${v}\u0000` : v,
  ).replace(/"\\u0000(-?\d+)\\u0000"/g, '$1');
}

const BLKIO_KEYS = [
  'io_service_bytes_recursive',
  'io_serviced_recursive',
  'io_queue_recursive',
  'io_service_time_recursive',
  'io_wait_time_recursive',
  'io_merged_recursive',
  'io_time_recursive',
  'sectors_recursive',
] as const;

function emptyBlkio(): Record<string, BlkioEntryJson[] | null> {
  return Object.fromEntries(BLKIO_KEYS.map((key) => [key, null]));
}

function emptyCpu(): CpuStatsJson {
  return {
    cpu_usage: { total_usage: 0, usage_in_kernelmode: 0, usage_in_usermode: 0 },
    throttling_data: { periods: 0, throttled_periods: 0, throttled_time: 0 },
  };
}

/** The zeroed document Docker answers for a container that does not run. */
export function emptyStats(name: string, id: string): StatsJson {
  return {
    read: ZERO_TIME,
    preread: ZERO_TIME,
    pids_stats: {},
    blkio_stats: emptyBlkio(),
    num_procs: 0,
    storage_stats: {},
    cpu_stats: emptyCpu(),
    precpu_stats: emptyCpu(),
    memory_stats: {},
    name,
    id,
  };
}

/** Host CPU time (Docker's system_cpu_usage, ns) and online CPUs, from /proc/stat. */
export function parseProcStat(text: string): { systemNanos: bigint; onlineCpus: number } {
  let systemNanos = 0n;
  let onlineCpus = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const fields = line.trim().split(/\s+/).slice(1, 8);
      const ticks = fields.reduce((sum, f) => sum + BigInt(f), 0n);
      systemNanos = (ticks * NANOS_PER_SECOND) / CLOCK_TICKS;
    } else if (/^cpu\d+ /.test(line)) onlineCpus++;
  }
  return { systemNanos, onlineCpus };
}

/** Interfaces of /proc/<pid>/net/dev (lo left out, as Docker does), counters as bigint. */
export function parseNetDev(text: string): Record<string, Record<string, bigint>> {
  const networks: Record<string, Record<string, bigint>> = {};
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map((v) => BigInt(v));
    if (f.length < 16) continue;
    networks[name] = {
      rx_bytes: f[0],
      rx_packets: f[1],
      rx_errors: f[2],
      rx_dropped: f[3],
      tx_bytes: f[8],
      tx_packets: f[9],
      tx_errors: f[10],
      tx_dropped: f[11],
    };
  }
  return networks;
}

function blkio(entries: BlkioEntry[] | undefined): BlkioEntryJson[] | null {
  if (!entries || entries.length === 0) return null;
  return entries.map((e) => ({ major: e.major, minor: e.minor, op: e.op, value: e.value }));
}

const V1_MEMORY_KEYS: [keyof NonNullable<CgroupV1Metrics['memory']>, string][] = [
  ['activeAnon', 'active_anon'],
  ['activeFile', 'active_file'],
  ['cache', 'cache'],
  ['dirty', 'dirty'],
  ['hierarchicalMemoryLimit', 'hierarchical_memory_limit'],
  ['hierarchicalSwapLimit', 'hierarchical_memsw_limit'],
  ['inactiveAnon', 'inactive_anon'],
  ['inactiveFile', 'inactive_file'],
  ['mappedFile', 'mapped_file'],
  ['pgFault', 'pgfault'],
  ['pgMajFault', 'pgmajfault'],
  ['pgPgIn', 'pgpgin'],
  ['pgPgOut', 'pgpgout'],
  ['rss', 'rss'],
  ['rssHuge', 'rss_huge'],
  ['totalActiveAnon', 'total_active_anon'],
  ['totalActiveFile', 'total_active_file'],
  ['totalCache', 'total_cache'],
  ['totalDirty', 'total_dirty'],
  ['totalInactiveAnon', 'total_inactive_anon'],
  ['totalInactiveFile', 'total_inactive_file'],
  ['totalMappedFile', 'total_mapped_file'],
  ['totalPgFault', 'total_pgfault'],
  ['totalPgMajFault', 'total_pgmajfault'],
  ['totalPgPgIn', 'total_pgpgin'],
  ['totalPgPgOut', 'total_pgpgout'],
  ['totalRss', 'total_rss'],
  ['totalRssHuge', 'total_rss_huge'],
  ['totalUnevictable', 'total_unevictable'],
  ['totalWriteback', 'total_writeback'],
  ['unevictable', 'unevictable'],
  ['writeback', 'writeback'],
];

/** camelCase field names of containerd's v2 memory stat to memory.stat's own names. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const V2_MEMORY_SKIP = new Set(['usage', 'usageLimit', 'swapUsage', 'swapLimit']);

/** The cgroup part of a sample, in Docker's shape (memory limit capped at the host's memory, as Docker does). */
export function fromMetrics(
  data: TaskMetricsData,
  hostMemory: bigint,
): Pick<StatsJson, 'pids_stats' | 'blkio_stats' | 'memory_stats'> & { cpu: CpuStatsJson } {
  const cap = (limit: bigint): bigint => (limit > 0n && limit < hostMemory ? limit : hostMemory);
  if (data.type === 'cgroups.v1') return fromV1(data.metrics, cap);
  if (data.type === 'cgroups.v2') return fromV2(data.metrics, cap);
  return { pids_stats: {}, blkio_stats: emptyBlkio(), memory_stats: {}, cpu: emptyCpu() };
}

function fromV1(m: CgroupV1Metrics, cap: (limit: bigint) => bigint) {
  const usage = m.cpu?.usage;
  const throttling = m.cpu?.throttling;
  const cpu: CpuStatsJson = {
    cpu_usage: {
      total_usage: usage?.total ?? 0n,
      percpu_usage: usage?.perCpu ?? [],
      usage_in_kernelmode: usage?.kernel ?? 0n,
      usage_in_usermode: usage?.user ?? 0n,
    },
    throttling_data: {
      periods: throttling?.periods ?? 0n,
      throttled_periods: throttling?.throttledPeriods ?? 0n,
      throttled_time: throttling?.throttledTime ?? 0n,
    },
  };
  const memory: StatsJson['memory_stats'] = {};
  if (m.memory) {
    const stats: Record<string, Counter> = {};
    for (const [field, key] of V1_MEMORY_KEYS) stats[key] = m.memory[field] as bigint;
    memory.usage = m.memory.usage?.usage ?? 0n;
    memory.max_usage = m.memory.usage?.max ?? 0n;
    memory.failcnt = m.memory.usage?.failcnt ?? 0n;
    memory.limit = cap(m.memory.usage?.limit ?? 0n);
    memory.stats = stats;
  }
  const b = m.blkio;
  const blkioStats: Record<string, BlkioEntryJson[] | null> = {
    io_service_bytes_recursive: blkio(b?.ioServiceBytesRecursive),
    io_serviced_recursive: blkio(b?.ioServicedRecursive),
    io_queue_recursive: blkio(b?.ioQueuedRecursive),
    io_service_time_recursive: blkio(b?.ioServiceTimeRecursive),
    io_wait_time_recursive: blkio(b?.ioWaitTimeRecursive),
    io_merged_recursive: blkio(b?.ioMergedRecursive),
    io_time_recursive: blkio(b?.ioTimeRecursive),
    sectors_recursive: blkio(b?.sectorsRecursive),
  };
  const pids: StatsJson['pids_stats'] = {};
  if (m.pids) {
    pids.current = m.pids.current;
    if (m.pids.limit > 0n) pids.limit = m.pids.limit;
  }
  return { pids_stats: pids, blkio_stats: blkioStats, memory_stats: memory, cpu };
}

function fromV2(m: CgroupV2Metrics, cap: (limit: bigint) => bigint) {
  const usec = (v: bigint | undefined): bigint => (v ?? 0n) * 1000n;
  const cpu: CpuStatsJson = {
    cpu_usage: {
      total_usage: usec(m.cpu?.usageUsec),
      usage_in_kernelmode: usec(m.cpu?.systemUsec),
      usage_in_usermode: usec(m.cpu?.userUsec),
    },
    throttling_data: {
      periods: m.cpu?.nrPeriods ?? 0n,
      throttled_periods: m.cpu?.nrThrottled ?? 0n,
      throttled_time: usec(m.cpu?.throttledUsec),
    },
  };
  const memory: StatsJson['memory_stats'] = {};
  if (m.memory) {
    const stats: Record<string, Counter> = {};
    for (const [field, value] of Object.entries(m.memory)) {
      if (!V2_MEMORY_SKIP.has(field)) stats[snakeCase(field)] = value as bigint;
    }
    memory.usage = m.memory.usage;
    memory.limit = cap(m.memory.usageLimit);
    // Docker's failcnt on v2: the oom count of memory.events.
    if (m.memoryEvents) memory.failcnt = m.memoryEvents.oom;
    memory.stats = stats;
  }
  // Docker reports bytes only on v2 (its other blkio lists stay empty).
  const serviceBytes: BlkioEntryJson[] = [];
  for (const u of m.io?.usage ?? []) {
    serviceBytes.push({ major: u.major, minor: u.minor, op: 'read', value: u.rbytes });
    serviceBytes.push({ major: u.major, minor: u.minor, op: 'write', value: u.wbytes });
  }
  const blkioStats = emptyBlkio();
  blkioStats.io_service_bytes_recursive = serviceBytes.length ? serviceBytes : null;
  const pids: StatsJson['pids_stats'] = {};
  if (m.pids) {
    pids.current = m.pids.current;
    if (m.pids.limit > 0n) pids.limit = m.pids.limit;
  }
  return { pids_stats: pids, blkio_stats: blkioStats, memory_stats: memory, cpu };
}

export class StatsService {
  /** The last sample of each container: the precpu of its next one. */
  private readonly previous = new WeakMap<ContainerEntry, Sample>();
  private readonly hostMemory = BigInt(os.totalmem());

  constructor(private readonly deps: StatsServiceDeps) {}

  /** One sample of a container now (zeroed when it does not run). */
  async sample(term: string): Promise<StatsJson> {
    const entry = this.deps.containers.entryOf(term);
    return this.sampleEntry(entry);
  }

  /**
   * A sample; its precpu is `chain.previous` for a stream (Docker's: the
   * stream's previous sample), else the container's last recent sample.
   */
  private async sampleEntry(entry: ContainerEntry, chain?: { previous?: Sample }): Promise<StatsJson> {
    const c = entry.c;
    const state = c.State;
    if (!state.Running || state.Restarting) return emptyStats(c.Name, c.ID);
    const [metrics, procStat, networks] = await Promise.all([
      this.deps.containerd().tasks.metrics([c.ID]),
      fs.readFile('/proc/stat', 'utf8'),
      this.networksOf(entry),
    ]);
    const now = Date.now();
    const read = nowRfc3339Nano();
    const host = parseProcStat(procStat);
    const cgroup = metrics[0]
      ? fromMetrics(metrics[0].data, this.hostMemory)
      : fromMetrics({ type: 'unknown', any: { typeUrl: '', value: Buffer.alloc(0) } }, this.hostMemory);
    const cpu: CpuStatsJson = {
      ...cgroup.cpu,
      system_cpu_usage: host.systemNanos,
      online_cpus: host.onlineCpus,
    };
    const before = chain ? chain.previous : this.previous.get(entry);
    const usable = (age: number): boolean =>
      chain !== undefined || (age >= PREVIOUS_MIN_AGE_MS && age <= PREVIOUS_MAX_AGE_MS);
    let precpu: CpuStatsJson;
    let preread: string;
    if (before && usable(now - before.at)) {
      precpu = before.cpu;
      preread = before.read;
    } else {
      // The whole run so far: no CPU used at start, and the host's CPU time since then.
      const runNanos = BigInt(Math.max(0, now - Date.parse(state.StartedAt))) * 1_000_000n;
      precpu = {
        ...emptyCpu(),
        system_cpu_usage: host.systemNanos - runNanos * BigInt(host.onlineCpus),
        online_cpus: host.onlineCpus,
      };
      preread = state.StartedAt;
    }
    const sample = { at: now, read, cpu };
    if (chain) chain.previous = sample;
    if (!before || now - before.at >= PREVIOUS_MIN_AGE_MS) this.previous.set(entry, sample);
    const stats: StatsJson = {
      read,
      preread,
      pids_stats: cgroup.pids_stats,
      blkio_stats: cgroup.blkio_stats,
      num_procs: 0,
      storage_stats: {},
      cpu_stats: cpu,
      precpu_stats: precpu,
      memory_stats: cgroup.memory_stats,
      name: c.Name,
      id: c.ID,
    };
    if (networks) stats.networks = networks;
    return stats;
  }

  /** The container's interfaces, read in its network namespace; none for host networking. */
  private async networksOf(
    entry: ContainerEntry,
  ): Promise<Record<string, Record<string, bigint>> | undefined> {
    const mode = entry.c.HostConfig.NetworkMode ?? '';
    if (mode === 'host' || mode === 'none') return undefined;
    try {
      const networks = parseNetDev(await fs.readFile(`/proc/${entry.c.State.Pid}/net/dev`, 'utf8'));
      return Object.keys(networks).length > 0 ? networks : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Samples every second until the container stops or is removed, or the
   * signal aborts. A container that does not run gets one zeroed sample.
   */
  async *stream(term: string, signal?: AbortSignal): AsyncGenerator<StatsJson> {
    const entry = this.deps.containers.entryOf(term);
    let stopped = !entry.c.State.Running;
    let wake: (() => void) | undefined;
    const onStop = (): void => {
      stopped = true;
      wake?.();
    };
    const onAbort = (): void => wake?.();
    entry.changes.on('stopped', onStop);
    entry.changes.on('removed', onStop);
    signal?.addEventListener('abort', onAbort);
    const chain: { previous?: Sample } = {};
    try {
      for (;;) {
        yield await this.sampleEntry(entry, chain);
        if (stopped || signal?.aborted) return;
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          timer = setTimeout(resolve, STREAM_INTERVAL_MS);
        });
        clearTimeout(timer);
        if (stopped || signal?.aborted) return;
      }
    } finally {
      entry.changes.off('stopped', onStop);
      entry.changes.off('removed', onStop);
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
