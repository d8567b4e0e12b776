import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isEngineError, type ErrorKind } from '../../src/common/errors.js';
import { parsePrefix } from '../../src/network/ip.js';
import { DOCKER_DEFAULT_POOLS } from '../../src/network/ipam.js';
import { networkRules } from '../../src/network/firewall.js';
import type { NetworkRecord } from '../../src/network/store.js';
import { bridgeSettings, buildNetworkRecord, type CreateContext } from '../../src/engine/networks/create.js';
import { listFilter, pruneFilter } from '../../src/engine/networks/filters.js';
import { dnsNamesOf, netavarkHash, netavarkNetwork } from '../../src/engine/networks/sandboxes.js';
import type { NetworkCreateRequest } from '../../src/types/network.js';

const context = (existing: NetworkRecord[] = [], routes: string[] = []): CreateContext => ({
  existing,
  hostRoutes: routes.map((r) => parsePrefix(r)!),
  pools: DOCKER_DEFAULT_POOLS,
});

function fails(
  request: NetworkCreateRequest,
  ctx: CreateContext,
  kind: ErrorKind,
  message: string | RegExp,
): void {
  assert.throws(
    () => buildNetworkRecord(request, ctx),
    (err: unknown) => {
      assert.ok(isEngineError(err, kind), `expected ${kind}, got ${String(err)}`);
      if (typeof message === 'string') assert.equal((err as Error).message, message);
      else assert.match((err as Error).message, message);
      return true;
    },
  );
}

