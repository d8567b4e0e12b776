/**
 * berthd's image API against real registries (Debian's docker-registry on
 * 127.0.0.1, plain, htpasswd and token auth): pull with Docker's progress,
 * shared layers, digests, all tags, platforms; push with mounts; failures
 * that must leave nothing behind; save/load/import; skopeo as an
 * independent client; mirrors; list filters, tags, removal and events.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { Readable } from 'node:stream';
import type { ContainerdClient } from '../../src/containerd/client.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import {
  SlowProxy,
  api,
  bigImage,
  containerdOf,
  imageFixtures,
  jsonLines,
  registryAuth,
  type ImageFixtures,
} from '../helpers/images.js';
import { buildImage, buildTar, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const run = promisify(execFile);

interface Message {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  progress?: string;
  error?: string;
  errorDetail?: { message: string };
  stream?: string;
  aux?: { Tag: string; Digest: string; Size: number };
}

let fixtures: ImageFixtures;
let registry: RunningRegistry;
let daemon: TestDaemon;
let containerd: ContainerdClient;

/** Leases a pull could leave behind; the builder's long-lived cache lease is not one of them. */
async function pullLeases(): Promise<unknown[]> {
  return (await containerd.leases.list()).filter(
    (lease) => lease.labels?.['io.berth.build-cache'] !== 'true',
  );
}

async function pull(
  query: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; messages: Message[]; text: string }> {
  const res = await api(daemon, 'POST', `/images/create?${query}`, { headers });
  return {
    status: res.status,
    messages: res.status === 200 ? jsonLines<Message>(res.text) : [],
    text: res.text,
  };
}

async function inspect(
  name: string,
): Promise<Record<string, unknown> & { Id: string; RepoTags: string[]; RepoDigests: string[] }> {
  const res = await api(daemon, 'GET', `/images/${name}/json`);
  assert.equal(res.status, 200, res.text);
  return JSON.parse(res.text);
}

async function remove(name: string, query = ''): Promise<{ status: number; body: unknown }> {
  const res = await api(daemon, 'DELETE', `/images/${name}${query}`);
  return { status: res.status, body: JSON.parse(res.text) };
}

async function push(name: string, tag: string, headers: Record<string, string> = {}): Promise<Message[]> {
  const res = await api(daemon, 'POST', `/images/${name}/push?tag=${tag}`, { headers });
  assert.equal(res.status, 200, res.text);
  return jsonLines<Message>(res.text);
}

function statuses(messages: Message[], id: string): string[] {
  return messages.filter((m) => m.id === id).map((m) => m.status ?? '');
}

const short = (digest: string): string => digest.slice(7, 19);

before(async () => {
  fixtures = await imageFixtures();
  registry = await startRegistry();
  await pushImage(registry.url, 'busybox', 'latest', fixtures.busybox);
  await pushImage(registry.url, 'multi', 'v1', fixtures.multi);
  await pushImage(registry.url, 'platforms', 'latest', fixtures.index);
  daemon = await startDaemon();
  containerd = await containerdOf(daemon);
});

after(async () => {
  containerd?.close();
  await daemon?.stop();
  await registry?.stop();
});

