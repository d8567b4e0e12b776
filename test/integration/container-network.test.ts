/**
 * Container networking through a real berthd and the real docker CLI:
 * published ports reached from the host (TCP and UDP, fixed, random and -P),
 * user networks with names and aliases, isolation between networks, live
 * connect and disconnect, internal networks, none/host/container: modes, a
 * host port already taken, a berthd restart with live-restore, and a leak
 * check over repeated runs. Traffic goes only to loopback and to the
 * containers the test starts (and the host itself through its bridges).
 *
 * The daemon gets its own default bridge name and address ranges, so the
 * host state the leak check compares is only this daemon's.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { netavarkHash } from '../../src/engine/networks/sandboxes.js';
import { seedBusybox } from '../helpers/busybox.js';
import { httpGetText, udpRoundTrip } from '../helpers/loopback.js';
import {
  BERTHD,
  apiCall,
  berth,
  docker,
  startDaemon,
  waitForPing,
  type CommandResult,
  type TestDaemon,
} from '../helpers/daemon.js';
import { freePort } from '../helpers/registry.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

const TAG = randomBytes(2).toString('hex');
const BRIDGE = `bt${TAG}0`;
/** Address ranges no other test uses: the default bridge, then user networks. */
const BIP_PREFIX = '10.231.';
const POOL_PREFIX = '10.232.';

let daemon: TestDaemon;
let restarted: ChildProcess | undefined;
const networkIds = new Set<string>();

const d = (...args: string[]): Promise<CommandResult> => docker(daemon, args);

async function ok(result: Promise<CommandResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

async function inspect(name: string): Promise<Doc> {
  return (JSON.parse(await ok(d('inspect', name))) as Doc[])[0];
}

async function createNetwork(...args: string[]): Promise<string> {
  const id = (await ok(d('network', 'create', ...args))).trim();
  networkIds.add(id);
  return id;
}

/** busybox httpd serving /etc (so /hostname says who answered), detached. */
function httpd(name: string, ...flags: string[]): Promise<string> {
  return ok(d('run', '-d', '--name', name, ...flags, 'busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'));
}

/** Fetches until the server in the container is listening (it starts a moment after `run -d` returns). */
async function fetchSettled(port: number, urlPath = '/hostname'): Promise<string> {
  let lastError: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      return await httpGetText(port, urlPath);
    } catch (err) {
      lastError = err;
      await sleep(100);
    }
  }
  throw lastError;
}

/** An HTTP request over busybox nc from a throwaway container: the body, or '' when nothing answered. */
async function ncGet(network: string, host: string, extra: string[] = []): Promise<string> {
  const r = await d(
    'run',
    '--rm',
    '--network',
    network,
    ...extra,
    'busybox',
    'sh',
    '-c',
    `printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${host} 80`,
  );
  return r.code === 0 ? (r.stdout.split('\r\n\r\n')[1] ?? '') : '';
}

const shortId = (id: string): string => id.slice(0, 12);

/** The host state this daemon may touch: its links, its namespaces, and firewall lines about its networks. */
function hostState(): { links: string[]; netns: string[]; firewall: string[] } {
  const run = spawnSyncText;
  const ours = [
    BRIDGE,
    BIP_PREFIX,
    POOL_PREFIX,
    ...[...networkIds].flatMap((id) => [`br-${shortId(id)}`, netavarkHash(id)]),
  ];
  const bridges = new Set([BRIDGE, ...[...networkIds].map((id) => `br-${shortId(id)}`)]);
  const links = (JSON.parse(run('ip', ['-j', 'link'])) as { ifname: string; master?: string }[])
    .filter((l) => bridges.has(l.ifname) || (l.master !== undefined && bridges.has(l.master)))
    .map((l) => `${l.ifname}@${l.master ?? ''}`)
    .sort();
  const netnsDir = path.join(daemon.execRoot, 'netns');
  const netns = existsSync(netnsDir) ? readdirSync(netnsDir).sort() : [];
  const firewall: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    for (const line of run(tool, []).split('\n')) {
      if (line.startsWith('#') || !ours.some((mark) => line.includes(mark))) continue;
      firewall.push(`${tool} ${line.replace(/\[\d+:\d+\]/, '')}`);
    }
  }
  return { links, netns, firewall };
}

function spawnSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * A container on host or none is listed in that network's Containers while
 * it runs (no addresses, as Docker shows them) and the network has a
 * connect event at start and a disconnect event at stop.
 */
