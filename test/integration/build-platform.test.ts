/**
 * Building for another architecture: `platform=linux/arm64` pulls the arm64
 * image of a two-platform index and runs RUN steps under qemu-user-static
 * (binfmt_misc), and BUILDPLATFORM/TARGETARCH give the cross-compilation
 * pattern (a native build stage feeding the arm64 one). Needs Debian's
 * qemu-user-static and an arm64 busybox (busybox-static:arm64, fetched with
 * apt-get download when arm64 is a dpkg architecture); skipped otherwise.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BERTHD, berth, docker, startDaemon, waitForPing, type TestDaemon } from '../helpers/daemon.js';
import { api, containerdOf, jsonLines } from '../helpers/images.js';
import { makeTar } from '../helpers/archive.js';
import { chainIds } from '../../src/containerd/unpack.js';
import { buildImage, buildIndex, buildTar, busyboxLayer, pushImage } from '../helpers/oci-image.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const APPLETS = ['sh', 'uname', 'cat', 'echo'];

/** An arm64 static busybox: $BERTH_ARM64_BUSYBOX, or Debian's package when apt can fetch it. */
function arm64Busybox(dir: string): Buffer | undefined {
  const given = process.env.BERTH_ARM64_BUSYBOX;
  if (given && existsSync(given)) return readFileSync(given);
  if (!existsSync('/usr/bin/qemu-aarch64-static')) return undefined;
  try {
    const foreign = execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' });
    if (!foreign.split('\n').includes('arm64')) return undefined;
    execFileSync('apt-get', ['download', '-qq', 'busybox-static:arm64'], { cwd: dir, stdio: 'ignore' });
    const deb = readdirSync(dir).find((f) => f.endsWith('.deb'));
    if (!deb) return undefined;
    execFileSync('dpkg', ['-x', path.join(dir, deb), path.join(dir, 'x')]);
    return readFileSync(path.join(dir, 'x/bin/busybox'));
  } catch {
    return undefined;
  }
}

let daemon: TestDaemon | undefined;
let registry: RunningRegistry | undefined;
let workDir: string;
let reference = '';
let skip: string | false = false;

before(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'berth-build-platform-'));
  const busybox = arm64Busybox(workDir);
  if (!busybox) {
    skip = 'no qemu-user-static or arm64 busybox on this machine';
    return;
  }
  const armLayer = await buildTar([
    { name: 'bin/', type: 'directory' },
    { name: 'bin/busybox', content: busybox, mode: 0o755 },
    ...APPLETS.map((applet) => ({ name: `bin/${applet}`, linkname: 'busybox' })),
    { name: 'etc/', type: 'directory' },
    { name: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
    { name: 'etc/group', content: 'root:x:0:\n' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
  ]);
  const index = buildIndex([
    buildImage({ layers: [await busyboxLayer()], platform: { os: 'linux', architecture: 'amd64' } }),
    buildImage({ layers: [armLayer], platform: { os: 'linux', architecture: 'arm64' } }),
  ]);
  registry = await startRegistry();
  await pushImage(registry.url, 'multi/busybox', 'latest', index);
  reference = `${registry.host}/multi/busybox:latest`;
  daemon = await startDaemon();
});

after(async () => {
  await daemon?.stop();
  await registry?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

async function build(
  dockerfile: string,
  query: string,
): Promise<{ text: string; id?: string; error?: string }> {
  const body = await makeTar([{ name: 'Dockerfile', body: dockerfile }]);
  const res = await api(daemon!, 'POST', `/build?${query}`, {
    headers: { 'Content-Type': 'application/x-tar' },
    body,
  });
  if (res.status !== 200) return { text: '', error: res.text };
  let text = '';
  let id: string | undefined;
  let error: string | undefined;
  for (const m of jsonLines<{ stream?: string; aux?: { ID?: string }; error?: string }>(res.text)) {
    text += m.stream ?? '';
    if (m.aux?.ID) id = m.aux.ID;
    if (m.error) error = m.error;
  }
  return { text, id, error };
}

describe('builds for another platform', () => {
  test('RUN executes under qemu and the image is arm64', async (t) => {
    if (skip) return t.skip(skip);
    const out = await build(`FROM ${reference}\nRUN uname -m && uname -m > /arch\n`, 'platform=linux/arm64');
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('\naarch64\n'), out.text);
    const inspect = JSON.parse((await api(daemon!, 'GET', `/images/${out.id}/json`)).text) as {
      Architecture: string;
      Os: string;
    };
    assert.equal(inspect.Architecture, 'arm64');
    assert.equal(inspect.Os, 'linux');
  });

  test('BUILDPLATFORM and TARGETARCH: a native stage feeding the target one', async (t) => {
    if (skip) return t.skip(skip);
    const dockerfile = [
      `FROM --platform=$BUILDPLATFORM ${reference} AS tools`,
      'ARG TARGETARCH',
      'ARG BUILDARCH',
      'RUN echo "built on $(uname -m) for $TARGETARCH from $BUILDARCH" > /made',
      `FROM ${reference}`,
      'COPY --from=tools /made /made',
      'RUN cat /made && uname -m',
    ].join('\n');
    const out = await build(dockerfile, 'platform=linux/arm64');
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('built on x86_64 for arm64 from amd64\naarch64\n'), out.text);
  });
});

