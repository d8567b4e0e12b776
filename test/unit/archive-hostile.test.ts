/**
 * Hostile archives and hostile containers: nothing outside the container
 * root (and its mounts) is ever written, and nothing outside is ever read.
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { archivePath, extractArchive, statPath } from '../../src/archive/index.js';
import {
  listTar,
  makeTar,
  snapshotTree,
  startSwapper,
  tarStream,
  type TarEntry,
} from '../helpers/archive.js';

describe('hostile archives', () => {
  let base: string;
  let root: string;
  let host: string;
  let outsideBefore: Map<string, string>;

  const outsideSnapshot = (): Map<string, string> =>
    snapshotTree(base, (p) => p === root || p.startsWith(root + '/'));

  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'berth-hostile-'));
    root = path.join(base, 'root');
    host = path.join(base, 'host');
    mkdirSync(path.join(root, 'app'), { recursive: true });
    mkdirSync(host);
    writeFileSync(path.join(host, 'canary'), 'host canary\n');
    writeFileSync(path.join(base, 'canary-beside-root'), 'beside\n');
  });
  after(() => rmSync(base, { recursive: true, force: true }));
  beforeEach(() => {
    outsideBefore = outsideSnapshot();
  });
  afterEach(() => {
    assert.deepEqual(outsideSnapshot(), outsideBefore, 'something outside the container root changed');
    assert.equal(readFileSync(path.join(host, 'canary'), 'utf8'), 'host canary\n');
  });

  async function extract(entries: TarEntry[], dest = '/app'): Promise<void> {
    await extractArchive(root, dest, tarStream(await makeTar(entries)));
  }

  async function refused(entries: TarEntry[], pattern: RegExp, dest = '/app'): Promise<void> {
    await assert.rejects(extract(entries, dest), (err: Error) => {
      assert.ok(isEngineError(err), `not an engine error: ${String(err)}`);
      assert.match(err.message, pattern);
      return true;
    });
  }

  test('path traversal with .. is refused', async () => {
    await refused(
      [{ name: '../../host/canary', body: 'pwned' }],
      /archive entry refused: "\.\.\/\.\.\/host\/canary" is outside of "\/app"/,
    );
    await refused([{ name: 'ok/../../../x', body: 'pwned' }], /is outside of/);
    await refused([{ name: '..', type: 'directory' }], /is outside of/);
  });

  test('absolute names are taken relative to the extraction directory', async () => {
    await extract([{ name: path.join(host, 'canary'), body: 'contained' }]);
    assert.equal(readFileSync(path.join(root, 'app', host, 'canary'), 'utf8'), 'contained');
  });

  test('a symlink to the host then a write through it lands inside the root', async () => {
    await extract([
      { name: 'evil', type: 'symlink', linkname: host },
      { name: 'evil/canary', body: 'through the link' },
      { name: 'to-root', type: 'symlink', linkname: '/' },
      { name: 'to-root/etc/written', body: 'container etc' },
    ]);
    assert.equal(readFileSync(path.join(root, host, 'canary'), 'utf8'), 'through the link');
    assert.equal(readFileSync(path.join(root, 'etc/written'), 'utf8'), 'container etc');
  });

  test('a symlink climbing out of the extraction directory is refused', async () => {
    await refused(
      [{ name: 'up', type: 'symlink', linkname: '../../../../host' }],
      /invalid symlink "\/app\/up" -> "\.\.\/\.\.\/\.\.\/\.\.\/host"/,
    );
    await refused([{ name: 'd/up', type: 'symlink', linkname: '../../x' }], /invalid symlink/);
    assert.equal(existsSync(path.join(root, 'app/up')), false);
  });

  test('hard links out of the extraction directory are refused; absolute ones stay inside', async () => {
    await refused([{ name: 'hl', type: 'link', linkname: '../../host/canary' }], /invalid hardlink/);
    await refused([{ name: 'hl', type: 'link', linkname: '/no/such/file' }], /no such file or directory/);
    // An absolute link target is taken inside the extraction directory: the container's file at that path.
    mkdirSync(path.join(root, 'app', host), { recursive: true });
    writeFileSync(path.join(root, 'app', host, 'canary'), 'container copy');
    await extract([{ name: 'hl2', type: 'link', linkname: path.join(host, 'canary') }]);
    assert.equal(readFileSync(path.join(root, 'app/hl2'), 'utf8'), 'container copy');
    assert.notEqual(lstatSync(path.join(root, 'app/hl2')).ino, lstatSync(path.join(host, 'canary')).ino);
  });

  test('a hard link through a planted symlink cannot reach the host', async () => {
    symlinkSync(host, path.join(root, 'app/planted'));
    // The planted link leads to the container's copy of that path (an earlier test made one), never the host's.
    await extract([{ name: 'hl3', type: 'link', linkname: 'planted/canary' }]);
    assert.notEqual(lstatSync(path.join(root, 'app/hl3')).ino, lstatSync(path.join(host, 'canary')).ino);
    assert.equal(lstatSync(path.join(root, 'app/hl3')).ino, lstatSync(path.join(root, host, 'canary')).ino);
  });

  test('device nodes and FIFOs are refused', async () => {
    await refused([{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }], /device node/);
    await refused([{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }], /device node/);
    await refused([{ name: 'pipe', type: 'fifo' }], /named pipe/);
    assert.equal(existsSync(path.join(root, 'app/null')), false);
  });

  test('an entry cannot replace the extraction directory itself', async () => {
    await refused([{ name: '.', body: 'x' }], /would replace the extraction directory/);
    await refused([{ name: '/', body: 'x' }], /would replace the extraction directory/);
  });

  test('an existing symlink in place of a file is replaced, not written through', async () => {
    symlinkSync(path.join(host, 'canary'), path.join(root, 'app/victim'));
    await extract([{ name: 'victim', body: 'replaced' }]);
    assert.equal(readFileSync(path.join(root, 'app/victim'), 'utf8'), 'replaced');
  });

  test('a directory swapped for a symlink to the host while extracting never leads outside', async () => {
    mkdirSync(path.join(root, 'app/swap'));
    const swapper = startSwapper(path.join(root, 'app/swap'), host);
    try {
      const entries: TarEntry[] = [];
      for (let i = 0; i < 40; i++) entries.push({ name: `swap/file-${i}`, body: `payload ${i}` });
      const data = await makeTar(entries);
      const deadline = Date.now() + 1500;
      let rounds = 0;
      while (Date.now() < deadline) {
        await extractArchive(root, '/app', tarStream(data)).catch((err: unknown) => {
          assert.ok(isEngineError(err) || (err as NodeJS.ErrnoException).code !== undefined, String(err));
        });
        rounds++;
      }
      assert.ok(rounds > 0);
    } finally {
      await swapper.stop();
    }
  });

  test('a directory swapped for a symlink to the host while archiving never reads the host', async () => {
    mkdirSync(path.join(root, 'app/swap2'), { recursive: true });
    writeFileSync(path.join(root, 'app/swap2/canary'), 'container canary\n');
    const swapper = startSwapper(path.join(root, 'app/swap2'), host);
    try {
      const deadline = Date.now() + 1500;
      let archived = 0;
      while (Date.now() < deadline) {
        for (const p of ['/app/swap2', '/app/swap2/canary', '/app/swap2/', '/app']) {
          try {
            const { stream } = await archivePath(root, p);
            for (const entry of await listTar(stream)) {
              assert.notEqual(entry.body.toString(), 'host canary\n', `host file read via ${p}`);
            }
            archived++;
          } catch (err) {
            assert.ok(isEngineError(err) || (err as NodeJS.ErrnoException).code !== undefined, String(err));
          }
          await statPath(root, p).catch(() => undefined);
        }
      }
      assert.ok(archived > 0);
    } finally {
      await swapper.stop();
    }
  });
});
