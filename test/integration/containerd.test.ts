import { DEFAULT_CAPABILITIES } from '../../src/oci/capabilities.js';
/**
 * The containerd module against a real containerd 1.6 it supervises itself:
 * image import and unpack, containers with FIFO stdio, exec, metrics, events,
 * and a containerd crash with a task that outlives it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { ContainerdClient } from '../../src/containerd/client.js';
import { ContainerdSupervisor } from '../../src/containerd/supervisor.js';
import { createFifoSet, openFifoSet, removeFifoSet } from '../../src/containerd/fifo.js';
import {
  RUNC_RUNTIME,
  runcOptionsAny,
  runcRoot,
  specAny,
  specFromAny,
} from '../../src/containerd/runtime.js';
import { GC_LABELS, chainIds, unpackLayers, writeBlob } from '../../src/containerd/unpack.js';
import { isEvent, type EventEnvelope, type EventSubscription } from '../../src/containerd/services/events.js';
import { isEngineError } from '../../src/common/errors.js';
import { busyboxLayer } from '../helpers/oci-image.js';

const NAMESPACE = 'berth-test';
const IMAGE_NAME = 'berth.test/busybox:latest';
const CGROUP_PARENT = `berth-test-${process.pid}`;
const SIGKILL = os.constants.signals.SIGKILL;

const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function sha256Parts(parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return `sha256:${hash.digest('hex')}`;
}

async function tarOf(files: { name: string; content: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const file of files) {
    pack.entry({ name: file.name, mode: 0o644, mtime: new Date(0) }, file.content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const CAPABILITIES = [...DEFAULT_CAPABILITIES];

function ociSpec(id: string, args: string[]): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/bin:/usr/bin:/sbin:/usr/sbin'],
      cwd: '/',
      capabilities: { bounding: CAPABILITIES, effective: CAPABILITIES, permitted: CAPABILITIES },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: false },
    hostname: id.slice(0, 12),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      cgroupsPath: `/${CGROUP_PARENT}/${id}`,
      namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }],
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

function readAll(stream: Readable | undefined): Promise<string> {
  if (!stream) return Promise.resolve('');
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

/** Mount points under `dir` (deepest first), from /proc/self/mountinfo. */
function mountsUnder(dir: string): string[] {
  const unescape = (p: string): string =>
    p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescape(line.split(' ')[4]))
    .filter((mountPoint) => mountPoint === dir || mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes our (empty) parent cgroups left by runc in every hierarchy. */
function removeCgroupParents(): void {
  for (const hierarchy of fs.readdirSync('/sys/fs/cgroup')) {
    const dir = path.join('/sys/fs/cgroup', hierarchy, CGROUP_PARENT);
    if (!fs.existsSync(dir)) continue;
    for (const child of fs.readdirSync(dir, { withFileTypes: true })) {
      if (child.isDirectory()) fs.rmdirSync(path.join(dir, child.name));
    }
    fs.rmdirSync(dir);
  }
}

describe('containerd module', () => {
  let tmp: string;
  let execRoot: string;
  let supervisor: ContainerdSupervisor;
  let client: ContainerdClient;
  let chainId: string;
  let subscription: EventSubscription | undefined;
  const events: EventEnvelope[] = [];

  /** Snapshot prepared under a lease, then a container record that references it. */
  async function createContainer(id: string, args: string[], parent = chainId): Promise<void> {
    const lease = await client.leases.create({ expiresInMs: 60_000 });
    try {
      const leased = client.withLease(lease.id);
      await leased.snapshots.prepare(id, parent);
      await leased.containers.create({
        id,
        image: IMAGE_NAME,
        labels: { 'io.berth.test': 'true' },
        runtime: { name: RUNC_RUNTIME, options: runcOptionsAny({ root: runcRoot(execRoot) }) },
        spec: specAny(ociSpec(id, args)),
        snapshotter: 'overlayfs',
        snapshotKey: id,
      });
    } finally {
      await client.leases.delete(lease.id);
    }
  }

  async function removeContainer(id: string): Promise<void> {
    try {
      await client.tasks.delete(id);
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
    }
    // Snapshot before the record: without the record GC may take the snapshot first.
    await client.snapshots.remove(id);
    await client.containers.delete(id);
  }

  /** Runs a container to completion; returns its output and exit status. */
  async function run(
    id: string,
    args: string[],
    opts: { stdin?: string; parent?: string } = {},
  ): Promise<{ stdout: string; stderr: string; exitStatus: number }> {
    await createContainer(id, args, opts.parent);
    const fifos = await createFifoSet(path.join(execRoot, 'fifo', id), id, {
      stdin: opts.stdin !== undefined,
    });
    const streams = openFifoSet(fifos);
    try {
      const output = Promise.all([readAll(streams.stdout), readAll(streams.stderr)]);
      await client.tasks.create({
        containerId: id,
        rootfs: await client.snapshots.mounts(id),
        stdin: fifos.stdin,
        stdout: fifos.stdout,
        stderr: fifos.stderr,
      });
      const exited = client.tasks.wait(id);
      await client.tasks.start(id);
      if (opts.stdin !== undefined) {
        streams.stdin?.end(opts.stdin);
        await client.tasks.closeIO(id);
      }
      const [stdout, stderr] = await output;
      const { exitStatus } = await exited;
      return { stdout, stderr, exitStatus };
    } finally {
      streams.close();
      await removeContainer(id);
      await removeFifoSet(fifos);
    }
  }

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-containerd-'));
    execRoot = path.join(tmp, 'exec');
    supervisor = new ContainerdSupervisor({ execRoot, dataRoot: path.join(tmp, 'data') });
    const address = await supervisor.start();
    client = await ContainerdClient.connect({ address, namespace: NAMESPACE });
    await client.namespaces.create(NAMESPACE, { 'io.berth.test': 'true' });
    subscription = await client.events.subscribe();
    subscription.on('event', (envelope: EventEnvelope) => events.push(envelope));
  });

  after(async () => {
    subscription?.close();
    if (client) {
      for (const task of await client.tasks.list().catch(() => [])) {
        await client.tasks.kill(task.containerId, SIGKILL, { all: true }).catch(() => undefined);
        await client.tasks.wait(task.containerId, '', { timeoutMs: 10_000 }).catch(() => undefined);
      }
      for (const container of await client.containers.list().catch(() => [])) {
        await removeContainer(container.id).catch((err) => console.error('cleanup', container.id, err));
      }
      await client.images.delete(IMAGE_NAME).catch(() => undefined);
      for (const lease of await client.leases.list().catch(() => [])) await client.leases.delete(lease.id);
      client.close();
    }
    await supervisor?.stop();
    if (tmp) {
      for (const mountPoint of mountsUnder(tmp)) {
        if (spawnSync('umount', [mountPoint]).status !== 0) spawnSync('umount', ['-l', mountPoint]);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    removeCgroupParents();
  });

  test('starts containerd and answers Version and Plugins', { timeout: 60_000 }, async () => {
    assert.ok(supervisor.pid && supervisor.pid > 0);
    const config = fs.readFileSync(supervisor.paths.config, 'utf8');
    assert.match(config, /"io\.containerd\.grpc\.v1\.cri"/);
    const version = await client.version.version();
    assert.match(version.version, /^1\.6\./);
    const snapshotters = await client.introspection.plugins(['type==io.containerd.snapshotter.v1']);
    const overlay = snapshotters.find((p) => p.id === 'overlayfs');
    assert.ok(overlay, 'overlayfs snapshotter present');
    assert.equal(overlay.initError, undefined);
    assert.ok(!snapshotters.some((p) => p.id === 'btrfs'), 'unused snapshotters disabled');
  });

  test('imports a busybox image with GC labels and unpacks it', { timeout: 60_000 }, async () => {
    const layer = await busyboxLayer();
    const diffId = sha256(layer);
    [chainId] = chainIds([diffId]);
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
        rootfs: { type: 'layers', diff_ids: [diffId] },
      }),
    );
    const layerDescriptor = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: diffId,
      size: layer.length,
    };
    const configDescriptor = {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: sha256(config),
      size: config.length,
    };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: configDescriptor,
        layers: [layerDescriptor],
      }),
    );
    const manifestDigest = sha256(manifest);

    const lease = await client.leases.create({ expiresInMs: 10 * 60_000 });
    const leased = client.withLease(lease.id);
    // A Readable source exercises streaming with small chunks and backpressure.
    const written = await writeBlob(
      leased.content,
      Readable.from([layer.subarray(0, 100_000), layer.subarray(100_000)]),
      {
        digest: diffId,
        size: layer.length,
      },
    );
    assert.deepEqual(written, { digest: diffId, size: layer.length, existed: false });
    const again = await writeBlob(leased.content, layer, { digest: diffId });
    assert.equal(again.existed, true);

    const ids = await unpackLayers(leased, [{ descriptor: layerDescriptor, diffId }]);
    assert.deepEqual(ids, [chainId]);
    assert.deepEqual(
      await unpackLayers(leased, [{ descriptor: layerDescriptor, diffId }]),
      [chainId],
      'idempotent',
    );
    await writeBlob(leased.content, config, {
      digest: configDescriptor.digest,
      labels: { [`${GC_LABELS.snapshotPrefix}overlayfs`]: chainId },
    });
    await writeBlob(leased.content, manifest, {
      digest: manifestDigest,
      labels: { [GC_LABELS.config]: configDescriptor.digest, [`${GC_LABELS.layerPrefix}0`]: diffId },
    });
    const image = await leased.images.create({
      name: IMAGE_NAME,
      target: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: manifestDigest,
        size: manifest.length,
      },
    });
    assert.equal(image.target.digest, manifestDigest);
    assert.ok(image.createdAt instanceof Date);

    // A synchronous GC after the lease is gone keeps everything the image references.
    await client.leases.delete(lease.id, { sync: true });
    assert.equal((await client.content.info(diffId)).size, layer.length);
    assert.deepEqual(await client.content.readAll(manifestDigest), manifest);
    const snapshot = await client.snapshots.stat(chainId);
    assert.equal(snapshot.kind, 'committed');
    assert.equal(snapshot.parent, undefined);
    assert.deepEqual(
      (await client.images.list()).map((i) => i.name),
      [IMAGE_NAME],
    );

    // Reading a range streams exactly those bytes.
    const chunks: Buffer[] = [];
    for await (const chunk of client.content.read(diffId, { offset: 512, size: 1000 }))
      chunks.push(chunk as Buffer);
    assert.deepEqual(Buffer.concat(chunks), layer.subarray(512, 1512));
  });

  test(
    'content: digest mismatch, missing blob, labels and aborted ingests',
    { timeout: 60_000 },
    async () => {
      const data = Buffer.from('not what was promised');
      await assert.rejects(
        client.content.write('berth-test-mismatch', data, { expected: sha256('something else') }),
        (err) => isEngineError(err, 'Conflict'),
      );
      await assert.rejects(client.content.info(sha256('absent')), (err) => isEngineError(err, 'NotFound'));
      const blob = await writeBlob(client.content, Buffer.from('labelled'), {
        labels: { 'containerd.io/gc.root': 'x' },
      });
      const updated = await client.content.setLabels(blob.digest, {
        'io.berth.test': 'y',
        'containerd.io/gc.root': '',
      });
      assert.deepEqual(updated.labels, { 'io.berth.test': 'y' });
      assert.ok(
        (await client.content.list([`labels."io.berth.test"==y`])).some((i) => i.digest === blob.digest),
      );
      await client.content.delete(blob.digest);
      assert.equal(await client.content.tryInfo(blob.digest), undefined);
      // A write that never commits stays as an ingest until aborted.
      const stream = new Readable({ read() {} });
      stream.push(Buffer.from('partial'));
      const abandoned = client.content.write('berth-test-abandoned', stream, {}, { timeoutMs: 300 });
      await assert.rejects(abandoned);
      const statuses = await client.content.listStatuses();
      const ingest = statuses.find((s) => s.ref === 'berth-test-abandoned');
      if (ingest) {
        assert.ok(ingest.offset <= 'partial'.length);
        // containerd may still be closing the cancelled writer: retry briefly.
        for (let attempt = 1; ; attempt++) {
          try {
            await client.content.abort('berth-test-abandoned');
            break;
          } catch (err) {
            if (attempt === 20) throw err;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }
      assert.ok(!(await client.content.listStatuses()).some((s) => s.ref === 'berth-test-abandoned'));
    },
  );

  test('runs echo hello with FIFO stdio and exit status 0', { timeout: 60_000 }, async () => {
    const result = await run('hello', ['echo', 'hello']);
    assert.deepEqual(result, { stdout: 'hello\n', stderr: '', exitStatus: 0 });
  });

  test('reports stderr and a non-zero exit status', { timeout: 60_000 }, async () => {
    // A filtered subscription, consumed as an async iterable.
    const tasksOnly = await client.events.subscribe({ filters: ['topic~="^/tasks/"'] });
    const seenTopics: string[] = [];
    const consumed = (async () => {
      for await (const item of tasksOnly) {
        if (item.kind !== 'event') continue;
        seenTopics.push(item.envelope.topic);
        if (item.envelope.topic === '/tasks/delete') tasksOnly.close();
      }
    })();
    const result = await run('exit3', ['sh', '-c', 'echo to-stderr >&2; exit 3']);
    assert.deepEqual(result, { stdout: '', stderr: 'to-stderr\n', exitStatus: 3 });
    await consumed;
    assert.deepEqual(seenTopics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete']);
    const exits = events.filter((e) => isEvent(e, '/tasks/exit') && e.event.containerId === 'exit3');
    assert.equal(exits.length, 1);
    const exit = exits[0];
    assert.ok(isEvent(exit, '/tasks/exit'));
    assert.equal(exit.event.exitStatus, 3);
    assert.ok(exit.event.exitedAt instanceof Date);
    assert.equal(exit.namespace, NAMESPACE);
    assert.ok(
      events.some((e) => e.topic === '/containers/delete' && (e.event as { id: string }).id === 'exit3'),
    );
  });

  test('feeds stdin through the FIFO and closes it', { timeout: 60_000 }, async () => {
    const result = await run('stdin', ['sh', '-c', 'cat; echo done'], { stdin: 'ping\n' });
    assert.deepEqual(result, { stdout: 'ping\ndone\n', stderr: '', exitStatus: 0 });
  });

  test('unpacks a gzip layer on top and runs from the new chain', { timeout: 60_000 }, async () => {
    const addition = await tarOf([{ name: 'hello.txt', content: 'from layer 2\n' }]);
    const gz = gzipSync(addition);
    const layer2 = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest: sha256(gz),
      size: gz.length,
    };
    const busybox = await busyboxLayer();
    const busyboxDescriptor = {
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      digest: sha256(busybox),
      size: busybox.length,
    };
    const lease = await client.leases.create({ expiresInMs: 60_000 });
    const leased = client.withLease(lease.id);
    const seen: [number, boolean][] = [];
    let chain2 = '';
    try {
      await writeBlob(leased.content, gz, { digest: layer2.digest });
      const ids = await unpackLayers(
        leased,
        [
          { descriptor: busyboxDescriptor, diffId: sha256(busybox) },
          { descriptor: layer2, diffId: sha256(addition) },
        ],
        { onLayer: (index, _chain, unpacked) => seen.push([index, unpacked]) },
      );
      chain2 = ids[1];
      assert.deepEqual(ids, chainIds([sha256(busybox), sha256(addition)]));
      assert.deepEqual(seen, [
        [0, false],
        [1, true],
      ]);
      assert.equal((await client.snapshots.stat(chain2)).parent, chainId);
      assert.ok((await client.snapshots.usage(chain2)).size > 0);
      const result = await run('layer2', ['cat', '/hello.txt'], { parent: chain2 });
      assert.deepEqual(result, { stdout: 'from layer 2\n', stderr: '', exitStatus: 0 });
      await assert.rejects(
        leased.diff.apply({ ...layer2, digest: sha256('missing') }, []),
        (err) => isEngineError(err, 'NotFound') || isEngineError(err, 'InvalidParameter'),
      );
    } finally {
      if (chain2) assert.equal(await client.snapshots.remove(chain2), true);
      await client.leases.delete(lease.id, { sync: true });
    }
    assert.equal(
      await client.content.tryInfo(layer2.digest),
      undefined,
      'unreferenced blob collected with its lease',
    );
  });

  test('streams a blob larger than one gRPC message', { timeout: 60_000 }, async () => {
    const parts = Array.from({ length: 5 }, () => randomBytes(4 * 1024 * 1024 + 1));
    const digest = sha256Parts(parts);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const written = await client.content.write('berth-test-big', Readable.from(parts), {
      expected: digest,
      total: size,
      labels: { 'containerd.io/gc.root': 'test' },
    });
    assert.deepEqual(written, { digest, size, existed: false });
    const read = createHash('sha256');
    let readSize = 0;
    for await (const chunk of client.content.read(digest)) {
      read.update(chunk as Buffer);
      readSize += (chunk as Buffer).length;
    }
    assert.equal(`sha256:${read.digest('hex')}`, digest);
    assert.equal(readSize, size);
    await client.content.delete(digest);
  });

  test('streams a network-like source of odd pieces, reporting progress', { timeout: 60_000 }, async () => {
    const sizes = [1, 65_536, 16_384, 1_048_575, 2, 3_000_000, 40_000];
    const parts = sizes.map((n) => randomBytes(n));
    const digest = sha256Parts(parts);
    const size = parts.reduce((n, p) => n + p.length, 0);
    const progress: number[] = [];
    const written = await client.content.write('berth-test-pieces', Readable.from(parts), {
      expected: digest,
      total: size,
      labels: { 'containerd.io/gc.root': 'test' },
      onProgress: (bytes) => progress.push(bytes),
    });
    assert.deepEqual(written, { digest, size, existed: false });
    assert.equal(progress.length, parts.length);
    assert.equal(progress[progress.length - 1], size);
    const read = createHash('sha256');
    for await (const chunk of client.content.read(digest)) read.update(chunk as Buffer);
    assert.equal(`sha256:${read.digest('hex')}`, digest);
    await client.content.delete(digest);
  });

  test('a source that fails while the write starts rejects the write and leaves no ingest', async () => {
    const source = new Readable({ read() {} });
    const failure = new Error('registry connection reset');
    const written = client.content.write('berth-test-failing-source', source, {
      expected: sha256('never'),
    });
    source.destroy(failure);
    await assert.rejects(written, (err) => err === failure || (err as Error).message === failure.message);
    await client.content.abort('berth-test-failing-source').catch(() => undefined);
    const statuses = await client.content.listStatuses();
    assert.ok(!statuses.some((s) => s.ref === 'berth-test-failing-source'));
  });

  test('exec, metrics, pids and a task that survives a containerd crash', { timeout: 60_000 }, async () => {
    await createContainer('sleeper', ['sleep', '600']);
    const container = await client.containers.get('sleeper');
    assert.deepEqual((specFromAny(container.spec!) as { process: { args: string[] } }).process.args, [
      'sleep',
      '600',
    ]);
    const fifos = await createFifoSet(path.join(execRoot, 'fifo', 'sleeper'), 'sleeper');
    const streams = openFifoSet(fifos);
    try {
      const { pid } = await client.tasks.create({
        containerId: 'sleeper',
        rootfs: await client.snapshots.mounts('sleeper'),
        stdout: fifos.stdout,
        stderr: fifos.stderr,
      });
      await client.tasks.start('sleeper');
      const state = await client.tasks.get('sleeper');
      assert.equal(state.status, 'running');
      assert.equal(state.pid, pid);
      assert.equal(state.containerId, 'sleeper');
      assert.equal(state.exitedAt, undefined, 'Go zero time maps to undefined');

      // Exec with its own FIFOs.
      const execFifos = await createFifoSet(path.join(execRoot, 'fifo', 'sleeper'), 'exec1');
      const execStreams = openFifoSet(execFifos);
      const execOutput = readAll(execStreams.stdout);
      await client.tasks.exec({
        containerId: 'sleeper',
        execId: 'exec1',
        stdout: execFifos.stdout,
        stderr: execFifos.stderr,
        spec: {
          args: ['sh', '-c', 'echo exec-ok; hostname'],
          cwd: '/',
          env: ['PATH=/bin'],
          user: { uid: 0, gid: 0 },
        },
      });
      const execExit = client.tasks.wait('sleeper', 'exec1');
      await client.tasks.start('sleeper', 'exec1');
      assert.equal(await execOutput, 'exec-ok\nsleeper\n');
      assert.equal((await execExit).exitStatus, 0);
      await client.tasks.deleteProcess('sleeper', 'exec1');
      execStreams.close();
      await removeFifoSet(execFifos);

      const pids = await client.tasks.listPids('sleeper');
      assert.deepEqual(
        pids.map((p) => p.pid),
        [pid],
      );
      await client.tasks.update('sleeper', { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } });
      const [metrics] = await client.tasks.metrics(['sleeper']);
      assert.equal(metrics.id, 'sleeper');
      assert.equal(metrics.data.type, 'cgroups.v1', 'this host has v1/hybrid cgroups');
      if (metrics.data.type === 'cgroups.v1') {
        assert.equal(metrics.data.metrics.memory?.usage?.limit, 64n * 1024n * 1024n);
        assert.equal(metrics.data.metrics.pids?.limit, 50n);
        assert.ok((metrics.data.metrics.cpu?.usage?.total ?? 0n) > 0n);
      }
      await client.tasks.pause('sleeper');
      assert.equal((await client.tasks.get('sleeper')).status, 'paused');
      await client.tasks.resume('sleeper');

      // Crash containerd: the supervisor restarts it, the client reconnects,
      // the event subscription comes back, and the task is still running.
      const blobBefore = Buffer.from('written before the crash');
      await writeBlob(client.content, blobBefore, { labels: { 'containerd.io/gc.root': 'test' } });
      const oldPid = supervisor.pid!;
      const pendingWait = client.tasks.wait('sleeper');
      const restarted = once(supervisor, 'restarted');
      const reconnected = once(subscription!, 'reconnected');
      const killedAt = Date.now();
      process.kill(oldPid, 'SIGKILL');
      await assert.rejects(pendingWait, (err) => isEngineError(err, 'Unavailable'));
      await client.version.version({ waitForReady: true, timeoutMs: 5000 });
      assert.ok(Date.now() - killedAt < 5000, 'a call succeeds within 5 s of the crash');
      const [newPid] = (await restarted) as [number];
      assert.notEqual(newPid, oldPid);
      assert.equal(supervisor.pid, newPid);
      await reconnected;
      assert.equal((await client.tasks.get('sleeper')).status, 'running');
      // Content.Write has its own HTTP/2 connection: it reconnects too.
      const blobAfter = Buffer.from('written after the restart');
      const written = await writeBlob(client.content, blobAfter, {
        labels: { 'containerd.io/gc.root': 'test' },
      });
      assert.deepEqual(await client.content.readAll(written.digest), blobAfter);
      await client.content.delete(written.digest);
      await client.content.delete(sha256(blobBefore));

      const exited = client.tasks.wait('sleeper');
      await client.tasks.kill('sleeper', SIGKILL);
      assert.equal((await exited).exitStatus, 137);
      const deleted = await client.tasks.delete('sleeper');
      assert.equal(deleted.exitStatus, 137);
      assert.ok(
        events.some((e) => isEvent(e, '/tasks/exit') && e.event.containerId === 'sleeper'),
        'events flow after reconnect',
      );
    } finally {
      streams.close();
      await removeContainer('sleeper');
      await removeFifoSet(fifos);
    }
  });

  test('cleans up: no tasks, containers or container snapshots left', { timeout: 60_000 }, async () => {
    assert.deepEqual(await client.tasks.list(), []);
    assert.deepEqual(await client.containers.list(), []);
    assert.deepEqual(
      (await client.snapshots.list()).map((s) => s.name),
      [chainId],
    );
    assert.equal(await client.snapshots.remove('does-not-exist'), false);
  });
});

