import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { archivePath, createArchive, extractArchive, type ContainerMount } from '../../src/archive/index.js';
import { encodeTarHeader } from '../../src/archive/tar-header.js';
import { listTar, makeTar, readAll, snapshotTree, tarStream } from '../helpers/archive.js';

const LONG_DIR = 'd'.repeat(90);
const LONG_NAME = 'f'.repeat(120);
const UNICODE = 'données-日本';
const BIG = Buffer.alloc(3 * 1024 * 1024 + 17, 'x');

/** A tree with the ownership, modes and link kinds a round trip must keep. */
function buildTree(dir: string): void {
  mkdirSync(path.join(dir, 'sub/deeper'), { recursive: true });
  mkdirSync(path.join(dir, 'sticky'));
  mkdirSync(path.join(dir, LONG_DIR, LONG_DIR), { recursive: true });
  writeFileSync(path.join(dir, 'plain'), 'plain text\n');
  writeFileSync(path.join(dir, 'empty'), '');
  writeFileSync(path.join(dir, 'setuid'), '#!/bin/sh\n');
  writeFileSync(path.join(dir, 'sub/deeper/big'), BIG);
  writeFileSync(path.join(dir, LONG_DIR, LONG_DIR, LONG_NAME), 'long\n');
  writeFileSync(path.join(dir, UNICODE), 'unicode\n');
  linkSync(path.join(dir, 'plain'), path.join(dir, 'sub/hardlink'));
  symlinkSync('../plain', path.join(dir, 'sub/rel-link'));
  symlinkSync('/etc/passwd', path.join(dir, 'abs-link'));
  symlinkSync('x'.repeat(150), path.join(dir, 'long-target'));
  chmodSync(path.join(dir, 'setuid'), 0o4755);
  chmodSync(path.join(dir, 'sticky'), 0o1777);
  chmodSync(path.join(dir, 'sub/deeper'), 0o2750);
  lchownSync(path.join(dir, 'plain'), 1234, 5678);
  lchownSync(path.join(dir, 'sub'), 1000, 1000);
  lchownSync(path.join(dir, 'abs-link'), 42, 43);
  utimesSync(path.join(dir, 'plain'), 1_500_000_000, 1_500_000_000);
  utimesSync(path.join(dir, 'sub/deeper'), 1_400_000_000, 1_400_000_000);
}

/** What must survive: type, mode, owner, whole-second mtime (not for symlinks), content, link target. */
function describeTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [rel] of snapshotTree(dir)) {
    const p = path.join(dir, rel);
    const st = lstatSync(p);
    let line = `${(st.mode & 0o177777).toString(8)} ${st.uid}:${st.gid}`;
    if (!st.isSymbolicLink()) line += ` t=${Math.floor(st.mtimeMs / 1000)}`;
    if (st.isSymbolicLink()) line += ` -> ${readlinkSync(p)}`;
    if (st.isFile()) line += ` ${st.size} ${readFileSync(p).subarray(0, 64).toString('base64')}`;
    out.set(rel, line);
  }
  return out;
}

