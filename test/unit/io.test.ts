/** Container I/O pieces without a daemon: detach keys, websocket framing, stats conversion and arithmetic, healthcheck rules. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import protobuf from 'protobufjs';
import { DetachKeyScanner, parseDetachKeys } from '../../src/engine/containers/detach-keys.js';
import { FrameDecoder, encodeFrame, websocketAcceptKey } from '../../src/api/router/container/websocket.js';
import {
  emptyStats,
  fromMetrics,
  parseNetDev,
  parseProcStat,
  statsJsonText,
} from '../../src/engine/containers/stats.js';
import type { CgroupV1Metrics, CgroupV2Metrics } from '../../src/containerd/metrics.js';
import { decodeAny } from '../../src/containerd/any.js';
import {
  applyResult,
  nextProbeDelay,
  probeCommand,
  probeTimings,
  validateHealthcheck,
} from '../../src/engine/containers/health.js';
import { mergeHealthcheck } from '../../src/oci/command.js';
import {
  StatsContext,
  cpuPercent,
  memoryUsage,
  statsValues,
  type StatsSample,
} from '../../src/cli/commands/container/stats.js';
import type { HealthStatus, HealthcheckResult } from '../../src/types/container.js';

/**
 * containerd's own io.containerd.cgroups.v2 proto, from Debian's package,
 * fetched into a temporary directory (the project keeps its own copy; this
 * checks it against the real one). Undefined when apt cannot fetch it.
 */