async function onPredefinedNetwork(network: 'host' | 'none'): Promise<void> {
  const since = Math.floor(Date.now() / 1000) - 1;
  const name = `on-${network}`;
  const id = (
    await ok(d('run', '-d', '--name', name, '--network', network, 'busybox', 'sleep', '60'))
  ).trim();
  try {
    const doc = (JSON.parse(await ok(d('network', 'inspect', network))) as Doc[])[0];
    const entry = doc.Containers[id] as Doc;
    assert.ok(entry, `${name} is listed on ${network}`);
    assert.equal(entry.Name, name);
    assert.match(entry.EndpointID, /^[0-9a-f]{64}$/);
    assert.deepEqual([entry.MacAddress, entry.IPv4Address, entry.IPv6Address], ['', '', '']);
    // The list leaves containers out from API 1.28 (older clients still get them).
    const listed = async (version: string): Promise<Doc> => {
      const query = encodeURIComponent(JSON.stringify({ name: [`^${network}$`] }));
      const reply = await apiCall(daemon.socket, 'GET', `/${version}/networks?filters=${query}`);
      return (JSON.parse(reply.body) as Doc[])[0].Containers as Doc;
    };
    assert.deepEqual(await listed('v1.47'), {});
    assert.deepEqual(Object.keys(await listed('v1.27')), [id]);
    await ok(d('stop', '-t', '0', name));
    const after = (JSON.parse(await ok(d('network', 'inspect', network))) as Doc[])[0];
    assert.equal(after.Containers[id], undefined, 'gone once stopped');
    const until = Math.floor(Date.now() / 1000) + 1;
    const format =
      '{{index .Actor.Attributes "container"}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}}';
    const lines = await ok(
      d(
        'events',
        '--since',
        String(since),
        '--until',
        String(until),
        '--filter',
        'type=network',
        '--format',
        format,
      ),
    );
    const ours = lines
      .trim()
      .split('\n')
      .filter((l) => l.startsWith(`${id} `))
      .map((l) => l.slice(id.length + 1));
    const type = network === 'none' ? 'null' : 'host';
    assert.deepEqual(ours, [
      `connect ${doc.Id} ${network} ${type}`,
      `disconnect ${doc.Id} ${network} ${type}`,
    ]);
  } finally {
    await d('rm', '-f', name);
  }
}

/** One leak-check round: a user network, a container on it and one on the default bridge, all with published ports, then removed. */
async function leakRound(i: number): Promise<void> {
  const network = await createNetwork(`leak${i}`);
  const published = ['-p', '127.0.0.1::80', '--expose', '53/udp', '-P'];
  await ok(
    d('run', '-d', '--name', `lk${i}a`, '--network', `leak${i}`, ...published, 'busybox', 'sleep', '60'),
  );
  await ok(d('run', '-d', '--name', `lk${i}b`, '-p', '127.0.0.1::80', 'busybox', 'sleep', '60'));
  await ok(d('rm', '-f', `lk${i}a`, `lk${i}b`));
  await ok(d('network', 'rm', network));
}

