/**
 * The network service against the real netavark, aardvark-dns and iptables:
 * network namespaces made with `ip netns add` stand in for containers. Checks
 * reachability by address and name, isolation between networks, internal
 * networks, published ports on loopback (TCP and UDP), live connect and
 * disconnect, restore after a restart, and that everything torn down leaves
 * the host's links, namespaces and firewall as they were.
 *
 * Firewall state that outlives the test by design: netavark's base chains
 * (NETAVARK_FORWARD, NETAVARK-HOSTPORT-DNAT/-MASQ/-SETMARK and the jumps to
 * them) and berth's (BERTH-ISOLATION-1/-2, BERTH-POSTROUTING and their jumps),
 * all empty once no network exists. The comparison with the state before the
 * test ignores exactly those.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpGetText, udpRoundTrip } from '../helpers/loopback.js';
import { isEngineError } from '../../src/common/errors.js';
import { BerthFirewall } from '../../src/network/firewall.js';
import { NetworkService } from '../../src/engine/networks/service.js';
import { firewallNetwork } from '../../src/engine/networks/registry.js';
import type { AttachRequest, AttachResult } from '../../src/engine/networks/types.js';
import { aardvarkPid } from '../../src/network/netavark.js';
import { Netavark } from '../../src/network/netavark.js';

const TAG = randomBytes(3).toString('hex');
const NETNS_PREFIX = `berth-test-${TAG}-`;
const SKELETON_CHAINS = [
  'NETAVARK_FORWARD',
  'NETAVARK-HOSTPORT-DNAT',
  'NETAVARK-HOSTPORT-MASQ',
  'NETAVARK-HOSTPORT-SETMARK',
  'BERTH-ISOLATION-1',
  'BERTH-ISOLATION-2',
  'BERTH-POSTROUTING',
];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], timeoutMs = 10_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const inNetns = (ns: string, ...args: string[]): Promise<Result> => run('ip', ['netns', 'exec', ns, ...args]);
const ping = async (ns: string, address: string): Promise<boolean> =>
  (await inNetns(ns, 'busybox', 'ping', '-c1', '-W1', address)).code === 0;

/** busybox nslookup NAME SERVER: the answered addresses (empty for NXDOMAIN). */
async function lookup(ns: string, name: string, server: string): Promise<string[]> {
  const { stdout } = await inNetns(ns, 'busybox', 'nslookup', name, server);
  const answer = stdout
    .split(/\n\s*\n/)
    .slice(1)
    .join('\n');
  return [...answer.matchAll(/^Address:\s*([0-9a-f.:]+)$/gm)].map((m) => m[1]).filter((a) => a !== server);
}

/**
 * aardvark-dns reloads its entries on SIGHUP, asynchronously: right after a
 * change, ask a few times until the answer is the expected one.
 */
async function lookupSettled(
  ns: string,
  name: string,
  server: string,
  expected: string[],
): Promise<string[]> {
  let answer: string[] = [];
  for (let i = 0; i < 20; i++) {
    answer = await lookup(ns, name, server);
    if (JSON.stringify(answer) === JSON.stringify(expected)) break;
    await sleep(100);
  }
  return answer;
}

/** Links, namespaces and the firewall, in comparable form. */
async function hostSnapshot(): Promise<{
  links: string[];
  netns: string[];
  iptables: string[];
  nft: string[];
}> {
  const links = (JSON.parse((await run('ip', ['-j', 'link'])).stdout) as { ifname: string }[])
    .map((l) => l.ifname)
    .sort();
  const netns = (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/ \(id: \d+\)$/, ''))
    .sort();
  const iptables: string[] = [];
  for (const tool of ['iptables-save', 'ip6tables-save']) {
    for (const line of (await run(tool, [])).stdout.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      iptables.push(`${tool} ${line.replace(/\[\d+:\d+\]/, '')}`);
    }
  }
  const nft = (await run('nft', ['-s', 'list', 'ruleset'])).stdout
    .split('\n')
    .filter((l) => !l.includes('# Warning'));
  return { links, netns, iptables, nft };
}

/** Drops the chains (and the rules in and to them) that stay by design. */
function withoutSkeleton(lines: string[]): string[] {
  return lines.filter(
    (line) =>
      !SKELETON_CHAINS.some(
        (chain) => line.includes(` ${chain} `) || line.endsWith(` ${chain}`) || line.includes(`:${chain} `),
      ),
  );
}