describe('pull', () => {
  test('streams Docker progress and records ID, tag and repository digest', async () => {
    const { status, messages } = await pull(`fromImage=${registry.host}/busybox&tag=latest`);
    assert.equal(status, 200);
    assert.deepEqual(messages[0], { status: `Pulling from ${registry.host}/busybox`, id: 'latest' });
    const layer = short(fixtures.busybox.layers[0].digest);
    const layerStatuses = statuses(messages, layer);
    assert.deepEqual(
      layerStatuses.filter((s) => s !== 'Downloading' && s !== 'Extracting'),
      ['Pulling fs layer', 'Verifying Checksum', 'Download complete', 'Pull complete'],
    );
    const downloads = messages.filter((m) => m.id === layer && m.status === 'Downloading');
    assert.ok(downloads.length > 0);
    const last = downloads[downloads.length - 1];
    assert.deepEqual(last.progressDetail, {
      current: fixtures.busybox.layers[0].size,
      total: fixtures.busybox.layers[0].size,
    });
    assert.match(last.progress ?? '', /^\[=+>\]/);
    assert.ok(layerStatuses.includes('Extracting'));
    assert.deepEqual(messages.slice(-2), [
      { status: `Digest: ${fixtures.busybox.manifestDigest}` },
      { status: `Status: Downloaded newer image for ${registry.host}/busybox:latest` },
    ]);
    const image = await inspect(`${registry.host}/busybox`);
    assert.equal(image.Id, fixtures.busybox.configDigest);
    assert.deepEqual(image.RepoTags, [`${registry.host}/busybox:latest`]);
    assert.deepEqual(image.RepoDigests, [`${registry.host}/busybox@${fixtures.busybox.manifestDigest}`]);
    assert.deepEqual((image.RootFS as { Layers: string[] }).Layers, [fixtures.busybox.layers[0].diffId]);
    assert.ok((image.Size as number) > 1_000_000);
  });

  test('shared layers are reported as Already exists; a second pull is up to date', async () => {
    const first = await pull(`fromImage=${registry.host}/multi&tag=v1`);
    const [base, top] = fixtures.multi.layers.map((l) => short(l.digest));
    assert.deepEqual(statuses(first.messages, base), ['Already exists']);
    assert.equal(statuses(first.messages, top)[0], 'Pulling fs layer');
    assert.equal(statuses(first.messages, top).at(-1), 'Pull complete');
    const again = await pull(`fromImage=${registry.host}/multi&tag=v1`);
    assert.deepEqual(
      again.messages.map((m) => m.status),
      [
        `Pulling from ${registry.host}/multi`,
        `Digest: ${fixtures.multi.manifestDigest}`,
        `Status: Image is up to date for ${registry.host}/multi:v1`,
      ],
    );
  });

  test('by digest', async () => {
    const ref = `${registry.host}/multi@${fixtures.multi.manifestDigest}`;
    const { messages } = await pull(`fromImage=${encodeURIComponent(ref)}`);
    assert.equal(messages[0].id, fixtures.multi.manifestDigest);
    assert.equal(messages.at(-1)?.status, `Status: Image is up to date for ${ref}`);
    const image = await inspect(ref);
    assert.equal(image.Id, fixtures.multi.configDigest);
  });

  test('all tags of a repository (pull -a)', async () => {
    await pushImage(registry.url, 'alltags', 'one', fixtures.busybox);
    await pushImage(registry.url, 'alltags', 'two', fixtures.multi);
    const { messages } = await pull(`fromImage=${registry.host}/alltags`);
    const pulling = messages.filter((m) => m.status?.startsWith('Pulling from'));
    assert.deepEqual(
      pulling.map((m) => m.id),
      ['one', 'two'],
    );
    assert.equal(messages.at(-1)?.status, `Status: Downloaded newer image for ${registry.host}/alltags`);
    assert.deepEqual((await inspect(`${registry.host}/alltags:one`)).Id, fixtures.busybox.configDigest);
    assert.deepEqual((await inspect(`${registry.host}/alltags:two`)).Id, fixtures.multi.configDigest);
  });

  test('multi-platform: linux/amd64 by default, --platform, and a missing platform', async () => {
    const [amd64, arm64] = fixtures.index.images;
    await pull(`fromImage=${registry.host}/platforms&tag=latest`);
    let image = await inspect(`${registry.host}/platforms`);
    assert.equal(image.Id, amd64.configDigest);
    assert.deepEqual(image.RepoDigests, [`${registry.host}/platforms@${fixtures.index.indexDigest}`]);
    const armPull = await pull(`fromImage=${registry.host}/platforms&tag=latest&platform=linux/arm64`);
    assert.equal(
      armPull.messages.at(-1)?.status,
      `Status: Downloaded newer image for ${registry.host}/platforms:latest`,
    );
    image = await inspect(`${registry.host}/platforms`);
    assert.equal(image.Id, arm64.configDigest);
    assert.equal(image.Architecture, 'arm64');
    // The amd64 image lost its tag but keeps its digest reference, as in Docker.
    const old = await inspect(amd64.configDigest);
    assert.deepEqual(old.RepoTags, []);
    const missing = await pull(`fromImage=${registry.host}/platforms&tag=latest&platform=linux/s390x`);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no matching manifest for linux\/s390x in the manifest list entries/);
  });

  test('concurrent pulls of one image share its downloads and both succeed', async () => {
    const image = buildImage({
      layers: [
        await buildTar([{ name: 'a', content: 'a'.repeat(300_000) }]),
        await buildTar([{ name: 'b', content: 'b' }]),
      ],
    });
    await pushImage(registry.url, 'concurrent', 'v1', image);
    const results = await Promise.all(
      [1, 2, 3].map(() => pull(`fromImage=${registry.host}/concurrent&tag=v1`)),
    );
    for (const result of results) {
      assert.equal(result.status, 200);
      assert.match(result.messages.at(-1)?.status ?? '', /^Status: /, JSON.stringify(result.messages.at(-1)));
    }
    assert.equal((await inspect(`${registry.host}/concurrent:v1`)).Id, image.configDigest);
    assert.deepEqual(await pullLeases(), []);
  });

  test("an unknown image fails before any output, with Docker's message", async () => {
    const { status, text } = await pull(`fromImage=${registry.host}/nothing&tag=v9`);
    assert.equal(status, 404);
    assert.equal(
      JSON.parse(text).message,
      `manifest for ${registry.host}/nothing:v9 not found: manifest unknown: manifest unknown`,
    );
    const bad = await pull('fromImage=Bad%20Name');
    assert.equal(bad.status, 400);
  });

  test('a corrupted blob fails the pull and leaves no image, content, snapshot or lease', async () => {
    const image = buildImage({
      layers: [await buildTar([{ name: 'corrupt.txt', content: 'x'.repeat(50_000) }])],
    });
    await pushImage(registry.url, 'corrupt', 'v1', image);
    const layer = image.layers[0];
    const dataPath = registry.blobDataPath(layer.digest);
    const bytes = readFileSync(dataPath);
    bytes[bytes.length - 5] ^= 0xff;
    writeFileSync(dataPath, bytes);
    const { status, messages } = await pull(`fromImage=${registry.host}/corrupt&tag=v1`);
    assert.equal(status, 200);
    const last = messages.at(-1)!;
    assert.equal(last.error, `filesystem layer verification failed for digest ${layer.digest}`);
    assert.deepEqual(last.errorDetail, { message: last.error });
    assert.equal((await api(daemon, 'GET', `/images/${registry.host}/corrupt:v1/json`)).status, 404);
    assert.equal(await containerd.content.tryInfo(layer.digest), undefined);
    assert.equal(await containerd.content.tryInfo(image.configDigest), undefined);
    assert.equal(await containerd.snapshots.tryStat(layer.diffId), undefined);
    assert.deepEqual(await pullLeases(), []);
    assert.deepEqual(await containerd.content.listStatuses(), []);
    assert.equal(
      (await containerd.images.list()).some((i) => i.name.includes('corrupt')),
      false,
    );
  });

  test('a registry gone mid-pull fails clearly; the retry completes', async () => {
    const big = await bigImage(6 * 1024 * 1024);
    await pushImage(registry.url, 'big', 'v1', big);
    const proxy = new SlowProxy({ host: '127.0.0.1', port: Number(registry.host.split(':')[1]) }, 32 * 1024);
    await proxy.start();
    try {
      const pulling = pull(`fromImage=${proxy.host}/big&tag=v1`);
      // Wait until the layer is on its way, then take the registry away.
      const started = Date.now();
      while (Date.now() - started < 10_000) {
        const list = await containerd.content.listStatuses();
        if (list.some((s) => s.offset > 0)) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await proxy.stop();
      const failed = await pulling;
      const last = failed.messages.at(-1)!;
      assert.ok(last.error, JSON.stringify(last));
      assert.match(last.error!, /connect|connection|ECONNREFUSED|closed|reset/i);
      assert.deepEqual(await pullLeases(), []);
      await proxy.start();
      const retried = await pull(`fromImage=${proxy.host}/big&tag=v1`);
      assert.equal(
        retried.messages.at(-1)?.status,
        `Status: Downloaded newer image for ${proxy.host}/big:v1`,
      );
      assert.equal((await inspect(`${proxy.host}/big:v1`)).Id, big.configDigest);
    } finally {
      await proxy.stop();
    }
  });
});

