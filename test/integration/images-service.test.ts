/**
 * ImageService in-process, on a real containerd (a test berthd's, in a
 * namespace of its own): resolveImage for the container service, removal
 * rules and conflicts with containers using an image, dangling images, and
 * the index rebuilt from containerd by a new service.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { ContainerdClient } from '../../src/containerd/client.js';
import { isEngineError } from '../../src/common/errors.js';
import { ProgressWriter } from '../../src/engine/images/progress.js';
import { ImageService, type ImageUser } from '../../src/engine/images/service.js';
import { parseNormalizedNamed } from '../../src/registry/reference.js';
import type { JSONMessage } from '../../src/types/image.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { containerdOf, imageFixtures, type ImageFixtures } from '../helpers/images.js';
import { buildTar, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

let fixtures: ImageFixtures;
let registry: RunningRegistry;
let daemon: TestDaemon;
let containerd: ContainerdClient;
const events: { action: string; id: string; attributes: Record<string, string> }[] = [];
const users = new Map<string, ImageUser>();

function newService(): ImageService {
  return new ImageService({
    containerd: () => containerd,
    events: { publish: (_type, action, id, attributes = {}) => events.push({ action, id, attributes }) },
    settings: () => ({
      insecureRegistries: [],
      mirrors: [],
      maxConcurrentDownloads: 3,
      maxConcurrentUploads: 5,
    }),
    isImageInUse: (imageId) => users.get(imageId),
  });
}

let service: ImageService;

async function pull(name: string): Promise<JSONMessage[]> {
  const messages: JSONMessage[] = [];
  await service.pull({ ref: parseNormalizedNamed(name) }, new ProgressWriter((m) => messages.push(m)));
  return messages;
}

function conflictMessage(err: unknown): string {
  assert.ok(isEngineError(err, 'Conflict'), String(err));
  return err.message;
}

before(async () => {
  fixtures = await imageFixtures();
  registry = await startRegistry();
  await pushImage(registry.url, 'busybox', 'latest', fixtures.busybox);
  await pushImage(registry.url, 'multi', 'v1', fixtures.multi);
  daemon = await startDaemon();
  containerd = await containerdOf(daemon, 'berth-image-service');
  service = newService();
  await service.start();
});

after(async () => {
  service?.close();
  containerd?.close();
  await daemon?.stop();
  await registry?.stop();
});

describe('ImageService', () => {
  test('resolveImage by name, ID, ID prefix and digest', async () => {
    await pull(`${registry.host}/busybox:latest`);
    const byName = await service.resolveImage(`${registry.host}/busybox`);
    assert.equal(byName.id, fixtures.busybox.configDigest);
    assert.equal(byName.ref, `${registry.host}/busybox:latest`);
    assert.deepEqual(byName.diffIds, [fixtures.busybox.layers[0].diffId]);
    assert.equal(byName.chainId, fixtures.busybox.layers[0].diffId);
    assert.deepEqual(byName.config.config?.Cmd, ['sh']);
    assert.ok(await containerd.snapshots.tryStat(byName.chainId), 'the top snapshot exists');
    const byId = await service.resolveImage(fixtures.busybox.configDigest);
    assert.equal(byId.id, byName.id);
    assert.equal(byId.ref, undefined);
    assert.equal((await service.resolveImage(fixtures.busybox.configDigest.slice(7, 19))).id, byName.id);
    const byDigest = await service.resolveImage(
      `${registry.host}/busybox@${fixtures.busybox.manifestDigest}`,
    );
    assert.equal(byDigest.id, byName.id);
    await assert.rejects(service.resolveImage('busybox'), (err: unknown) => {
      assert.ok(isEngineError(err, 'NotFound'));
      assert.equal(err.message, 'No such image: busybox:latest');
      return true;
    });
  });

  test('removal rules and conflicts with containers', async () => {
    const id = fixtures.busybox.configDigest;
    const name = `${registry.host}/busybox:latest`;
    await service.tag(name, 'extra', 'one');
    users.set(id, { containerId: 'c'.repeat(64), running: false });
    // Another tag remains: untagging is fine even while a container uses the image.
    assert.deepEqual(await service.remove('extra:one', { force: false, prune: true }), [
      { Untagged: 'extra:one' },
    ]);
    await assert.rejects(service.remove(name, { force: false, prune: true }), (err) => {
      assert.equal(
        conflictMessage(err),
        `conflict: unable to remove repository reference "${name}" (must force) - container cccccccccccc is using its referenced image ${id.slice(7, 19)}`,
      );
      return true;
    });
    await assert.rejects(service.remove(id, { force: false, prune: true }), (err) => {
      assert.equal(
        conflictMessage(err),
        `conflict: unable to delete ${id.slice(7, 19)} (must be forced) - image is being used by stopped container cccccccccccc`,
      );
      return true;
    });
    users.set(id, { containerId: 'r'.repeat(64), running: true });
    await assert.rejects(service.remove(id, { force: true, prune: true }), (err) => {
      assert.match(
        conflictMessage(err),
        /\(cannot be forced\) - image is being used by running container rrrrrrrrrrrr$/,
      );
      return true;
    });
    await service.tag(name, 'second', 'repo');
    users.delete(id);
    await assert.rejects(service.remove(id, { force: false, prune: true }), (err) => {
      assert.match(
        conflictMessage(err),
        /\(must be forced\) - image is referenced in multiple repositories$/,
      );
      return true;
    });
    // Forced, with a running container: the references go, the image stays (dangling).
    users.set(id, { containerId: 'r'.repeat(64), running: true });
    await service.remove('second:repo', { force: false, prune: true });
    const untagged = await service.remove(name, { force: true, prune: true });
    assert.deepEqual(untagged, [
      { Untagged: name },
      { Untagged: `${registry.host}/busybox@${fixtures.busybox.manifestDigest}` },
    ]);
    const dangling = await service.list({ all: false, filters: new Map([['dangling', ['true']]]) });
    assert.deepEqual(
      dangling.map((i) => [i.Id, i.RepoTags]),
      [[id, []]],
    );
    assert.equal((await service.resolveImage(id)).id, id);
    // Forced with a stopped container, or unused: removing by ID deletes the image and its layer.
    users.set(id, { containerId: 'c'.repeat(64), running: false });
    const deleted = await service.remove(id, { force: true, prune: true });
    users.clear();
    assert.deepEqual(deleted, [{ Deleted: id }, { Deleted: fixtures.busybox.layers[0].diffId }]);
    assert.equal(await containerd.snapshots.tryStat(fixtures.busybox.layers[0].diffId), undefined);
    assert.equal(await containerd.content.tryInfo(fixtures.busybox.layers[0].digest), undefined);
    const actions = events.map((e) => e.action);
    for (const action of ['pull', 'tag', 'untag', 'delete']) assert.ok(actions.includes(action), action);
    // Image events carry the image's labels and the name, as moby's do.
    assert.deepEqual(events.find((e) => e.action === 'pull')?.attributes, {
      'org.berth.test': 'busybox',
      name: `${registry.host}/busybox`,
    });
  });

  test('a moved tag leaves the old image dangling; layers shared with another image stay', async () => {
    await pull(`${registry.host}/busybox:latest`);
    await pull(`${registry.host}/multi:v1`);
    await service.tag(`${registry.host}/busybox`, 'moving', 'tag');
    await service.remove(`${registry.host}/busybox:latest`, { force: false, prune: true });
    await service.tag(`${registry.host}/multi:v1`, 'moving', 'tag');
    assert.equal((await service.resolveImage('moving:tag')).id, fixtures.multi.configDigest);
    const dangling = await service.list({ all: false, filters: new Map([['dangling', ['true']]]) });
    assert.deepEqual(
      dangling.map((i) => [i.Id, i.RepoTags, i.RepoDigests]),
      [[fixtures.busybox.configDigest, [], []]],
    );
    const pruned = await service.prune(new Map());
    // The base layer is shared with multi: only the image goes.
    assert.deepEqual(pruned.ImagesDeleted, [{ Deleted: fixtures.busybox.configDigest }]);
    assert.equal(pruned.SpaceReclaimed, 0);
    assert.ok(await containerd.snapshots.tryStat(fixtures.busybox.layers[0].diffId));
  });

  test('commitImage stacks a new layer on the parent and names the result', async () => {
    const parent = await service.resolveImage(`${registry.host}/multi:v1`);
    const layerTar = await buildTar([{ name: 'committed.txt', content: 'new file\n' }]);
    const gz = gzipSync(layerTar);
    const digest = `sha256:${createHash('sha256').update(gz).digest('hex')}`;
    const diffId = `sha256:${createHash('sha256').update(layerTar).digest('hex')}`;
    const lease = await containerd.leases.create();
    try {
      await containerd
        .withLease(lease.id)
        .content.write('test-commit-layer', gz, { expected: digest, total: gz.length });
      const { id } = await service.commitImage({
        parent,
        layer: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest, size: gz.length, diffId },
        config: {
          architecture: 'amd64',
          os: 'linux',
          created: '2024-02-01T00:00:00Z',
          config: { Cmd: ['cat', '/committed.txt'] },
        },
        history: { created: '2024-02-01T00:00:00Z', created_by: 'commit test' },
        reference: 'committed:v1',
      });
      const committed = await service.resolveImage('committed:v1');
      assert.equal(committed.id, id);
      assert.deepEqual(committed.diffIds, [...parent.diffIds, diffId]);
      assert.ok(await containerd.snapshots.tryStat(committed.chainId));
      assert.equal(committed.config.history?.at(-1)?.created_by, 'commit test');
    } finally {
      await containerd.leases.delete(lease.id, { sync: true });
    }
    // The caller's lease is gone: the image holds its new layer by itself.
    assert.ok(await containerd.content.tryInfo(digest));
    assert.equal((await service.history('committed:v1'))[0].CreatedBy, 'commit test');
  });

  test('start() removes what an interrupted pull left: its lease and unfinished writes', async () => {
    const lease = await containerd.leases.create({ labels: { 'io.berth.lease': 'pull' } });
    const broken = new Readable({ read() {} });
    broken.on('error', () => undefined);
    broken.push(Buffer.alloc(4096, 1));
    setImmediate(() => broken.destroy(new Error('registry went away')));
    await assert.rejects(
      containerd.withLease(lease.id).content.write('berth-pull-sha256:interrupted', broken, { total: 8192 }),
    );
    assert.equal((await containerd.content.listStatuses()).length, 1);
    const fresh = newService();
    try {
      await fresh.start();
      assert.deepEqual(await containerd.leases.list(), []);
      assert.deepEqual(await containerd.content.listStatuses(), []);
    } finally {
      fresh.close();
    }
  });

  test('a new service rebuilds the same index from containerd', async () => {
    const before = await service.list({ all: false, filters: new Map() });
    const fresh = newService();
    try {
      await fresh.start();
      assert.deepEqual(await fresh.list({ all: false, filters: new Map() }), before);
      assert.equal((await fresh.resolveImage('moving:tag')).id, fixtures.multi.configDigest);
    } finally {
      fresh.close();
    }
  });
});
