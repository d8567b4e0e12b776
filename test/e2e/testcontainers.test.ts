/**
 * testcontainers, unchanged, against berthd: a busybox httpd with a mapped
 * port and a log-message wait, exec, copying into a container, stop, and
 * two containers on a user network reaching each other by alias. Ryuk is off
 * and the image is the locally seeded busybox (the default pull policy only
 * pulls what is missing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiCall, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { BUSYBOX_IMAGE, seedBusybox } from '../helpers/busybox.js';
import { httpGetText } from '../helpers/loopback.js';
import * as tc from 'testcontainers';

let daemon: TestDaemon;
let scratch: string;

before(async () => {
  // A bridge of its own: other berthds on this host keep berth0.
  daemon = await startDaemon({ config: { bridge: 'berthtc0' } });
  await seedBusybox(daemon);
  // testcontainers reads its environment once, when its runtime client is first made.
  process.env.DOCKER_HOST = daemon.host;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  scratch = mkdtempSync(path.join(os.tmpdir(), 'berth-tc-'));
});

after(async () => {
  await daemon?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A busybox httpd serving /www on port 8080, announcing itself once it listens. */
function httpd(): InstanceType<typeof tc.GenericContainer> {
  return new tc.GenericContainer(BUSYBOX_IMAGE)
    .withPullPolicy(tc.PullPolicy.defaultPolicy())
    .withCommand([
      'sh',
      '-c',
      'mkdir -p /www && echo served-by-httpd > /www/index.html && httpd -p 8080 -h /www && echo httpd-listening && exec sleep 600',
    ])
    .withExposedPorts(8080)
    .withWaitStrategy(tc.Wait.forLogMessage('httpd-listening'));
}

describe('testcontainers', () => {
  test('GenericContainer: mapped port, log wait, exec, copy, stop', async () => {
    const container = await httpd().withEnvironment({ GREETING: 'hello' }).start();
    try {
      const port = container.getMappedPort(8080);
      assert.ok(port > 0);
      assert.equal(container.getHost(), '127.0.0.1');
      assert.equal(await httpGetText(port, '/index.html'), 'served-by-httpd\n');

      const env = await container.exec(['sh', '-c', 'echo $GREETING; echo to-stderr >&2; exit 4']);
      assert.equal(env.exitCode, 4);
      assert.equal(env.stdout, 'hello\n');
      assert.equal(env.stderr, 'to-stderr\n');

      await container.copyContentToContainer([
        { content: 'copied content\n', target: '/www/content.txt' },
        { content: Buffer.from('#!/bin/sh\necho from script\n'), target: '/opt/run.sh', mode: 0o755 },
      ]);
      const hostFile = path.join(scratch, 'host.txt');
      writeFileSync(hostFile, 'copied file\n');
      await container.copyFilesToContainer([{ source: hostFile, target: '/www/deep/file.txt' }]);
      assert.equal(await httpGetText(port, '/content.txt'), 'copied content\n');
      assert.equal(await httpGetText(port, '/deep/file.txt'), 'copied file\n');
      assert.equal((await container.exec(['/opt/run.sh'])).output, 'from script\n');

      const archive = await container.copyArchiveFromContainer('/www/content.txt');
      const chunks: Buffer[] = [];
      for await (const chunk of archive) chunks.push(Buffer.from(chunk));
      assert.ok(Buffer.concat(chunks).includes('copied content'));
    } finally {
      const stopped = await container.stop();
      assert.equal(stopped.getId(), container.getId());
    }
    const left = (await apiCall(daemon.socket, 'GET', '/containers/json?all=1')).body;
    assert.ok(!left.includes(container.getId()), 'stop removes the container');
  });

  test('a Network: two containers talk by alias', async () => {
    const network = await new tc.Network().start();
    try {
      const server = await httpd().withNetwork(network).withNetworkAliases('web').start();
      try {
        const client = await new tc.GenericContainer(BUSYBOX_IMAGE)
          .withNetwork(network)
          .withCommand(['sleep', '600'])
          .start();
        try {
          assert.deepEqual(client.getNetworkNames(), [network.getName()]);
          assert.ok(server.getIpAddress(network.getName()));
          const fetched = await client.exec(['wget', '-q', '-O', '-', 'http://web:8080/index.html']);
          assert.equal(fetched.exitCode, 0, fetched.output);
          assert.equal(fetched.stdout, 'served-by-httpd\n');
        } finally {
          await client.stop();
        }
      } finally {
        await server.stop();
      }
    } finally {
      await network.stop();
    }
  });

  test('default and health-check waits; restart waits for the log again', async () => {
    const listening = await new tc.GenericContainer(BUSYBOX_IMAGE)
      .withCommand(['httpd', '-f', '-p', '8080', '-h', '/'])
      .withExposedPorts(8080)
      .withStartupTimeout(20_000)
      .start();
    await listening.stop();

    const healthy = await new tc.GenericContainer(BUSYBOX_IMAGE)
      .withCommand(['sh', '-c', 'echo started; touch /ready; exec sleep 600'])
      .withHealthCheck({ test: ['CMD-SHELL', 'test -e /ready'], interval: 300, timeout: 1000, retries: 5 })
      .withWaitStrategy(tc.Wait.forHealthCheck())
      .withStartupTimeout(20_000)
      .start();
    try {
      const before = (await healthy.exec(['cat', '/proc/1/stat'])).stdout.split(' ')[21];
      // The health wait is replaced by a log wait for the restart: it reads logs since the new StartedAt.
      await healthy.restart();
      const after = (await healthy.exec(['cat', '/proc/1/stat'])).stdout.split(' ')[21];
      assert.notEqual(after, before, 'pid 1 started again');
    } finally {
      await healthy.stop();
    }
  });

  test('GenericContainer.fromDockerfile builds with build args', async () => {
    const context = path.join(scratch, 'context');
    mkdirSync(context);
    writeFileSync(
      path.join(context, 'Dockerfile'),
      `FROM ${BUSYBOX_IMAGE}\nARG MESSAGE=unset\nRUN echo "$MESSAGE" > /message\nCMD ["sh", "-c", "cat /message; exec sleep 600"]\n`,
    );
    const image = await tc.GenericContainer.fromDockerfile(context)
      .withBuildArgs({ MESSAGE: 'built-by-testcontainers' })
      .build('tc-built:1', { deleteOnExit: false });
    const container = await image.withWaitStrategy(tc.Wait.forLogMessage('built-by-testcontainers')).start();
    await container.stop();
  });

  test('a failing wait strategy rejects start', async () => {
    await assert.rejects(
      new tc.GenericContainer(BUSYBOX_IMAGE)
        .withCommand(['sh', '-c', 'echo something else; sleep 600'])
        .withWaitStrategy(tc.Wait.forLogMessage('never printed'))
        .withStartupTimeout(2000)
        .start(),
      /never printed|timed out|Log message/i,
    );
  });
});
