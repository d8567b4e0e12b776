import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ipamConfigs } from '../../src/cli/commands/network/create.js';
import { endpointConfig } from '../../src/cli/commands/network/connect.js';
import { renderNetworks } from '../../src/cli/commands/network/ls.js';
import { networkPruneReport } from '../../src/cli/commands/network/prune.js';
import { goTimeFromRfc3339 } from '../../src/cli/commands/network/options.js';
import type { Network } from '../../src/types/network.js';

const none = {
  subnet: [] as string[],
  ipRange: [] as string[],
  gateway: [] as string[],
  auxAddress: [] as string[],
};

describe('network CLI: create flags', () => {
  test('ranges, gateways and aux addresses join the subnet that contains them', () => {
    assert.deepEqual(
      ipamConfigs({
        subnet: ['10.1.0.0/16', 'fd00:1::/64'],
        ipRange: ['10.1.2.0/24'],
        gateway: ['fd00:1::fe', '10.1.0.254'],
        auxAddress: ['a=10.1.9.9', 'b=fd00:1::9'],
      }),
      [
        {
          Subnet: '10.1.0.0/16',
          IPRange: '10.1.2.0/24',
          Gateway: '10.1.0.254',
          AuxiliaryAddresses: { a: '10.1.9.9' },
        },
        { Subnet: 'fd00:1::/64', Gateway: 'fd00:1::fe', AuxiliaryAddresses: { b: 'fd00:1::9' } },
      ],
    );
    assert.deepEqual(ipamConfigs(none), []);
  });

  test("the docker CLI's errors", () => {
    assert.throws(
      () => ipamConfigs({ ...none, gateway: ['10.0.0.1'] }),
      /every ip-range or gateway must have a corresponding subnet/,
    );
    assert.throws(
      () => ipamConfigs({ ...none, subnet: ['10.0.0.0/8', '10.1.0.0/16'] }),
      /multiple overlapping subnet configuration is not supported/,
    );
    assert.throws(
      () => ipamConfigs({ ...none, subnet: ['10.0.0.0/24'], gateway: ['10.0.1.1'] }),
      /no matching subnet for gateway 10.0.1.1/,
    );
    assert.throws(
      () =>
        ipamConfigs({
          ...none,
          subnet: ['10.0.0.0/24', '10.1.0.0/24'],
          ipRange: ['10.0.0.0/28', '10.0.0.16/28'],
        }),
      /cannot configure multiple ranges \(10.0.0.16\/28, 10.0.0.0\/28\) on the same subnet \(10.0.0.0\/24\)/,
    );
    assert.throws(
      () => ipamConfigs({ ...none, subnet: ['10.0.0.0/24'], auxAddress: ['x=10.9.0.1'] }),
      /no matching subnet for aux-address 10.9.0.1/,
    );
    assert.throws(() => ipamConfigs({ ...none, subnet: ['nope'] }), /invalid CIDR address: nope/);
  });
});

describe('network CLI: connect flags', () => {
  test('the EndpointConfig sent', () => {
    assert.deepEqual(
      endpointConfig({ ip: '10.0.0.5', link: [], alias: ['a', 'b'], linkLocalIp: [], driverOpt: ['k = v'] }),
      {
        IPAMConfig: { IPv4Address: '10.0.0.5' },
        Links: null,
        Aliases: ['a', 'b'],
        DriverOpts: { k: 'v' },
      },
    );
    assert.throws(
      () => endpointConfig({ ip: '10.0.0', link: [], alias: [], linkLocalIp: [], driverOpt: [] }),
      /invalid string being converted to IP address: 10.0.0/,
    );
    assert.throws(
      () => endpointConfig({ link: [], alias: [], linkLocalIp: [], driverOpt: ['novalue'] }),
      /invalid key\/value pair format in driver options/,
    );
  });
});

describe('network CLI: output', () => {
  const network = (name: string, id: string, labels: Record<string, string> = {}): Network => ({
    Name: name,
    Id: id.repeat(64 / id.length),
    Created: '2026-01-02T03:04:05.120000000Z',
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: {},
    Options: {},
    Labels: labels,
  });
  const networks = [network('net10', 'a'), network('net2', 'b', { z: '1', a: '2' }), network('bridge', 'c')];

  test('the default table in natural name order', () => {
    assert.equal(
      renderNetworks(networks, {}),
      [
        'NETWORK ID     NAME      DRIVER    SCOPE',
        'cccccccccccc   bridge    bridge    local',
        'bbbbbbbbbbbb   net2      bridge    local',
        'aaaaaaaaaaaa   net10     bridge    local',
        '',
      ].join('\n'),
    );
  });

  test('-q, --no-trunc and templates', () => {
    assert.equal(renderNetworks(networks, { quiet: true }).split('\n')[0], 'cccccccccccc');
    assert.equal(renderNetworks(networks, { quiet: true, noTrunc: true }).split('\n')[0], 'c'.repeat(64));
    assert.equal(
      renderNetworks([networks[1]], { format: '{{.Labels}}|{{.Label "z"}}|{{.CreatedAt}}|{{.IPv4}}' }),
      'a=2,z=1|1|2026-01-02 03:04:05.12 +0000 UTC|true\n',
    );
    assert.equal(
      renderNetworks([networks[0]], { format: 'json' }),
      '{"CreatedAt":"2026-01-02 03:04:05.12 +0000 UTC","Driver":"bridge","ID":"aaaaaaaaaaaa","IPv4":"true","IPv6":"false","Internal":"false","Labels":"","Name":"net10","Scope":"local"}\n',
    );
  });

  test('Go time strings and the prune report', () => {
    assert.equal(
      goTimeFromRfc3339('2026-11-23T18:36:11.348358410Z'),
      '2026-11-23 18:36:11.34835841 +0000 UTC',
    );
    assert.equal(goTimeFromRfc3339('2026-11-23T18:36:11Z'), '2026-11-23 18:36:11 +0000 UTC');
    assert.equal(networkPruneReport({ NetworksDeleted: ['a', 'b'] }), 'Deleted Networks:\na\nb\n\n');
    assert.equal(networkPruneReport({ NetworksDeleted: null }), '');
  });
});
