import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostAddress, parseHostAddress } from '../../src/common/host-address.js';

test('host addresses parse as dockerd parses them', () => {
  const d = '/var/run/berth.sock';
  assert.deepEqual(parseHostAddress('unix:///tmp/x.sock', d), { proto: 'unix', path: '/tmp/x.sock' });
  assert.deepEqual(parseHostAddress('unix://', d), { proto: 'unix', path: d });
  assert.deepEqual(parseHostAddress('/tmp/y.sock', d), { proto: 'unix', path: '/tmp/y.sock' });
  assert.deepEqual(parseHostAddress('tcp://127.0.0.1:2375', d), {
    proto: 'tcp',
    host: '127.0.0.1',
    port: 2375,
  });
  assert.deepEqual(parseHostAddress('tcp://:2376', d), { proto: 'tcp', host: '127.0.0.1', port: 2376 });
  assert.deepEqual(parseHostAddress('tcp://10.0.0.1', d, true), {
    proto: 'tcp',
    host: '10.0.0.1',
    port: 2376,
  });
  assert.deepEqual(parseHostAddress('tcp://[::1]:99', d), { proto: 'tcp', host: '::1', port: 99 });
  assert.deepEqual(parseHostAddress('fd://', d), { proto: 'fd' });
  assert.deepEqual(parseHostAddress('fd://3', d), { proto: 'fd', fd: 3 });
  assert.equal(formatHostAddress({ proto: 'tcp', host: '::1', port: 1 }), 'tcp://[::1]:1');
});

test("malformed host addresses are refused with dockerd's message", () => {
  for (const bad of ['tcp://:x', 'foo://', 'tcp://1.2.3.4:99999', 'fd://x', 'tcp://a:b:c', 'nonsense']) {
    assert.throws(() => parseHostAddress(bad, '/s'), /Invalid bind address format/, bad);
  }
});
