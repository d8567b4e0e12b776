import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import {
  parsePortKey,
  parsePublishSpec,
  parsePublishSpecs,
  portMapOf,
  portRequests,
} from '../../src/network/ports.js';
import { HostPortAllocator, readEphemeralRange } from '../../src/network/port-allocator.js';

describe('network ports: -p syntax', () => {
  test('containerPort only', () => {
    assert.deepEqual(parsePublishSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  });

  test('hostPort:containerPort and ip:hostPort:containerPort/proto', () => {
    assert.deepEqual(parsePublishSpec('8080:80'), [
      { port: '80/tcp', binding: { HostIp: '', HostPort: '8080' } },
    ]);
    assert.deepEqual(parsePublishSpec('127.0.0.1:5353:53/udp'), [
      { port: '53/udp', binding: { HostIp: '127.0.0.1', HostPort: '5353' } },
    ]);
    assert.deepEqual(parsePublishSpec('127.0.0.1::80'), [
      { port: '80/tcp', binding: { HostIp: '127.0.0.1', HostPort: '' } },
    ]);
    assert.deepEqual(parsePublishSpec('80/SCTP'), [
      { port: '80/sctp', binding: { HostIp: '', HostPort: '' } },
    ]);
  });

  test('IPv6 host addresses in brackets', () => {
    assert.deepEqual(parsePublishSpec('[::1]:8080:80'), [
      { port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } },
    ]);
    assert.deepEqual(parsePublishSpec('::1:8080:80'), [
      { port: '80/tcp', binding: { HostIp: '::1', HostPort: '8080' } },
    ]);
  });

  test('ranges map pairwise; a host range for one container port stays a range', () => {
    assert.deepEqual(parsePublishSpec('8000-8001:80-81/udp'), [
      { port: '80/udp', binding: { HostIp: '', HostPort: '8000' } },
      { port: '81/udp', binding: { HostIp: '', HostPort: '8001' } },
    ]);
    assert.deepEqual(parsePublishSpec('8000-8010:80'), [
      { port: '80/tcp', binding: { HostIp: '', HostPort: '8000-8010' } },
    ]);
    assert.deepEqual(
      parsePublishSpec('7000-7001').map((m) => m.port),
      ['7000/tcp', '7001/tcp'],
    );
  });

  test("bad specs fail with the docker CLI's messages", () => {
    assert.throws(
      () => parsePublishSpec('8000-8002:80-81'),
      /invalid ranges specified for container and host Ports: 80-81 and 8000-8002/,
    );
    assert.throws(() => parsePublishSpec('1.2.3:80:80'), /invalid IP address: 1.2.3/);
    assert.throws(() => parsePublishSpec('abc:80'), /invalid hostPort: abc/);
    assert.throws(() => parsePublishSpec('80/icmp'), /invalid proto: icmp/);
    assert.throws(() => parsePublishSpec('70000'), /invalid containerPort: 70000/);
    assert.throws(() => parsePublishSpec('8080:'), /no port specified: 8080:<empty>/);
  });

  test('several specs become ExposedPorts and PortBindings', () => {
    const { exposedPorts, portBindings } = parsePublishSpecs(['8080:80', '127.0.0.1:8081:80', '53/udp']);
    assert.deepEqual(exposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(portBindings, {
      '80/tcp': [
        { HostIp: '', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '8081' },
      ],
      '53/udp': [{ HostIp: '', HostPort: '' }],
    });
  });

  test('port keys', () => {
    assert.deepEqual(parsePortKey('80'), { port: 80, protocol: 'tcp' });
    assert.deepEqual(parsePortKey('53/udp'), { port: 53, protocol: 'udp' });
    assert.throws(() => parsePortKey('0/tcp'), /invalid port specification/);
  });
});

describe('network ports: requests and NetworkSettings.Ports', () => {
  test('bindings and -P become host port requests', () => {
    const requests = portRequests(
      {
        '80/tcp': [{ HostIp: '', HostPort: '8080' }],
        '81/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000-9010' }],
      },
      { '80/tcp': {}, '81/tcp': {}, '53/udp': {} },
      true,
    );
    assert.deepEqual(requests, [
      { containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPortStart: 8080, hostPortEnd: 8080 },
      { containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 9000, hostPortEnd: 9010 },
      { containerPort: 53, protocol: 'udp', hostIp: '0.0.0.0', hostPortStart: 0, hostPortEnd: 0 },
    ]);
    assert.deepEqual(portRequests(null, { '80/tcp': {} }, false), []);
    assert.equal(portRequests({ '80/tcp': [{}] }, null, false, '10.9.9.9')[0].hostIp, '10.9.9.9');
  });

  test('Ports lists exposed ports without bindings as null', () => {
    const map = portMapOf(
      [{ containerPort: 80, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 32768 }],
      { '80/tcp': {}, '443/tcp': {} },
      { '80/tcp': [{ HostPort: '' }] },
    );
    assert.deepEqual(map, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '32768' }], '443/tcp': null });
  });
});