describe('network service with netavark', { concurrency: false, timeout: 300_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-net-'));
  const dataRoot = path.join(dir, 'data');
  const execRoot = path.join(dir, 'exec');
  const defaultBridge = `bt${TAG}0`;
  const events: { action: string; id: string; attributes: Record<string, string> }[] = [];
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  let service: NetworkService;
  let before0: Awaited<ReturnType<typeof hostSnapshot>>;
  let baseline: Awaited<ReturnType<typeof hostSnapshot>>;
  const attached = new Map<string, AttachResult>();
  const ids = new Map<string, string>();

  const newService = (): NetworkService =>
    new NetworkService({
      dataRoot,
      execRoot,
      defaultBridge,
      defaultAddressPools: [{ base: '10.213.0.0/16', size: 24 }],
      publish: (_type, action, id, attributes) => events.push({ action, id, attributes }),
    });

  async function netns(name: string): Promise<string> {
    const full = `${NETNS_PREFIX}${name}`;
    const added = await run('ip', ['netns', 'add', full]);
    assert.equal(added.code, 0, added.stderr);
    namespaces.push(full);
    return full;
  }

  async function attach(
    name: string,
    network: string,
    extra: Partial<AttachRequest> = {},
  ): Promise<AttachResult> {
    const ns = extra.netnsPath ? undefined : await netns(name);
    const containerId = randomBytes(32).toString('hex');
    ids.set(name, containerId);
    const result = await service.attachContainer({
      containerId,
      containerName: name,
      hostname: containerId.slice(0, 12),
      networkMode: network,
      filesDir: path.join(dir, 'files', name),
      netnsPath: ns ? `/var/run/netns/${ns}` : undefined,
      ...extra,
    });
    attached.set(name, result);
    return result;
  }

  const ns = (name: string): string => `${NETNS_PREFIX}${name}`;
  const ipOn = (name: string, network: string): string =>
    attached.get(name)!.networkSettings.Networks[network].IPAddress!;
  const gatewayOf = (name: string, network: string): string =>
    attached.get(name)!.networkSettings.Networks[network].Gateway!;

  function serveInNetns(name: string, script: string): void {
    const child = spawn('ip', ['netns', 'exec', ns(name), process.execPath, '-e', script], {
      stdio: 'ignore',
    });
    children.push(child);
  }

  before(async () => {
    before0 = await hostSnapshot();
    service = newService();
    await service.start();
    // Warm up once so the chains netavark creates on first use exist before the baseline.
    await service.create({ Name: 'warmup', IPAM: { Config: [{ Subnet: '10.212.99.0/24' }] } });
    await attach('warm', 'warmup', { portBindings: { '80/tcp': [{ HostIp: '127.0.0.1' }] } });
    await service.detachContainer(ids.get('warm')!);
    await service.remove('warmup');
    await run('ip', ['netns', 'del', ns('warm')]);
    namespaces.splice(namespaces.indexOf(ns('warm')), 1);
    baseline = await hostSnapshot();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    for (const id of ids.values()) await service.detachContainer(id).catch(() => undefined);
    for (const network of service.list()) {
      if (!['bridge', 'host', 'none'].includes(network.Name))
        await service.remove(network.Id).catch(() => undefined);
    }
    const bridge = service.registry.byName('bridge');
    const rules = bridge ? firewallNetwork(bridge) : undefined;
    if (rules) await new BerthFirewall().removeNetwork(rules).catch(() => undefined);
    for (const name of namespaces) await run('ip', ['netns', 'del', name]);
    for (const configDir of ['netavark', 'netavark-internal']) {
      const pid = await aardvarkPid(path.join(execRoot, 'network', configDir, 'aardvark-dns'));
      if (pid) process.kill(pid, 'SIGKILL');
    }
    await run('umount', [path.join(execRoot, 'netns')]);
    await fs.rm(dir, { recursive: true, force: true });
    const end = await hostSnapshot();
    assert.deepEqual(end.links, before0.links, 'links left behind');
    assert.deepEqual(end.netns, before0.netns, 'namespaces left behind');
    assert.deepEqual(
      withoutSkeleton(end.iptables),
      withoutSkeleton(before0.iptables),
      'firewall rules left behind',
    );
  });

  test('predefined networks exist and the default bridge avoids routed subnets', () => {
    const names = service.list().map((n) => n.Name);
    for (const name of ['bridge', 'host', 'none']) assert.ok(names.includes(name));
    const bridge = service.inspect('bridge');
    assert.match(bridge.IPAM.Config![0].Subnet!, /^10\.213\.\d+\.0\/24$/);
    assert.equal(bridge.Options['com.docker.network.bridge.name'], defaultBridge);
    assert.equal(service.inspect('host').Driver, 'host');
    assert.equal(service.inspect('none').Driver, 'null');
  });

  test('two containers on a user network reach each other by address and by name', async () => {
    await service.create({ Name: 'na', IPAM: { Config: [{ Subnet: '10.212.1.0/24' }] } });
    await attach('a1', 'na', { endpointsConfig: { na: { Aliases: ['web'] } } });
    await attach('a2', 'na');
    assert.equal(ipOn('a1', 'na'), '10.212.1.2');
    assert.equal(ipOn('a2', 'na'), '10.212.1.3');
    assert.ok(await ping(ns('a1'), ipOn('a2', 'na')), 'a1 pings a2');
    const gateway = gatewayOf('a1', 'na');
    assert.deepEqual(await lookup(ns('a1'), 'a2', gateway), [ipOn('a2', 'na')]);
    assert.deepEqual(await lookup(ns('a2'), 'web', gateway), [ipOn('a1', 'na')], 'alias');
    assert.deepEqual(
      await lookup(ns('a2'), ids.get('a1')!.slice(0, 12), gateway),
      [ipOn('a1', 'na')],
      'short ID',
    );
    const settings = attached.get('a1')!.networkSettings;
    assert.deepEqual(settings.Networks.na.DNSNames, ['a1', 'web', ids.get('a1')!.slice(0, 12)]);
    assert.deepEqual(settings.Networks.na.Aliases, ['web']);
    assert.match(settings.Networks.na.MacAddress!, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    assert.equal(settings.IPAddress, '', 'top-level fields are for the default bridge only');
    const network = service.inspect('na');
    assert.deepEqual(Object.keys(network.Containers).sort(), [ids.get('a1'), ids.get('a2')].sort());
    assert.equal(network.Containers[ids.get('a1')!].IPv4Address, '10.212.1.2/24');
    assert.ok(
      events.some(
        (e) =>
          e.action === 'connect' && e.attributes.container === ids.get('a1') && e.attributes.name === 'na',
      ),
    );
  });

  test("the container's hosts and resolv.conf files", async () => {
    const files = attached.get('a1')!;
    const hosts = await fs.readFile(files.hostsPath!, 'utf8');
    assert.match(hosts, new RegExp(`^10\\.212\\.1\\.2\\t${ids.get('a1')!.slice(0, 12)}$`, 'm'));
    const resolv = await fs.readFile(files.resolvConfPath!, 'utf8');
    assert.match(resolv, /^nameserver 10\.212\.1\.1$/m);
    assert.match(resolv, /^options .*ndots:0/m);
    assert.equal(await fs.readFile(files.hostnamePath!, 'utf8'), `${ids.get('a1')!.slice(0, 12)}\n`);
  });

  test('containers on different networks cannot reach or resolve each other', async () => {
    await service.create({ Name: 'nb', IPAM: { Config: [{ Subnet: '10.212.2.0/24' }] } });
    await attach('b1', 'nb');
    assert.equal(await ping(ns('a1'), ipOn('b1', 'nb')), false);
    assert.equal(await ping(ns('b1'), ipOn('a1', 'na')), false);
    assert.deepEqual(await lookup(ns('b1'), 'a1', gatewayOf('b1', 'nb')), []);
  });

  test('the default bridge: reachable by address, no DNS, /etc/hosts has the container, host-gateway resolves', async () => {
    const result = await attach('d1', 'bridge', {
      extraHosts: ['host.docker.internal:host-gateway', 'db:10.9.9.9'],
    });
    const settings = result.networkSettings;
    assert.ok(settings.IPAddress.startsWith('10.213.'));
    assert.equal(settings.Gateway, settings.Networks.bridge.Gateway);
    assert.equal(settings.Networks.bridge.DNSNames, null);
    assert.ok(await ping(ns('d1'), settings.Gateway));
    const hosts = await fs.readFile(result.hostsPath!, 'utf8');
    assert.match(
      hosts,
      new RegExp(`^${settings.Gateway.replace(/\./g, '\\.')}\\thost\\.docker\\.internal$`, 'm'),
    );
    assert.match(hosts, /^10\.9\.9\.9\tdb$/m);
    const resolv = await fs.readFile(result.resolvConfPath!, 'utf8');
    assert.doesNotMatch(resolv, new RegExp(`nameserver ${settings.Gateway}`));
    assert.equal(
      await ping(ns('d1'), ipOn('a1', 'na')),
      false,
      'the default bridge is isolated from user networks too',
    );
  });

  test('an internal network has no route out and its DNS never forwards', async () => {
    await service.create({ Name: 'ni', Internal: true, IPAM: { Config: [{ Subnet: '10.212.3.0/24' }] } });
    await attach('i1', 'ni');
    await attach('i2', 'ni');
    const routes = (await run('ip', ['-n', ns('i1'), 'route'])).stdout;
    assert.doesNotMatch(routes, /default/);
    assert.equal(await ping(ns('i1'), ipOn('a1', 'na')), false);
    assert.equal(await ping(ns('a1'), ipOn('i1', 'ni')), false, 'nothing reaches into it');
    assert.ok(await ping(ns('i1'), ipOn('i2', 'ni')), 'inside it works');
    assert.deepEqual(await lookup(ns('i1'), 'i2', gatewayOf('i1', 'ni')), [ipOn('i2', 'ni')]);
    const pid = await aardvarkPid(path.join(execRoot, 'network', 'netavark-internal', 'aardvark-dns'));
    assert.ok(pid, 'a separate aardvark-dns serves internal networks');
    const environ = (await fs.readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    assert.ok(environ.includes('AARDVARK_NO_PROXY=1'), 'and it is told never to forward');
  });

  test('published ports on 127.0.0.1 and 0.0.0.0 reach a server in the namespace (TCP and UDP)', async () => {
    const result = await attach('p1', 'na', {
      exposedPorts: { '80/tcp': {}, '81/tcp': {}, '53/udp': {} },
      portBindings: {
        '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }],
        '81/tcp': [{ HostIp: '', HostPort: '' }],
        '53/udp': [{ HostIp: '127.0.0.1' }],
      },
    });
    const ports = result.networkSettings.Ports!;
    const tcpLoopback = Number(ports['80/tcp']![0].HostPort);
    const tcpAny = Number(ports['81/tcp']![0].HostPort);
    const udp = Number(ports['53/udp']![0].HostPort);
    assert.equal(ports['80/tcp']![0].HostIp, '127.0.0.1');
    assert.equal(ports['81/tcp']![0].HostIp, '0.0.0.0');
    for (const port of [tcpLoopback, tcpAny, udp])
      assert.ok(port >= 32768 && port <= 60999, `ephemeral ${port}`);
    serveInNetns(
      'p1',
      `for (const p of [80, 81]) require('http').createServer((q, s) => s.end('hello ' + p)).listen(p);` +
        `const u = require('dgram').createSocket('udp4'); u.on('message', (m, r) => u.send('echo ' + m, r.port, r.address)); u.bind(53);`,
    );
    let body = '';
    for (let i = 0; i < 50 && body === ''; i++) {
      body = await httpGetText(tcpLoopback).catch(() => '');
      if (body === '') await sleep(100);
    }
    assert.equal(body, 'hello 80');
    assert.equal(await httpGetText(tcpAny), 'hello 81');
    assert.equal(await udpRoundTrip(udp, 'ping'), 'echo ping');
  });

  test("a taken host port is refused with Docker's message and nothing is left half set up", async () => {
    const taken = Number(attached.get('p1')!.networkSettings.Ports!['80/tcp']![0].HostPort);
    await assert.rejects(
      attach('p2', 'na', { portBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(taken) }] } }),
      (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^driver failed programming external connectivity on endpoint p2 \\([0-9a-f]{64}\\): Bind for 127\\.0\\.0\\.1:${taken} failed: port is already allocated$`,
          ),
        );
        return true;
      },
    );
    assert.equal(service.networkSettings(ids.get('p2')!), undefined);
    const links = (await run('ip', ['-n', ns('p2'), '-o', 'link'])).stdout;
    assert.doesNotMatch(links, /eth0/);
    assert.ok(!Object.keys(service.inspect('na').Containers).includes(ids.get('p2')!));
    ids.delete('p2');
  });

  test('static addresses, and an address in use is refused', async () => {
    const result = await attach('s1', 'na', {
      endpointsConfig: { na: { IPAMConfig: { IPv4Address: '10.212.1.77' } } },
    });
    assert.equal(result.networkSettings.Networks.na.IPAddress, '10.212.1.77');
    await assert.rejects(
      attach('s2', 'na', { endpointsConfig: { na: { IPAMConfig: { IPv4Address: '10.212.1.77' } } } }),
      (err: Error) => {
        assert.ok(isEngineError(err, 'Forbidden'));
        assert.equal(err.message, 'Address already in use');
        return true;
      },
    );
    ids.delete('s2');
    await assert.rejects(
      attach('s3', 'bridge', { endpointsConfig: { bridge: { IPAMConfig: { IPv4Address: '10.213.0.50' } } } }),
      /user-specified IP address is supported on user-defined networks only/,
    );
    ids.delete('s3');
  });

  test('connect and disconnect a running container', async () => {
    const settings = await service.connectContainer(ids.get('a1')!, 'nb', { Aliases: ['api'] });
    assert.equal(settings.IPAddress, '10.212.2.3');
    assert.ok(await ping(ns('a1'), ipOn('b1', 'nb')), 'a1 reaches b1 once connected');
    assert.deepEqual(await lookupSettled(ns('b1'), 'api', gatewayOf('b1', 'nb'), ['10.212.2.3']), [
      '10.212.2.3',
    ]);
    const eth1 = (await run('ip', ['-n', ns('a1'), '-o', 'addr', 'show', 'eth1'])).stdout;
    assert.match(eth1, /10\.212\.2\.3\/24/);
    const hosts = await fs.readFile(attached.get('a1')!.hostsPath!, 'utf8');
    assert.match(hosts, /^10\.212\.2\.3\t/m);
    await assert.rejects(
      service.connectContainer(ids.get('a1')!, 'nb'),
      /endpoint with name a1 already exists in network nb/,
    );
    await assert.rejects(service.remove('nb'), (err: Error) => {
      assert.ok(isEngineError(err, 'Forbidden'));
      assert.match(
        err.message,
        /^error while removing network: network nb has active endpoints \(name:"(a1|b1)" id:"[0-9a-f]{12}", name:"(a1|b1)" id:"[0-9a-f]{12}"\)$/,
      );
      return true;
    });
    await service.disconnectContainer(ids.get('a1')!, 'nb');
    assert.equal(await ping(ns('a1'), ipOn('b1', 'nb')), false);
    assert.deepEqual(await lookupSettled(ns('b1'), 'api', gatewayOf('b1', 'nb'), []), []);
    assert.doesNotMatch(await fs.readFile(attached.get('a1')!.hostsPath!, 'utf8'), /10\.212\.2\.3/);
    assert.ok(
      events.some(
        (e) =>
          e.action === 'disconnect' && e.attributes.container === ids.get('a1') && e.attributes.name === 'nb',
      ),
    );
  });

  test('after a restart, running containers keep their network and lost pieces come back', async () => {
    // aardvark-dns died while berthd was down; b1 also died.
    const pid = await aardvarkPid(path.join(execRoot, 'network', 'netavark', 'aardvark-dns'));
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    const deadId = ids.get('b1')!;
    await service.shutdown();
    const restarted = newService();
    await restarted.start();
    await restarted.restore(async (id) => id !== deadId);
    service = restarted;
    ids.delete('b1');
    assert.equal(service.networkSettings(deadId), undefined, 'the dead container was released');
    assert.deepEqual(service.networkSettings(ids.get('a1')!)!.Networks.na.IPAddress, '10.212.1.2');
    assert.deepEqual(
      await lookupSettled(ns('a2'), 'a1', gatewayOf('a1', 'na'), ['10.212.1.2']),
      ['10.212.1.2'],
      'DNS answers again',
    );
    assert.ok(await ping(ns('a1'), ipOn('a2', 'na')));
    const port = Number(service.networkSettings(ids.get('p1')!)!.Ports!['80/tcp']![0].HostPort);
    assert.equal(await httpGetText(port), 'hello 80');
    await assert.rejects(
      service.attachContainer({
        containerId: randomBytes(32).toString('hex'),
        containerName: 'late',
        hostname: 'late',
        networkMode: 'na',
        portBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] },
      }),
      /port is already allocated/,
      'restored port reservations still count',
    );
  });

  test('none and host modes, and container: sharing', async () => {
    const none = await attach('n1', 'none');
    const links = (await run('ip', ['-n', ns('n1'), '-o', 'link'])).stdout.trim().split('\n');
    assert.equal(links.length, 1);
    assert.match(links[0], /lo: <LOOPBACK,UP,LOWER_UP>/);
    assert.deepEqual(Object.keys(none.networkSettings.Networks), ['none']);
    const hostId = randomBytes(32).toString('hex');
    ids.set('h1', hostId);
    const host = await service.attachContainer({
      containerId: hostId,
      containerName: 'h1',
      hostname: os.hostname(),
      networkMode: 'host',
      filesDir: path.join(dir, 'files', 'h1'),
    });
    assert.equal(host.netnsPath, undefined);
    assert.equal(await fs.readFile(host.hostsPath!, 'utf8'), await fs.readFile('/etc/hosts', 'utf8'));
    await assert.rejects(
      service.connectContainer(hostId, 'na'),
      /container cannot be disconnected from host network or connected to host network/,
    );
    const sharedId = randomBytes(32).toString('hex');
    ids.set('c1', sharedId);
    const shared = await service.attachContainer({
      containerId: sharedId,
      containerName: 'c1',
      hostname: 'x',
      networkMode: `container:${ids.get('a1')}`,
    });
    assert.equal(shared.netnsPath, `/var/run/netns/${ns('a1')}`);
    assert.equal(shared.hostsPath, attached.get('a1')!.hostsPath);
    assert.deepEqual(shared.networkSettings.Networks, {});
  });

  test('a namespace berth creates itself is pinned under exec-root and removed at detach', async () => {
    const id = randomBytes(32).toString('hex');
    const result = await service.attachContainer({
      containerId: id,
      containerName: 'own',
      hostname: 'own',
      networkMode: 'na',
    });
    assert.equal(result.netnsPath, path.join(execRoot, 'netns', id));
    const addr = (await run('nsenter', [`--net=${result.netnsPath}`, 'ip', '-o', 'addr', 'show', 'eth0']))
      .stdout;
    assert.match(addr, /inet 10\.212\.1\.\d+\/24/);
    await service.detachContainer(id);
    await assert.rejects(fs.access(result.netnsPath!));
  });

  test('enable_icc=false, MTU and a requested MAC address', async () => {
    await service.create({
      Name: 'nq',
      IPAM: { Config: [{ Subnet: '10.212.4.0/24' }] },
      Options: { 'com.docker.network.bridge.enable_icc': 'false', 'com.docker.network.driver.mtu': '1400' },
    });
    await attach('q1', 'nq', { endpointsConfig: { nq: { MacAddress: '02:42:ac:11:00:99' } } });
    await attach('q2', 'nq');
    assert.equal(attached.get('q1')!.networkSettings.Networks.nq.MacAddress, '02:42:ac:11:00:99');
    const link = (await run('ip', ['-n', ns('q1'), '-o', 'link', 'show', 'eth0'])).stdout;
    assert.match(link, /mtu 1400/);
    assert.match(link, /link\/ether 02:42:ac:11:00:99/);
    assert.equal(
      await ping(ns('q1'), ipOn('q2', 'nq')),
      false,
      'no traffic between containers of the network',
    );
    assert.ok(await ping(ns('q1'), gatewayOf('q1', 'nq')), 'the gateway is still reachable');
    assert.deepEqual(
      await lookup(ns('q1'), 'q2', gatewayOf('q1', 'nq')),
      [ipOn('q2', 'nq')],
      'and DNS still answers',
    );
  });

  test('a dual-stack network: IPv6 addresses, reachability and AAAA answers', async () => {
    await service.create({
      Name: 'n6',
      EnableIPv6: true,
      IPAM: { Config: [{ Subnet: '10.212.6.0/24' }, { Subnet: 'fd42:b3:6::/64' }] },
    });
    const one = await attach('v1', 'n6');
    await attach('v2', 'n6');
    const v2 = attached.get('v2')!.networkSettings.Networks.n6;
    assert.equal(one.networkSettings.Networks.n6.GlobalIPv6Address, 'fd42:b3:6::2');
    assert.equal(one.networkSettings.Networks.n6.GlobalIPv6PrefixLen, 64);
    assert.equal(one.networkSettings.Networks.n6.IPv6Gateway, 'fd42:b3:6::1');
    assert.ok(await ping(ns('v1'), v2.GlobalIPv6Address!), 'ping over IPv6');
    const { stdout } = await inNetns(
      ns('v1'),
      'busybox',
      'nslookup',
      '-type=AAAA',
      'v2',
      gatewayOf('v1', 'n6'),
    );
    assert.match(stdout, /fd42:b3:6::3/);
    assert.equal(service.inspect('n6').Containers[ids.get('v1')!].IPv6Address, 'fd42:b3:6::2/64');
  });

  test('a published port is reached from another host; masquerading follows enable_ip_masquerade', async () => {
    // "Another host": a namespace joined to this one by a veth pair on a test subnet.
    const outside = await netns('out');
    const hostSide = `bto${TAG}`;
    for (const args of [
      ['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', outside],
      ['addr', 'add', '10.211.0.1/30', 'dev', hostSide],
      ['link', 'set', hostSide, 'up'],
      ['-n', outside, 'addr', 'add', '10.211.0.2/30', 'dev', 'eth0'],
      ['-n', outside, 'link', 'set', 'eth0', 'up'],
      ['-n', outside, 'link', 'set', 'lo', 'up'],
      ['-n', outside, 'route', 'add', '10.212.0.0/16', 'via', '10.211.0.1'],
    ]) {
      const result = await run('ip', args);
      assert.equal(result.code, 0, `ip ${args.join(' ')}: ${result.stderr}`);
    }
    const port = Number(attached.get('p1')!.networkSettings.Ports!['81/tcp']![0].HostPort);
    const fetch = `require('http').get('http://10.211.0.1:${port}/', { timeout: 3000 }, (r) => r.pipe(process.stdout)).on('error', (e) => { console.error(e.message); process.exit(1); });`;
    const fetched = await inNetns(outside, process.execPath, '-e', fetch);
    assert.equal(fetched.stdout, 'hello 81', `from the other host: ${fetched.stderr}`);

    // The other host echoes back the source address it sees.
    serveInNetns(
      'out',
      `const u = require('dgram').createSocket('udp4'); u.on('message', (m, r) => u.send(r.address, r.port, r.address)); u.bind(9999, '10.211.0.2');`,
    );
    const askSource =
      `const u = require('dgram').createSocket('udp4'); const t = setInterval(() => u.send('x', 9999, '10.211.0.2'), 100);` +
      `u.on('message', (m) => { console.log(m.toString()); clearInterval(t); u.close(); }); setTimeout(() => process.exit(2), 3000);`;
    const masqueraded = await inNetns(ns('a1'), process.execPath, '-e', askSource);
    assert.equal(masqueraded.stdout.trim(), '10.211.0.1', 'masqueraded behind the host');
    await service.create({
      Name: 'nm',
      IPAM: { Config: [{ Subnet: '10.212.7.0/24' }] },
      Options: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
    });
    await attach('m1', 'nm');
    const direct = await inNetns(ns('m1'), process.execPath, '-e', askSource);
    assert.equal(direct.stdout.trim(), ipOn('m1', 'nm'), 'the container address, unmasqueraded');
    await run('ip', ['link', 'del', hostSide]);
  });

  test('a renamed container answers to its new name', async () => {
    await service.renameContainer(ids.get('a2')!, 'a2new');
    const gateway = gatewayOf('a1', 'na');
    assert.deepEqual(await lookupSettled(ns('a1'), 'a2new', gateway, [ipOn('a2', 'na')]), [ipOn('a2', 'na')]);
    assert.deepEqual(await lookupSettled(ns('a1'), 'a2', gateway, []), []);
    assert.equal(
      service.networkSettings(ids.get('a2')!)!.Networks.na.IPAddress,
      ipOn('a2', 'na'),
      'same address',
    );
    assert.ok(await ping(ns('a1'), ipOn('a2', 'na')));
    assert.equal(service.inspect('na').Containers[ids.get('a2')!].Name, 'a2new');
  });

  test("force disconnect deletes a stale endpoint by name; an unknown name is Docker's error", async () => {
    await attach('stale', 'na');
    const staleId = ids.get('stale')!;
    const gateway = gatewayOf('a1', 'na');
    assert.deepEqual(await lookupSettled(ns('a1'), 'stale', gateway, [ipOn('stale', 'na')]), [
      ipOn('stale', 'na'),
    ]);
    // No container service answers for "stale" here: it is the endpoint of a container that is gone.
    await service.disconnect('na', 'stale', true);
    assert.equal(service.inspect('na').Containers[staleId], undefined);
    assert.equal(service.networkSettings(staleId), undefined, 'the attachment went with its last endpoint');
    assert.deepEqual(await lookupSettled(ns('a1'), 'stale', gateway, []), []);
    assert.ok(events.some((e) => e.action === 'disconnect' && e.attributes.container === staleId));
    await assert.rejects(service.disconnect('na', 'never-existed', true), (err: Error) => {
      assert.ok(isEngineError(err, 'NotFound'));
      assert.equal(err.message, 'endpoint never-existed not found');
      return true;
    });
  });

  test('a none container without a namespace of its own is listed on none, with connect and disconnect events', async () => {
    const noneId = randomBytes(32).toString('hex');
    ids.set('none2', noneId);
    const filesDir = path.join(dir, 'files', 'none2');
    const result = await service.attachContainer({
      containerId: noneId,
      containerName: 'none2',
      hostname: 'none2',
      networkMode: 'none',
      filesDir,
    });
    assert.equal(result.netnsPath, undefined, 'the runtime gives it its own namespace');
    await assert.rejects(fs.access(filesDir), 'the engine keeps the files it wrote');
    const none = service.inspect('none');
    const entry = none.Containers[noneId];
    assert.equal(entry.Name, 'none2');
    assert.match(entry.EndpointID, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      { mac: entry.MacAddress, v4: entry.IPv4Address, v6: entry.IPv6Address },
      { mac: '', v4: '', v6: '' },
    );
    assert.equal(service.networkSettings(noneId)!.Networks.none.EndpointID, entry.EndpointID);
    const of = (action: string) =>
      events.filter((e) => e.action === action && e.attributes.container === noneId);
    assert.deepEqual(
      of('connect').map((e) => [e.id, e.attributes.name, e.attributes.type]),
      [[none.Id, 'none', 'null']],
    );
    await service.detachContainer(noneId);
    assert.equal(service.inspect('none').Containers[noneId], undefined);
    assert.deepEqual(
      of('disconnect').map((e) => [e.id, e.attributes.name, e.attributes.type]),
      [[none.Id, 'none', 'null']],
    );
  });

  test('50 runs with published ports on fresh networks leave nothing behind', async () => {
    const before = await hostSnapshot();
    const name = await netns('cycle');
    const other = await netns('cycle2');
    for (let i = 0; i < 50; i++) {
      const network = `cycle${i}`;
      await service.create({ Name: network, IPAM: { Config: [{ Subnet: `10.210.${i}.0/24` }] } });
      const withPorts = randomBytes(32).toString('hex');
      const plain = randomBytes(32).toString('hex');
      await service.attachContainer({
        containerId: plain,
        containerName: `plain${i}`,
        hostname: 'p',
        networkMode: network,
        netnsPath: `/var/run/netns/${other}`,
      });
      await service.attachContainer({
        containerId: withPorts,
        containerName: `ports${i}`,
        hostname: 'w',
        networkMode: network,
        netnsPath: `/var/run/netns/${name}`,
        exposedPorts: { '80/tcp': {}, '53/udp': {} },
        portBindings: { '80/tcp': [{ HostIp: '127.0.0.1' }] },
        publishAllPorts: true,
      });
      // The container with ports leaves first: the path where netavark 1.4 leaves a chain behind.
      await service.detachContainer(withPorts);
      await service.detachContainer(plain);
      await service.remove(network);
    }
    const after = await hostSnapshot();
    assert.deepEqual(after.links, before.links);
    assert.deepEqual(after.iptables, before.iptables);
    assert.deepEqual(after.nft, before.nft);
  });

  test('setup cost per container on an existing network', async (t) => {
    const name = await netns('bench');
    const cycles = 10;
    let attachMs = 0;
    let detachMs = 0;
    for (let i = 0; i < cycles; i++) {
      const id = randomBytes(32).toString('hex');
      const start = performance.now();
      await service.attachContainer({
        containerId: id,
        containerName: `bench${i}`,
        hostname: 'b',
        networkMode: 'na',
        netnsPath: `/var/run/netns/${name}`,
      });
      const mid = performance.now();
      await service.detachContainer(id);
      attachMs += mid - start;
      detachMs += performance.now() - mid;
    }
    const raw = new Netavark({ configDir: path.join(execRoot, 'network', 'netavark') });
    assert.ok(raw.binary);
    t.diagnostic(
      `attach ${(attachMs / cycles).toFixed(1)} ms, detach ${(detachMs / cycles).toFixed(1)} ms (mean of ${cycles})`,
    );
    assert.ok(attachMs / cycles < 1000);
  });

  test('tearing everything down restores the host exactly', async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const [name, id] of [...ids]) {
      await service.detachContainer(id);
      ids.delete(name);
    }
    for (const name of ['na', 'nb', 'ni', 'nq', 'n6', 'nm']) await service.remove(name);
    const now = await hostSnapshot();
    assert.deepEqual(now.links, baseline.links);
    assert.deepEqual(now.iptables, baseline.iptables);
    assert.deepEqual(now.nft, baseline.nft);
    assert.deepEqual(
      now.netns,
      [...baseline.netns, ...namespaces].sort(),
      'only the namespaces the test made itself remain',
    );
  });
});
