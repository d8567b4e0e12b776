import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  containerResources,
  containerRlimits,
  RLIM_INFINITY,
  validateResources,
} from '../../src/oci/resources.js';
import { serializeSpec } from '../../src/oci/types.js';

const MiB = 1024 * 1024;

describe('cgroup resources', () => {
  test('NanoCpus becomes a CFS quota over a 100 ms period', () => {
    assert.deepEqual(containerResources({ NanoCpus: 1_500_000_000 }).cpu, {
      period: 100_000,
      quota: 150_000,
    });
    assert.deepEqual(containerResources({ NanoCpus: 10_000_000 }).cpu, { period: 100_000, quota: 1_000 });
    assert.deepEqual(containerResources({ NanoCpus: 333_333_333 }).cpu, { period: 100_000, quota: 33_333 });
  });

  test('explicit CpuPeriod/CpuQuota, shares and cpusets pass through', () => {
    assert.deepEqual(
      containerResources({
        CpuPeriod: 50_000,
        CpuQuota: 25_000,
        CpuShares: 512,
        CpusetCpus: '0',
        CpusetMems: '0',
      }).cpu,
      {
        shares: 512,
        cpus: '0',
        mems: '0',
        period: 50_000,
        quota: 25_000,
      },
    );
  });

  test('memory limit, reservation and swap', () => {
    assert.deepEqual(
      containerResources({ Memory: 64 * MiB, MemorySwap: 128 * MiB, MemoryReservation: 32 * MiB }).memory,
      {
        limit: 64 * MiB,
        reservation: 32 * MiB,
        swap: 128 * MiB,
      },
    );
  });

  test('a memory limit without MemorySwap allows as much swap as memory, as Docker does', () => {
    assert.deepEqual(containerResources({ Memory: 64 * MiB }).memory, { limit: 64 * MiB, swap: 128 * MiB });
    assert.deepEqual(containerResources({ Memory: 64 * MiB, MemorySwap: -1 }).memory, { limit: 64 * MiB });
    assert.deepEqual(containerResources({ Memory: 64 * MiB }, { swapLimit: false }).memory, {
      limit: 64 * MiB,
    });
  });

  test('swappiness, OOM killer and pids', () => {
    const r = containerResources({ MemorySwappiness: 0, OomKillDisable: true, PidsLimit: 100 });
    assert.deepEqual(r.memory, { swappiness: 0, disableOOMKiller: true });
    assert.deepEqual(r.pids, { limit: 100 });
    assert.deepEqual(containerResources({ PidsLimit: 0 }).pids, { limit: -1 });
    assert.deepEqual(containerResources({ PidsLimit: -1 }).pids, { limit: -1 });
    assert.equal(containerResources({ PidsLimit: null }).pids, undefined);
    assert.equal(containerResources({ MemorySwappiness: -1 }).memory, undefined);
  });

  test('blkio weight and device throttles resolve device numbers', () => {
    const r = containerResources({
      BlkioWeight: 300,
      BlkioDeviceReadBps: [{ Path: '/dev/null', Rate: 1024 }],
    });
    assert.deepEqual(r.blockIO, { weight: 300, throttleReadBpsDevice: [{ major: 1, minor: 3, rate: 1024 }] });
    assert.throws(
      () => containerResources({ BlkioDeviceWriteIOps: [{ Path: '/etc/hostname', Rate: 1 }] }),
      /not a device node/,
    );
  });

  test('nothing set means no sections', () => {
    assert.deepEqual(containerResources({}), {});
  });
});

