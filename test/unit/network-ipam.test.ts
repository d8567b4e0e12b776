import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddress, formatPrefix, parseAddress, parsePrefix, type Prefix } from '../../src/network/ip.js';
import {
  DOCKER_DEFAULT_POOLS,
  allocateAddress,
  checkStaticAddress,
  chooseSubnet,
  formatSubnetPlan,
  parseSubnetPlan,
  reservedAddresses,
} from '../../src/network/ipam.js';
import { parseIPv4Routes, parseIPv6Routes } from '../../src/network/host-routes.js';
import { isEngineError } from '../../src/common/errors.js';

const prefixes = (...texts: string[]): Prefix[] => texts.map((t) => parsePrefix(t)!);
const ip = (text: string): bigint => parseAddress(text)!.value;

describe('network ipam: choosing subnets', () => {
  test("Docker's default pools start at 172.17.0.0/16 and end with /20s of 192.168.0.0/16", () => {
    assert.equal(formatPrefix(chooseSubnet(DOCKER_DEFAULT_POOLS, [])!), '172.17.0.0/16');
    assert.equal(DOCKER_DEFAULT_POOLS.length, 16);
    assert.deepEqual(DOCKER_DEFAULT_POOLS[14], { base: '172.31.0.0/16', size: 16 });
    assert.deepEqual(DOCKER_DEFAULT_POOLS[15], { base: '192.168.0.0/16', size: 20 });
  });

  test('skips subnets routed on the host and taken by other networks', () => {
    const avoid = prefixes('172.17.0.0/16', '172.18.5.0/24', '172.19.0.0/16');
    assert.equal(formatPrefix(chooseSubnet(DOCKER_DEFAULT_POOLS, avoid)!), '172.20.0.0/16');
  });

  test('a host route wider than a pool blocks every subnet inside it', () => {
    const avoid = prefixes('172.16.0.0/12');
    assert.equal(formatPrefix(chooseSubnet(DOCKER_DEFAULT_POOLS, avoid)!), '192.168.0.0/20');
    assert.equal(
      formatPrefix(chooseSubnet(DOCKER_DEFAULT_POOLS, [...avoid, ...prefixes('192.168.0.0/24')])!),
      '192.168.16.0/20',
    );
  });

  test('configured pools are carved into subnets of their size; exhausted pools give undefined', () => {
    const pools = [{ base: '10.10.0.0/16', size: 24 }];
    assert.equal(
      formatPrefix(chooseSubnet(pools, prefixes('10.10.0.0/24', '10.10.1.0/25'))!),
      '10.10.2.0/24',
    );
    assert.equal(chooseSubnet([{ base: '10.10.0.0/23', size: 24 }], prefixes('10.10.0.0/23')), undefined);
  });

  test('IPv6 pools are only used for IPv6', () => {
    assert.equal(chooseSubnet([{ base: 'fd00::/48', size: 64 }], []), undefined);
    assert.equal(
      formatPrefix(chooseSubnet([{ base: 'fd00::/48', size: 64 }], prefixes('fd00::/64'), 6)!),
      'fd00:0:0:1::/64',
    );
  });
});

