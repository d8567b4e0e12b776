/**
 * The escape suite against a real running container: its process plants
 * symlinks to `/`, to `../../..` and to host-looking paths, and keeps swapping
 * a directory for a symlink, while berth's archive code (what `docker cp`
 * runs on) stats, archives and extracts through those paths on the
 * container's live overlay root. No host file may be read or written.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { archivePath, extractArchive, statPath } from '../../src/archive/index.js';
import { isEngineError } from '../../src/common/errors.js';
import { listTar, makeTar, snapshotTree, tarStream } from '../helpers/archive.js';
import { seedBusybox } from '../helpers/busybox.js';
import { docker, runCommand, startDaemon, type TestDaemon } from '../helpers/daemon.js';

/** Errors the archive code may legitimately raise while the container races it. */
function expectedRaceError(err: unknown): void {
  assert.ok(
    isEngineError(err) || typeof (err as NodeJS.ErrnoException).code === 'string',
    `unexpected failure: ${String(err)}`,
  );
}

describe('archive operations against a hostile running container', () => {
  let daemon: TestDaemon;
  let hostDir: string;
  let containerId = '';
  let rootfs = '';

  before(async () => {
    hostDir = mkdtempSync(path.join(os.tmpdir(), 'berth-host-canaries-'));
    writeFileSync(path.join(hostDir, 'canary'), 'host canary\n');
    mkdirSync(path.join(hostDir, 'sub'));
    writeFileSync(path.join(hostDir, 'sub/canary'), 'host sub canary\n');
    daemon = await startDaemon();
    await seedBusybox(daemon);
    const script = [
      'mkdir -p /work/real /work/dst',
      'echo container canary > /work/real/canary',
      'busybox ln -s / /to-root',
      'busybox ln -s ../../.. /work/up',
      `busybox ln -s ${hostDir} /host-looking`,
      `busybox ln -s ${hostDir}/canary /host-canary-link`,
      'touch /ready',
      'while true; do',
      `  busybox mv /work/real /work/tmp; busybox ln -s ${hostDir} /work/real; rm /work/real; busybox mv /work/tmp /work/real`,
      '  busybox mv /work/real /work/tmp; busybox ln -s / /work/real; rm /work/real; busybox mv /work/tmp /work/real',
      'done',
    ].join('\n');
    const run = await docker(daemon, ['run', '-d', 'busybox', 'sh', '-c', script]);
    assert.equal(run.code, 0, run.stderr);
    containerId = run.stdout.trim();
    rootfs = path.join(
      daemon.execRoot,
      'containerd/state/io.containerd.runtime.v2.task/berth',
      containerId,
      'rootfs',
    );
    for (let i = 0; i < 200 && !existsSync(path.join(rootfs, 'ready')); i++) await sleep(50);
    assert.ok(existsSync(path.join(rootfs, 'ready')), 'the container did not get ready');
  });

  after(async () => {
    if (containerId) await docker(daemon, ['rm', '-f', containerId]);
    await daemon?.stop();
    rmSync(hostDir, { recursive: true, force: true });
  });

  test("links to /, ../../.. and host paths resolve inside the container's root", async () => {
    const passwd = await listTar((await archivePath(rootfs, '/to-root/etc/passwd')).stream);
    assert.equal(passwd[0].header.name, 'passwd');
    assert.notEqual(passwd[0].body.toString(), readFileSync('/etc/passwd', 'utf8'));
    assert.equal(passwd[0].body.toString(), readFileSync(path.join(rootfs, 'etc/passwd'), 'utf8'));
    const viaUp = await listTar((await archivePath(rootfs, '/work/up/etc/passwd')).stream);
    assert.equal(viaUp[0].body.toString(), passwd[0].body.toString());
    // The host-looking link names a path that does not exist inside the container.
    await assert.rejects(archivePath(rootfs, '/host-looking/canary'), /no such file or directory/);
    const link = await statPath(rootfs, '/host-canary-link');
    assert.equal(link.linkTarget, path.join(hostDir, 'canary'));
    await assert.rejects(
      archivePath(rootfs, '/host-canary-link/'),
      /no such file or directory|not a directory/,
    );
    // Writing through them lands inside the container.
    await extractArchive(
      rootfs,
      '/to-root/work/dst',
      tarStream(await makeTar([{ name: 'via-root-link', body: 'inside' }])),
    );
    assert.equal(readFileSync(path.join(rootfs, 'work/dst/via-root-link'), 'utf8'), 'inside');
    await extractArchive(
      rootfs,
      '/',
      tarStream(await makeTar([{ name: `host-looking/sub/planted`, body: 'contained' }])),
    );
    assert.equal(readFileSync(path.join(rootfs, hostDir, 'sub/planted'), 'utf8'), 'contained');
    assert.equal(existsSync(path.join(hostDir, 'sub/planted')), false);
  });

  test('a round trip keeps ownership and modes on the live overlay', async () => {
    await extractArchive(
      rootfs,
      '/work/dst',
      tarStream(
        await makeTar([
          { name: 'rt', type: 'directory', mode: 0o750, uid: 1000, gid: 1000 },
          { name: 'rt/tool', body: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0 },
          { name: 'rt/data', body: 'data', mode: 0o640, uid: 123, gid: 456 },
          { name: 'rt/link', type: 'symlink', linkname: 'data' },
        ]),
      ),
    );
    const entries = await listTar((await archivePath(rootfs, '/work/dst/rt')).stream);
    const byName = new Map(entries.map((e) => [e.header.name, e.header]));
    assert.equal(byName.get('rt/')?.mode, 0o750);
    assert.equal(byName.get('rt/')?.uid, 1000);
    assert.equal(byName.get('rt/tool')?.mode, 0o4755);
    assert.deepEqual(
      [byName.get('rt/data')?.uid, byName.get('rt/data')?.gid, byName.get('rt/data')?.mode],
      [123, 456, 0o640],
    );
    assert.equal(byName.get('rt/link')?.linkname, 'data');
  });

  test('cp in and out while the container swaps a directory for symlinks: the host is never touched', async (t) => {
    const before = snapshotTree(hostDir);
    const payload = await makeTar(
      Array.from({ length: 20 }, (_, i) => ({ name: `real/cp-in-${i}`, body: `payload ${i}\n` })),
    );
    let archived = 0;
    let extracted = 0;
    let refused = 0;
    const deadline = Date.now() + 4000;
    while (Date.now() < deadline) {
      for (const p of [
        '/work/real',
        '/work/real/',
        '/work/real/canary',
        '/work/real/sub/canary',
        '/work/real/.',
      ]) {
        try {
          await statPath(rootfs, p);
          for (const entry of await listTar((await archivePath(rootfs, p)).stream)) {
            assert.ok(
              !entry.body.toString().startsWith('host'),
              `host content read through ${p}: ${entry.header.name}`,
            );
          }
          archived++;
        } catch (err) {
          expectedRaceError(err);
          refused++;
        }
      }
      try {
        await extractArchive(rootfs, '/work', tarStream(payload));
        extracted++;
      } catch (err) {
        expectedRaceError(err);
      }
      try {
        await extractArchive(
          rootfs,
          '/work/real',
          tarStream(await makeTar([{ name: 'sub/direct', body: 'direct\n' }])),
        );
        extracted++;
      } catch (err) {
        expectedRaceError(err);
      }
    }
    t.diagnostic(`archived ${archived}, extracted ${extracted}, refused mid-race ${refused}`);
    assert.ok(archived > 0 && extracted > 0, `archived ${archived}, extracted ${extracted}`);
    assert.deepEqual(snapshotTree(hostDir), before);
    assert.equal(readFileSync(path.join(hostDir, 'canary'), 'utf8'), 'host canary\n');
    // The container is still racing: it was never stopped by what we did.
    const state = await docker(daemon, ['inspect', '-f', '{{.State.Status}}', containerId]);
    assert.equal(state.stdout.trim(), 'running');
  });
});

