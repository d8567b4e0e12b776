/**
 * The /networks API of a real berthd, through the real docker CLI, berth's
 * own CLI (which must print what docker prints) and raw HTTP for status codes.
 * No containers: attachment is covered by network.test.ts and the container
 * tests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  berth,
  cleanupDaemonDir,
  docker,
  runCommand,
  startDaemon,
  type CommandResult,
  type TestDaemon,
} from '../helpers/daemon.js';

interface Reply {
  status: number;
  body: unknown;
}

function api(daemon: TestDaemon, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath: daemon.socket,
        method,
        path: `/v1.47${path}`,
        headers: payload
          ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const message = (reply: Reply): string => (reply.body as { message?: string }).message ?? '';

/** Output with IDs and times masked, for comparing docker and berth runs. */
const normalize = (r: CommandResult): string =>
  `${r.code}\n${r.stdout}\n${r.stderr}`
    .replace(/[0-9a-f]{64}/g, '<id>')
    .replace(/\b[0-9a-f]{12}\b/g, '<short-id>')
    .replace(/\d{4}-\d\d-\d\d[ T][\d:.]+( \+0000 UTC|Z)/g, '<time>');

describe('network API through docker and berth CLIs', { concurrency: false, timeout: 180_000 }, () => {
  let daemon: TestDaemon;

  before(async () => {
    daemon = await startDaemon({
      config: { 'default-address-pools': [{ base: '10.216.0.0/16', size: 24 }] },
    });
  });

  after(async () => {
    for (const name of ['n1', 'n2', 'n3', 'keep']) await docker(daemon, ['network', 'rm', '-f', name]);
    await daemon.stop();
  });

  test('docker network create, ls, inspect with every IPAM and bridge option', async () => {
    const created = await docker(daemon, [
      'network',
      'create',
      '--subnet',
      '10.215.0.0/16',
      '--ip-range',
      '10.215.4.0/24',
      '--gateway',
      '10.215.0.254',
      '--aux-address',
      'router=10.215.4.1',
      '--internal',
      '--attachable',
      '--label',
      'tier=db',
      '--label',
      'team=a',
      '-o',
      'com.docker.network.bridge.name=bthostbr0',
      '-o',
      'com.docker.network.driver.mtu=1400',
      '-o',
      'com.docker.network.bridge.enable_icc=false',
      'n1',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
    const id = created.stdout.trim();
    const inspect = await docker(daemon, ['network', 'inspect', 'n1']);
    const [network] = JSON.parse(inspect.stdout) as Record<string, unknown>[];
    assert.equal(network.Id, id);
    assert.equal(network.Driver, 'bridge');
    assert.equal(network.Internal, true);
    assert.equal(network.Attachable, true);
    assert.deepEqual(network.Labels, { tier: 'db', team: 'a' });
    assert.deepEqual(network.IPAM, {
      Driver: 'default',
      Options: {},
      Config: [
        {
          Subnet: '10.215.0.0/16',
          IPRange: '10.215.4.0/24',
          Gateway: '10.215.0.254',
          AuxiliaryAddresses: { router: '10.215.4.1' },
        },
      ],
    });
    assert.deepEqual(network.Containers, {});
    assert.equal((network.Options as Record<string, string>)['com.docker.network.bridge.name'], 'bthostbr0');
    const format = await docker(daemon, [
      'network',
      'inspect',
      '-f',
      '{{.Name}} {{.Internal}} {{index .Labels "tier"}}',
      id.slice(0, 10),
    ]);
    assert.equal(format.stdout, 'n1 true db\n');

    const auto = await docker(daemon, ['network', 'create', 'n2']);
    assert.equal(auto.code, 0, auto.stderr);
    const subnet = await docker(daemon, [
      'network',
      'inspect',
      '-f',
      '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}}',
      'n2',
    ]);
    assert.match(
      subnet.stdout,
      /^10\.216\.\d+\.0\/24 10\.216\.\d+\.1\n$/,
      'from the configured default-address-pools',
    );

    const ls = await docker(daemon, ['network', 'ls']);
    const rows = ls.stdout.trim().split('\n');
    assert.match(rows[0], /^NETWORK ID +NAME +DRIVER +SCOPE$/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(/ +/)[1]),
      ['bridge', 'host', 'n1', 'n2', 'none'],
    );
    assert.match(
      rows.find((r) => r.includes(' n1 '))!,
      /^[0-9a-f]{12} +n1 +bridge +local$/,
    );
    const filtered = await docker(daemon, ['network', 'ls', '-q', '--no-trunc', '--filter', 'label=tier=db']);
    assert.equal(filtered.stdout, `${id}\n`);
    const custom = await docker(daemon, [
      'network',
      'ls',
      '--filter',
      'type=custom',
      '--format',
      '{{.Name}}',
    ]);
    assert.equal(custom.stdout, 'n1\nn2\n');
    const dangling = await docker(daemon, [
      'network',
      'ls',
      '--filter',
      'dangling=true',
      '--format',
      '{{.Name}} {{.Internal}} {{.IPv6}}',
    ]);
    assert.equal(dangling.stdout, 'n1 true false\nn2 false false\n');
  });

  test("docker's errors for duplicates, predefined networks and unknown ones", async () => {
    const duplicate = await docker(daemon, ['network', 'create', 'n1']);
    assert.equal(duplicate.code, 1);
    assert.equal(duplicate.stderr, 'Error response from daemon: network with name n1 already exists\n');
    const predefined = await docker(daemon, ['network', 'rm', 'bridge']);
    assert.equal(predefined.code, 1);
    assert.match(
      predefined.stderr,
      /^Error response from daemon: bridge is a pre-defined network and cannot be removed\n/,
    );
    const missing = await docker(daemon, ['network', 'inspect', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '[]\n');
    assert.equal(missing.stderr, 'Error response from daemon: network nope not found\n');
    const overlap = await docker(daemon, ['network', 'create', '--subnet', '10.215.9.0/24', 'n3']);
    assert.match(overlap.stderr, /Pool overlaps with other one on this address space/);
    const badRange = await docker(daemon, [
      'network',
      'create',
      '--subnet',
      '10.217.0.0/24',
      '--ip-range',
      '10.218.0.0/24',
      'n3',
    ]);
    assert.equal(badRange.stderr, 'no matching subnet for range 10.218.0.0/24\n');
  });

  test('HTTP statuses follow dockerd', async () => {
    const created = await api(daemon, 'POST', '/networks/create', { Name: 'n3', CheckDuplicate: true });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body as object).sort(), ['Id', 'Warning']);
    assert.equal((await api(daemon, 'POST', '/networks/create', { Name: 'n3' })).status, 409);
    assert.equal((await api(daemon, 'POST', '/networks/create', { Name: 'host' })).status, 403);
    assert.equal((await api(daemon, 'POST', '/networks/create', { Name: 'x', Driver: 'weird' })).status, 404);
    const badSubnet = await api(daemon, 'POST', '/networks/create', {
      Name: 'x',
      IPAM: { Config: [{ Subnet: '10.1.1.1/24' }] },
    });
    assert.equal(badSubnet.status, 400);
    assert.equal(
      message(badSubnet),
      'invalid network config:\ninvalid subnet 10.1.1.1/24: it should be 10.1.1.0/24',
    );
    assert.equal((await api(daemon, 'POST', '/networks/create')).status, 400);
    const badFilter = await api(
      daemon,
      'GET',
      `/networks?filters=${encodeURIComponent('{"colour":["red"]}')}`,
    );
    assert.equal(badFilter.status, 400);
    assert.equal(message(badFilter), "invalid filter 'colour'");
    assert.equal((await api(daemon, 'GET', '/networks/nope')).status, 404);
    assert.equal((await api(daemon, 'DELETE', '/networks/none')).status, 403);
    assert.equal((await api(daemon, 'DELETE', '/networks/nope')).status, 404);
    const connectUnknown = await api(daemon, 'POST', '/networks/nope/connect', { Container: 'c' });
    assert.equal(connectUnknown.status, 404);
    assert.equal(message(connectUnknown), 'network nope not found');
    const connect = await api(daemon, 'POST', '/networks/n3/connect', { Container: 'no-such-container' });
    assert.ok(
      [404, 501].includes(connect.status),
      `connect to a missing container: ${connect.status} ${message(connect)}`,
    );
    assert.equal((await api(daemon, 'DELETE', '/networks/n3')).status, 204);
  });

  test('concurrent creates: one wins a name, and every network gets its own subnet', async () => {
    const same = await Promise.all(
      Array.from({ length: 5 }, () => api(daemon, 'POST', '/networks/create', { Name: 'race' })),
    );
    assert.deepEqual(same.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
    const distinct = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api(daemon, 'POST', '/networks/create', { Name: `race${i}` })),
    );
    assert.ok(distinct.every((r) => r.status === 201));
    const subnets = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const network = (await api(daemon, 'GET', `/networks/race${i}`)).body as {
        IPAM: { Config: { Subnet: string }[] };
      };
      subnets.add(network.IPAM.Config[0].Subnet);
    }
    assert.equal(subnets.size, 5);
    for (const name of ['race', 'race0', 'race1', 'race2', 'race3', 'race4'])
      assert.equal((await api(daemon, 'DELETE', `/networks/${name}`)).status, 204);
  });

  test('prune removes unused custom networks matching the filters, and events record it all', async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    assert.equal((await docker(daemon, ['network', 'create', '--label', 'keep=yes', 'keep'])).code, 0);
    const pruned = await docker(daemon, ['network', 'prune', '-f', '--filter', 'label!=keep']);
    assert.equal(pruned.code, 0, pruned.stderr);
    const deleted = pruned.stdout.split('\n').slice(1).filter(Boolean).sort();
    assert.equal(pruned.stdout.split('\n')[0], 'Deleted Networks:');
    assert.deepEqual(deleted, ['n1', 'n2']);
    const left = await docker(daemon, ['network', 'ls', '--format', '{{.Name}}']);
    assert.equal(left.stdout, 'bridge\nhost\nkeep\nnone\n');
    const nothing = await docker(daemon, ['network', 'prune', '-f', '--filter', 'label!=keep']);
    assert.equal(nothing.stdout, '');
    const rm = await docker(daemon, ['network', 'rm', 'keep']);
    assert.equal(rm.stdout, 'keep\n');
    const until = Math.ceil(Date.now() / 1000) + 1;
    const events = await docker(daemon, [
      'events',
      '--since',
      String(since),
      '--until',
      String(until),
      '--filter',
      'type=network',
      '--format',
      '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}',
    ]);
    const lines = events.stdout.trim().split('\n');
    for (const expected of [
      'create keep bridge',
      'destroy n1 bridge',
      'destroy n2 bridge',
      'destroy keep bridge',
    ]) {
      assert.ok(lines.includes(expected), `${expected} in:\n${events.stdout}`);
    }
  });

  test("berth's network commands print what docker prints", async () => {
    const runs: string[][] = [
      ['network', 'create', '--subnet', '10.219.0.0/24', '--gateway', '10.219.0.254', '--label', 'a=1', 'n1'],
      ['network', 'ls'],
      ['network', 'ls', '--no-trunc'],
      ['network', 'ls', '-q'],
      ['network', 'ls', '--format', 'json'],
      ['network', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}\t{{.IPv4}}\t{{.Labels}}\t{{.CreatedAt}}'],
      ['network', 'ls', '--filter', 'name=n', '--filter', 'driver=bridge'],
      ['network', 'inspect', 'n1', 'bridge'],
      ['network', 'inspect', '-f', '{{json .IPAM.Config}} {{.Scope}}', 'n1'],
      ['network', 'inspect', 'n1', 'nope'],
      ['network', 'create', 'n1'],
      ['network', 'create', '--subnet', '10.220.0.0/24', '--gateway', '10.221.0.1', 'n2'],
      ['network', 'rm', 'nope', 'host'],
      ['network', 'rm', '-f', 'nope'],
      ['network', 'ls', '--filter', 'dangling=maybe'],
    ];
    for (const args of runs) {
      const viaDocker = await docker(daemon, args);
      if (args[1] === 'create' && viaDocker.code === 0)
        await docker(daemon, ['network', 'rm', args[args.length - 1]]);
      const viaBerth = await berth(daemon, args);
      assert.equal(normalize(viaBerth), normalize(viaDocker), `berth ${args.join(' ')}`);
    }
    const rmDocker = await docker(daemon, ['network', 'rm', 'n1']);
    assert.equal(rmDocker.stdout, 'n1\n');
    await berth(daemon, ['network', 'create', 'n1']);
    const rmBerth = await berth(daemon, ['network', 'rm', 'n1']);
    assert.equal(rmBerth.stdout, 'n1\n');
  });
});

test('a stopped berthd leaves no isolation rules for networks no container uses', async () => {
  const bridge = `bts${process.pid % 10000}`;
  const rulesFor = async (name: string): Promise<string[]> => {
    const { stdout } = await runCommand('iptables-save', ['-t', 'filter']);
    return stdout.split('\n').filter((line) => line.includes(` ${name} `));
  };
  const daemon = await startDaemon({
    config: { bridge, 'default-address-pools': [{ base: '10.217.0.0/16', size: 24 }] },
  });
  let stopped = false;
  try {
    const created = await docker(daemon, [
      'network',
      'create',
      '-o',
      'com.docker.network.bridge.name=btsuser0',
      'kept',
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.ok((await rulesFor(bridge)).length > 0, 'the default bridge is isolated while berthd runs');
    assert.ok((await rulesFor('btsuser0')).length > 0, 'so is a user network');
    await daemon.stop();
    stopped = true;
    assert.deepEqual(await rulesFor(bridge), []);
    assert.deepEqual(await rulesFor('btsuser0'), []);
  } finally {
    if (!stopped) await daemon.stop();
    await cleanupDaemonDir(daemon.dir);
  }
});