describe('containerd supervisor', () => {
  let tmp: string | undefined;
  let orphanPid: number | undefined;

  after(() => {
    // Only the containerd this test left behind, identified by its config path.
    if (tmp && orphanPid && fs.existsSync(`/proc/${orphanPid}/cmdline`)) {
      const cmdline = fs.readFileSync(`/proc/${orphanPid}/cmdline`, 'utf8');
      if (cmdline.includes(tmp)) process.kill(orphanPid, 'SIGKILL');
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('adopts the containerd a crashed berthd left running, and stops it', { timeout: 60_000 }, async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-supervisor-'));
    const roots = { execRoot: path.join(tmp, 'exec'), dataRoot: path.join(tmp, 'data') };
    const moduleUrl = new URL('../../src/containerd/supervisor.js', import.meta.url).href;
    const script = [
      `import { ContainerdSupervisor } from ${JSON.stringify(moduleUrl)};`,
      `const supervisor = new ContainerdSupervisor(${JSON.stringify(roots)});`,
      'await supervisor.start();',
      'process.stdout.write(`${supervisor.pid}\\n`);',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    // The first "berthd" is a separate process, killed without a chance to stop containerd.
    const first = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [line] = (await once(first.stdout!, 'data')) as [Buffer];
    orphanPid = Number(line.toString().trim());
    first.kill('SIGKILL');
    await once(first, 'exit');
    assert.ok(fs.existsSync(`/proc/${orphanPid}`), 'containerd outlives the crashed berthd');

    const supervisor = new ContainerdSupervisor(roots);
    const address = await supervisor.start();
    assert.equal(supervisor.pid, orphanPid, 'the running instance is adopted, not replaced');
    const client = await ContainerdClient.connect({ address, namespace: 'default', timeoutMs: 5000 });
    assert.match((await client.version.version()).version, /^1\.6\./);
    client.close();
    await supervisor.stop();
    assert.equal(supervisor.pid, undefined);
    assert.ok(
      !fs.existsSync(`/proc/${orphanPid}/cmdline`) || !fs.readFileSync(`/proc/${orphanPid}/cmdline`, 'utf8'),
    );
    orphanPid = undefined;
  });
});
