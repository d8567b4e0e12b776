/**
 * The escape suite against a real running container: its process plants
 * symlinks to `/`, to `../../..` and to host-looking paths, and keeps swapping
 * a directory for a symlink, while berth's archive code (what `docker cp`
 * runs on) stats, archives and extracts through those paths on the
 * container's live overlay root. No host file may be read or written.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { archivePath, extractArchive, statPath } from '../../src/archive/index.js';
import { isEngineError } from '../../src/common/errors.js';
import { listTar, makeTar, snapshotTree, tarStream } from '../helpers/archive.js';
import { seedBusybox } from '../helpers/busybox.js';
import { docker, startDaemon, type TestDaemon } from '../helpers/daemon.js';

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