describe('push', () => {
  test("push, remove, pull back: same digest and ID, Docker's final line", async () => {
    const tagged = await api(
      daemon,
      'POST',
      `/images/${registry.host}/multi:v1/tag?repo=${registry.host}/pushed&tag=v2`,
    );
    assert.equal(tagged.status, 201);
    const messages = await push(`${registry.host}/pushed`, 'v2');
    assert.deepEqual(messages[0], { status: `The push refers to repository [${registry.host}/pushed]` });
    const layerIds = fixtures.multi.layers.map((l) => short(l.diffId)).reverse();
    assert.deepEqual(
      messages.filter((m) => m.status === 'Preparing').map((m) => m.id),
      layerIds,
    );
    for (const id of layerIds)
      assert.match(statuses(messages, id).at(-1)!, /^(Pushed|Mounted from .*|Layer already exists)$/);
    const size = fixtures.multi.manifestBytes.length;
    assert.equal(messages.at(-2)?.status, `v2: digest: ${fixtures.multi.manifestDigest} size: ${size}`);
    assert.deepEqual(messages.at(-1)?.aux, { Tag: 'v2', Digest: fixtures.multi.manifestDigest, Size: size });
    const removed = await remove(`${registry.host}/pushed:v2`);
    assert.deepEqual(removed.body, [
      { Untagged: `${registry.host}/pushed:v2` },
      { Untagged: `${registry.host}/pushed@${fixtures.multi.manifestDigest}` },
    ]);
    const again = await pull(`fromImage=${registry.host}/pushed&tag=v2`);
    assert.equal(
      again.messages.at(-1)?.status,
      `Status: Downloaded newer image for ${registry.host}/pushed:v2`,
    );
    assert.equal((await inspect(`${registry.host}/pushed:v2`)).Id, fixtures.multi.configDigest);
  });

  test('mounts from another repository, then reports layers that exist', async () => {
    await api(
      daemon,
      'POST',
      `/images/${registry.host}/busybox/tag?repo=${registry.host}/mounted&tag=latest`,
    );
    const first = await push(`${registry.host}/mounted`, 'latest');
    const id = short(fixtures.busybox.layers[0].diffId);
    assert.deepEqual(statuses(first, id), ['Preparing', `Mounted from ${registry.host}/busybox`]);
    const second = await push(`${registry.host}/mounted`, 'latest');
    assert.deepEqual(statuses(second, id), ['Preparing', 'Layer already exists']);
  });

  test('a repository without local tags', async () => {
    const messages = await push(`${registry.host}/absent`, 'latest');
    assert.equal(
      messages.at(-1)?.error,
      `An image does not exist locally with the tag: ${registry.host}/absent`,
    );
  });
});