interface IndexDoc {
  mediaType: string;
  manifests: { digest: string; mediaType: string; platform?: { os: string; architecture: string } }[];
}

async function registryGet(url: string, accept: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { headers: { Accept: accept } });
  return { status: res.status, text: await res.text() };
}

describe('builds for several platforms at once', () => {
  const dockerfile = (base: string): string =>
    `FROM ${base}\nRUN echo several && uname -m && uname -m > /arch\nCMD ["cat", "/arch"]\n`;
  const both = 'platform=' + encodeURIComponent('linux/amd64,linux/arm64');

  test('one image over an index: listed once, inspected and run as the host platform', async (t) => {
    if (skip) return t.skip(skip);
    const out = await build(dockerfile(reference), `${both}&t=multi:1`);
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('Building for linux/amd64\n'), out.text);
    assert.ok(out.text.includes('Building for linux/arm64\n'), out.text);
    assert.ok(out.text.indexOf('\nx86_64\n') < out.text.indexOf('\naarch64\n'), out.text);
    assert.ok(out.text.includes(`Successfully built ${out.id!.slice(7, 19)}`), out.text);
    const listed = JSON.parse((await api(daemon!, 'GET', '/images/json')).text) as {
      Id: string;
      RepoTags: string[];
    }[];
    const mine = listed.filter((i) => i.RepoTags.includes('multi:1'));
    assert.equal(mine.length, 1);
    assert.equal(mine[0].Id, out.id);
    const client = await containerdOf(daemon!);
    try {
      const record = await client.images.get('docker.io/library/multi:1');
      assert.equal(record.target.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.equal(record.target.digest, out.id);
      const index = JSON.parse((await client.content.readAll(record.target.digest)).toString()) as IndexDoc;
      assert.deepEqual(
        index.manifests.map((m) => m.platform?.architecture),
        ['amd64', 'arm64'],
      );
    } finally {
      client.close();
    }
    const inspect = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as {
      Id: string;
      Architecture: string;
    };
    assert.equal(inspect.Id, out.id);
    assert.equal(inspect.Architecture, 'amd64');
    const run = await docker(daemon!, ['run', '--rm', 'multi:1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'x86_64\n');
  });

  test('docker run --platform linux/arm64 runs the arm64 variant', async (t) => {
    if (skip) return t.skip(skip);
    const run = await docker(daemon!, ['run', '--rm', '--platform', 'linux/arm64', 'multi:1']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'aarch64\n');
  });

  /** The unpacked size of every layer of every variant of every stored image, each layer once. */
  async function everyImageLayerSize(): Promise<number> {
    const client = await containerdOf(daemon!);
    try {
      const readJson = async <T>(digest: string): Promise<T> =>
        JSON.parse((await client.content.readAll(digest)).toString()) as T;
      const layers = new Set<string>();
      for (const record of await client.images.list()) {
        const target = await readJson<{ manifests?: { digest: string }[] }>(record.target.digest);
        const manifests = target.manifests?.map((m) => m.digest) ?? [record.target.digest];
        for (const digest of manifests) {
          const manifest = await readJson<{ config: { digest: string } }>(digest);
          const config = await readJson<{ rootfs: { diff_ids: string[] } }>(manifest.config.digest);
          for (const chainId of chainIds(config.rootfs.diff_ids)) layers.add(chainId);
        }
      }
      let total = 0;
      for (const chainId of layers) total += (await client.snapshots.usage(chainId)).size;
      return total;
    } finally {
      client.close();
    }
  }

  test('Size counts the layers of every variant, a shared layer once', async (t) => {
    if (skip) return t.skip(skip);
    const client = await containerdOf(daemon!);
    const layers = new Set<string>();
    let expected = 0;
    let hostOnly = -1; // the index lists amd64 (the host) first
    try {
      const record = await client.images.get('docker.io/library/multi:1');
      const index = JSON.parse((await client.content.readAll(record.target.digest)).toString()) as IndexDoc;
      for (const entry of index.manifests) {
        const manifest = JSON.parse((await client.content.readAll(entry.digest)).toString()) as {
          config: { digest: string };
        };
        const config = JSON.parse((await client.content.readAll(manifest.config.digest)).toString()) as {
          rootfs: { diff_ids: string[] };
        };
        const own = chainIds(config.rootfs.diff_ids);
        if (hostOnly < 0) {
          hostOnly = 0;
          for (const chainId of own) hostOnly += (await client.snapshots.usage(chainId)).size;
        }
        for (const chainId of own) layers.add(chainId);
      }
      for (const chainId of layers) expected += (await client.snapshots.usage(chainId)).size;
    } finally {
      client.close();
    }
    const listed = JSON.parse((await api(daemon!, 'GET', '/images/json')).text) as {
      RepoTags: string[];
      Size: number;
    }[];
    const multi = listed.find((i) => i.RepoTags.includes('multi:1'))!;
    const inspect = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Size: number };
    assert.equal(multi.Size, expected);
    assert.equal(inspect.Size, expected);
    assert.ok(expected > hostOnly, `all variants ${expected}, host variant ${hostOnly}`);
    const df = JSON.parse((await api(daemon!, 'GET', '/system/df?type=image')).text) as {
      LayersSize: number;
      Images: { RepoTags: string[]; Size: number }[];
    };
    assert.equal(df.Images.find((i) => i.RepoTags.includes('multi:1'))?.Size, expected);
    assert.equal(df.LayersSize, await everyImageLayerSize());
  });

  test('a child build for arm64 uses the arm64 variant of the local image', async (t) => {
    if (skip) return t.skip(skip);
    const out = await build('FROM multi:1\nRUN cat /arch\n', 'platform=linux/arm64');
    assert.equal(out.error, undefined, out.text);
    assert.ok(out.text.includes('\naarch64\n'), out.text);
  });

  test('push sends the index and every manifest', async (t) => {
    if (skip) return t.skip(skip);
    const name = `${registry!.host}/multi/built:1`;
    const tagged = await docker(daemon!, ['tag', 'multi:1', name]);
    assert.equal(tagged.code, 0, tagged.stderr);
    const pushed = await docker(daemon!, ['push', name]);
    assert.equal(pushed.code, 0, pushed.stderr + pushed.stdout);
    const got = await registryGet(
      `${registry!.url}/v2/multi/built/manifests/1`,
      'application/vnd.oci.image.index.v1+json',
    );
    assert.equal(got.status, 200, got.text);
    const index = JSON.parse(got.text) as IndexDoc;
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(
      index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`),
      ['linux/amd64', 'linux/arm64'],
    );
    for (const entry of index.manifests) {
      const manifest = await registryGet(
        `${registry!.url}/v2/multi/built/manifests/${entry.digest}`,
        entry.mediaType,
      );
      assert.equal(manifest.status, 200, manifest.text);
      const doc = JSON.parse(manifest.text) as { config: { digest: string } };
      const config = await fetch(`${registry!.url}/v2/multi/built/blobs/${doc.config.digest}`);
      const { architecture } = (await config.json()) as { architecture: string };
      assert.equal(architecture, entry.platform?.architecture);
    }
    assert.ok(pushed.stdout.includes('1: digest: sha256:'), pushed.stdout);
  });

  test('save includes the index', async (t) => {
    if (skip) return t.skip(skip);
    const file = path.join(workDir, 'multi.tar');
    const saved = await docker(daemon!, ['save', '-o', file, 'multi:1']);
    assert.equal(saved.code, 0, saved.stderr);
    const dir = path.join(workDir, 'saved');
    mkdirSync(dir);
    execFileSync('tar', ['-xf', file, '-C', dir]);
    const top = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as IndexDoc;
    const id = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string };
    assert.equal(top.manifests[0].digest, id.Id);
    const blob = (digest: string): string => path.join(dir, 'blobs', digest.replace(':', '/'));
    const index = JSON.parse(readFileSync(blob(id.Id), 'utf8')) as IndexDoc;
    for (const entry of index.manifests) assert.ok(existsSync(blob(entry.digest)), entry.digest);
  });

  test('load brings the saved multi-platform image back whole', async (t) => {
    if (skip) return t.skip(skip);
    const file = path.join(workDir, 'multi.tar');
    const id = (JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string }).Id;
    const removed = await docker(daemon!, ['rmi', 'multi:1']);
    assert.equal(removed.code, 0, removed.stderr);
    const loaded = await docker(daemon!, ['load', '-i', file]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.ok(loaded.stdout.includes('Loaded image: multi:1'), loaded.stdout);
    const inspect = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string };
    assert.equal(inspect.Id, id);
    const client = await containerdOf(daemon!);
    try {
      const record = await client.images.get('docker.io/library/multi:1');
      assert.equal(record.target.mediaType, 'application/vnd.oci.image.index.v1+json');
      assert.equal(record.target.digest, id);
    } finally {
      client.close();
    }
    const arm = await docker(daemon!, ['run', '--rm', '--platform', 'linux/arm64', 'multi:1']);
    assert.equal(arm.stdout, 'aarch64\n', arm.stderr);
    const host = await docker(daemon!, ['run', '--rm', 'multi:1']);
    assert.equal(host.stdout, 'x86_64\n', host.stderr);
  });

  test('the multi-platform image is found again after a berthd restart', async (t) => {
    if (skip) return t.skip(skip);
    const before = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string };
    const args = daemon!.process.spawnargs.slice(2);
    daemon!.process.kill('SIGTERM');
    await new Promise((resolve) => daemon!.process.once('exit', resolve));
    const restarted = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    restarted.stderr?.resume();
    daemon!.process = restarted;
    daemon!.exited = new Promise((resolve) => restarted.once('exit', (code) => resolve(code)));
    await waitForPing(daemon!.socket);
    const after = JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string };
    assert.equal(after.Id, before.Id);
    const run = await docker(daemon!, ['run', '--rm', 'multi:1']);
    assert.equal(run.stdout, 'x86_64\n', run.stderr);
  });

  test('--output type=local writes one directory per platform', async (t) => {
    if (skip) return t.skip(skip);
    const context = path.join(workDir, 'context');
    mkdirSync(context);
    writeFileSync(path.join(context, 'Dockerfile'), dockerfile(reference));
    const dest = path.join(workDir, 'out');
    const result = await berth(
      daemon!,
      ['build', '--platform', 'linux/amd64,linux/arm64', '--output', `type=local,dest=${dest}`, context],
      { env: { BERTH_NO_TTY: '1' } },
    );
    assert.equal(result.code, 0, result.stderr + result.stdout);
    assert.equal(readFileSync(path.join(dest, 'linux_amd64', 'arch'), 'utf8'), 'x86_64\n');
    assert.equal(readFileSync(path.join(dest, 'linux_arm64', 'arch'), 'utf8'), 'aarch64\n');
    const quietDest = path.join(workDir, 'out-quiet');
    const quiet = await berth(daemon!, [
      'build',
      '-q',
      '--platform',
      'linux/amd64,linux/arm64',
      '--output',
      `type=local,dest=${quietDest}`,
      context,
    ]);
    assert.equal(quiet.code, 0, quiet.stderr + quiet.stdout);
    assert.match(quiet.stdout, /^sha256:[0-9a-f]{64}\n$/);
    assert.equal(readFileSync(path.join(quietDest, 'linux_arm64', 'arch'), 'utf8'), 'aarch64\n');
  });

  test('--output type=tar writes one tar with a directory per platform', async (t) => {
    if (skip) return t.skip(skip);
    const context = path.join(workDir, 'context');
    const file = path.join(workDir, 'platforms.tar');
    const result = await berth(
      daemon!,
      ['build', '--platform', 'linux/amd64,linux/arm64', '--output', `type=tar,dest=${file}`, context],
      { env: { BERTH_NO_TTY: '1' } },
    );
    assert.equal(result.code, 0, result.stderr + result.stdout);
    const names = execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n');
    assert.ok(names.includes('linux_amd64/'), names.slice(0, 5).join(' '));
    assert.ok(names.includes('linux_arm64/arch'));
    assert.ok(
      names.every((n) => n === '' || /^linux_(amd64|arm64)\//.test(n)),
      'entries outside a platform',
    );
    const dir = path.join(workDir, 'platforms');
    mkdirSync(dir);
    execFileSync('tar', ['-xf', file, '-C', dir]);
    assert.equal(readFileSync(path.join(dir, 'linux_amd64', 'arch'), 'utf8'), 'x86_64\n');
    assert.equal(readFileSync(path.join(dir, 'linux_arm64', 'arch'), 'utf8'), 'aarch64\n');
    assert.ok(existsSync(path.join(dir, 'linux_arm64', 'bin', 'busybox')));
  });

  test('rmi removes the image and its content is collected', async (t) => {
    if (skip) return t.skip(skip);
    const id = (JSON.parse((await api(daemon!, 'GET', '/images/multi:1/json')).text) as { Id: string }).Id;
    const client = await containerdOf(daemon!);
    try {
      const index = JSON.parse((await client.content.readAll(id)).toString()) as IndexDoc;
      const removed = await docker(daemon!, ['rmi', 'multi:1', `${registry!.host}/multi/built:1`]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.ok(removed.stdout.includes(`Deleted: ${id}`), removed.stdout);
      const listed = await docker(daemon!, ['images', '-q', '--no-trunc']);
      assert.ok(!listed.stdout.includes(id), listed.stdout);
      assert.equal(await client.content.tryInfo(id), undefined);
      for (const entry of index.manifests)
        assert.equal(await client.content.tryInfo(entry.digest), undefined);
    } finally {
      client.close();
    }
  });
});
