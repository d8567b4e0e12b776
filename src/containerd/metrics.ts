/**
 * Task metrics as containerd reports them (decoded from the Any in
 * Tasks.Metrics). Counters are bigint: memory limits use the full uint64 range.
 */

/** io.containerd.cgroups.v1.Metrics (v1 and hybrid hosts). CPU times in nanoseconds. */
export interface CgroupV1Metrics {
  hugetlb: { usage: bigint; max: bigint; failcnt: bigint; pagesize: string }[];
  pids?: { current: bigint; limit: bigint };
  cpu?: {
    usage?: { total: bigint; kernel: bigint; user: bigint; perCpu: bigint[] };
    throttling?: { periods: bigint; throttledPeriods: bigint; throttledTime: bigint };
  };
  memory?: CgroupV1MemoryStat;
  blkio?: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
    ioQueuedRecursive: BlkioEntry[];
    ioServiceTimeRecursive: BlkioEntry[];
    ioWaitTimeRecursive: BlkioEntry[];
    ioMergedRecursive: BlkioEntry[];
    ioTimeRecursive: BlkioEntry[];
    sectorsRecursive: BlkioEntry[];
  };
  network: {
    name: string;
    rxBytes: bigint;
    rxPackets: bigint;
    rxErrors: bigint;
    rxDropped: bigint;
    txBytes: bigint;
    txPackets: bigint;
    txErrors: bigint;
    txDropped: bigint;
  }[];
  memoryOomControl?: { oomKillDisable: bigint; underOom: bigint; oomKill: bigint };
}

export interface BlkioEntry {
  op: string;
  device: string;
  major: bigint;
  minor: bigint;
  value: bigint;
}

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface CgroupV1MemoryStat {
  cache: bigint;
  rss: bigint;
  rssHuge: bigint;
  mappedFile: bigint;
  dirty: bigint;
  writeback: bigint;
  pgPgIn: bigint;
  pgPgOut: bigint;
  pgFault: bigint;
  pgMajFault: bigint;
  inactiveAnon: bigint;
  activeAnon: bigint;
  inactiveFile: bigint;
  activeFile: bigint;
  unevictable: bigint;
  hierarchicalMemoryLimit: bigint;
  hierarchicalSwapLimit: bigint;
  totalCache: bigint;
  totalRss: bigint;
  totalRssHuge: bigint;
  totalMappedFile: bigint;
  totalDirty: bigint;
  totalWriteback: bigint;
  totalPgPgIn: bigint;
  totalPgPgOut: bigint;
  totalPgFault: bigint;
  totalPgMajFault: bigint;
  totalInactiveAnon: bigint;
  totalActiveAnon: bigint;
  totalInactiveFile: bigint;
  totalActiveFile: bigint;
  totalUnevictable: bigint;
  usage?: MemoryEntry;
  swap?: MemoryEntry;
  kernel?: MemoryEntry;
  kernelTcp?: MemoryEntry;
}

/** io.containerd.cgroups.v2.Metrics (unified hosts). CPU times in microseconds. */
export interface CgroupV2Metrics {
  pids?: { current: bigint; limit: bigint };
  cpu?: {
    usageUsec: bigint;
    userUsec: bigint;
    systemUsec: bigint;
    nrPeriods: bigint;
    nrThrottled: bigint;
    throttledUsec: bigint;
  };
  memory?: CgroupV2MemoryStat;
  io?: {
    usage: { major: bigint; minor: bigint; rbytes: bigint; wbytes: bigint; rios: bigint; wios: bigint }[];
  };
  hugetlb: { current: bigint; max: bigint; pagesize: string }[];
  memoryEvents?: { low: bigint; high: bigint; max: bigint; oom: bigint; oomKill: bigint };
}

export interface CgroupV2MemoryStat {
  anon: bigint;
  file: bigint;
  kernelStack: bigint;
  slab: bigint;
  sock: bigint;
  shmem: bigint;
  fileMapped: bigint;
  fileDirty: bigint;
  fileWriteback: bigint;
  anonThp: bigint;
  inactiveAnon: bigint;
  activeAnon: bigint;
  inactiveFile: bigint;
  activeFile: bigint;
  unevictable: bigint;
  slabReclaimable: bigint;
  slabUnreclaimable: bigint;
  pgfault: bigint;
  pgmajfault: bigint;
  workingsetRefault: bigint;
  workingsetActivate: bigint;
  workingsetNodereclaim: bigint;
  pgrefill: bigint;
  pgscan: bigint;
  pgsteal: bigint;
  pgactivate: bigint;
  pgdeactivate: bigint;
  pglazyfree: bigint;
  pglazyfreed: bigint;
  thpFaultAlloc: bigint;
  thpCollapseAlloc: bigint;
  usage: bigint;
  usageLimit: bigint;
  swapUsage: bigint;
  swapLimit: bigint;
}