describe('skopeo interop', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'berth-skopeo-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('skopeo pushes, berth pulls the same image', async () => {
    // Through a directory, so skopeo uploads every blob itself.
    const copy = path.join(dir, 'copy');
    await run('skopeo', [
      'copy',
      '--src-tls-verify=false',
      `docker://${registry.host}/multi:v1`,
      `dir:${copy}`,
    ]);
    await run('skopeo', [
      'copy',
      '--dest-tls-verify=false',
      `dir:${copy}`,
      `docker://${registry.host}/from-skopeo:v1`,
    ]);
    const { messages } = await pull(`fromImage=${registry.host}/from-skopeo&tag=v1`);
    assert.match(messages.at(-1)?.status ?? '', /^Status: Downloaded newer image/);
    assert.equal((await inspect(`${registry.host}/from-skopeo:v1`)).Id, fixtures.multi.configDigest);
  });

  test('berth pushes, skopeo reads the same manifest and config', async () => {
    await api(daemon, 'POST', `/images/${registry.host}/busybox/tag?repo=${registry.host}/for-skopeo&tag=v3`);
    await push(`${registry.host}/for-skopeo`, 'v3');
    const { stdout } = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--raw',
      `docker://${registry.host}/for-skopeo:v3`,
    ]);
    assert.equal(stdout, fixtures.busybox.manifestBytes.toString());
    const config = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--config',
      `docker://${registry.host}/for-skopeo:v3`,
    ]);
    assert.equal(JSON.parse(config.stdout).rootfs.diff_ids[0], fixtures.busybox.layers[0].diffId);
  });
});