describe('container networking through the docker CLI', { concurrency: false, timeout: 400_000 }, () => {
  before(async () => {
    daemon = await startDaemon({
      config: {
        bridge: BRIDGE,
        bip: `${BIP_PREFIX}0.1/24`,
        'default-address-pools': [{ base: `${POOL_PREFIX}0.0/16`, size: 24 }],
        'live-restore': true,
      },
    });
    await seedBusybox(daemon);
    networkIds.add((await inspect('bridge')).Id);
  });

  after(async () => {
    const all = (await d('ps', '-aq')).stdout.split('\n').filter(Boolean);
    if (all.length > 0) await d('rm', '-f', ...all);
    for (const id of networkIds) await d('network', 'rm', id);
    restarted?.kill('SIGTERM');
    if (restarted && restarted.exitCode === null) await new Promise((r) => restarted!.once('exit', r));
    await daemon.stop();
  });

  test('a busybox httpd published on 127.0.0.1:PORT is fetched from the host', async () => {
    const port = await freePort();
    const id = (await httpd('web1', '-p', `127.0.0.1:${port}:80`)).trim();
    assert.equal((await fetchSettled(port)).trim(), shortId(id));
    const c = await inspect('web1');
    assert.deepEqual(c.HostConfig.PortBindings, {
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }],
    });
    assert.deepEqual(c.NetworkSettings.Ports, {
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }],
    });
    const bridge = c.NetworkSettings.Networks.bridge;
    assert.ok(bridge.IPAddress.startsWith(BIP_PREFIX), bridge.IPAddress);
    assert.equal(c.NetworkSettings.IPAddress, bridge.IPAddress);
    assert.equal(c.NetworkSettings.Gateway, `${BIP_PREFIX}0.1`);
    assert.equal(bridge.IPPrefixLen, 24);
    assert.match(bridge.MacAddress, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.match(bridge.EndpointID, /^[0-9a-f]{64}$/);
    assert.equal(bridge.NetworkID, [...networkIds][0]);
    assert.ok(c.NetworkSettings.SandboxKey.startsWith(daemon.execRoot));
    const ps = await ok(d('ps', '--filter', 'name=web1', '--format', '{{.Ports}}'));
    assert.equal(ps.trim(), `127.0.0.1:${port}->80/tcp`);
    // The container's /etc/hosts names it; the default bridge has no embedded DNS.
    const hosts = await ok(d('exec', 'web1', 'cat', '/etc/hosts'));
    assert.match(hosts, new RegExp(`^${bridge.IPAddress.replace(/\./g, '\\.')}\\s+${shortId(id)}$`, 'm'));
  });

  test('a random host port found with docker port, and -P for every exposed port', async () => {
    await httpd('web2', '-p', '127.0.0.1::80');
    const line = (await ok(d('port', 'web2', '80'))).trim();
    const port = Number(/^127\.0\.0\.1:(\d+)$/.exec(line)?.[1]);
    assert.ok(port >= 1024, line);
    assert.ok((await fetchSettled(port)).length > 0);
    assert.equal((await ok(docker(daemon, ['port', 'web2']))).trim(), `80/tcp -> 127.0.0.1:${port}`);
    assert.equal((await berth(daemon, ['port', 'web2'])).stdout, (await d('port', 'web2')).stdout);

    await httpd('web3', '--expose', '80', '--expose', '8080-8081', '-P');
    const c = await inspect('web3');
    assert.deepEqual(Object.keys(c.NetworkSettings.Ports).sort(), ['80/tcp', '8080/tcp', '8081/tcp']);
    for (const bindings of Object.values(c.NetworkSettings.Ports) as Doc[][]) {
      assert.equal(bindings.length, 1);
      assert.equal(bindings[0].HostIp, '0.0.0.0');
    }
    const published = Number(c.NetworkSettings.Ports['80/tcp'][0].HostPort);
    assert.ok((await fetchSettled(published)).length > 0);
    const ports = (await ok(d('port', 'web3'))).trim().split('\n');
    assert.equal(ports.length, 3);
  });

  test('UDP published on loopback reaches a UDP server in the container', async () => {
    // busybox's nc has no UDP mode; the host's python3 (bind-mounted read-only) is the server.
    const script = [
      'import socket',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      "s.bind(('', 5353))",
      'while True:',
      '    data, peer = s.recvfrom(512)',
      "    s.sendto(b'echo ' + data, peer)",
    ].join('\n');
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'udp1',
        '-p',
        '127.0.0.1::5353/udp',
        '-v',
        '/usr:/usr:ro',
        '-v',
        '/usr/lib:/lib:ro',
        '-v',
        '/usr/lib64:/lib64:ro',
        'busybox',
        '/usr/bin/python3',
        '-c',
        script,
      ),
    );
    const port = Number((await ok(d('port', 'udp1', '5353/udp'))).trim().split(':')[1]);
    let answer = '';
    for (let i = 0; i < 30 && answer === ''; i++)
      answer = await udpRoundTrip(port, 'ping', 1000).catch(() => '');
    assert.equal(answer, 'echo ping');
  });

  test('two containers on a user network reach each other by name and alias; other networks cannot', async () => {
    const netA = await createNetwork('netA');
    await createNetwork('netB');
    const id = (await httpd('srvA', '--network', 'netA', '--network-alias', 'svc')).trim();
    const c = await inspect('srvA');
    const endpoint = c.NetworkSettings.Networks.netA;
    assert.equal(endpoint.NetworkID, netA);
    assert.deepEqual(endpoint.Aliases, ['svc']);
    assert.deepEqual(
      endpoint.DNSNames,
      ['srvA', 'svc', shortId(id), shortId(id)].filter((n, i, a) => a.indexOf(n) === i),
    );
    assert.ok(endpoint.IPAddress.startsWith(POOL_PREFIX), endpoint.IPAddress);
    assert.equal(c.NetworkSettings.IPAddress, '', 'the top-level address is the default bridge one');
    await sleep(200);
    for (const name of ['srvA', 'svc', shortId(id)])
      assert.equal((await ncGet('netA', name)).trim(), shortId(id), `by ${name}`);
    // Another network: neither the name resolves nor the address answers.
    assert.equal(await ncGet('netB', 'srvA'), '');
    assert.equal(await ncGet('netB', endpoint.IPAddress), '');
    // Network inspect lists the container.
    const network = (JSON.parse(await ok(d('network', 'inspect', 'netA'))) as Doc[])[0];
    assert.equal(network.Containers[id].Name, 'srvA');
    assert.equal(network.Containers[id].IPv4Address, `${endpoint.IPAddress}/24`);
    // A static address and a MAC address on a user network.
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'fixed',
        '--network',
        'netB',
        '--ip',
        `${POOL_PREFIX}1.77`,
        '--mac-address',
        '02:42:de:ad:be:ef',
        'busybox',
        'sleep',
        '60',
      ),
    );
    const fixed = (await inspect('fixed')).NetworkSettings.Networks.netB;
    assert.equal(fixed.IPAddress, `${POOL_PREFIX}1.77`);
    assert.equal(fixed.MacAddress, '02:42:de:ad:be:ef');
    assert.match(await ok(d('exec', 'fixed', 'busybox', 'ip', 'addr', 'show', 'eth0')), /02:42:de:ad:be:ef/);
  });

  test('connect and disconnect a running container', async () => {
    const id = (await inspect('srvA')).Id as string;
    assert.equal(await ncGet('netB', 'srvA'), '');
    const events = spawn(
      'docker',
      ['events', '--filter', 'type=network', '--format', '{{.Action}} {{.Actor.Attributes.container}}'],
      {
        env: { ...process.env, DOCKER_HOST: daemon.host },
      },
    );
    let eventText = '';
    events.stdout.on('data', (c: Buffer) => (eventText += c.toString()));
    try {
      await sleep(200);
      await ok(d('network', 'connect', '--alias', 'late', 'netB', 'srvA'));
      const networks = (await inspect('srvA')).NetworkSettings.Networks;
      assert.deepEqual(Object.keys(networks).sort(), ['netA', 'netB']);
      assert.equal((await ok(d('exec', 'srvA', 'busybox', 'ip', '-o', 'link'))).match(/eth\d/g)?.length, 2);
      await sleep(300);
      assert.equal((await ncGet('netB', 'srvA')).trim(), shortId(id));
      assert.equal((await ncGet('netB', 'late')).trim(), shortId(id));
      await ok(d('network', 'disconnect', 'netB', 'srvA'));
      assert.deepEqual(Object.keys((await inspect('srvA')).NetworkSettings.Networks), ['netA']);
      await sleep(300);
      assert.equal(await ncGet('netB', 'srvA'), '');
      await sleep(300);
      assert.match(eventText, new RegExp(`connect ${id}`));
      assert.match(eventText, new RegExp(`disconnect ${id}`));
    } finally {
      events.kill();
    }
    // A stopped container only remembers: connected at its next start.
    await ok(d('create', '--name', 'later', '--network', 'netA', 'busybox', 'sleep', '60'));
    await ok(d('network', 'connect', 'netB', 'later'));
    const stopped = await inspect('later');
    assert.deepEqual(Object.keys(stopped.NetworkSettings.Networks).sort(), ['netA', 'netB']);
    assert.equal(stopped.NetworkSettings.Networks.netB.IPAddress, '');
    await ok(d('start', 'later'));
    const started = (await inspect('later')).NetworkSettings.Networks;
    assert.ok(started.netA.IPAddress && started.netB.IPAddress);
    // Disconnected from its NetworkMode network, it comes back on the others only.
    await ok(d('stop', '-t', '0', 'later'));
    const since = (Date.now() / 1000).toFixed(3);
    await ok(d('network', 'disconnect', 'netA', 'later'));
    // As dockerd, leaving a network while stopped is still a disconnect event.
    const leftWhileStopped = await ok(
      d(
        'events',
        '--since',
        since,
        '--until',
        (Date.now() / 1000 + 1).toFixed(3),
        '--filter',
        'type=network',
        '--format',
        '{{.Action}} {{.Actor.Attributes.container}} {{.Actor.Attributes.name}}',
      ),
    );
    assert.equal(leftWhileStopped.trim(), `disconnect ${(await inspect('later')).Id} netA`);
    await ok(d('start', 'later'));
    assert.deepEqual(Object.keys((await inspect('later')).NetworkSettings.Networks), ['netB']);
    assert.equal((await ok(d('exec', 'later', 'busybox', 'ip', '-o', 'link'))).match(/eth\d/g)?.length, 1);
    await ok(d('rm', '-f', 'later'));
  });

  test('a stopped container keeps its DNSNames on networks with DNS, and gets them at a stopped connect', async () => {
    await createNetwork('dnsA');
    await createNetwork('dnsB');
    const id = (
      await ok(
        d(
          'create',
          '--name',
          'named',
          '--network',
          'dnsA',
          '--network-alias',
          'al',
          '--hostname',
          'hn',
          'busybox',
          'true',
        ),
      )
    ).trim();
    const networksOf = async (name: string): Promise<Doc> => (await inspect(name)).NetworkSettings.Networks;
    // Never started: Docker has not given the endpoint any names yet.
    assert.equal((await networksOf('named')).dnsA.DNSNames, null);
    await ok(d('start', '-a', 'named'));
    const names = ['named', 'al', shortId(id), 'hn'];
    assert.deepEqual((await networksOf('named')).dnsA.DNSNames, names);
    await ok(d('network', 'connect', '--alias', 'b1', 'dnsB', 'named'));
    const connected = await networksOf('named');
    assert.deepEqual(connected.dnsB.DNSNames, ['named', 'b1', shortId(id), 'hn']);
    assert.equal(connected.dnsB.IPAddress, '');
    // The default bridge has no DNS: no names there, running or not.
    const plain = (await ok(d('run', '--name', 'plain', 'busybox', 'true'))).trim();
    assert.equal(plain, '');
    assert.equal((await networksOf('plain')).bridge.DNSNames, null);
    await ok(d('rm', 'named', 'plain'));
  });

  test("disconnect -f of a name that never existed answers Docker's error", async () => {
    await createNetwork('fdis');
    const forced = await d('network', 'disconnect', '-f', 'fdis', 'never-existed');
    assert.notEqual(forced.code, 0);
    assert.equal(forced.stderr.trim(), 'Error response from daemon: endpoint never-existed not found');
    const plain = await d('network', 'disconnect', 'fdis', 'never-existed');
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /No such container: never-existed/);
    await ok(d('network', 'rm', 'fdis'));
  });

  test('a host-network container is on host while it runs, with connect and disconnect events', async () => {
    await onPredefinedNetwork('host');
  });

  test('a none-network container is on none while it runs, with connect and disconnect events', async () => {
    await onPredefinedNetwork('none');
  });

  test('--hostname, --add-host (host-gateway too), --dns, --dns-search and --dns-option', async () => {
    const flags = [
      '--hostname',
      'myhost',
      '--domainname',
      'example.org',
      '--add-host',
      'fixed.example:10.1.2.3',
      '--add-host',
      'gw:host-gateway',
      '--dns',
      '10.9.8.7',
      '--dns-search',
      'example.test',
      '--dns-option',
      'ndots:3',
    ];
    const out = await ok(
      d(
        'run',
        '--rm',
        ...flags,
        'busybox',
        'sh',
        '-c',
        'hostname; cat /etc/hosts; echo ---; cat /etc/resolv.conf',
      ),
    );
    const [hostname, hosts, resolv] = [out.split('\n')[0], out.split('---')[0], out.split('---\n')[1]];
    assert.equal(hostname, 'myhost');
    assert.match(hosts, /^10\.1\.2\.3\s+fixed\.example$/m);
    assert.match(hosts, new RegExp(`^${BIP_PREFIX.replace(/\./g, '\\.')}0\\.1\\s+gw$`, 'm'));
    assert.match(hosts, /\smyhost\.example\.org\s+myhost$/m);
    assert.match(resolv, /^nameserver 10\.9\.8\.7$/m);
    assert.match(resolv, /^search example\.test$/m);
    assert.match(resolv, /^options ndots:3$/m);
    // On a user network the embedded DNS answers, and forwards to the given servers.
    const onNet = await ok(
      d('run', '--rm', '--network', 'netA', '--dns', '10.9.8.7', 'busybox', 'cat', '/etc/resolv.conf'),
    );
    const gateway = (JSON.parse(await ok(d('network', 'inspect', 'netA'))) as Doc[])[0].IPAM.Config[0]
      .Gateway;
    assert.match(onNet, new RegExp(`^nameserver ${gateway.replace(/\./g, '\\.')}$`, 'm'));
    assert.doesNotMatch(onNet, /^nameserver 10\.9\.8\.7$/m);
    // berth's own run takes the same flags.
    const viaBerth = await berth(daemon, [
      'run',
      '--rm',
      '--network',
      'netB',
      '--ip',
      `${POOL_PREFIX}1.88`,
      '--network-alias',
      'bb',
      'busybox',
      'busybox',
      'ip',
      '-o',
      '-4',
      'addr',
      'show',
      'eth0',
    ]);
    assert.equal(viaBerth.code, 0, viaBerth.stderr);
    assert.match(viaBerth.stdout, new RegExp(`inet ${POOL_PREFIX.replace(/\./g, '\\.')}1\\.88/24`));
    const listed = await ok(d('ps', '--filter', 'name=srvA', '--format', '{{.Networks}}'));
    assert.equal(listed.trim(), 'netA');
  });

  test('an internal network has no route out; a normal one reaches the host', async () => {
    await createNetwork('--internal', 'netI');
    const hostServer = net.createServer((socket) => socket.end('host says hi\n'));
    await new Promise<void>((resolve) => hostServer.listen(0, '0.0.0.0', resolve));
    const port = (hostServer.address() as net.AddressInfo).port;
    try {
      const gateway = `${BIP_PREFIX}0.1`;
      const reach = (network: string): Promise<CommandResult> =>
        d(
          'run',
          '--rm',
          '--network',
          network,
          'busybox',
          'sh',
          '-c',
          `nc -w 2 ${gateway} ${port} </dev/null`,
        );
      const routes = await ok(d('run', '--rm', '--network', 'netI', 'busybox', 'busybox', 'ip', 'route'));
      assert.doesNotMatch(routes, /default/);
      const internal = await reach('netI');
      assert.notEqual(internal.stdout, 'host says hi\n');
      const normal = await reach('netA');
      assert.equal(normal.stdout, 'host says hi\n', normal.stderr);
    } finally {
      hostServer.close();
    }
  });

  test('--network none has only lo; --network host sees the host; container: shares a namespace', async () => {
    const none = await ok(d('run', '--rm', '--network', 'none', 'busybox', 'busybox', 'ip', '-o', 'link'));
    assert.deepEqual(
      none
        .trim()
        .split('\n')
        .map((l) => l.split(':')[1].trim()),
      ['lo'],
    );
    const noneInspect = await ok(d('create', '--network', 'none', 'busybox', 'true'));
    const noneDoc = await inspect(noneInspect.trim());
    assert.deepEqual(Object.keys(noneDoc.NetworkSettings.Networks), ['none']);
    await ok(d('rm', noneInspect.trim()));

    const hostLinks = (JSON.parse(spawnSyncText('ip', ['-j', 'link'])) as { ifname: string }[]).map(
      (l) => l.ifname,
    );
    const inHost = await ok(
      d('run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'busybox ip -o link; hostname'),
    );
    for (const name of hostLinks.filter((n) => !n.startsWith('veth')).slice(0, 5))
      assert.match(inHost, new RegExp(`: ${name.replace(/[.]/g, '\\.')}[:@]`), `host link ${name}`);
    assert.equal(inHost.trim().split('\n').pop(), os.hostname());

    const owner = (await httpd('owner')).trim();
    const shared = await ok(
      d(
        'run',
        '--rm',
        '--network',
        'container:owner',
        'busybox',
        'sh',
        '-c',
        "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 80; hostname",
      ),
    );
    assert.match(shared, new RegExp(`${shortId(owner)}\\n${shortId(owner)}\\n?$`));
    const sharer = await ok(d('create', '--network', 'container:owner', 'busybox', 'true'));
    assert.deepEqual((await inspect(sharer.trim())).NetworkSettings.Networks, {});
    await ok(d('rm', sharer.trim()));
  });

  test("a host port already taken is refused at start with Docker's message and nothing is left", async () => {
    const port = await freePort();
    await httpd('taker', '-p', `127.0.0.1:${port}:80`);
    const state = hostState();
    const second = await d(
      'run',
      '-d',
      '--name',
      'loser',
      '-p',
      `127.0.0.1:${port}:80`,
      'busybox',
      'sleep',
      '60',
    );
    assert.equal(second.code, 125);
    assert.match(
      second.stderr,
      new RegExp(
        `driver failed programming external connectivity on endpoint loser \\([0-9a-f]{64}\\): Bind for 127\\.0\\.0\\.1:${port} failed: port is already allocated`,
      ),
    );
    const loser = await inspect('loser');
    assert.equal(loser.State.Running, false);
    assert.deepEqual(loser.NetworkSettings.Ports, {});
    assert.deepEqual(hostState(), state);
    // A port outside berth's hands (a host program listening) is refused too.
    const listener = net.createServer();
    const busy = await freePort();
    await new Promise<void>((resolve) => listener.listen(busy, '127.0.0.1', resolve));
    try {
      const third = await d('run', '-d', '-p', `127.0.0.1:${busy}:80`, 'busybox', 'sleep', '60');
      assert.equal(third.code, 125);
      assert.match(third.stderr, /driver failed programming external connectivity/);
    } finally {
      listener.close();
    }
  });

  test('a live-restored container keeps its ports and network across a berthd restart, and gives them back when it stops', async () => {
    const port = await freePort();
    const id = (await httpd('keeper', '--network', 'netA', '-p', `127.0.0.1:${port}:80`)).trim();
    assert.equal((await fetchSettled(port)).trim(), shortId(id));
    const before = await inspect('keeper');
    const args = daemon.process.spawnargs.slice(2);
    daemon.process.kill('SIGTERM');
    await new Promise((resolve) => daemon.process.once('exit', resolve));
    // berthd is down: the container still answers.
    assert.equal((await httpGetText(port, '/hostname')).trim(), shortId(id));
    restarted = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    await waitForPing(daemon.socket);
    const after = await inspect('keeper');
    assert.equal(after.State.Running, true);
    assert.deepEqual(after.NetworkSettings.Ports, before.NetworkSettings.Ports);
    assert.equal(
      after.NetworkSettings.Networks.netA.IPAddress,
      before.NetworkSettings.Networks.netA.IPAddress,
    );
    assert.equal((await httpGetText(port, '/hostname')).trim(), shortId(id));
    assert.equal((await ncGet('netA', 'keeper')).trim(), shortId(id));
    // The port is still held: another container cannot take it.
    const clash = await d('run', '-d', '-p', `127.0.0.1:${port}:80`, 'busybox', 'true');
    assert.equal(clash.code, 125);
    const clashId = clash.stdout.trim().split('\n').pop();
    if (clashId) await d('rm', '-f', clashId);
    await ok(d('stop', '-t', '1', 'keeper'));
    assert.ok(!readdirSync(path.join(daemon.execRoot, 'netns')).includes(id), 'namespace released');
    await assert.rejects(httpGetText(port, '/hostname'));
    await ok(d('rm', 'keeper'));
  });

  test('50 runs with published ports on fresh user networks leave nothing behind', async () => {
    const all = (await d('ps', '-aq')).stdout.split('\n').filter(Boolean);
    if (all.length > 0) await ok(d('rm', '-f', ...all));
    const baseline = hostState();
    assert.deepEqual(baseline.netns, []);
    // Rounds run a few at a time: concurrent starts are the case most likely to leak, and 50 in a row would be slow.
    const rounds = 50;
    const batch = 5;
    for (let first = 0; first < rounds; first += batch) {
      const batchRounds = Array.from({ length: Math.min(batch, rounds - first) }, (_, k) => first + k);
      await Promise.all(batchRounds.map((i) => leakRound(i)));
    }
    const end = hostState();
    assert.deepEqual(end.links, baseline.links, 'links left behind');
    assert.deepEqual(end.netns, baseline.netns, 'namespaces left behind');
    assert.deepEqual(end.firewall, baseline.firewall, 'firewall rules left behind');
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .filter((l) => l.includes(path.join(daemon.execRoot, 'netns') + '/'));
    assert.deepEqual(mounts, []);
  });
});
