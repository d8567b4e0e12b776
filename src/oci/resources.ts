/**
 * cgroup resources and rlimits from a container's HostConfig, with Docker's
 * validation of the values.
 */
import { statSync } from 'node:fs';
import { invalidParameter } from '../common/errors.js';
import type { Resources, ThrottleDevice, Ulimit, WeightDevice } from '../types/container.js';
import { splitDeviceNumber } from './devices.js';
import type {
  OciBlockIO,
  OciCpu,
  OciMemory,
  OciResources,
  OciRlimit,
  OciThrottleDevice,
  OciWeightDevice,
} from './types.js';

/** The CFS period NanoCpus is expressed against: 100 ms. */
export const CFS_PERIOD_US = 100_000;
const MIN_MEMORY = 6 * 1024 * 1024;
/** RLIM_INFINITY. */
export const RLIM_INFINITY = 0xffff_ffff_ffff_ffffn;
/** The kernel's default fs.nr_open, the ceiling for RLIMIT_NOFILE. */
const NOFILE_CEILING = 1_048_576;

export interface ResourceOptions {
  /** Whether the host accounts swap (memory.memsw / memory.swap.max); default true. */
  swapLimit?: boolean;
}

export function memoryResources(r: Resources, options: ResourceOptions = {}): OciMemory | undefined {
  const memory: OciMemory = {};
  if ((r.Memory ?? 0) > 0) memory.limit = r.Memory;
  if ((r.MemoryReservation ?? 0) > 0) memory.reservation = r.MemoryReservation;
  if (options.swapLimit !== false) {
    if ((r.MemorySwap ?? 0) > 0) memory.swap = r.MemorySwap;
    // Docker's default when only Memory is set: as much swap as memory.
    else if ((r.MemorySwap ?? 0) === 0 && (r.Memory ?? 0) > 0) memory.swap = r.Memory! * 2;
  }
  if (r.MemorySwappiness !== undefined && r.MemorySwappiness !== null && r.MemorySwappiness >= 0) {
    memory.swappiness = r.MemorySwappiness;
  }
  if (r.OomKillDisable !== undefined && r.OomKillDisable !== null) memory.disableOOMKiller = r.OomKillDisable;
  if (r.KernelMemoryTCP) memory.kernelTCP = r.KernelMemoryTCP;
  return Object.keys(memory).length > 0 ? memory : undefined;
}

export function cpuResources(r: Resources): OciCpu | undefined {
  const cpu: OciCpu = {};
  if ((r.CpuShares ?? 0) > 0) cpu.shares = r.CpuShares;
  if (r.CpusetCpus) cpu.cpus = r.CpusetCpus;
  if (r.CpusetMems) cpu.mems = r.CpusetMems;
  if ((r.NanoCpus ?? 0) > 0) {
    cpu.period = CFS_PERIOD_US;
    cpu.quota = Math.trunc((r.NanoCpus! * CFS_PERIOD_US) / 1e9);
  }
  if (r.CpuPeriod) cpu.period = r.CpuPeriod;
  if (r.CpuQuota) cpu.quota = r.CpuQuota;
  if (r.CpuRealtimePeriod) cpu.realtimePeriod = r.CpuRealtimePeriod;
  if (r.CpuRealtimeRuntime) cpu.realtimeRuntime = r.CpuRealtimeRuntime;
  return Object.keys(cpu).length > 0 ? cpu : undefined;
}

/** null leaves the limit alone; 0 or less means unlimited (-1 for runc). */
export function pidsLimit(r: Resources): { limit: number } | undefined {
  if (r.PidsLimit === undefined || r.PidsLimit === null) return undefined;
  return { limit: r.PidsLimit > 0 ? r.PidsLimit : -1 };
}