describe('save, load, import', () => {
  test('save → rmi → load keeps IDs and tags; the archive has both formats', async () => {
    const name = `${registry.host}/multi:v1`;
    const saved = await api(daemon, 'GET', `/images/${name}/get`);
    assert.equal(saved.status, 200);
    assert.equal(saved.headers['content-type'], 'application/x-tar');
    const entries = await tarEntries(saved.body);
    assert.ok(entries.has('manifest.json') && entries.has('index.json') && entries.has('oci-layout'));
    const manifest = JSON.parse(entries.get('manifest.json')!.toString());
    assert.deepEqual(manifest[0].RepoTags, [name]);
    assert.equal(manifest[0].Config, `blobs/sha256/${fixtures.multi.configDigest.slice(7)}`);
    const removed = await remove(fixtures.multi.configDigest, '?force=1');
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal((await api(daemon, 'GET', `/images/${fixtures.multi.configDigest}/json`)).status, 404);
    const loaded = await api(daemon, 'POST', '/images/load?quiet=1', { body: saved.body });
    assert.equal(loaded.status, 200);
    assert.deepEqual(jsonLines(loaded.text), [{ stream: `Loaded image: ${name}\n` }]);
    const image = await inspect(name);
    assert.equal(image.Id, fixtures.multi.configDigest);
    const verbose = await api(daemon, 'POST', '/images/load', { body: saved.body });
    assert.deepEqual(jsonLines(verbose.text).at(-1), { stream: `Loaded image: ${name}\n` });
  });

  test('loads an OCI archive written by skopeo', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'berth-oci-'));
    try {
      const file = path.join(dir, 'image.tar');
      await run('skopeo', [
        'copy',
        '--src-tls-verify=false',
        `docker://${registry.host}/alltags:one`,
        `oci-archive:${file}`,
      ]);
      await remove(`${registry.host}/alltags:one`, '?force=1');
      await remove(`${registry.host}/mounted:latest`, '?force=1');
      const loaded = await api(daemon, 'POST', '/images/load?quiet=1', { body: readFileSync(file) });
      const lines = jsonLines<Message>(loaded.text);
      assert.ok(
        lines.some((l) => l.stream === `Loaded image ID: ${fixtures.busybox.configDigest}\n`),
        loaded.text,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('import a rootfs tarball with changes and a message', async () => {
    const rootfs = await buildTar([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/imported', content: 'yes\n' },
    ]);
    const params = new URLSearchParams({
      fromSrc: '-',
      repo: 'imported',
      tag: 'v1',
      message: 'from a tarball',
    });
    for (const change of [
      'CMD ["cat", "/etc/imported"]',
      'ENV MODE=imported',
      'WORKDIR /etc',
      'EXPOSE 8080',
      'LABEL a=b',
    ]) {
      params.append('changes', change);
    }
    const res = await api(daemon, 'POST', `/images/create?${params}`, { body: rootfs });
    const [message] = jsonLines<Message>(res.text);
    assert.match(message.status ?? '', /^sha256:[0-9a-f]{64}$/);
    const image = await inspect('imported:v1');
    assert.equal(image.Id, message.status);
    assert.equal(image.Comment, 'from a tarball');
    const config = image.Config as Record<string, unknown>;
    assert.deepEqual(config.Cmd, ['cat', '/etc/imported']);
    assert.deepEqual(config.Env, ['MODE=imported']);
    assert.equal(config.WorkingDir, '/etc');
    assert.deepEqual(config.ExposedPorts, { '8080/tcp': {} });
    assert.deepEqual(config.Labels, { a: 'b' });
    const bad = await api(daemon, 'POST', '/images/create?fromSrc=-&changes=RUN%20true', { body: rootfs });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /run is not a valid change command/);
  });
});

