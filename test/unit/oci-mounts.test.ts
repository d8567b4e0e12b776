import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  assembleMounts,
  etcFileMounts,
  mergeTmpfsOptions,
  parseTmpfsOptions,
  rootfsPropagationFor,
  tmpfsMounts,
} from '../../src/oci/mounts.js';

describe('tmpfs options', () => {
  test('Docker’s defaults come first, the given options after', () => {
    assert.deepEqual(parseTmpfsOptions('size=64m,mode=1777'), [
      'noexec',
      'nosuid',
      'nodev',
      'rprivate',
      'size=64m',
      'mode=1777',
    ]);
    assert.deepEqual(parseTmpfsOptions(''), ['noexec', 'nosuid', 'nodev', 'rprivate']);
  });

  test('a later flag overrides its opposite, a later value its key', () => {
    assert.deepEqual(parseTmpfsOptions('exec,size=1g,size=2g'), [
      'nosuid',
      'nodev',
      'rprivate',
      'exec',
      'size=2g',
    ]);
    assert.deepEqual(mergeTmpfsOptions(['ro', 'rw', 'defaults', 'shared', 'private']), ['rw', 'private']);
  });

  test('unknown options and bad values are refused', () => {
    assert.throws(
      () => parseTmpfsOptions('size=64m,bogus'),
      (err) => isEngineError(err, 'InvalidParameter') && /invalid tmpfs option "bogus"/.test(err.message),
    );
    assert.throws(() => parseTmpfsOptions('size=lots'), /invalid value in tmpfs option "size=lots"/);
    assert.throws(() => parseTmpfsOptions('mode=999'), /invalid value in tmpfs option "mode=999"/);
    assert.deepEqual(parseTmpfsOptions('uid=1000,gid=1000,nr_inodes=1k,size=50%').slice(4), [
      'uid=1000',
      'gid=1000',
      'nr_inodes=1k',
      'size=50%',
    ]);
  });

  test('HostConfig.Tmpfs entries become tmpfs mounts at absolute paths', () => {
    assert.deepEqual(tmpfsMounts({ '/run/': 'size=1m' }), [
      {
        destination: '/run',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['noexec', 'nosuid', 'nodev', 'rprivate', 'size=1m'],
      },
    ]);
    assert.throws(() => tmpfsMounts({ run: '' }), /mount path must be absolute/);
    assert.throws(() => tmpfsMounts({ '/': '' }), /cannot be the container's root/);
  });
});

describe('mount table', () => {
  const destinations = (mounts: { destination: string }[]) => mounts.map((m) => m.destination);

  test('defaults, /dev/shm with its size, then user mounts parents first', () => {
    const mounts = assembleMounts({
      shm: { kind: 'tmpfs', size: 1048576 },
      userMounts: [
        { destination: '/data/cache', type: 'bind', source: '/h/c', options: ['rbind'] },
        { destination: '/data', type: 'bind', source: '/h/d', options: ['rbind'] },
      ],
      privileged: false,
    });
    assert.deepEqual(destinations(mounts), [
      '/proc',
      '/dev',
      '/dev/pts',
      '/sys',
      '/sys/fs/cgroup',
      '/dev/mqueue',
      '/dev/shm',
      '/data',
      '/data/cache',
    ]);
    assert.ok(mounts.find((m) => m.destination === '/dev/shm')!.options!.includes('size=1048576'));
    assert.ok(mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
  });

  test('a user mount replaces the default at the same path; a user /dev replaces everything under /dev', () => {
    const mounts = assembleMounts({
      shm: { kind: 'tmpfs', size: 1 },
      userMounts: [{ destination: '/dev', type: 'bind', source: '/dev', options: ['rbind'] }],
      privileged: false,
    });
    assert.deepEqual(destinations(mounts), ['/proc', '/sys', '/sys/fs/cgroup', '/dev']);
  });

  test('IpcMode none has no /dev/shm; a shared one is a bind mount', () => {
    assert.ok(
      !destinations(assembleMounts({ shm: { kind: 'none' }, userMounts: [], privileged: false })).includes(
        '/dev/shm',
      ),
    );
    const bound = assembleMounts({
      shm: { kind: 'bind', source: '/run/berth/c1/shm' },
      userMounts: [],
      privileged: false,
    });
    assert.deepEqual(bound.find((m) => m.destination === '/dev/shm')?.source, '/run/berth/c1/shm');
  });

  test('privileged makes /sys and the cgroup tree writable', () => {
    const mounts = assembleMounts({ shm: { kind: 'none' }, userMounts: [], privileged: true });
    assert.ok(!mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'));
    assert.ok(!mounts.find((m) => m.destination === '/sys/fs/cgroup')!.options!.includes('ro'));
  });

  test('the init binary is bind-mounted read-only at /sbin/docker-init', () => {
    const mounts = assembleMounts({
      shm: { kind: 'none' },
      userMounts: [],
      privileged: false,
      initPath: '/usr/bin/tini-static',
    });
    assert.deepEqual(mounts.at(-1), {
      destination: '/sbin/docker-init',
      type: 'bind',
      source: '/usr/bin/tini-static',
      options: ['bind', 'ro'],
    });
  });

  test('/etc files are bind-mounted, read-only with a read-only rootfs', () => {
    const files = { hostname: '/r/hostname', hosts: '/r/hosts', resolvConf: '/r/resolv.conf' };
    assert.deepEqual(
      etcFileMounts(files, false).map((m) => [m.destination, m.source, m.options]),
      [
        ['/etc/resolv.conf', '/r/resolv.conf', ['rbind', 'rprivate']],
        ['/etc/hostname', '/r/hostname', ['rbind', 'rprivate']],
        ['/etc/hosts', '/r/hosts', ['rbind', 'rprivate']],
      ],
    );
    assert.ok(etcFileMounts(files, true).every((m) => m.options!.includes('ro')));
    assert.deepEqual(etcFileMounts({ hosts: '/r/hosts' }, false).length, 1);
  });

  test('shared or slave bind mounts need a matching rootfs propagation', () => {
    assert.equal(rootfsPropagationFor([{ destination: '/a', options: ['rbind', 'rshared'] }]), 'shared');
    assert.equal(rootfsPropagationFor([{ destination: '/a', options: ['rbind', 'rslave'] }]), 'rslave');
    assert.equal(rootfsPropagationFor([{ destination: '/a', options: ['rbind', 'rprivate'] }]), undefined);
  });
});