function blockDeviceNumbers(devicePath: string | undefined): { major: number; minor: number } {
  try {
    const info = statSync(devicePath ?? '', { bigint: true });
    if (!info.isBlockDevice() && !info.isCharacterDevice()) throw new Error('not a device');
    return splitDeviceNumber(info.rdev);
  } catch {
    throw invalidParameter(`invalid device path ${devicePath ?? ''}: not a device node`);
  }
}

const throttle = (devices: ThrottleDevice[] | null | undefined): OciThrottleDevice[] =>
  (devices ?? []).map((d) => ({ ...blockDeviceNumbers(d.Path), rate: d.Rate ?? 0 }));

export function blockIOResources(r: Resources): OciBlockIO | undefined {
  const io: OciBlockIO = {};
  if ((r.BlkioWeight ?? 0) > 0) io.weight = r.BlkioWeight;
  const weights: OciWeightDevice[] = (r.BlkioWeightDevice ?? []).map((d: WeightDevice) => ({
    ...blockDeviceNumbers(d.Path),
    weight: d.Weight ?? 0,
  }));
  if (weights.length > 0) io.weightDevice = weights;
  const limits: [keyof OciBlockIO, ThrottleDevice[] | null | undefined][] = [
    ['throttleReadBpsDevice', r.BlkioDeviceReadBps],
    ['throttleWriteBpsDevice', r.BlkioDeviceWriteBps],
    ['throttleReadIOPSDevice', r.BlkioDeviceReadIOps],
    ['throttleWriteIOPSDevice', r.BlkioDeviceWriteIOps],
  ];
  for (const [key, devices] of limits) {
    const list = throttle(devices);
    if (list.length > 0) (io as Record<string, unknown>)[key] = list;
  }
  return Object.keys(io).length > 0 ? io : undefined;
}

/**
 * The cgroup limits of a container (without device rules, which depend on the
 * device mappings). Also what `docker update` sends to a running container.
 */
export function containerResources(r: Resources, options: ResourceOptions = {}): OciResources {
  const resources: OciResources = {};
  const memory = memoryResources(r, options);
  if (memory) resources.memory = memory;
  const cpu = cpuResources(r);
  if (cpu) resources.cpu = cpu;
  const pids = pidsLimit(r);
  if (pids) resources.pids = pids;
  const blockIO = blockIOResources(r);
  if (blockIO) resources.blockIO = blockIO;
  return resources;
}

export interface ResourceCheckOptions {
  /** CPUs on the host, bounding NanoCpus. */
  ncpu: number;
  /** True for `docker update`, where Memory may stay unset while MemorySwap changes. */
  update?: boolean;
}

/**
 * Docker's checks of resource values, with its messages: throws an
 * InvalidParameter error for contradictory or out-of-range values, returns
 * warnings for values that are accepted but probably not what was meant.
 */