describe('images API', () => {
  test('list filters, tag and untag, dangling images and prune', async () => {
    await api(daemon, 'POST', `/images/${registry.host}/busybox/tag?repo=filters/one&tag=a`);
    await api(daemon, 'POST', `/images/${registry.host}/busybox/tag?repo=filters/one&tag=b`);
    const list = async (filters: Record<string, string[]>): Promise<{ Id: string; RepoTags: string[] }[]> => {
      const res = await api(
        daemon,
        'GET',
        `/images/json?filters=${encodeURIComponent(JSON.stringify(filters))}`,
      );
      assert.equal(res.status, 200, res.text);
      return JSON.parse(res.text);
    };
    const byRef = await list({ reference: ['filters/*'] });
    assert.equal(byRef.length, 1);
    assert.deepEqual(byRef[0].RepoTags, ['filters/one:a', 'filters/one:b']);
    assert.deepEqual(
      (await list({ label: ['org.berth.test=busybox'] })).map((i) => i.Id),
      [fixtures.busybox.configDigest],
    );
    const bad = await api(daemon, 'GET', `/images/json?filters=${encodeURIComponent('{"nope":["x"]}')}`);
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).message, "invalid filter 'nope'");
    // Re-tagging moves the tag; the old image keeps a dangling entry.
    const untagged = await api(daemon, 'POST', `/images/imported:v1/tag?repo=keep&tag=me`);
    assert.equal(untagged.status, 201);
    await api(daemon, 'POST', `/images/${registry.host}/busybox/tag?repo=keep&tag=me`);
    await remove('imported:v1');
    const dangling = await list({ dangling: ['true'] });
    assert.ok(dangling.some((i) => i.RepoTags.length === 0));
    const res = await api(daemon, 'POST', '/images/prune');
    const report = JSON.parse(res.text) as { ImagesDeleted: { Deleted?: string }[]; SpaceReclaimed: number };
    assert.ok(report.ImagesDeleted.some((d) => d.Deleted?.startsWith('sha256:')));
    assert.ok(report.SpaceReclaimed > 0);
    assert.deepEqual(await list({ dangling: ['true'] }), []);
  });

  test('history and inspect of an unknown image', async () => {
    const res = await api(daemon, 'GET', `/images/${registry.host}/multi:v1/history`);
    const history = JSON.parse(res.text) as { Id: string; Tags: string[] | null; Size: number }[];
    assert.equal(history.length, 2);
    assert.equal(history[0].Id, fixtures.multi.configDigest);
    assert.equal(history[1].Id, '<missing>');
    assert.equal(history[1].Tags, null);
    const missing = await api(daemon, 'GET', '/images/does-not-exist/json');
    assert.equal(missing.status, 404);
    assert.equal(JSON.parse(missing.text).message, 'No such image: does-not-exist:latest');
  });

  test('image events', async () => {
    const since = Math.floor(Date.now() / 1000) - 600;
    const res = await api(
      daemon,
      'GET',
      `/events?since=${since}&until=${Math.ceil(Date.now() / 1000)}&filters=${encodeURIComponent('{"type":["image"]}')}`,
    );
    const actions = new Set(jsonLines<{ Action: string }>(res.text).map((e) => e.Action));
    for (const action of ['pull', 'push', 'tag', 'untag', 'delete', 'load', 'save', 'import', 'prune']) {
      assert.ok(actions.has(action), `no ${action} event in ${[...actions].join(',')}`);
    }
  });

  test('distribution inspect', async () => {
    const res = await api(daemon, 'GET', `/distribution/${registry.host}/platforms:latest/json`);
    assert.equal(res.status, 200, res.text);
    const body = JSON.parse(res.text);
    assert.equal(body.Descriptor.digest, fixtures.index.indexDigest);
    assert.deepEqual(
      body.Platforms.map((p: { architecture: string }) => p.architecture),
      ['amd64', 'arm64'],
    );
  });
});