describe('network ipam: host routes', () => {
  test('parses /proc/net/route (little-endian hex) and skips the default route', () => {
    const text = [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n');
    const routes = parseIPv4Routes(text);
    assert.deepEqual(
      routes.map((r) => [r.iface, formatPrefix(r.prefix)]),
      [
        ['eth0', '192.0.2.0/24'],
        ['docker0', '172.17.0.0/16'],
      ],
    );
  });

  test('parses /proc/net/ipv6_route, skipping default, loopback, link-local and multicast', () => {
    const text = [
      'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0',
      'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0',
      '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0',
      '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo',
      'ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0',
    ].join('\n');
    assert.deepEqual(
      parseIPv6Routes(text).map((r) => [r.iface, formatPrefix(r.prefix)]),
      [['eth0', 'fd00::/64']],
    );
  });

  test('a subnet chosen against the parsed routes avoids them', () => {
    const routes = parseIPv4Routes('h\ndocker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n');
    assert.equal(
      formatPrefix(
        chooseSubnet(
          DOCKER_DEFAULT_POOLS,
          routes.map((r) => r.prefix),
        )!,
      ),
      '172.18.0.0/16',
    );
  });
});

describe('network ipam: subnet plans', () => {
  test('gateway defaults to the first address; config round-trips', () => {
    const plan = parseSubnetPlan({ Subnet: '10.5.0.0/24' });
    assert.equal(formatAddress(plan.gateway!), '10.5.0.1');
    assert.deepEqual(formatSubnetPlan(plan), { Subnet: '10.5.0.0/24', Gateway: '10.5.0.1' });
    const full = parseSubnetPlan({
      Subnet: '10.6.0.0/16',
      IPRange: '10.6.4.0/24',
      Gateway: '10.6.0.254',
      AuxiliaryAddresses: { r: '10.6.4.1' },
    });
    assert.deepEqual(formatSubnetPlan(full), {
      Subnet: '10.6.0.0/16',
      IPRange: '10.6.4.0/24',
      Gateway: '10.6.0.254',
      AuxiliaryAddresses: { r: '10.6.4.1' },
    });
  });

  test("invalid configs fail with dockerd's messages", () => {
    const message = (config: Parameters<typeof parseSubnetPlan>[0]): string => {
      try {
        parseSubnetPlan(config);
      } catch (err) {
        assert.ok(isEngineError(err, 'InvalidParameter'));
        return (err as Error).message;
      }
      return '';
    };
    assert.equal(
      message({ Subnet: '10.0.0.1/24' }),
      'invalid network config:\ninvalid subnet 10.0.0.1/24: it should be 10.0.0.0/24',
    );
    assert.equal(
      message({ Subnet: 'nope' }),
      'invalid network config:\ninvalid subnet nope: invalid CIDR address: nope',
    );
    assert.equal(
      message({ Subnet: '10.0.0.0/24', Gateway: '10.0.1.1' }),
      "invalid network config:\ninvalid gateway 10.0.1.1: parent subnet 10.0.0.0/24 doesn't contain this address",
    );
    assert.equal(
      message({ Subnet: '10.0.0.0/24', IPRange: '10.0.0.0/16' }),
      'invalid network config:\ninvalid ip-range 10.0.0.0/16: CIDR block is bigger than its parent subnet 10.0.0.0/24',
    );
    assert.equal(
      message({ Subnet: '10.0.0.0/24', AuxiliaryAddresses: { a: 'fd00::1' } }),
      'invalid network config:\ninvalid auxiliary address fd00::1: parent subnet is an IPv4 block',
    );
  });
});

describe('network ipam: address allocation', () => {
  test('sequential from .2, skipping gateway, auxiliary and used addresses', () => {
    const plan = parseSubnetPlan({ Subnet: '10.1.0.0/24', AuxiliaryAddresses: { x: '10.1.0.3' } });
    const used = new Set<bigint>();
    const got: string[] = [];
    let last: bigint | undefined;
    for (let i = 0; i < 3; i++) {
      last = allocateAddress(plan, used, last)!;
      used.add(last);
      got.push(formatAddress({ family: 4, value: last }));
    }
    assert.deepEqual(got, ['10.1.0.2', '10.1.0.4', '10.1.0.5']);
  });

  test('serial: a released address is not handed out again at once', () => {
    const plan = parseSubnetPlan({ Subnet: '10.1.0.0/24' });
    const used = new Set([ip('10.1.0.2'), ip('10.1.0.3')]);
    used.delete(ip('10.1.0.2'));
    assert.equal(
      formatAddress({ family: 4, value: allocateAddress(plan, used, ip('10.1.0.3'))! }),
      '10.1.0.4',
    );
  });

  test('wraps around and reports a full range', () => {
    const plan = parseSubnetPlan({ Subnet: '10.2.0.0/29' });
    const used = new Set([ip('10.2.0.2'), ip('10.2.0.3'), ip('10.2.0.4'), ip('10.2.0.5')]);
    assert.equal(
      formatAddress({ family: 4, value: allocateAddress(plan, used, ip('10.2.0.5'))! }),
      '10.2.0.6',
    );
    used.add(ip('10.2.0.6'));
    assert.equal(allocateAddress(plan, used, ip('10.2.0.2')), undefined);
    assert.ok(reservedAddresses(plan).has(ip('10.2.0.7')), 'broadcast is reserved');
  });

  test('an ip-range restricts dynamic addresses', () => {
    const plan = parseSubnetPlan({ Subnet: '10.3.0.0/16', IPRange: '10.3.7.0/30' });
    assert.equal(formatAddress({ family: 4, value: allocateAddress(plan, new Set())! }), '10.3.7.0');
    assert.equal(
      formatAddress({ family: 4, value: allocateAddress(plan, new Set([ip('10.3.7.0')]))! }),
      '10.3.7.1',
    );
  });

  test('IPv6 allocation in a /64 is quick', () => {
    const plan = parseSubnetPlan({ Subnet: 'fd00:1::/64' });
    assert.equal(formatAddress({ family: 6, value: allocateAddress(plan, new Set())! }), 'fd00:1::2');
  });

  test('static addresses must be inside a subnet and free', () => {
    const plans = [parseSubnetPlan({ Subnet: '10.4.0.0/24' })];
    assert.equal(formatAddress(checkStaticAddress(plans, '10.4.0.9', new Set())), '10.4.0.9');
    assert.throws(
      () => checkStaticAddress(plans, '10.5.0.9', new Set()),
      /no configured subnet contains IP address 10.5.0.9/,
    );
    assert.throws(
      () => checkStaticAddress(plans, '10.4.0.9', new Set([ip('10.4.0.9')])),
      /Address already in use/,
    );
    assert.throws(() => checkStaticAddress(plans, '10.4.0.1', new Set()), /Address already in use/);
  });
});
