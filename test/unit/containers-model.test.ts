/** Pieces of the container model: names and IDs, states and times, restart decisions, /etc files, listing, runtime mount points. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { hostsFile, resolvConf } from '../../src/engine/containers/etc-files.js';
import { selectContainers } from '../../src/engine/containers/list.js';
import {
  NameRegistry,
  generateId,
  generateName,
  lookupId,
  normalizeName,
} from '../../src/engine/containers/names.js';
import {
  ZERO_TIME,
  newState,
  rfc3339Nano,
  rfc3339ToNanos,
  statusOf,
  statusText,
  type Container,
} from '../../src/engine/containers/record.js';
import { mirrorRuntimeMountpoints, runtimeMountpoints } from '../../src/engine/containers/rootfs.js';
import { INITIAL_BACKOFF_MS, MAX_BACKOFF_MS, decideRestart } from '../../src/engine/containers/restart.js';
import { parsePsOutput } from '../../src/engine/containers/top.js';

describe('names and IDs', () => {
  test('IDs are 64 hex digits whose short form is never all digits', () => {
    for (let i = 0; i < 200; i++) {
      const id = generateId();
      assert.match(id, /^[0-9a-f]{64}$/);
      assert.doesNotMatch(id.slice(0, 12), /^\d+$/);
    }
  });

  test("names follow Docker's pattern and get a leading slash", () => {
    assert.equal(normalizeName('web-1.a_b'), '/web-1.a_b');
    assert.equal(normalizeName('/db'), '/db');
    for (const bad of ['a', '-x', 'has space', 'é', '']) {
      assert.throws(
        () => normalizeName(bad),
        (err) => isEngineError(err, 'InvalidParameter') && /Invalid container name/.test(err.message),
      );
    }
  });

  test('generated names are adjective_surname and avoid taken ones', () => {
    const taken = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const name = generateName((n) => taken.has(n));
      assert.match(name, /^[a-z]+_[a-z]+\d?$/);
      assert.ok(!taken.has(`/${name}`));
      taken.add(`/${name}`);
    }
    // Everything taken: a digit is appended after ten tries.
    assert.match(
      generateName((n) => !/\d$/.test(n)),
      /^[a-z]+_[a-z]+\d$/,
    );
  });

  test("a duplicate name is Docker's 409", () => {
    const names = new NameRegistry();
    names.reserve('/web', 'a'.repeat(64));
    names.reserve('/web', 'a'.repeat(64));
    assert.throws(
      () => names.reserve('/web', 'b'.repeat(64)),
      (err) =>
        isEngineError(err, 'Conflict') &&
        err.message ===
          `Conflict. The container name "/web" is already in use by container "${'a'.repeat(64)}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    names.release('/web', 'b'.repeat(64));
    assert.ok(names.has('/web'));
    names.release('/web');
    assert.ok(!names.has('/web'));
  });

  test('lookup: full ID, then name, then unique prefix; ambiguous prefixes are refused', () => {
    const names = new NameRegistry();
    const ids = ['abc1' + '0'.repeat(60), 'abc2' + '0'.repeat(60), 'def0' + '0'.repeat(60)];
    names.reserve('/deffy', ids[0]);
    assert.equal(lookupId(ids[1], ids, names), ids[1]);
    assert.equal(lookupId('deffy', ids, names), ids[0]);
    assert.equal(lookupId('/deffy', ids, names), ids[0]);
    assert.equal(lookupId('abc2', ids, names), ids[1]);
    assert.equal(lookupId('DEF', ids, names), ids[2]);
    assert.throws(() => lookupId('abc', ids, names), /multiple IDs found with provided prefix: abc/);
    assert.throws(
      () => lookupId('zzz', ids, names),
      (err) => isEngineError(err, 'NotFound') && err.message === 'No such container: zzz',
    );
  });
});

describe('state and time', () => {
  test('status strings follow Docker', () => {
    const now = Date.parse('2024-01-01T00:10:00Z');
    const state = newState();
    assert.equal(statusOf(state), 'created');
    assert.equal(statusText(state, now), 'Created');
    Object.assign(state, { Running: true, StartedAt: '2024-01-01T00:07:00Z' });
    assert.equal(statusText(state, now), 'Up 3 minutes');
    assert.equal(statusText(state, now, 'healthy'), 'Up 3 minutes (healthy)');
    state.Paused = true;
    assert.equal(statusOf(state), 'paused');
    assert.equal(statusText(state, now), 'Up 3 minutes (Paused)');
    Object.assign(state, {
      Paused: false,
      Restarting: true,
      ExitCode: 1,
      FinishedAt: '2024-01-01T00:09:58Z',
    });
    assert.equal(statusOf(state), 'restarting');
    assert.equal(statusText(state, now), 'Restarting (1) 2 seconds ago');
    Object.assign(state, {
      Running: false,
      Restarting: false,
      ExitCode: 137,
      FinishedAt: '2024-01-01T00:09:00Z',
    });
    assert.equal(statusOf(state), 'exited');
    assert.equal(statusText(state, now), 'Exited (137) About a minute ago');
    state.RemovalInProgress = true;
    assert.equal(statusOf(state), 'removing');
    assert.equal(statusText(state, now), 'Removal In Progress');
  });

  test('RFC 3339 with nanoseconds round-trips and drops trailing zeros like Go', () => {
    assert.equal(rfc3339Nano(1_704_067_200_123_456_789n), '2024-01-01T00:00:00.123456789Z');
    assert.equal(rfc3339Nano(1_704_067_200_500_000_000n), '2024-01-01T00:00:00.5Z');
    assert.equal(rfc3339Nano(1_704_067_200_000_000_000n), '2024-01-01T00:00:00Z');
    assert.equal(rfc3339ToNanos('2024-01-01T00:00:00.5Z'), 1_704_067_200_500_000_000n);
    assert.equal(rfc3339ToNanos('2024-01-01T01:00:00.000000001+01:00'), 1_704_067_200_000_000_001n);
    assert.equal(ZERO_TIME, '0001-01-01T00:00:00Z');
  });
});

describe('restart policies', () => {
  const base = {
    exitCode: 1,
    manuallyStopped: false,
    canceled: false,
    restartCount: 0,
    runMs: 50,
    previousBackoffMs: 0,
  };

  test('no, always, unless-stopped, on-failure[:N]', () => {
    assert.equal(decideRestart({ ...base, policy: { Name: 'no' } }).restart, false);
    assert.equal(decideRestart({ ...base, policy: { Name: 'always' }, exitCode: 0 }).restart, true);
    assert.equal(decideRestart({ ...base, policy: { Name: 'always' }, canceled: true }).restart, false);
    assert.equal(decideRestart({ ...base, policy: { Name: 'unless-stopped' } }).restart, true);
    assert.equal(
      decideRestart({ ...base, policy: { Name: 'unless-stopped' }, manuallyStopped: true }).restart,
      false,
    );
    assert.equal(decideRestart({ ...base, policy: { Name: 'on-failure' }, exitCode: 0 }).restart, false);
    assert.equal(decideRestart({ ...base, policy: { Name: 'on-failure' }, restartCount: 99 }).restart, true);
    const limited = { ...base, policy: { Name: 'on-failure' as const, MaximumRetryCount: 2 } };
    assert.equal(decideRestart({ ...limited, restartCount: 1 }).restart, true);
    assert.equal(decideRestart({ ...limited, restartCount: 2 }).restart, false);
  });

  test('backoff doubles from 100 ms to a minute and resets after 10 s of running', () => {
    let backoff = 0;
    const seen: number[] = [];
    for (let i = 0; i < 12; i++) {
      backoff = decideRestart({ ...base, policy: { Name: 'always' }, previousBackoffMs: backoff }).backoffMs;
      seen.push(backoff);
    }
    assert.deepEqual(seen.slice(0, 4), [100, 200, 400, 800]);
    assert.equal(seen[seen.length - 1], MAX_BACKOFF_MS);
    const reset = decideRestart({
      ...base,
      policy: { Name: 'always' },
      previousBackoffMs: 6400,
      runMs: 10_000,
    });
    assert.equal(reset.backoffMs, INITIAL_BACKOFF_MS);
  });
});

describe('/etc files', () => {
  test('resolv.conf: the host one without loopback nameservers', () => {
    const host =
      'nameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver ::1\nsearch corp.example\noptions edns0\n';
    const out = resolvConf({ hostname: 'h', hostNetwork: false }, host);
    assert.match(out, /^nameserver 10\.0\.0\.2$/m);
    assert.doesNotMatch(out, /127\.0\.0\.53|::1/);
    assert.match(out, /^search corp\.example$/m);
    assert.match(out, /^options edns0$/m);
  });

  test('resolv.conf: only loopback servers fall back to public ones; host network keeps the host file', () => {
    const host = 'nameserver 127.0.0.53\n';
    assert.match(
      resolvConf({ hostname: 'h', hostNetwork: false }, host),
      /nameserver 8\.8\.8\.8\nnameserver 8\.8\.4\.4/,
    );
    assert.equal(resolvConf({ hostname: 'h', hostNetwork: true }, host), host);
  });

  test('resolv.conf: --dns, --dns-search and --dns-option replace the host settings', () => {
    const out = resolvConf(
      { hostname: 'h', hostNetwork: false, dns: ['1.1.1.1'], dnsSearch: ['a.test'], dnsOptions: ['ndots:2'] },
      'nameserver 10.0.0.2\nsearch corp\n',
    );
    assert.equal(out, 'nameserver 1.1.1.1\nsearch a.test\noptions ndots:2\n');
  });

  test('hosts: the defaults, extra hosts and the container addresses with its name', () => {
    const out = hostsFile({
      hostname: 'web',
      domainname: 'example.test',
      hostNetwork: false,
      extraHosts: ['db:10.0.0.5', 'v6:[::2]'],
      addresses: ['172.18.0.2'],
    });
    assert.match(out, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(out, /^10\.0\.0\.5\tdb$/m);
    assert.match(out, /^::2\tv6$/m);
    assert.match(out, /^172\.18\.0\.2\tweb\.example\.test web$/m);
  });
});

function fakeContainer(id: string, overrides: Partial<Container> & { created: string }): Container {
  return {
    ID: id,
    Created: overrides.created,
    Name: overrides.Name ?? `/c${id.slice(0, 3)}`,
    Path: 'sh',
    Args: [],
    Config: overrides.Config ?? { Image: 'busybox', Labels: {} },
    Image: 'sha256:img',
    ImageChainId: 'sha256:chain',
    State: overrides.State ?? newState(),
    RestartCount: 0,
    HasBeenStartedBefore: false,
    HasBeenManuallyStopped: false,
    Driver: 'overlayfs',
    Platform: 'linux',
    LogPath: '',
    HostnamePath: '',
    HostsPath: '',
    ResolvConfPath: '',
    User: { uid: 0, gid: 0, additionalGids: [], home: '/' },
    HostConfig: overrides.HostConfig ?? { NetworkMode: 'bridge' },
  };
}

describe('listing', () => {
  const running = { ...newState(), Running: true, StartedAt: '2024-01-01T00:00:01Z' };
  const exited = (code: number) => ({
    ...newState(),
    StartedAt: '2024-01-01T00:00:01Z',
    FinishedAt: '2024-01-01T00:00:02Z',
    ExitCode: code,
  });
  const containers = [
    fakeContainer('a'.repeat(64), {
      created: '2024-01-01T00:00:00.1Z',
      Name: '/web',
      State: running,
      Config: { Image: 'busybox', Labels: { tier: 'front' }, ExposedPorts: { '80/tcp': {} } },
    }),
    fakeContainer('b'.repeat(64), {
      created: '2024-01-01T00:00:00.12Z',
      Name: '/db',
      State: exited(3),
      Config: { Image: 'busybox', Labels: { tier: 'back' } },
    }),
    fakeContainer('c'.repeat(64), {
      created: '2024-01-01T00:00:00.123Z',
      Name: '/cache',
      State: newState(),
      HostConfig: { NetworkMode: 'host' },
    }),
  ];
  const context = {
    lookup: (term: string) => containers.find((c) => c.Name === `/${term}` || c.ID.startsWith(term))!,
    ancestorImageIds: async () => new Set<string>(),
    health: () => 'none',
  };
  const names = async (options: {
    all?: boolean;
    limit?: number;
    filters?: [string, string[]][];
  }): Promise<string[]> =>
    (
      await selectContainers(
        containers,
        { all: options.all ?? false, limit: options.limit ?? -1, filters: new Map(options.filters ?? []) },
        context,
      )
    ).map((c) => c.Name);

  test('running only by default, newest first with -a (fractional seconds compared as numbers)', async () => {
    assert.deepEqual(await names({}), ['/web']);
    assert.deepEqual(await names({ all: true }), ['/cache', '/db', '/web']);
    assert.deepEqual(await names({ limit: 1 }), ['/cache']);
  });

  test('filters', async () => {
    assert.deepEqual(await names({ filters: [['status', ['exited']]] }), ['/db']);
    assert.deepEqual(await names({ filters: [['status', ['created', 'running']]] }), ['/cache', '/web']);
    assert.deepEqual(await names({ all: true, filters: [['label', ['tier=back']]] }), ['/db']);
    assert.deepEqual(await names({ all: true, filters: [['label', ['tier']]] }), ['/db', '/web']);
    assert.deepEqual(await names({ filters: [['exited', ['3']]] }), ['/db']);
    assert.deepEqual(await names({ all: true, filters: [['name', ['^/?(web|db)$']]] }), ['/db', '/web']);
    assert.deepEqual(await names({ all: true, filters: [['id', ['bbb']]] }), ['/db']);
    assert.deepEqual(await names({ all: true, filters: [['before', ['cache']]] }), ['/db', '/web']);
    assert.deepEqual(await names({ all: true, filters: [['since', ['web']]] }), ['/cache', '/db']);
    assert.deepEqual(await names({ all: true, filters: [['network', ['host']]] }), ['/cache']);
    assert.deepEqual(await names({ all: true, filters: [['expose', ['80-90/tcp']]] }), ['/web']);
    await assert.rejects(names({ filters: [['status', ['sleeping']]] }), /invalid filter 'status=sleeping'/);
    await assert.rejects(names({ filters: [['color', ['red']]] }), /invalid filter 'color'/);
  });
});

describe('top', () => {
  test('keeps the rows of the container processes, commands with spaces whole', () => {
    const output = [
      'UID          PID    PPID  C STIME TTY          TIME CMD',
      'root         100       1  0 10:00 ?        00:00:00 /sbin/init splash',
      'root         200     150  0 10:01 ?        00:00:00 sh -c sleep 100',
      'root         201     200  0 10:01 ?        00:00:00 sleep 100',
    ].join('\n');
    const top = parsePsOutput(output, new Set([200, 201]));
    assert.deepEqual(top.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.deepEqual(top.Processes, [
      ['root', '200', '150', '0', '10:01', '?', '00:00:00', 'sh -c sleep 100'],
      ['root', '201', '200', '0', '10:01', '?', '00:00:00', 'sleep 100'],
    ]);
    assert.throws(() => parsePsOutput('USER COMMAND\nroot x', new Set([1])), /Couldn't find PID field/);
  });
});

describe('runtime mount points', () => {
  test('the list: /proc, /sys, /dev, the /etc files, docker-init and the tmpfs destinations', () => {
    assert.deepEqual(runtimeMountpoints({ Tmpfs: { '/scratch/': 'size=1m', '/run': '' } }), [
      '/etc/hostname',
      '/etc/hosts',
      '/etc/resolv.conf',
      '/sbin/docker-init',
      '/dev',
      '/proc',
      '/sys',
      '/scratch',
      '/run',
    ]);
  });

  test('mirrored with their directories, owners, modes and exact times; real changes are not', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-mountpoints-'));
    try {
      const upper = path.join(dir, 'upper');
      const target = path.join(dir, 'target');
      mkdirSync(path.join(upper, 'etc'), { recursive: true });
      mkdirSync(path.join(upper, 'proc'));
      mkdirSync(target);
      chmodSync(path.join(upper, 'etc'), 0o751);
      chmodSync(path.join(upper, 'proc'), 0o555);
      writeFileSync(path.join(upper, 'etc/hostname'), '');
      writeFileSync(path.join(upper, 'etc/hosts'), 'written by the process\n');
      writeFileSync(path.join(upper, 'etc/extra'), 'x\n');
      execFileSync('mknod', [path.join(upper, 'sys'), 'c', '0', '0']);

      await mirrorRuntimeMountpoints(upper, target, runtimeMountpoints({}));

      assert.deepEqual(readdirSync(target).sort(), ['etc', 'proc']);
      assert.deepEqual(readdirSync(path.join(target, 'etc')), ['hostname']);
      assert.equal(statSync(path.join(target, 'etc')).mode & 0o7777, 0o751);
      assert.equal(statSync(path.join(target, 'proc')).mode & 0o7777, 0o555);
      const [original, copy] = ['upper', 'target'].map((side) =>
        statSync(path.join(dir, side, 'etc/hostname'), { bigint: true }),
      );
      assert.equal(copy.mtimeNs, original.mtimeNs);
      assert.equal(copy.size, 0n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