export function validateResources(r: Resources, options: ResourceCheckOptions): string[] {
  const warnings: string[] = [];
  const memory = r.Memory ?? 0;
  const swap = r.MemorySwap ?? 0;
  const reservation = r.MemoryReservation ?? 0;
  const nano = r.NanoCpus ?? 0;
  const fail = (message: string) => {
    throw invalidParameter(message);
  };

  if (memory !== 0 && memory < MIN_MEMORY) fail('Minimum memory limit allowed is 6MB');
  if (memory > 0 && swap > 0 && swap < memory)
    fail('Minimum memoryswap limit should be larger than memory limit, see usage');
  if (memory === 0 && swap > 0 && !options.update)
    fail('You should always set the Memory limit when using Memoryswap limit, see usage');
  const swappiness = r.MemorySwappiness;
  if (
    swappiness !== undefined &&
    swappiness !== null &&
    swappiness !== -1 &&
    (swappiness < 0 || swappiness > 100)
  ) {
    fail(`Invalid value: ${swappiness}, valid memory swappiness range is 0-100`);
  }
  if (reservation > 0 && reservation < MIN_MEMORY) fail('Minimum memory reservation allowed is 6MB');
  if (memory > 0 && reservation > 0 && memory < reservation) {
    fail('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  if ((r.KernelMemory ?? 0) > 0)
    warnings.push('Specifying a kernel memory limit is deprecated and will be removed in a future release.');
  if (r.OomKillDisable && memory === 0) {
    warnings.push(
      'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
    );
  }

  if (nano > 0 && (r.CpuPeriod ?? 0) > 0)
    fail('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  if (nano > 0 && (r.CpuQuota ?? 0) > 0)
    fail('Conflicting options: Nano CPUs and CPU Quota cannot both be set');
  if (nano < 0 || nano > options.ncpu * 1e9) {
    fail(
      `Range of CPUs is from 0.01 to ${options.ncpu}.00, as there are only ${options.ncpu} CPUs available`,
    );
  }
  if ((r.CpuShares ?? 0) < 0) fail('shares: invalid argument');
  const period = r.CpuPeriod ?? 0;
  if (period !== 0 && (period < 1000 || period > 1_000_000)) {
    fail('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
  }
  const quota = r.CpuQuota ?? 0;
  if (quota > 0 && quota < 1000) fail('CPU cfs quota can not be less than 1ms (i.e. 1000)');
  if ((r.CpuPercent ?? 0) > 0) warnings.push('linux does not support CPU percent. Percent discarded.');

  const weight = r.BlkioWeight ?? 0;
  if (weight > 0 && (weight < 10 || weight > 1000)) fail('Range of blkio weight is from 10 to 1000');
  if ((r.IOMaximumBandwidth ?? 0) !== 0 || (r.IOMaximumIOps ?? 0) !== 0) {
    fail('Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps');
  }
  return warnings;
}

/** The resource limits `ulimit`/`--ulimit` knows, by lowercase name. */
// prettier-ignore
export const ULIMIT_NAMES: readonly string[] = [
  'as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice',
  'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack',
];

/** A ulimit value as an rlimit: negative means unlimited. */
const rlimitValue = (value: number): number | bigint => (value < 0 ? RLIM_INFINITY : value);

/**
 * The container's rlimits: RLIMIT_NOFILE defaults to 1024 soft and the host's
 * hard limit (at most fs.nr_open's default) hard; HostConfig.Ulimits override
 * by name. A NOFILE limit above the host's hard limit is refused: the runtime
 * could not grant it, and asking would fail the start.
 */
export function containerRlimits(
  ulimits: readonly Ulimit[] | null | undefined,
  hostNofileHard: number,
): OciRlimit[] {
  const nofileHard = Math.min(hostNofileHard, NOFILE_CEILING);
  const byType = new Map<string, OciRlimit>([
    ['RLIMIT_NOFILE', { type: 'RLIMIT_NOFILE', soft: Math.min(1024, nofileHard), hard: nofileHard }],
  ]);
  for (const ulimit of ulimits ?? []) {
    const name = (ulimit.Name ?? '').toLowerCase();
    if (!ULIMIT_NAMES.includes(name)) throw invalidParameter(`invalid ulimit type: ${ulimit.Name}`);
    const soft = Number(ulimit.Soft);
    const hard = Number(ulimit.Hard);
    if (!Number.isInteger(soft) || !Number.isInteger(hard))
      throw invalidParameter(`invalid ulimit value for ${name}`);
    if (hard >= 0 && (soft < 0 || soft > hard)) {
      throw invalidParameter(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    }
    if (name === 'nofile') {
      for (const [which, value] of [
        ['soft', soft],
        ['hard', hard],
      ] as const) {
        if (value < 0 || value > hostNofileHard) {
          const shown = value < 0 ? 'unlimited' : String(value);
          throw invalidParameter(
            `ulimit nofile ${which} limit ${shown} exceeds the host's hard limit of ${hostNofileHard} open files`,
          );
        }
      }
    }
    const type = `RLIMIT_${name.toUpperCase()}`;
    byType.set(type, { type, soft: rlimitValue(soft), hard: rlimitValue(hard) });
  }
  return [...byType.values()];
}