describe('compressed archives through docker cp and docker build', () => {
  let daemon: TestDaemon;
  let containerId = '';

  const compress = (tool: string, data: Buffer): Buffer => execFileSync(tool, ['-c'], { input: data });

  before(async () => {
    daemon = await startDaemon();
    await seedBusybox(daemon);
    const created = await docker(daemon, ['create', 'busybox', 'true']);
    assert.equal(created.code, 0, created.stderr);
    containerId = created.stdout.trim();
  });

  after(async () => {
    if (containerId) await docker(daemon, ['rm', '-f', containerId]);
    await daemon?.stop();
  });

  for (const tool of ['bzip2', 'xz', 'zstd']) {
    test(`docker cp - sends a ${tool} tar as is and it lands unpacked`, async () => {
      const tar = await makeTar([
        { name: `from-${tool}/`, type: 'directory', mode: 0o750 },
        { name: `from-${tool}/file.txt`, body: `packed by ${tool}\n`, mode: 0o640, uid: 1234, gid: 5678 },
      ]);
      const cpIn = await docker(daemon, ['cp', '-', `${containerId}:/tmp`], { input: compress(tool, tar) });
      assert.equal(cpIn.code, 0, cpIn.stderr);
      const cpOut = await runCommand(
        'sh',
        ['-c', `docker cp ${containerId}:/tmp/from-${tool}/file.txt - | tar -xOf -`],
        { env: { DOCKER_HOST: daemon.host } },
      );
      assert.equal(cpOut.stdout, `packed by ${tool}\n`, cpOut.stderr);
      const listed = await runCommand(
        'sh',
        ['-c', `docker cp -a ${containerId}:/tmp/from-${tool} - | tar -tvf -`],
        { env: { DOCKER_HOST: daemon.host } },
      );
      assert.match(listed.stdout, /-rw-r----- 1234\/5678 .* from-\w+\/file\.txt/, listed.stdout);
    });
  }

  test('a corrupt bzip2 tar is refused with a clear error and nothing lands', async () => {
    const good = compress('bzip2', await makeTar([{ name: 'corrupt.txt', body: 'x'.repeat(5000) }]));
    const corrupt = Buffer.from(good);
    for (let i = 16; i < corrupt.length - 8; i += 5) corrupt[i] ^= 0x33;
    const cpIn = await docker(daemon, ['cp', '-', `${containerId}:/tmp`], { input: corrupt });
    assert.notEqual(cpIn.code, 0);
    assert.match(cpIn.stderr, /failed to decompress bzip2 archive/);
    const stat = await docker(daemon, ['cp', `${containerId}:/tmp/corrupt.txt`, '-']);
    assert.notEqual(stat.code, 0);
  });

  test('DOCKER_BUILDKIT=0 docker build - takes an xz-compressed context', async () => {
    const context = await makeTar([
      { name: 'Dockerfile', body: 'FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n' },
      { name: 'hello.txt', body: 'context came in as xz\n' },
    ]);
    const build = await docker(daemon, ['build', '-t', 'xz-context', '-'], {
      input: compress('xz', context),
      env: { DOCKER_BUILDKIT: '0' },
    });
    assert.equal(build.code, 0, build.stderr + build.stdout);
    assert.match(build.stdout, /context came in as xz/);
    const run = await docker(daemon, ['run', '--rm', 'xz-context', 'cat', '/hello.txt']);
    assert.equal(run.stdout, 'context came in as xz\n', run.stderr);
    await docker(daemon, ['rmi', 'xz-context']);
  });
});
