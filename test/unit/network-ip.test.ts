import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatAddress,
  formatPrefix,
  isLoopbackAddress,
  lastAddress,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
} from '../../src/network/ip.js';

describe('network ip: addresses', () => {
  test('IPv4 round-trips', () => {
    for (const text of ['0.0.0.0', '10.1.2.3', '172.17.0.1', '255.255.255.255']) {
      assert.equal(formatAddress(parseAddress(text)!), text);
    }
    assert.equal(parseAddress('10.0.0.1')!.value, 0x0a000001n);
  });

  test('IPv6 is formatted in RFC 5952 form', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fd00:0:0:1:0:0:0:0', 'fd00:0:0:1::'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::ffff:1.2.3.4', '::ffff:102:304'],
      ['fe80::1:2', 'fe80::1:2'],
    ];
    for (const [input, expected] of cases) assert.equal(formatAddress(parseAddress(input)!), expected, input);
  });

  test('rejects malformed and zoned addresses', () => {
    for (const text of ['1.2.3', '1.2.3.256', 'fe80::1%eth0', 'x', ''])
      assert.equal(parseAddress(text), undefined, text);
  });

  test('loopback detection', () => {
    assert.equal(isLoopbackAddress('127.0.0.53'), true);
    assert.equal(isLoopbackAddress('::1'), true);
    assert.equal(isLoopbackAddress('10.0.0.1'), false);
    assert.equal(isLoopbackAddress('::2'), false);
  });
});

describe('network ip: prefixes', () => {
  test('parse keeps the written address and masks the network', () => {
    const p = parsePrefix('192.168.5.7/24')!;
    assert.equal(formatPrefix(p), '192.168.5.0/24');
    assert.equal(formatAddress({ family: 4, value: p.address }), '192.168.5.7');
    assert.equal(formatAddress({ family: 4, value: lastAddress(p) }), '192.168.5.255');
    assert.equal(parsePrefix('10.0.0.0/33'), undefined);
    assert.equal(parsePrefix('10.0.0.0'), undefined);
    assert.equal(formatPrefix(parsePrefix('fd00:1::5/64')!), 'fd00:1::/64');
  });

  test('containment and overlap', () => {
    const p16 = parsePrefix('172.17.0.0/16')!;
    assert.equal(prefixContains(p16, parseAddress('172.17.200.1')!), true);
    assert.equal(prefixContains(p16, parseAddress('172.18.0.1')!), false);
    assert.equal(prefixContains(p16, parseAddress('::1')!), false);
    assert.equal(prefixesOverlap(p16, parsePrefix('172.17.5.0/24')!), true);
    assert.equal(prefixesOverlap(parsePrefix('172.17.5.0/24')!, p16), true);
    assert.equal(prefixesOverlap(p16, parsePrefix('172.16.0.0/16')!), false);
    assert.equal(prefixesOverlap(parsePrefix('0.0.0.0/0')!, p16), true);
    assert.equal(prefixesOverlap(parsePrefix('fd00::/8')!, parsePrefix('fd12:3456::/64')!), true);
    assert.equal(prefixesOverlap(parsePrefix('fd00::/64')!, p16), false);
  });
});
