import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  defaultDeviceRules,
  devicesForMapping,
  hostDevices,
  parseDeviceCgroupRule,
  parseDeviceMapping,
  splitDeviceNumber,
} from '../../src/oci/devices.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-devices-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('--device parsing', () => {
  test('host path only', () => {
    assert.deepEqual(parseDeviceMapping('/dev/fuse'), {
      PathOnHost: '/dev/fuse',
      PathInContainer: '/dev/fuse',
      CgroupPermissions: 'rwm',
    });
  });

  test('host and container paths, and a mode', () => {
    assert.deepEqual(parseDeviceMapping('/dev/sda:/dev/xvda:r'), {
      PathOnHost: '/dev/sda',
      PathInContainer: '/dev/xvda',
      CgroupPermissions: 'r',
    });
    assert.deepEqual(parseDeviceMapping('/dev/sda:/dev/xvda'), {
      PathOnHost: '/dev/sda',
      PathInContainer: '/dev/xvda',
      CgroupPermissions: 'rwm',
    });
  });

  test('a valid mode in second place is the mode', () => {
    assert.deepEqual(parseDeviceMapping('/dev/null:rw'), {
      PathOnHost: '/dev/null',
      PathInContainer: '/dev/null',
      CgroupPermissions: 'rw',
    });
  });

  test('bad specifications are InvalidParameter errors', () => {
    assert.throws(
      () => parseDeviceMapping('/dev/a:/dev/b:rwx'),
      (err) => isEngineError(err, 'InvalidParameter') && /invalid device mode: rwx/.test(err.message),
    );
    assert.throws(() => parseDeviceMapping('/a:/b:rw:x'), /invalid device specification/);
    assert.throws(() => parseDeviceMapping('dev/null'), /must be absolute/);
    assert.throws(() => parseDeviceMapping('/dev/null:rr'), /container path must be absolute/);
  });
});

describe('device cgroup rules', () => {
  test('parses type, numbers with wildcards, and access', () => {
    assert.deepEqual(parseDeviceCgroupRule('c 13:* rwm'), {
      allow: true,
      type: 'c',
      major: 13,
      access: 'rwm',
    });
    assert.deepEqual(parseDeviceCgroupRule('b 8:1 r'), {
      allow: true,
      type: 'b',
      major: 8,
      minor: 1,
      access: 'r',
    });
    assert.deepEqual(parseDeviceCgroupRule('a *:* rwm'), { allow: true, type: 'a', access: 'rwm' });
    assert.throws(() => parseDeviceCgroupRule('x 1:1 rwm'), /invalid device cgroup format 'x 1:1 rwm'/);
    assert.throws(() => parseDeviceCgroupRule('c 1:1'), /invalid device cgroup format/);
  });

  test('the default list denies all, then allows the harmless devices and keeps fuse denied', () => {
    const rules = defaultDeviceRules();
    assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
    const allowed = rules.filter((r) => r.allow).map((r) => `${r.major}:${r.minor}`);
    assert.deepEqual(allowed, ['1:5', '1:3', '1:9', '1:8', '5:0', '5:1']);
    assert.deepEqual(rules.at(-1), { allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' });
  });
});

describe('device nodes from the host', () => {
  test('dev_t splitting matches Linux’s encoding', () => {
    assert.deepEqual(splitDeviceNumber(0x0103n), { major: 1, minor: 3 });
    assert.deepEqual(splitDeviceNumber((259n << 8n) | 5n), { major: 259, minor: 5 });
    // Numbers beyond 8 bits of minor and 12 bits of major use the high bits.
    const makedev = (major: bigint, minor: bigint) =>
      (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
    assert.deepEqual(splitDeviceNumber(makedev(0x1008n, 0x1234n)), { major: 0x1008, minor: 0x1234 });
  });

  test('a mapped device gets its node and an allow rule', () => {
    const found = devicesForMapping({
      PathOnHost: '/dev/null',
      PathInContainer: '/dev/mynull',
      CgroupPermissions: 'rw',
    });
    assert.equal(found.devices.length, 1);
    const [device] = found.devices;
    assert.equal(device.type, 'c');
    assert.equal(device.path, '/dev/mynull');
    assert.equal(device.major, 1);
    assert.equal(device.minor, 3);
    assert.equal(device.fileMode, 0o666);
    assert.deepEqual(found.rules, [{ allow: true, type: 'c', major: 1, minor: 3, access: 'rw' }]);
  });

  test('symlinks on the host are resolved', () => {
    const link = path.join(dir, 'null-link');
    symlinkSync('/dev/null', link);
    assert.equal(devicesForMapping({ PathOnHost: link, PathInContainer: '/dev/n' }).devices[0].minor, 3);
  });

  test('non-devices and missing paths are refused with Docker’s message', () => {
    const file = path.join(dir, 'plain');
    writeFileSync(file, 'x');
    assert.throws(
      () => devicesForMapping({ PathOnHost: file }),
      /error gathering device information while adding custom device ".*plain": not a device node/,
    );
    assert.throws(
      () => devicesForMapping({ PathOnHost: '/dev/does-not-exist' }),
      /no such file or directory/,
    );
  });

  test('a privileged container sees the host devices but not the console', () => {
    const devices = hostDevices();
    const paths = devices.map((d) => d.path);
    assert.ok(paths.includes('/dev/null'));
    assert.ok(!paths.includes('/dev/console'));
    assert.ok(!paths.some((p) => p.startsWith('/dev/pts/')));
  });
});