describe('archive round trips', () => {
  let base: string;
  let src: string;
  let dst: string;

  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'berth-tar-'));
    src = path.join(base, 'src-root');
    dst = path.join(base, 'dst-root');
    mkdirSync(path.join(src, 'app'), { recursive: true });
    mkdirSync(dst);
    buildTree(path.join(src, 'app'));
  });
  after(() => rmSync(base, { recursive: true, force: true }));

  test('a directory copies with ownership, modes, times, symlinks and hard links intact', async () => {
    const { stat, stream } = await archivePath(src, '/app');
    assert.equal(stat.name, 'app');
    await extractArchive(dst, '/', stream);
    const before = describeTree(path.join(src, 'app'));
    const after = describeTree(path.join(dst, 'app'));
    // The root directory's mtime changes as entries are created in it on the source side too; compare the rest.
    before.delete('.');
    after.delete('.');
    assert.deepEqual(after, before);
    assert.equal(
      lstatSync(path.join(dst, 'app/plain')).ino,
      lstatSync(path.join(dst, 'app/sub/hardlink')).ino,
    );
    assert.deepEqual(readFileSync(path.join(dst, 'app/sub/deeper/big')), BIG);
    assert.equal(lstatSync(path.join(dst, 'app/setuid')).mode & 0o7777, 0o4755);
  });

  test("entry names follow docker cp's rebasing rules", async () => {
    const names = async (p: string): Promise<string[]> =>
      (await listTar(await createArchive(src, p))).map((e) => e.header.name);
    const dirNames = await names('/app/sub');
    assert.deepEqual(dirNames.slice(0, 2), ['sub/', 'sub/deeper/']);
    assert.ok(dirNames.includes('sub/rel-link'));
    const contents = await names('/app/sub/.');
    assert.equal(contents[0], './');
    assert.ok(contents.includes('./deeper/big'));
    assert.deepEqual(await names('/app/plain'), ['plain']);
    // A symlink is archived as itself, under its own name.
    const link = await listTar(await createArchive(src, '/app/sub/rel-link'));
    assert.equal(link.length, 1);
    assert.equal(link[0].header.type, 'symlink');
    assert.equal(link[0].header.linkname, '../plain');
    // With a trailing slash a link to a directory is followed and keeps the link's name.
    symlinkSync('sub', path.join(src, 'app/dir-link'));
    try {
      const followed = await names('/app/dir-link/');
      assert.equal(followed[0], 'dir-link/');
      assert.ok(followed.includes('dir-link/deeper/big'));
    } finally {
      rmSync(path.join(src, 'app/dir-link'));
    }
    const whole = await names('/');
    assert.equal(whole[0], '/');
    assert.ok(whole.includes('/app/plain'));
  });

  test('GNU tar reads our archives, long and non-ASCII names included', async () => {
    const file = path.join(base, 'app.tar');
    writeFileSync(file, await readAll(await createArchive(src, '/app')));
    const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
    assert.match(listing, new RegExp(`app/${LONG_DIR}/${LONG_DIR}/${LONG_NAME}`));
    assert.match(listing, new RegExp(`app/${UNICODE}`));
    assert.match(listing, /-rwsr-xr-x 0\/0 +\d+ .* app\/setuid/);
    assert.match(listing, /1234\/5678 .* app\/plain/);
    assert.match(listing, /app\/sub\/hardlink link to app\/plain/);
    assert.match(listing, new RegExp(`app/long-target -> ${'x'.repeat(150)}`));
    const out = path.join(base, 'gnu');
    mkdirSync(out);
    execFileSync('tar', ['-xpf', file, '-C', out, '--numeric-owner']);
    assert.deepEqual(readFileSync(path.join(out, 'app/sub/deeper/big')), BIG);
  });

  test('archives made by GNU tar extract, gzip-compressed too', async () => {
    const file = path.join(base, 'gnu.tar.gz');
    execFileSync('tar', ['-czf', file, '-C', path.join(src, 'app'), 'sub', 'plain', LONG_DIR]);
    const into = path.join(dst, 'from-gnu');
    mkdirSync(into);
    await extractArchive(dst, '/from-gnu', tarStream(readFileSync(file)));
    assert.deepEqual(readFileSync(path.join(into, 'sub/deeper/big')), BIG);
    assert.equal(readFileSync(path.join(into, LONG_DIR, LONG_DIR, LONG_NAME), 'utf8'), 'long\n');
    assert.equal(lstatSync(path.join(into, 'plain')).uid, 1234);
  });

  test('broken bzip2 and xz archives are refused naming the format', async () => {
    const bzip2 = Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(64)]);
    await assert.rejects(extractArchive(dst, '/', tarStream(bzip2)), /failed to decompress bzip2 archive/);
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0, 0]);
    await assert.rejects(extractArchive(dst, '/', tarStream(xz)), /failed to decompress xz archive/);
  });

  test('owner replaces the archive ids (copyUIDGID)', async () => {
    mkdirSync(path.join(dst, 'owned'));
    const data = await makeTar([
      { name: 'd', type: 'directory', uid: 7, gid: 7, mode: 0o755 },
      { name: 'd/f', body: 'x', uid: 7, gid: 7, mode: 0o640 },
      { name: 'd/l', type: 'symlink', linkname: 'f', uid: 7, gid: 7 },
    ]);
    await extractArchive(dst, '/owned', tarStream(data), { owner: { uid: 2000, gid: 3000 } });
    for (const p of ['d', 'd/f', 'd/l']) {
      const st = lstatSync(path.join(dst, 'owned', p));
      assert.deepEqual([st.uid, st.gid], [2000, 3000], p);
    }
    assert.equal(lstatSync(path.join(dst, 'owned/d/f')).mode & 0o777, 0o640);
  });

  test('existing files are replaced; noOverwriteDirNonDir refuses dir/non-dir swaps', async () => {
    mkdirSync(path.join(dst, 'over/dir'), { recursive: true });
    writeFileSync(path.join(dst, 'over/file'), 'old');
    await extractArchive(dst, '/over', tarStream(await makeTar([{ name: 'file', body: 'new' }])));
    assert.equal(readFileSync(path.join(dst, 'over/file'), 'utf8'), 'new');
    await assert.rejects(
      extractArchive(dst, '/over', tarStream(await makeTar([{ name: 'dir', body: 'x' }])), {
        noOverwriteDirNonDir: true,
      }),
      /cannot overwrite directory "\/over\/dir" with non-directory "\/over"/,
    );
    await assert.rejects(
      extractArchive(dst, '/over', tarStream(await makeTar([{ name: 'file', type: 'directory' }])), {
        noOverwriteDirNonDir: true,
      }),
      /cannot overwrite non-directory "\/over\/file" with directory "\/over"/,
    );
    // Without the flag Docker replaces either way.
    await extractArchive(dst, '/over', tarStream(await makeTar([{ name: 'dir', body: 'now a file' }])));
    assert.equal(readFileSync(path.join(dst, 'over/dir'), 'utf8'), 'now a file');
  });

  test('the extraction point must be an existing directory; a link to one is followed', async () => {
    writeFileSync(path.join(dst, 'a-file'), '');
    await assert.rejects(
      extractArchive(dst, '/a-file', tarStream(await makeTar([{ name: 'x', body: '' }]))),
      /extraction point is not a directory/,
    );
    await assert.rejects(
      extractArchive(dst, '/missing-dir', tarStream(await makeTar([{ name: 'x', body: '' }]))),
      /no such file or directory/,
    );
    mkdirSync(path.join(dst, 'target'));
    symlinkSync('/target', path.join(dst, 'link-to-target'));
    await extractArchive(dst, '/link-to-target', tarStream(await makeTar([{ name: 'x', body: 'via link' }])));
    assert.equal(readFileSync(path.join(dst, 'target/x'), 'utf8'), 'via link');
  });

  describe('through mounts', () => {
    let volume: string;
    let mounts: ContainerMount[];
    before(() => {
      volume = path.join(base, 'volume');
      mkdirSync(path.join(volume, 'in-volume'), { recursive: true });
      writeFileSync(path.join(volume, 'in-volume/v'), 'volume file\n');
      mounts = [
        { destination: '/app/data', source: volume },
        { destination: '/ro', source: volume, readOnly: true },
      ];
    });

    test('archives include what is mounted inside the tree', async () => {
      const entries = await listTar(await createArchive(src, '/app', { mounts }));
      const file = entries.find((e) => e.header.name === 'app/data/in-volume/v');
      assert.equal(file?.body.toString(), 'volume file\n');
    });

    test('extraction writes into the mount source, and refuses read-only mounts and rootfs', async () => {
      await extractArchive(src, '/app/data', tarStream(await makeTar([{ name: 'new', body: 'written' }])), {
        mounts,
      });
      assert.equal(readFileSync(path.join(volume, 'new'), 'utf8'), 'written');
      assert.equal(existsSync(path.join(src, 'app/data/new')), false);
      await assert.rejects(
        extractArchive(src, '/ro', tarStream(await makeTar([{ name: 'x', body: '' }])), { mounts }),
        /mounted volume is marked read-only/,
      );
      await assert.rejects(
        extractArchive(src, '/app', tarStream(await makeTar([{ name: 'x', body: '' }])), {
          mounts,
          readOnlyRoot: true,
        }),
        /container rootfs is marked read-only/,
      );
      // A read-only rootfs still lets writable mounts be written.
      await extractArchive(src, '/app/data', tarStream(await makeTar([{ name: 'y', body: 'ok' }])), {
        mounts,
        readOnlyRoot: true,
      });
      assert.equal(readFileSync(path.join(volume, 'y'), 'utf8'), 'ok');
      // Entries that wander from a writable place into a read-only mount are refused too.
      await assert.rejects(
        extractArchive(src, '/', tarStream(await makeTar([{ name: 'ro/sneaky', body: 'x' }])), { mounts }),
        /mounted volume is marked read-only/,
      );
      assert.equal(existsSync(path.join(volume, 'sneaky')), false);
    });
  });
});