describe('registry authentication', () => {
  test('htpasswd: anonymous refused, wrong password refused, login and pull/push with credentials', async () => {
    const secured = await startRegistry({ htpasswd: { user: 'alice', password: 's3cret' } });
    try {
      await pushImage(secured.url, 'private', 'v1', fixtures.busybox, {
        credentials: { username: 'alice', password: 's3cret' },
      });
      const anonymous = await pull(`fromImage=${secured.host}/private&tag=v1`);
      assert.equal(anonymous.status, 401);
      assert.match(JSON.parse(anonymous.text).message, /no basic auth credentials/);
      const wrong = await api(daemon, 'POST', '/auth', {
        json: { username: 'alice', password: 'nope', serveraddress: secured.host },
      });
      assert.equal(wrong.status, 401);
      assert.match(JSON.parse(wrong.text).message, /401 Unauthorized/);
      const right = await api(daemon, 'POST', '/auth', {
        json: { username: 'alice', password: 's3cret', serveraddress: secured.host },
      });
      assert.deepEqual(JSON.parse(right.text), { IdentityToken: '', Status: 'Login Succeeded' });
      const auth = registryAuth('alice', 's3cret', secured.host);
      const pulled = await pull(`fromImage=${secured.host}/private&tag=v1`, auth);
      assert.match(pulled.messages.at(-1)?.status ?? '', /^Status: /);
      await api(daemon, 'POST', `/images/${secured.host}/private:v1/tag?repo=${secured.host}/again&tag=v1`);
      const pushed = await push(`${secured.host}/again`, 'v1', auth);
      assert.match(pushed.at(-2)?.status ?? '', /^v1: digest: sha256:/);
    } finally {
      await secured.stop();
    }
  });

  test('bearer tokens: login and pull through the token server', async () => {
    const secured = await startRegistry({ tokenAuth: { user: 'bob', password: 'tok3n' } });
    try {
      await pushImage(secured.url, 'tokens', 'v1', fixtures.busybox, {
        credentials: { username: 'bob', password: 'tok3n' },
      });
      const login = await api(daemon, 'POST', '/auth', {
        json: { username: 'bob', password: 'tok3n', serveraddress: secured.host },
      });
      assert.equal(JSON.parse(login.text).Status, 'Login Succeeded');
      const pulled = await pull(`fromImage=${secured.host}/tokens&tag=v1`, registryAuth('bob', 'tok3n'));
      assert.match(pulled.messages.at(-1)?.status ?? '', /^Status: /);
      assert.ok(
        secured.tokenRequests.some((r) => r.account === 'bob' && r.scopes.includes('repository:tokens:pull')),
      );
    } finally {
      await secured.stop();
    }
  });
});

describe('registry mirrors', () => {
  test('a mirror of a non-Hub registry serves the pull; a dead mirror falls back to the origin', async () => {
    const origin = await startRegistry();
    const mirror = await startRegistry();
    const mirrored = await startDaemon({
      config: {
        'registry-mirrors': [
          `http://127.0.0.1:1/?registry=${origin.host}`,
          `${mirror.url}/?registry=${origin.host}`,
        ],
      },
    });
    try {
      // Only the mirror has "onlymirror"; only the origin has "onlyorigin".
      await pushImage(mirror.url, 'onlymirror', 'v1', fixtures.busybox);
      await pushImage(origin.url, 'onlyorigin', 'v1', fixtures.multi);
      const viaMirror = await api(
        mirrored,
        'POST',
        `/images/create?fromImage=${origin.host}/onlymirror&tag=v1`,
      );
      assert.match(
        jsonLines<Message>(viaMirror.text).at(-1)?.status ?? '',
        /^Status: Downloaded newer image/,
        viaMirror.text,
      );
      const viaOrigin = await api(
        mirrored,
        'POST',
        `/images/create?fromImage=${origin.host}/onlyorigin&tag=v1`,
      );
      assert.match(
        jsonLines<Message>(viaOrigin.text).at(-1)?.status ?? '',
        /^Status: Downloaded newer image/,
        viaOrigin.text,
      );
    } finally {
      await mirrored.stop();
      await mirror.stop();
      await origin.stop();
    }
  });
});

async function tarEntries(archive: Buffer): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const extract = tar.extract();
  Readable.from([archive]).pipe(extract);
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    entries.set(entry.header.name, Buffer.concat(chunks));
  }
  return entries;
}