describe('network create: validation', () => {
  test('a plain create gets a pool subnet that avoids host routes, and a br- bridge', () => {
    const record = buildNetworkRecord({ Name: 'web' }, context([], ['172.17.0.0/16', '172.18.0.0/24']));
    assert.equal(record.Driver, 'bridge');
    assert.deepEqual(record.IPAM.Config, [{ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' }]);
    assert.equal(record.bridge, `br-${record.Id.slice(0, 12)}`);
    assert.match(record.Id, /^[0-9a-f]{64}$/);
    assert.match(record.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  });

  test('subnets of existing networks are skipped; given overlapping ones are refused', () => {
    const first = buildNetworkRecord({ Name: 'a' }, context());
    const second = buildNetworkRecord({ Name: 'b' }, context([first]));
    assert.equal(second.IPAM.Config![0].Subnet, '172.18.0.0/16');
    fails(
      { Name: 'c', IPAM: { Config: [{ Subnet: '172.17.5.0/24' }] } },
      context([first]),
      'Forbidden',
      'invalid pool request: Pool overlaps with other one on this address space',
    );
  });

  test("names: empty, predefined and duplicate ones fail with dockerd's messages", () => {
    fails({ Name: '' }, context(), 'InvalidParameter', 'invalid name: name is empty');
    fails(
      { Name: 'bridge' },
      context(),
      'Forbidden',
      'operation is not permitted on predefined bridge network ',
    );
    const existing = buildNetworkRecord({ Name: 'dup' }, context());
    fails({ Name: 'dup' }, context([existing]), 'Conflict', 'network with name dup already exists');
  });

  test('drivers other than bridge', () => {
    fails(
      { Name: 'x', Driver: 'host' },
      context(),
      'Forbidden',
      'only one instance of "host" network is allowed',
    );
    fails({ Name: 'x', Driver: 'overlay2' }, context(), 'NotFound', 'plugin "overlay2" not found');
    fails({ Name: 'x', IPAM: { Driver: 'dhcp' } }, context(), 'NotFound', 'plugin "dhcp" not found');
  });

  test('options: bridge name, icc, masquerade, mtu, host binding', () => {
    const record = buildNetworkRecord(
      {
        Name: 'o',
        Options: {
          'com.docker.network.bridge.name': 'mybr0',
          'com.docker.network.bridge.enable_icc': 'false',
          'com.docker.network.bridge.enable_ip_masquerade': '0',
          'com.docker.network.driver.mtu': '1400',
          'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1',
        },
      },
      context(),
    );
    assert.equal(record.bridge, 'mybr0');
    assert.deepEqual(bridgeSettings(record), {
      icc: false,
      masquerade: false,
      mtu: 1400,
      hostBindingIpv4: '127.0.0.1',
    });
    assert.deepEqual(netavarkNetwork(record).options, { mtu: '1400' });
    fails(
      { Name: 'p', Options: { 'com.docker.network.bridge.name': 'mybr0' } },
      context([record]),
      'Forbidden',
      /conflicts with network .* networks have same bridge name/,
    );
    fails(
      { Name: 'q', Options: { 'com.docker.network.driver.mtu': 'big' } },
      context(),
      'InvalidParameter',
      'invalid MTU number: big',
    );
    fails(
      { Name: 'r', Options: { 'com.docker.network.bridge.enable_icc': 'maybe' } },
      context(),
      'InvalidParameter',
      /invalid boolean: maybe/,
    );
  });

  test('IPAM with range, gateway and auxiliary addresses; IPv6 gets a ULA /64 when none is given', () => {
    const record = buildNetworkRecord(
      {
        Name: 'v',
        EnableIPv6: true,
        IPAM: {
          Config: [
            {
              Subnet: '10.20.0.0/16',
              IPRange: '10.20.5.0/24',
              Gateway: '10.20.0.254',
              AuxiliaryAddresses: { h: '10.20.5.9' },
            },
          ],
        },
      },
      context(),
    );
    assert.deepEqual(record.IPAM.Config![0], {
      Subnet: '10.20.0.0/16',
      IPRange: '10.20.5.0/24',
      Gateway: '10.20.0.254',
      AuxiliaryAddresses: { h: '10.20.5.9' },
    });
    assert.match(record.IPAM.Config![1].Subnet!, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
    const nv = netavarkNetwork(record);
    assert.equal(nv.ipv6_enabled, true);
    assert.equal(nv.subnets[0].gateway, '10.20.0.254');
    fails(
      { Name: 'w', IPAM: { Config: [{ Subnet: '10.1.0.0/24' }, { Subnet: '10.2.0.0/24' }] } },
      context(),
      'InvalidParameter',
      'berth supports one IPv4 subnet per network',
    );
  });

  test('an IPv6 subnet without EnableIPv6 is ignored, as dockerd does', () => {
    const record = buildNetworkRecord(
      { Name: 'z', IPAM: { Config: [{ Subnet: 'fd00:9::/64' }] } },
      context(),
    );
    assert.equal(record.IPAM.Config!.length, 1);
    assert.equal(record.IPAM.Config![0].Subnet, '172.17.0.0/16');
  });
});

describe('network filters', () => {
  const a = buildNetworkRecord({ Name: 'frontend', Labels: { tier: 'web', env: 'prod' } }, context());
  const b = buildNetworkRecord({ Name: 'backend', Labels: { tier: 'db' } }, context([a]));
  const bridge = { ...buildNetworkRecord({ Name: 'x' }, context([a, b])), Name: 'bridge' };
  const names = (filter: ReturnType<typeof listFilter>, inUse = new Set<string>()): string[] =>
    [a, b, bridge].filter((n) => filter.matches(n, inUse.has(n.Name))).map((n) => n.Name);

  test('name and id match as substrings or patterns; labels all have to match', () => {
    assert.deepEqual(names(listFilter(new Map([['name', ['end']]]))), ['frontend', 'backend']);
    assert.deepEqual(names(listFilter(new Map([['name', ['^front']]]))), ['frontend']);
    assert.deepEqual(names(listFilter(new Map([['id', [b.Id.slice(0, 6)]]]))), ['backend']);
    assert.deepEqual(names(listFilter(new Map([['label', ['tier']]]))), ['frontend', 'backend']);
    assert.deepEqual(names(listFilter(new Map([['label', ['tier=web', 'env=prod']]]))), ['frontend']);
    assert.deepEqual(names(listFilter(new Map([['label', ['tier=web', 'env=dev']]]))), []);
    assert.deepEqual(
      names(
        listFilter(
          new Map([
            ['driver', ['bridge']],
            ['scope', ['local']],
          ]),
        ),
      ),
      ['frontend', 'backend', 'bridge'],
    );
  });

  test('type and dangling', () => {
    assert.deepEqual(names(listFilter(new Map([['type', ['builtin']]]))), ['bridge']);
    assert.deepEqual(names(listFilter(new Map([['type', ['custom']]]))), ['frontend', 'backend']);
    assert.deepEqual(names(listFilter(new Map([['type', ['custom', 'builtin']]]))), [
      'frontend',
      'backend',
      'bridge',
    ]);
    assert.deepEqual(names(listFilter(new Map([['dangling', ['true']]])), new Set(['backend'])), [
      'frontend',
    ]);
    assert.deepEqual(names(listFilter(new Map([['dangling', ['0']]])), new Set(['backend'])), [
      'backend',
      'bridge',
    ]);
    assert.throws(
      () => listFilter(new Map([['dangling', ['maybe']]])),
      /invalid value for filter 'dangling'/,
    );
    assert.throws(() => listFilter(new Map([['type', ['x']]])), /invalid filter: 'type'='x'/);
    assert.throws(() => listFilter(new Map([['until', ['1h']]])), /invalid filter 'until'/);
  });

  test('prune: unused custom networks, label! and until', () => {
    assert.deepEqual(names(pruneFilter(new Map()), new Set(['backend'])), ['frontend']);
    assert.deepEqual(names(pruneFilter(new Map([['label!', ['env=prod']]]))), ['backend']);
    assert.deepEqual(names(pruneFilter(new Map([['until', ['1h']]]))), []);
    assert.deepEqual(names(pruneFilter(new Map([['until', [String(Date.now() / 1000 + 60)]]]))), [
      'frontend',
      'backend',
    ]);
    assert.throws(() => pruneFilter(new Map([['name', ['x']]])), /invalid filter 'name'/);
  });
});

describe('network endpoint details', () => {
  test("DNS names: container name, aliases, short ID and hostname, as Docker's DNSNames", () => {
    const id = 'abcdef0123456789'.repeat(4);
    assert.deepEqual(
      dnsNamesOf({ containerName: 'web', containerId: id, hostname: 'abcdef012345' }, ['www', 'web']),
      ['web', 'www', 'abcdef012345'],
    );
    assert.deepEqual(dnsNamesOf({ containerName: 'web', containerId: id, hostname: 'box' }, []), [
      'web',
      'abcdef012345',
      'box',
    ]);
  });

  test("netavark's chain hash for a network name", () => {
    // Observed from netavark 1.4 itself: network "n1" uses NETAVARK-43D91F8451058.
    assert.equal(netavarkHash('n1'), '43D91F8451058');
  });

  test('firewall rules per network', () => {
    const subnet = parsePrefix('10.9.0.0/24')!;
    const plain = networkRules(
      { bridge: 'br-x', subnets: [subnet], internal: false, icc: true, masquerade: true },
      4,
    );
    assert.deepEqual(
      plain.map((r) => `${r.table} ${r.chain} ${r.spec}`),
      [
        'filter BERTH-ISOLATION-1 -i br-x ! -o br-x -j BERTH-ISOLATION-2',
        'filter BERTH-ISOLATION-2 -o br-x -j DROP',
      ],
    );
    const strict = networkRules(
      { bridge: 'br-y', subnets: [subnet], internal: true, icc: false, masquerade: false },
      4,
    );
    assert.deepEqual(
      strict.slice(2).map((r) => `${r.table} ${r.chain} ${r.spec}`),
      [
        'filter BERTH-ISOLATION-1 -i br-y -o br-y -j DROP',
        'filter BERTH-ISOLATION-1 ! -i br-y -o br-y -j DROP',
        'filter BERTH-ISOLATION-1 -i br-y ! -o br-y -j DROP',
        'nat BERTH-POSTROUTING -s 10.9.0.0/24 ! -o br-y -j ACCEPT',
      ],
    );
    assert.equal(
      networkRules({ bridge: 'br-y', subnets: [subnet], internal: false, icc: true, masquerade: false }, 6)
        .length,
      2,
    );
  });
});