describe('tar header encoding', () => {
  test('ustar headers carry a valid checksum; long names get a PAX record', async () => {
    const short = encodeTarHeader({
      name: 'a/b',
      type: 'file',
      mode: 0o644,
      uid: 1,
      gid: 2,
      size: 3,
      mtime: 4,
    });
    assert.equal(short.length, 512);
    const long = encodeTarHeader({
      name: 'x/'.repeat(200) + 'f',
      type: 'file',
      mode: 0o644,
      uid: 3_000_000,
      gid: 2,
      size: 0,
      mtime: 4,
    });
    assert.equal(long.length % 512, 0);
    assert.ok(long.length > 512);
    const entries = await listTar(Buffer.concat([long, Buffer.alloc(1024)]));
    assert.equal(entries[0].header.name, 'x/'.repeat(200) + 'f');
    assert.equal((entries[0].header.pax as Record<string, string>).uid, '3000000');
    // And extraction honours it.
    const root = mkdtempSync(path.join(os.tmpdir(), 'berth-pax-'));
    try {
      const file = encodeTarHeader({
        name: 'big-uid',
        type: 'file',
        mode: 0o600,
        uid: 3_000_000,
        gid: 3_000_001,
        size: 0,
        mtime: 4,
      });
      await extractArchive(root, '/', tarStream(Buffer.concat([file, Buffer.alloc(1024)])));
      const st = lstatSync(path.join(root, 'big-uid'));
      assert.deepEqual([st.uid, st.gid], [3_000_000, 3_000_001]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