describe('network ports: host port allocation', () => {
  const allocator = new HostPortAllocator({ start: 42000, end: 42099 });
  after(async () => {
    for (const owner of ['a', 'b', 'c', 'd']) await allocator.release(owner);
  });

  test('reads the kernel ephemeral range', async () => {
    const range = await readEphemeralRange();
    assert.ok(range.start >= 1024 && range.end >= range.start && range.end <= 65535);
  });

  test("random ports come from the range; a taken port is refused with Docker's message", async () => {
    const [random] = await allocator.allocate('a', [
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0 },
    ]);
    assert.ok(random.hostPort >= 42000 && random.hostPort <= 42099);
    await assert.rejects(
      allocator.allocate('b', [
        {
          containerPort: 81,
          protocol: 'tcp',
          hostIp: '0.0.0.0',
          hostPortStart: random.hostPort,
          hostPortEnd: random.hostPort,
        },
      ]),
      { message: `Bind for 0.0.0.0:${random.hostPort} failed: port is already allocated` },
    );
    // The same number over UDP is another port.
    const [udp] = await allocator.allocate('b', [
      {
        containerPort: 53,
        protocol: 'udp',
        hostIp: '127.0.0.1',
        hostPortStart: random.hostPort,
        hostPortEnd: random.hostPort,
      },
    ]);
    assert.equal(udp.hostPort, random.hostPort);
  });

  test('the host port stays bound while held: nothing else can listen on it', async () => {
    const [held] = await allocator.allocate('c', [
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0 },
    ]);
    const server = net.createServer();
    await assert.rejects(
      new Promise((resolve, reject) =>
        server.once('error', reject).listen(held.hostPort, '127.0.0.1', () => resolve(undefined)),
      ),
      { code: 'EADDRINUSE' },
    );
    await allocator.release('c');
    await new Promise<void>((resolve) => server.listen(held.hostPort, '127.0.0.1', () => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('a port another program holds fails with the userland-proxy message, and nothing stays allocated', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const port = socket.address().port;
    try {
      await assert.rejects(
        allocator.allocate('d', [
          { containerPort: 1, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 0, hostPortEnd: 0 },
          { containerPort: 53, protocol: 'udp', hostIp: '127.0.0.1', hostPortStart: port, hostPortEnd: port },
        ]),
        {
          message: `Error starting userland proxy: listen udp4 127.0.0.1:${port}: bind: address already in use`,
        },
      );
      assert.deepEqual(allocator.heldBy('d'), [], 'all or nothing');
    } finally {
      socket.close();
    }
  });

  test('a host range takes the first free port in it', async () => {
    const [first] = await allocator.allocate('d', [
      { containerPort: 80, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 42100, hostPortEnd: 42105 },
    ]);
    const [second] = await allocator.allocate('d', [
      { containerPort: 81, protocol: 'tcp', hostIp: '127.0.0.1', hostPortStart: 42100, hostPortEnd: 42105 },
    ]);
    assert.equal(first.hostPort, 42100);
    assert.equal(second.hostPort, 42101);
  });
});
