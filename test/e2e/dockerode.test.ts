/**
 * dockerode, unchanged, against berthd: the container lifecycle with attach,
 * logs and exec, image listing, the events stream, build from a tar stream
 * and pull with followProgress from a loopback registry.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, type Readable } from 'node:stream';
import Docker from 'dockerode';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { BUSYBOX_IMAGE, seedBusybox } from '../helpers/busybox.js';
import { makeTar, tarStream } from '../helpers/archive.js';
import { buildImage, busyboxLayer, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

let daemon: TestDaemon;
let client: Docker;

before(async () => {
  // A bridge of its own: other berthds on this host keep berth0.
  daemon = await startDaemon({ config: { bridge: 'berthdro0' } });
  await seedBusybox(daemon);
  client = new Docker({ socketPath: daemon.socket });
});

after(async () => {
  await daemon?.stop();
});

/** Splits a multiplexed stream into its stdout and stderr text once it ends. */
function demux(stream: Readable): Promise<{ stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (d: Buffer) => out.push(d.toString()));
  stderr.on('data', (d: Buffer) => err.push(d.toString()));
  client.modem.demuxStream(stream, stdout, stderr);
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve({ stdout: out.join(''), stderr: err.join('') }));
    stream.on('error', reject);
  });
}

/** Waits until `predicate` holds for something pushed into `seen`. */
async function waitFor<T>(seen: T[], predicate: (item: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = seen.find(predicate);
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`not seen within ${timeoutMs} ms: ${JSON.stringify(seen)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('dockerode', () => {
  test('ping and version', async () => {
    assert.equal(String(await client.ping()), 'OK');
    const version = await client.version();
    assert.equal(version.Os, 'linux');
    assert.match(version.ApiVersion, /^1\.\d+$/);
  });

  test('create, attach, start, wait, logs, inspect, remove', async () => {
    const container = await client.createContainer({
      Image: BUSYBOX_IMAGE,
      name: 'dockerode-lifecycle',
      Cmd: ['sh', '-c', 'read line; echo "got $line"; echo oops >&2; exit 3'],
      Env: ['GREETING=hi'],
      Labels: { 'org.berth.test': 'dockerode' },
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
    });
    try {
      const stream = (await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as NodeJS.ReadWriteStream & Readable;
      const output = demux(stream);
      await container.start();
      stream.write('hello\n');
      const waited = (await container.wait()) as { StatusCode: number };
      assert.equal(waited.StatusCode, 3);
      assert.deepEqual(await output, { stdout: 'got hello\n', stderr: 'oops\n' });

      const info = await container.inspect();
      assert.equal(info.Name, '/dockerode-lifecycle');
      assert.equal(info.State.Status, 'exited');
      assert.equal(info.State.ExitCode, 3);
      assert.ok(info.Config.Env.includes('GREETING=hi'));
      assert.equal(info.Config.Labels['org.berth.test'], 'dockerode');

      const logs = await container.logs({ stdout: true, stderr: true, follow: false, timestamps: false });
      const logStream = new PassThrough();
      logStream.end(logs);
      assert.deepEqual(await demux(logStream), { stdout: 'got hello\n', stderr: 'oops\n' });

      const listed = await client.listContainers({
        all: true,
        filters: { label: ['org.berth.test=dockerode'] },
      });
      assert.deepEqual(
        listed.map((c) => c.Names),
        [['/dockerode-lifecycle']],
      );
    } finally {
      await container.remove({ force: true });
    }
    await assert.rejects(container.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  });

  test('logs follow as a stream', async () => {
    const container = await client.createContainer({
      Image: BUSYBOX_IMAGE,
      Cmd: ['sh', '-c', 'for i in 1 2 3; do echo line$i; usleep 100000; done'],
    });
    try {
      await container.start();
      const stream = (await container.logs({ stdout: true, stderr: true, follow: true })) as Readable;
      const { stdout } = await demux(stream);
      assert.equal(stdout, 'line1\nline2\nline3\n');
    } finally {
      await container.remove({ force: true });
    }
  });

  test('exec: create, start with demuxed output, inspect', async () => {
    const container = await client.createContainer({ Image: BUSYBOX_IMAGE, Cmd: ['sleep', '60'] });
    try {
      await container.start();
      const exec = await container.exec({
        Cmd: ['sh', '-c', 'echo "in $PWD as $(id -u)"; echo err >&2; exit 5'],
        AttachStdout: true,
        AttachStderr: true,
        WorkingDir: '/tmp',
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      assert.deepEqual(await demux(stream), { stdout: 'in /tmp as 0\n', stderr: 'err\n' });
      const inspected = await exec.inspect();
      assert.equal(inspected.Running, false);
      assert.equal(inspected.ExitCode, 5);

      const withInput = await container.exec({
        Cmd: ['cat'],
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      const duplex = (await withInput.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream &
        Readable;
      const echoed = demux(duplex);
      duplex.end('piped through exec\n');
      assert.equal((await echoed).stdout, 'piped through exec\n');
    } finally {
      await container.remove({ force: true });
    }
  });

  test('listImages and getImage().inspect', async () => {
    const images = await client.listImages();
    const busybox = images.find((i) => i.RepoTags?.includes(BUSYBOX_IMAGE));
    assert.ok(busybox, JSON.stringify(images));
    assert.match(busybox.Id, /^sha256:[0-9a-f]{64}$/);
    const inspected = await client.getImage(BUSYBOX_IMAGE).inspect();
    assert.equal(inspected.Id, busybox.Id);
    assert.equal(inspected.Os, 'linux');
  });

  test('getEvents streams container events', async () => {
    const events = (await client.getEvents({
      filters: { type: ['container'], label: ['org.berth.test=events'] },
    })) as Readable;
    const seen: { status?: string; Action?: string; id?: string; Type?: string }[] = [];
    let buffered = '';
    events.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) seen.push(JSON.parse(line));
    });
    try {
      const container = await client.createContainer({
        Image: BUSYBOX_IMAGE,
        Cmd: ['true'],
        Labels: { 'org.berth.test': 'events' },
      });
      await container.start();
      await container.wait();
      await container.remove();
      for (const action of ['create', 'start', 'die', 'destroy']) {
        const event = await waitFor(seen, (e) => e.Action === action);
        assert.equal(event.Type, 'container');
        assert.equal(event.id, container.id);
      }
    } finally {
      events.destroy();
    }
  });

  test('buildImage from a tar stream', async () => {
    const context = await makeTar([
      {
        name: 'Dockerfile',
        body: [
          `FROM ${BUSYBOX_IMAGE}`,
          'COPY message.txt /message.txt',
          'RUN echo built >> /message.txt',
          'LABEL org.berth.test=build',
          'CMD ["cat", "/message.txt"]',
          '',
        ].join('\n'),
      },
      { name: 'message.txt', body: 'from the context\n' },
    ]);
    const stream = await client.buildImage(tarStream(context), { t: 'dockerode-built:1', rm: true });
    const progress = await new Promise<{ stream?: string; error?: string; aux?: { ID?: string } }[]>(
      (resolve, reject) =>
        client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
    );
    const failures = progress.filter((p) => p.error);
    assert.deepEqual(failures, []);
    assert.ok(progress.some((p) => p.aux?.ID?.startsWith('sha256:')));
    const image = await client.getImage('dockerode-built:1').inspect();
    assert.equal(image.Config.Labels['org.berth.test'], 'build');

    const container = await client.createContainer({ Image: 'dockerode-built:1' });
    try {
      await container.start();
      await container.wait();
      const logs = await container.logs({ stdout: true });
      const out = new PassThrough();
      out.end(logs);
      assert.equal((await demux(out)).stdout, 'from the context\nbuilt\n');
    } finally {
      await container.remove({ force: true });
    }
    await client.getImage('dockerode-built:1').remove();
  });

  describe('pull from a loopback registry', () => {
    let registry: RunningRegistry;
    before(async () => {
      registry = await startRegistry();
      const image = buildImage({ layers: [await busyboxLayer()], config: { Cmd: ['sh'] } });
      await pushImage(registry.url, 'pulled', 'v1', image);
    });
    after(async () => {
      await registry?.stop();
    });

    test('pull with followProgress and onProgress', async () => {
      const reference = `${registry.host}/pulled:v1`;
      const stream = await client.pull(reference);
      const seen: { status?: string }[] = [];
      const output = await new Promise<{ status?: string; error?: string }[]>((resolve, reject) =>
        client.modem.followProgress(
          stream,
          (err, res) => (err ? reject(err) : resolve(res)),
          (event: { status?: string }) => seen.push(event),
        ),
      );
      assert.ok(seen.length > 0);
      assert.deepEqual(
        output.filter((o) => o.error),
        [],
      );
      assert.ok(output.some((o) => o.status === `Status: Downloaded newer image for ${reference}`));
      const inspected = await client.getImage(reference).inspect();
      assert.deepEqual(inspected.RepoTags, [reference]);
      await client.getImage(reference).remove();
    });

    test('pull of a missing image fails', async () => {
      await assert.rejects(async () => {
        const stream = await client.pull(`${registry.host}/missing:v1`);
        await new Promise((resolve, reject) =>
          client.modem.followProgress(stream, (err, res) => (err ? reject(err) : resolve(res))),
        );
      });
    });
  });
});