describe('validateResources (Docker’s checks)', () => {
  const check = (r: Parameters<typeof validateResources>[0]) => validateResources(r, { ncpu: 2 });
  const rejects = (r: Parameters<typeof validateResources>[0], message: RegExp) =>
    assert.throws(
      () => check(r),
      (err) => isEngineError(err, 'InvalidParameter') && message.test(err.message),
    );

  test('accepts ordinary limits', () => {
    assert.deepEqual(check({ Memory: 64 * MiB, MemorySwap: 128 * MiB, NanoCpus: 1e9, BlkioWeight: 500 }), []);
  });

  test('memory rules', () => {
    rejects({ Memory: MiB }, /Minimum memory limit allowed is 6MB/);
    rejects(
      { Memory: 64 * MiB, MemorySwap: 32 * MiB },
      /memoryswap limit should be larger than memory limit/,
    );
    rejects({ MemorySwap: 64 * MiB }, /always set the Memory limit/);
    rejects({ MemorySwappiness: 101 }, /valid memory swappiness range is 0-100/);
    rejects({ Memory: 16 * MiB, MemoryReservation: 32 * MiB }, /can not be less than memory reservation/);
    assert.deepEqual(validateResources({ MemorySwap: 64 * MiB }, { ncpu: 2, update: true }), []);
  });

  test('cpu rules', () => {
    rejects({ NanoCpus: 1e9, CpuQuota: 50_000 }, /Nano CPUs and CPU Quota cannot both be set/);
    rejects({ NanoCpus: 1e9, CpuPeriod: 50_000 }, /Nano CPUs and CPU Period cannot both be set/);
    rejects({ NanoCpus: 3e9 }, /Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available/);
    rejects({ CpuPeriod: 500 }, /CPU cfs period can not be less than 1ms/);
    rejects({ CpuQuota: 500 }, /CPU cfs quota can not be less than 1ms/);
  });

  test('blkio weight range and warnings', () => {
    rejects({ BlkioWeight: 5 }, /Range of blkio weight is from 10 to 1000/);
    assert.match(check({ OomKillDisable: true })[0], /OOM killer is disabled/);
  });
});

describe('rlimits', () => {
  test('NOFILE defaults to 1024 soft and the host hard limit', () => {
    assert.deepEqual(containerRlimits(undefined, 20000), [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 20000 },
    ]);
    assert.deepEqual(containerRlimits(undefined, 4_000_000), [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1_048_576 },
    ]);
    assert.deepEqual(containerRlimits(undefined, 512), [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }]);
  });

  test('Ulimits override by name and add others', () => {
    assert.deepEqual(
      containerRlimits(
        [
          { Name: 'nofile', Soft: 2048, Hard: 4096 },
          { Name: 'nproc', Soft: 100, Hard: 200 },
        ],
        20000,
      ),
      [
        { type: 'RLIMIT_NOFILE', soft: 2048, hard: 4096 },
        { type: 'RLIMIT_NPROC', soft: 100, hard: 200 },
      ],
    );
  });

  test('-1 is unlimited, written as RLIM_INFINITY exactly', () => {
    const limits = containerRlimits([{ Name: 'core', Soft: -1, Hard: -1 }], 20000);
    assert.deepEqual(limits[1], { type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY });
    const text = serializeSpec({ rlimits: limits } as never);
    assert.match(text, /"soft":18446744073709551615,"hard":18446744073709551615/);
  });

  test('a NOFILE limit above the host hard limit is refused', () => {
    assert.throws(
      () => containerRlimits([{ Name: 'nofile', Soft: 1024, Hard: 30000 }], 20000),
      (err) =>
        isEngineError(err, 'InvalidParameter') &&
        err.message === "ulimit nofile hard limit 30000 exceeds the host's hard limit of 20000 open files",
    );
    assert.throws(
      () => containerRlimits([{ Name: 'nofile', Soft: -1, Hard: -1 }], 20000),
      /soft limit unlimited exceeds/,
    );
  });

  test('bad names and soft above hard are refused', () => {
    assert.throws(
      () => containerRlimits([{ Name: 'files', Soft: 1, Hard: 1 }], 20000),
      /invalid ulimit type: files/,
    );
    assert.throws(
      () => containerRlimits([{ Name: 'nproc', Soft: 10, Hard: 5 }], 20000),
      /soft limit must be less than or equal to hard limit: 10 > 5/,
    );
  });
});
