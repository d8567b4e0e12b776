import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  cleanPath,
  openDirInRoot,
  openInRoot,
  PathNotFoundError,
  resolveInRoot,
  type ContainerMount,
} from '../../src/archive/index.js';
import { closeFd } from '../../src/archive/fdops.js';
import { snapshotTree, startSwapper } from '../helpers/archive.js';

describe('resolveInRoot', () => {
  let base: string;
  let root: string;
  let host: string;
  let volume: string;
  let hostFile: string;

  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'berth-resolve-'));
    root = path.join(base, 'root');
    host = path.join(base, 'host');
    volume = path.join(base, 'volume');
    hostFile = path.join(base, 'hosts-file');
    mkdirSync(path.join(root, 'etc'), { recursive: true });
    mkdirSync(path.join(root, 'a/b/c'), { recursive: true });
    mkdirSync(host);
    mkdirSync(path.join(volume, 'inner'), { recursive: true });
    writeFileSync(path.join(root, 'etc/passwd'), 'container passwd\n');
    writeFileSync(path.join(host, 'secret'), 'host secret\n');
    writeFileSync(path.join(volume, 'inner/data'), 'volume data\n');
    writeFileSync(hostFile, '127.0.0.1 mounted\n');
    writeFileSync(path.join(root, 'a/file'), 'file\n');
    symlinkSync('/', path.join(root, 'to-root'));
    symlinkSync('../../..', path.join(root, 'a/b/up'));
    symlinkSync('/etc', path.join(root, 'abs-etc'));
    symlinkSync(host, path.join(root, 'host-looking'));
    symlinkSync(path.join(host, 'secret'), path.join(root, 'host-secret'));
    symlinkSync('loop2', path.join(root, 'loop1'));
    symlinkSync('loop1', path.join(root, 'loop2'));
    symlinkSync('self', path.join(root, 'self'));
    symlinkSync('b/c', path.join(root, 'a/rel'));
    symlinkSync('/data/inner', path.join(root, 'to-mount'));
    symlinkSync('/etc', path.join(volume, 'abs-in-volume'));
    symlinkSync('../..', path.join(volume, 'up-in-volume'));
  });

  after(() => rmSync(base, { recursive: true, force: true }));

  const resolve = (p: string, opts = {}): Promise<string> => resolveInRoot(root, p, opts);

  test('a symlink to / stays at the container root', async () => {
    assert.equal(await resolve('/to-root/etc/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(await resolve('/to-root/to-root/to-root'), path.join(root, 'to-root'));
    assert.equal(await resolve('/to-root/', {}), root);
  });

  test('../../.. links and .. components are clamped at the root', async () => {
    assert.equal(await resolve('/a/b/up/etc/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(await resolve('/../../../../etc/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(await resolve('a/b/../../../../etc'), path.join(root, 'etc'));
  });

  test('absolute and host-looking links are re-rooted, never reaching the host', async () => {
    assert.equal(await resolve('/abs-etc/passwd'), path.join(root, 'etc/passwd'));
    // The host directory does not exist inside the container: not found, not the host's file.
    await assert.rejects(resolve('/host-looking/secret'), PathNotFoundError);
    await assert.rejects(resolve('/host-secret', { followFinalSymlink: true }), PathNotFoundError);
    assert.equal(existsSync(path.join(root, host)), false, 'resolution creates nothing');
    // Not followed unless asked: the link itself.
    assert.equal(await resolve('/host-secret'), path.join(root, 'host-secret'));
    // A decoy at the same path inside the container is what the link reaches.
    mkdirSync(path.join(root, host), { recursive: true });
    writeFileSync(path.join(root, host, 'secret'), 'decoy\n');
    const r = await openInRoot(root, '/host-secret', { followFinalSymlink: true });
    assert.equal(await fs.readFile(r.procPath(), 'utf8'), 'decoy\n');
    assert.equal(r.containerPath, path.join(host, 'secret'));
    await r.close();
    assert.equal(await resolve('/host-looking/secret'), path.join(root, host, 'secret'));
  });

  test('relative links resolve against their directory', async () => {
    assert.equal(await resolve('/a/rel/', {}), path.join(root, 'a/b/c'));
    assert.equal(await resolve('/a/rel', { followFinalSymlink: true }), path.join(root, 'a/b/c'));
    assert.equal(await resolve('/a/rel'), path.join(root, 'a/rel'));
  });

  test('symlink loops fail with ELOOP', async () => {
    for (const p of ['/loop1/x', '/self/x']) {
      await assert.rejects(resolve(p), (err: Error) => {
        assert.ok(isEngineError(err, 'InvalidParameter'));
        assert.match(err.message, /too many levels of symbolic links/);
        return true;
      });
    }
    await assert.rejects(resolve('/loop1', { followFinalSymlink: true }), /too many levels/);
    // The final component is not followed by default, so naming the loop itself works.
    assert.equal(await resolve('/loop1'), path.join(root, 'loop1'));
  });

  test('missing paths: a missing last component resolves, a missing directory is NotFound', async () => {
    assert.equal(await resolve('/etc/new-file'), path.join(root, 'etc/new-file'));
    const missing = await openInRoot(root, '/etc/new-file');
    assert.equal(missing.exists, false);
    await missing.close();
    await assert.rejects(
      resolve('/nope/file'),
      (err: Error) => err instanceof PathNotFoundError && err.containerPath === '/nope/file',
    );
    await assert.rejects(resolve('/a/file/x'), /not a directory/);
    await assert.rejects(resolve('/a/file/'), /not a directory/);
  });

  test('the resolved location reports its container path', async () => {
    const r = await openInRoot(root, '/a/b/up/to-root/abs-etc/passwd');
    try {
      assert.equal(r.containerPath, '/etc/passwd');
      assert.equal(r.name, 'passwd');
      assert.equal(await fs.readFile(r.procPath(), 'utf8'), 'container passwd\n');
    } finally {
      await r.close();
    }
    const top = await openInRoot(root, '/');
    assert.equal(top.name, '');
    assert.equal(top.containerPath, '/');
    assert.ok((await top.lstat()).isDirectory());
    await top.close();
  });

  describe('with mounts', () => {
    let mounts: ContainerMount[];
    before(() => {
      mounts = [
        { destination: '/data', source: volume, readOnly: true },
        { destination: '/etc/hosts', source: hostFile },
      ];
    });

    test('paths under a mount destination resolve into its source', async () => {
      assert.equal(await resolve('/data/inner/data', { mounts }), path.join(volume, 'inner/data'));
      assert.equal(await resolve('/data', { mounts }), volume);
      assert.equal(await resolve('/to-mount/data', { mounts }), path.join(volume, 'inner/data'));
      const r = await openInRoot(root, '/data/inner', { mounts });
      assert.equal(r.mount?.source, volume);
      assert.equal(r.readOnly(), true);
      await r.close();
    });

    test('a single-file mount resolves to the file', async () => {
      assert.equal(await resolve('/etc/hosts', { mounts }), hostFile);
      const r = await openInRoot(root, '/to-root/etc/hosts', { mounts });
      assert.equal(await fs.readFile(r.procPath(), 'utf8'), '127.0.0.1 mounted\n');
      await r.close();
      await assert.rejects(resolve('/etc/hosts/x', { mounts }), /not a directory/);
    });

    test('symlinks inside a mount resolve in the container, not in the host', async () => {
      assert.equal(await resolve('/data/abs-in-volume/passwd', { mounts }), path.join(root, 'etc/passwd'));
      // .. from the mount's root goes to the container's /, not the volume's host parent.
      assert.equal(await resolve('/data/up-in-volume/etc/passwd', { mounts }), path.join(root, 'etc/passwd'));
      assert.equal(await resolve('/data/../etc/passwd', { mounts }), path.join(root, 'etc/passwd'));
    });
  });

  test('createMissingDirs makes directories inside the root only', async () => {
    const dir = await openDirInRoot(root, '/to-root/made/by/walk', { createMissingDirs: true });
    await closeFd(dir.fd);
    assert.equal(dir.containerPath, '/made/by/walk');
    assert.ok(existsSync(path.join(root, 'made/by/walk')));
    const viaHostLink = await openDirInRoot(root, '/host-looking/sub', { createMissingDirs: true });
    await closeFd(viaHostLink.fd);
    assert.ok(existsSync(path.join(root, host, 'sub')));
    assert.equal(existsSync(path.join(host, 'sub')), false);
  });

  test('createMissingDirs refuses read-only mounts and a read-only rootfs', async () => {
    const mounts = [{ destination: '/ro', source: volume, readOnly: true }];
    await assert.rejects(
      openDirInRoot(root, '/ro/new', { mounts, createMissingDirs: true }),
      /mounted volume is marked read-only/,
    );
    await assert.rejects(
      openDirInRoot(root, '/rootfs-new', { createMissingDirs: true, readOnlyRoot: true }),
      /rootfs is marked read-only/,
    );
    assert.equal(existsSync(path.join(volume, 'new')), false);
  });

  test('cleanPath matches Go filepath.Clean', () => {
    assert.equal(cleanPath('/a/../../b/./c/'), '/b/c');
    assert.equal(cleanPath('a/../../b'), '../b');
    assert.equal(cleanPath(''), '.');
    assert.equal(cleanPath('/..'), '/');
    assert.equal(cleanPath('./x//y'), 'x/y');
  });

  test('a directory swapped for a symlink in a loop never leads outside the root', async () => {
    const swapDir = path.join(root, 'swap');
    mkdirSync(swapDir);
    writeFileSync(path.join(swapDir, 'secret'), 'container secret\n');
    const hostBefore = snapshotTree(base, (p) => p.startsWith(root));
    const swapper = startSwapper(swapDir, host);
    try {
      let resolvedInside = 0;
      const deadline = Date.now() + 1500;
      while (Date.now() < deadline) {
        for (const follow of [false, true]) {
          let r;
          try {
            r = await openInRoot(root, '/swap/secret', { followFinalSymlink: follow });
          } catch (err) {
            assert.ok(isEngineError(err), `unexpected ${String(err)}`);
            continue;
          }
          try {
            const hostPath = await r.hostPath();
            assert.ok(hostPath.startsWith(root + '/'), `escaped to ${hostPath}`);
            if (r.exists) {
              const content = await fs.readFile(r.procPath(), 'utf8').catch(() => '');
              assert.notEqual(content, 'host secret\n');
            }
            resolvedInside++;
          } finally {
            await r.close();
          }
        }
      }
      assert.ok(resolvedInside > 0);
    } finally {
      await swapper.stop();
    }
    assert.deepEqual(
      snapshotTree(base, (p) => p.startsWith(root)),
      hostBefore,
    );
    assert.equal(readFileSync(path.join(host, 'secret'), 'utf8'), 'host secret\n');
  });
});
