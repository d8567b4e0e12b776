import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { resolvePathInRoot, resolveUser } from '../../src/oci/user.js';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'app:x:1000:1000:App:/home/app:/bin/sh',
  'web:x:1001:1000::/srv:/bin/sh',
  '',
].join('\n');

const GROUP = [
  'root:x:0:',
  'wheel:x:10:root,app',
  'app:x:1000:',
  'audio:x:29:app,web',
  'docker:x:999:',
  '',
].join('\n');

let root: string;
let outside: string;

before(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
  outside = mkdtempSync(path.join(os.tmpdir(), 'berth-outside-'));
  mkdirSync(path.join(root, 'etc'));
  writeFileSync(path.join(root, 'etc/passwd'), PASSWD);
  writeFileSync(path.join(root, 'etc/group'), GROUP);
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('resolveUser', () => {
  test('empty means root with root’s groups', async () => {
    assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
  });

  test('by name: passwd uid and gid, supplementary groups listing the user', async () => {
    assert.deepEqual(await resolveUser(root, 'app'), {
      uid: 1000,
      gid: 1000,
      additionalGids: [1000, 10, 29],
      home: '/home/app',
    });
  });

  test('by uid with a passwd entry behaves like the name', async () => {
    assert.deepEqual(await resolveUser(root, '1001'), {
      uid: 1001,
      gid: 1000,
      additionalGids: [1000, 29],
      home: '/srv',
    });
  });

  test('a uid without an entry is used as is, with gid 0', async () => {
    assert.deepEqual(await resolveUser(root, '4242'), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  });

  test('uid:gid and name:group set the primary group and no supplementary groups', async () => {
    assert.deepEqual(await resolveUser(root, '4242:4343'), {
      uid: 4242,
      gid: 4343,
      additionalGids: [4343],
      home: '/',
    });
    assert.deepEqual(await resolveUser(root, 'app:docker'), {
      uid: 1000,
      gid: 999,
      additionalGids: [999],
      home: '/home/app',
    });
    assert.deepEqual(await resolveUser(root, 'web:10'), {
      uid: 1001,
      gid: 10,
      additionalGids: [10],
      home: '/srv',
    });
  });

  test('GroupAdd appends groups by name or gid', async () => {
    const user = await resolveUser(root, 'daemon', ['docker', '5000', 'wheel']);
    assert.deepEqual(user.additionalGids, [1, 999, 5000, 10]);
  });

  test('a missing user is an InvalidParameter error with runc’s message', async () => {
    await assert.rejects(
      resolveUser(root, 'xyz'),
      (err) =>
        isEngineError(err, 'InvalidParameter') &&
        err.message === 'unable to find user xyz: no matching entries in passwd file',
    );
  });

  test('missing groups are errors too', async () => {
    await assert.rejects(
      resolveUser(root, 'app:nogroup'),
      /unable to find group nogroup: no matching entries in group file/,
    );
    await assert.rejects(resolveUser(root, 'app', ['nogroup']), /Unable to find group nogroup/);
  });

  test('out of range ids are refused', async () => {
    await assert.rejects(resolveUser(root, '3000000000'), /uids and gids must be in range 0-2147483647/);
  });

  test('without /etc/passwd, numeric users work and names do not', async () => {
    const bare = mkdtempSync(path.join(os.tmpdir(), 'berth-bare-'));
    try {
      assert.deepEqual(await resolveUser(bare, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
      assert.deepEqual(await resolveUser(bare, '10:20'), {
        uid: 10,
        gid: 20,
        additionalGids: [20],
        home: '/',
      });
      await assert.rejects(
        resolveUser(bare, 'root'),
        /unable to find user root: no matching entries in passwd file/,
      );
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});

describe('reading the rootfs safely', () => {
  test('an absolute symlink to the host’s files stays inside the rootfs', async () => {
    const evil = mkdtempSync(path.join(os.tmpdir(), 'berth-evil-'));
    try {
      mkdirSync(path.join(evil, 'etc'));
      // On the host this would name a real file with a "hacker" user in it.
      writeFileSync(path.join(outside, 'passwd'), 'hacker:x:0:0::/:/bin/sh\n');
      symlinkSync(path.join(outside, 'passwd'), path.join(evil, 'etc/passwd'));
      await assert.rejects(resolveUser(evil, 'hacker'), /unable to find user hacker/);
      assert.equal(await resolvePathInRoot(evil, '/etc/passwd'), path.join(evil, outside, 'passwd'));
    } finally {
      rmSync(evil, { recursive: true, force: true });
    }
  });

  test('relative symlinks cannot climb above the rootfs', async () => {
    const evil = mkdtempSync(path.join(os.tmpdir(), 'berth-evil-'));
    try {
      mkdirSync(path.join(evil, 'etc'));
      symlinkSync('../../../../../../../../etc/hostname', path.join(evil, 'etc/passwd'));
      assert.equal(await resolvePathInRoot(evil, '/etc/passwd'), path.join(evil, 'etc/hostname'));
    } finally {
      rmSync(evil, { recursive: true, force: true });
    }
  });

  test('symlinks inside the rootfs are followed', async () => {
    const linked = mkdtempSync(path.join(os.tmpdir(), 'berth-linked-'));
    try {
      mkdirSync(path.join(linked, 'usr/lib'), { recursive: true });
      writeFileSync(path.join(linked, 'usr/lib/passwd'), 'svc:x:77:77::/:/bin/sh\n');
      symlinkSync('usr/lib', path.join(linked, 'etc'));
      symlinkSync('/usr/lib/passwd', path.join(linked, 'usr/lib/passwd.link'));
      assert.equal((await resolveUser(linked, 'svc')).uid, 77);
      assert.equal(await resolvePathInRoot(linked, '/etc/passwd.link'), path.join(linked, 'usr/lib/passwd'));
    } finally {
      rmSync(linked, { recursive: true, force: true });
    }
  });

  test('symlink loops are reported, not followed forever', async () => {
    const loop = mkdtempSync(path.join(os.tmpdir(), 'berth-loop-'));
    try {
      symlinkSync('/b', path.join(loop, 'a'));
      symlinkSync('/a', path.join(loop, 'b'));
      await assert.rejects(resolvePathInRoot(loop, '/a/x'), /too many levels of symbolic links/);
    } finally {
      rmSync(loop, { recursive: true, force: true });
    }
  });
});