function fetchContainerdV2Proto(): string | undefined {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-cgroups-proto-'));
  try {
    const quiet = { cwd: dir, stdio: 'ignore' as const, timeout: 60_000 };
    execFileSync('apt-get', ['download', 'golang-github-containerd-cgroups-dev'], quiet);
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (!deb) return undefined;
    execFileSync('dpkg', ['-x', deb, 'x'], quiet);
    const proto = 'x/usr/share/gocode/src/github.com/containerd/cgroups/v2/stats/metrics.proto';
    return readFileSync(path.join(dir, proto), 'utf8');
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const containerdV2Proto = fetchContainerdV2Proto();

describe('detach keys', () => {
  test("parse Docker's syntax", () => {
    assert.deepEqual([...parseDetachKeys(undefined)], [16, 17]);
    assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-[,ctrl-_')], [1, 0x78, 0, 27, 31]);
    assert.throws(() => parseDetachKeys('ctrl-1'), /Invalid detach keys \(ctrl-1\) provided/);
    assert.throws(() => parseDetachKeys('abc'), /Invalid detach keys/);
  });

  test('the sequence is held back, broken sequences pass through, and it may span reads', () => {
    const scanner = new DetachKeyScanner(Buffer.from([16, 17]));
    assert.deepEqual(scanner.feed(Buffer.from('ab\x10')), { data: Buffer.from('ab'), detached: false });
    assert.deepEqual(scanner.feed(Buffer.from('c')), { data: Buffer.from('\x10c'), detached: false });
    assert.deepEqual(scanner.feed(Buffer.from('\x10\x10')), { data: Buffer.from('\x10'), detached: false });
    assert.deepEqual(scanner.feed(Buffer.from('\x11rest')), { data: Buffer.alloc(0), detached: true });
    const single = new DetachKeyScanner(Buffer.from('q'));
    assert.deepEqual(single.feed(Buffer.from('xyq')), { data: Buffer.from('xy'), detached: true });
  });
});

describe('websocket framing', () => {
  test('the handshake key of RFC 6455', () => {
    assert.equal(websocketAcceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('server frames of every length encoding, and masked client frames split across reads', () => {
    for (const size of [0, 125, 126, 65535, 65536, 200_000]) {
      const payload = Buffer.alloc(size, 7);
      const frames = new FrameDecoder().push(encodeFrame(0x2, payload));
      assert.equal(frames.length, 1);
      assert.equal(frames[0].opcode, 2);
      assert.ok(frames[0].payload.equals(payload));
    }
    const mask = Buffer.from([1, 2, 3, 4]);
    const text = Buffer.from('hello');
    const masked = Buffer.from(text.map((b, i) => b ^ mask[i & 3]));
    const frame = Buffer.concat([Buffer.from([0x81, 0x80 | text.length]), mask, masked]);
    const decoder = new FrameDecoder();
    assert.deepEqual(decoder.push(frame.subarray(0, 4)), []);
    const [decoded] = decoder.push(frame.subarray(4));
    assert.equal(decoded.payload.toString(), 'hello');
    assert.equal(decoded.fin, true);
  });
});

const big = 9_223_372_036_854_771_712n;

function v1Metrics(): CgroupV1Metrics {
  const memory = Object.fromEntries(
    [
      'cache',
      'rss',
      'rssHuge',
      'mappedFile',
      'dirty',
      'writeback',
      'pgPgIn',
      'pgPgOut',
      'pgFault',
      'pgMajFault',
      'inactiveAnon',
      'activeAnon',
      'inactiveFile',
      'activeFile',
      'unevictable',
      'hierarchicalSwapLimit',
      'totalCache',
      'totalRss',
      'totalRssHuge',
      'totalMappedFile',
      'totalDirty',
      'totalWriteback',
      'totalPgPgIn',
      'totalPgPgOut',
      'totalPgFault',
      'totalPgMajFault',
      'totalInactiveAnon',
      'totalActiveAnon',
      'totalActiveFile',
      'totalUnevictable',
    ].map((k) => [k, 1n]),
  ) as unknown as NonNullable<CgroupV1Metrics['memory']>;
  return {
    hugetlb: [],
    network: [],
    pids: { current: 3n, limit: 0n },
    cpu: {
      usage: { total: 5_000_000_000n, kernel: 1_000_000_000n, user: 4_000_000_000n, perCpu: [2n, 3n] },
      throttling: { periods: 1n, throttledPeriods: 2n, throttledTime: 3n },
    },
    memory: {
      ...memory,
      hierarchicalMemoryLimit: big,
      totalInactiveFile: 4096n,
      usage: { usage: 10_485_760n, max: 20_000_000n, failcnt: 0n, limit: big },
    },
    blkio: {
      ioServiceBytesRecursive: [{ op: 'Read', device: '', major: 8n, minor: 0n, value: 4096n }],
      ioServicedRecursive: [],
      ioQueuedRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
  };
}

describe('stats', () => {
  test('cgroup v1 metrics become Docker stats, the limit capped at host memory, 64-bit counters exact', () => {
    const host = 8n * 1024n ** 3n;
    const stats = fromMetrics({ type: 'cgroups.v1', metrics: v1Metrics() }, host);
    assert.equal(stats.cpu.cpu_usage.total_usage, 5_000_000_000n);
    assert.deepEqual(stats.cpu.cpu_usage.percpu_usage, [2n, 3n]);
    assert.equal(stats.memory_stats.limit, host);
    assert.equal(stats.memory_stats.stats?.total_inactive_file, 4096n);
    assert.deepEqual(stats.pids_stats, { current: 3n });
    assert.deepEqual(stats.blkio_stats.io_service_bytes_recursive, [
      { major: 8n, minor: 0n, op: 'Read', value: 4096n },
    ]);
    assert.equal(stats.blkio_stats.io_serviced_recursive, null);
    const text = statsJsonText({ limit: stats.memory_stats.stats?.hierarchical_memory_limit, n: 1, s: 'x' });
    assert.equal(text, '{"limit":9223372036854771712,"n":1,"s":"x"}');
  });

  test(
    "cgroup v2: a Metrics message encoded from containerd's own proto comes out as Docker's fields",
    { skip: containerdV2Proto === undefined && 'cannot fetch golang-github-containerd-cgroups-dev with apt' },
    () => {
      const root = protobuf.parse(containerdV2Proto!, { keepCase: true }).root;
      const Metrics = root.lookupType('io.containerd.cgroups.v2.Metrics');
      // Every counter distinct, the large ones past 2^53 so precision loss shows.
      const big = (n: number): string => (2n ** 60n + BigInt(n)).toString();
      const memoryFields = Metrics.lookupType('MemoryStat').fieldsArray.map((f) => f.name);
      const memory: Record<string, string> = {};
      memoryFields.forEach((name, i) => (memory[name] = big(100 + i)));
      memory.usage_limit = (2n ** 64n - 1n).toString();
      const message = Metrics.fromObject({
        pids: { current: 7, limit: 4096 },
        cpu: {
          usage_usec: big(1),
          user_usec: 2000,
          system_usec: 3000,
          nr_periods: 4,
          nr_throttled: 5,
          throttled_usec: 6,
        },
        memory,
        rdma: { current: [{ device: 'mlx', hca_handles: 1, hca_objects: 2 }] },
        io: { usage: [{ major: 254, minor: 1, rbytes: big(2), wbytes: 20, rios: 3, wios: 4 }] },
        hugetlb: [{ current: 1, max: 2, pagesize: '2MB' }],
        memory_events: { low: 1, high: 2, max: 3, oom: 9, oom_kill: 1 },
      });
      const value = Buffer.from(Metrics.encode(message).finish());
      const metrics = decodeAny({ typeUrl: 'io.containerd.cgroups.v2.Metrics', value }) as CgroupV2Metrics;
      const host = 16n * 1024n ** 3n;
      const stats = fromMetrics({ type: 'cgroups.v2', metrics }, host);
      assert.deepEqual(stats.cpu, {
        cpu_usage: {
          total_usage: (2n ** 60n + 1n) * 1000n,
          usage_in_kernelmode: 3_000_000n,
          usage_in_usermode: 2_000_000n,
        },
        throttling_data: { periods: 4n, throttled_periods: 5n, throttled_time: 6000n },
      });
      // Docker's v2 memory.stat keys: every MemoryStat field but the usage and swap counters.
      const expectedStats: Record<string, bigint> = {};
      memoryFields.forEach((name, i) => {
        if (!['usage', 'usage_limit', 'swap_usage', 'swap_limit'].includes(name))
          expectedStats[name] = 2n ** 60n + BigInt(100 + i);
      });
      assert.equal(Object.keys(expectedStats).length, 31);
      assert.deepEqual(stats.memory_stats, {
        usage: 2n ** 60n + BigInt(100 + memoryFields.indexOf('usage')),
        // No limit set ("max"): the host's memory, as Docker caps it.
        limit: host,
        failcnt: 9n,
        stats: expectedStats,
      });
      assert.deepEqual(stats.pids_stats, { current: 7n, limit: 4096n });
      assert.deepEqual(stats.blkio_stats, {
        io_service_bytes_recursive: [
          { major: 254n, minor: 1n, op: 'read', value: 2n ** 60n + 2n },
          { major: 254n, minor: 1n, op: 'write', value: 20n },
        ],
        io_serviced_recursive: null,
        io_queue_recursive: null,
        io_service_time_recursive: null,
        io_wait_time_recursive: null,
        io_merged_recursive: null,
        io_time_recursive: null,
        sectors_recursive: null,
      });
      assert.equal(
        statsJsonText({ total: stats.cpu.cpu_usage.total_usage }),
        `{"total":${(2n ** 60n + 1n) * 1000n}}`,
      );
    },
  );

  test('/proc/stat and net/dev', () => {
    const stat = parseProcStat(
      'cpu  100 0 50 800 10 0 40 0 0 0\ncpu0 50 0 25 400 5 0 20 0 0 0\ncpu1 50 0 25 400 5 0 20 0 0 0\nintr 1\n',
    );
    assert.equal(stat.systemNanos, 1000n * 10_000_000n);
    assert.equal(stat.onlineCpus, 2);
    const dev = parseNetDev(
      'Inter-|   Receive\n face |bytes\n    lo: 5 1 0 0 0 0 0 0 5 1 0 0 0 0 0 0\n  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n',
    );
    assert.deepEqual(Object.keys(dev), ['eth0']);
    assert.equal(dev.eth0.rx_bytes, 1000n);
    assert.equal(dev.eth0.tx_dropped, 4n);
  });

  test("a stopped container's document is Docker's zeroed one", () => {
    const empty = emptyStats('/c', 'abc');
    assert.equal(empty.read, '0001-01-01T00:00:00Z');
    assert.deepEqual(empty.memory_stats, {});
    assert.equal(empty.cpu_stats.cpu_usage.total_usage, 0);
  });

  test("the CLI's arithmetic and columns", () => {
    const sample: StatsSample = {
      read: '',
      cpu_stats: { cpu_usage: { total_usage: 3_000_000 }, system_cpu_usage: 20_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_000_000 }, system_cpu_usage: 10_000_000 },
      memory_stats: {
        usage: 10 * 1024 * 1024,
        limit: 100 * 1024 * 1024,
        stats: { total_inactive_file: 1024 * 1024 },
      },
      networks: { eth0: { rx_bytes: 1500, tx_bytes: 500 }, eth1: { rx_bytes: 500, tx_bytes: 0 } },
      blkio_stats: {
        io_service_bytes_recursive: [
          { op: 'Read', value: 2_000_000 },
          { op: 'write', value: 3 },
        ],
      },
      pids_stats: { current: 4 },
    };
    assert.equal(cpuPercent(sample), 40);
    assert.equal(memoryUsage(sample), 9 * 1024 * 1024);
    const row = new StatsContext('c', 'a'.repeat(64), '/name', statsValues(sample), true);
    assert.equal(row.ID(), 'a'.repeat(12));
    assert.equal(row.Name(), 'name');
    assert.equal(row.CPUPerc(), '40.00%');
    assert.equal(row.MemUsage(), '9MiB / 100MiB');
    assert.equal(row.MemPerc(), '9.00%');
    assert.equal(row.NetIO(), '2kB / 500B');
    assert.equal(row.BlockIO(), '2MB / 3B');
    assert.equal(row.PIDs(), '4');
    assert.equal(new StatsContext('c', 'x', '', undefined, true).CPUPerc(), '--');
  });
});

describe('healthchecks', () => {
  test('commands: CMD, CMD-SHELL with the default or the container shell, NONE', () => {
    assert.deepEqual(probeCommand({ Test: ['CMD', 'true', 'x'] }, null), ['true', 'x']);
    assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'exit 1'] }, null), ['/bin/sh', '-c', 'exit 1']);
    assert.deepEqual(probeCommand({ Test: ['CMD-SHELL', 'x'] }, ['/bin/ash', '-e', '-c']), [
      '/bin/ash',
      '-e',
      '-c',
      'x',
    ]);
    assert.equal(probeCommand({ Test: ['NONE'] }, null), undefined);
    assert.equal(probeCommand({ Test: [] }, null), undefined);
    assert.equal(probeCommand(undefined, null), undefined);
  });

  test("merge with the image's HEALTHCHECK: each unset field is the image's (moby's merge)", () => {
    const s = 1_000_000_000;
    const image = {
      Test: ['CMD-SHELL', 'true'],
      Interval: 30 * s,
      Timeout: 5 * s,
      StartPeriod: 10 * s,
      StartInterval: 2 * s,
      Retries: 4,
    };
    const json = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    // As the CLIs send it: only --health-interval set, every other field zero or empty.
    const onlyInterval = {
      Test: [],
      Interval: 7 * s,
      Timeout: 0,
      StartPeriod: 0,
      StartInterval: 0,
      Retries: 0,
    };
    assert.deepEqual(json(mergeHealthcheck(onlyInterval, image)), { ...image, Interval: 7 * s });
    assert.deepEqual(json(mergeHealthcheck({ Test: ['CMD', 'x'] }, image)), { ...image, Test: ['CMD', 'x'] });
    assert.deepEqual(json(mergeHealthcheck({ StartInterval: 3 * s, Retries: 1 }, image)), {
      ...image,
      StartInterval: 3 * s,
      Retries: 1,
    });
    // NONE is a Test like any other: the image's timings stay, the check is off.
    assert.deepEqual(mergeHealthcheck({ Test: ['NONE'] }, image)?.Test, ['NONE']);
    assert.equal(mergeHealthcheck(undefined, image), image);
    assert.deepEqual(mergeHealthcheck({ Interval: s }, undefined), { Interval: s });
    assert.equal(mergeHealthcheck(undefined, undefined), undefined);
  });

  test("create-time checks with Docker's messages", () => {
    validateHealthcheck({ Interval: 0, Timeout: 1e6, Retries: 0 });
    assert.throws(
      () => validateHealthcheck({ Interval: 999_999 }),
      /Interval in Healthcheck cannot be less than 1ms/,
    );
    assert.throws(
      () => validateHealthcheck({ StartInterval: 5 }),
      /StartInterval in Healthcheck cannot be less than 1ms/,
    );
    assert.throws(() => validateHealthcheck({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
  });

  test("Docker's defaults and schedule", () => {
    const defaults = probeTimings({});
    assert.deepEqual(defaults, {
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
    const timings = probeTimings({ Interval: 10e9, StartPeriod: 60e9, StartInterval: 1e9 });
    assert.equal(nextProbeDelay(timings, 0, 'starting'), 1000);
    assert.equal(nextProbeDelay(timings, 0, 'healthy'), 10_000);
    assert.equal(nextProbeDelay(timings, 55_000, 'starting'), 5000);
    assert.equal(nextProbeDelay(timings, 61_000, 'starting'), 10_000);
  });

  test('status rules: success heals, failures count after the start period, five results kept', () => {
    const health: { Status: HealthStatus; FailingStreak: number; Log: HealthcheckResult[] | null } = {
      Status: 'starting',
      FailingStreak: 0,
      Log: [],
    };
    const result = (code: number): HealthcheckResult => ({ Start: '', End: '', ExitCode: code, Output: '' });
    assert.equal(applyResult(health, result(1), { retries: 2, withinStartPeriod: true }), 'starting');
    assert.equal(health.FailingStreak, 0);
    assert.equal(applyResult(health, result(1), { retries: 2, withinStartPeriod: false }), 'starting');
    assert.equal(applyResult(health, result(0), { retries: 2, withinStartPeriod: false }), 'healthy');
    assert.equal(health.FailingStreak, 0);
    assert.equal(applyResult(health, result(1), { retries: 2, withinStartPeriod: true }), 'healthy');
    assert.equal(applyResult(health, result(-1), { retries: 2, withinStartPeriod: false }), 'unhealthy');
    assert.equal(health.FailingStreak, 2);
    assert.equal(health.Log?.length, 5);
  });
});
