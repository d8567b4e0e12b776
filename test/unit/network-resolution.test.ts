import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildHostsFile,
  buildResolvConf,
  ownHostNames,
  parseExtraHosts,
  parseResolvConf,
} from '../../src/network/resolution-files.js';

const body = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('network resolution files: /etc/hosts', () => {
  test("Docker's default entries, --add-host, then the container's own addresses", () => {
    const extraHosts = parseExtraHosts(['db:10.0.0.5', 'gw:host-gateway', 'six:::1'], ['172.17.0.1']);
    const hosts = buildHostsFile({ hostname: 'abc123', addresses: ['172.17.0.2'], extraHosts });
    assert.equal(
      hosts,
      [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::\tip6-localnet',
        'ff00::\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '10.0.0.5\tdb',
        '172.17.0.1\tgw',
        '::1\tsix',
        '172.17.0.2\tabc123',
        '',
      ].join('\n'),
    );
  });

  test('without IPv6 the IPv6 lines go', () => {
    const hosts = buildHostsFile({ hostname: 'h', addresses: ['10.0.0.2', 'fd00::2'], ipv6: false });
    assert.equal(hosts, '127.0.0.1\tlocalhost\n10.0.0.2\th\n');
  });

  test('hostname with a domain gives the FQDN and the short name', () => {
    assert.equal(ownHostNames('web', 'example.com'), 'web.example.com web');
    assert.equal(ownHostNames('web.example.com'), 'web.example.com web');
    assert.equal(ownHostNames('web'), 'web');
  });

  test('bad --add-host values are refused', () => {
    assert.throws(() => parseExtraHosts(['nohost'], []), /invalid extra host entry/);
    assert.throws(() => parseExtraHosts(['a:1.2.3'], []), /invalid IP address in add-host: "1.2.3"/);
    assert.throws(
      () => parseExtraHosts(['a:host-gateway'], []),
      /unable to derive the IP value for host-gateway/,
    );
    assert.deepEqual(parseExtraHosts(['a=10.1.1.1', 'b:[fd00::1]'], []), [
      { ip: '10.1.1.1', names: 'a' },
      { ip: 'fd00::1', names: 'b' },
    ]);
  });
});

describe('network resolution files: resolv.conf', () => {
  const host = parseResolvConf(
    '# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.1\nnameserver fd00::53\nsearch corp.example\noptions edns0 trust-ad\nsortlist 10.0.0.0\n',
  );

  test('parses nameservers, search, options and other lines', () => {
    assert.deepEqual(host, {
      nameservers: ['127.0.0.53', '10.0.0.1', 'fd00::53'],
      search: ['corp.example'],
      options: ['edns0', 'trust-ad'],
      other: ['sortlist 10.0.0.0'],
    });
  });

  test('default bridge: the host resolvers without loopback (and without IPv6 unless enabled)', () => {
    assert.deepEqual(body(buildResolvConf({ host })), [
      'nameserver 10.0.0.1',
      'search corp.example',
      'options edns0 trust-ad',
      'sortlist 10.0.0.0',
    ]);
    assert.deepEqual(body(buildResolvConf({ host, ipv6: true })).slice(0, 2), [
      'nameserver 10.0.0.1',
      'nameserver fd00::53',
    ]);
  });

  test('only loopback resolvers: Docker falls back to public ones', () => {
    const out = buildResolvConf({ host: parseResolvConf('nameserver 127.0.0.1\n') });
    assert.deepEqual(body(out), ['nameserver 8.8.8.8', 'nameserver 8.8.4.4']);
    assert.match(out, /# Used default nameservers\./);
  });

  test('user-defined network: only the embedded DNS server, ndots:0 added', () => {
    const out = buildResolvConf({ host, internalNameservers: ['172.18.0.1'] });
    assert.deepEqual(body(out), [
      'nameserver 172.18.0.1',
      'search corp.example',
      'options edns0 trust-ad ndots:0',
      'sortlist 10.0.0.0',
    ]);
    assert.match(out, /# ExtServers: \[127\.0\.0\.53 10\.0\.0\.1 fd00::53\]/);
  });

  test('--dns, --dns-search and --dns-option override the host', () => {
    const out = buildResolvConf({
      host,
      dns: ['9.9.9.9'],
      dnsSearch: ['a.example', 'b.example'],
      dnsOptions: ['ndots:2'],
    });
    assert.deepEqual(body(out), [
      'nameserver 9.9.9.9',
      'search a.example b.example',
      'options ndots:2',
      'sortlist 10.0.0.0',
    ]);
    assert.match(out, /# Overrides: \[nameservers search options\]/);
    const internal = buildResolvConf({
      host,
      dns: ['9.9.9.9'],
      dnsOptions: ['ndots:3'],
      dnsSearch: ['.'],
      internalNameservers: ['10.1.0.1'],
    });
    assert.deepEqual(body(internal), ['nameserver 10.1.0.1', 'options ndots:3', 'sortlist 10.0.0.0']);
  });

  test('host networking keeps loopback resolvers', () => {
    assert.deepEqual(body(buildResolvConf({ host, keepLoopback: true })).slice(0, 3), [
      'nameserver 127.0.0.53',
      'nameserver 10.0.0.1',
      'nameserver fd00::53',
    ]);
  });
});
