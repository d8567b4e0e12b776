import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodePathStat,
  encodePathStat,
  formatRFC3339,
  GO_MODE,
  goFileMode,
  PathNotFoundError,
  statPath,
} from '../../src/archive/index.js';

/** Bit test that survives bit 31 (JS bitwise operators are signed 32-bit). */
const hasBit = (mode: number, bit: number): boolean => Math.floor(mode / bit) % 2 === 1;

describe('goFileMode', () => {
  test('permission bits, type bits and special bits as Go os.FileMode', () => {
    assert.equal(goFileMode(0o100644), 0o644);
    assert.equal(goFileMode(0o040755), GO_MODE.dir + 0o755);
    assert.equal(goFileMode(0o120777), GO_MODE.symlink + 0o777);
    assert.equal(goFileMode(0o104755), GO_MODE.setuid + 0o755);
    assert.equal(goFileMode(0o102755), GO_MODE.setgid + 0o755);
    assert.equal(goFileMode(0o041777), GO_MODE.dir + GO_MODE.sticky + 0o777);
    assert.equal(goFileMode(0o010600), GO_MODE.namedPipe + 0o600);
    assert.equal(goFileMode(0o140755), GO_MODE.socket + 0o755);
    assert.equal(goFileMode(lstatSync('/dev/null').mode), GO_MODE.device + GO_MODE.charDevice + 0o666);
    assert.equal(goFileMode(0o060660), GO_MODE.device + 0o660);
    // Go's values: ModeDir is 1<<31, ModeSymlink 1<<27.
    assert.equal(GO_MODE.dir, 2147483648);
    assert.equal(GO_MODE.symlink, 134217728);
  });
});

describe('formatRFC3339', () => {
  const savedTZ = process.env.TZ;
  after(() => {
    if (savedTZ === undefined) delete process.env.TZ;
    else process.env.TZ = savedTZ;
  });

  test('UTC is written with Z, other zones with their offset, like Go', () => {
    const ns = 1_700_000_000_123_456_789n;
    process.env.TZ = 'UTC';
    assert.equal(formatRFC3339(ns), '2023-11-14T22:13:20Z');
    assert.equal(formatRFC3339(ns, true), '2023-11-14T22:13:20.123456789Z');
    assert.equal(formatRFC3339(1_700_000_000_120_000_000n, true), '2023-11-14T22:13:20.12Z');
    assert.equal(formatRFC3339(1_700_000_000_000_000_000n, true), '2023-11-14T22:13:20Z');
    process.env.TZ = 'Asia/Kolkata';
    assert.equal(formatRFC3339(ns), '2023-11-15T03:43:20+05:30');
    process.env.TZ = 'America/New_York';
    assert.equal(formatRFC3339(ns), '2023-11-14T17:13:20-05:00');
  });
});

describe('statPath', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'berth-stat-'));
    mkdirSync(path.join(root, 'dir/sub'), { recursive: true });
    writeFileSync(path.join(root, 'dir/file'), '12345');
    chmodSync(path.join(root, 'dir/file'), 0o4750);
    utimesSync(path.join(root, 'dir/file'), 1_600_000_000, 1_600_000_000);
    symlinkSync('/dir/sub', path.join(root, 'link'));
    symlinkSync('../dir/../link', path.join(root, 'dir/chain'));
    symlinkSync('/nowhere/x', path.join(root, 'dangling'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a file: name, size, Go mode and mtime', async () => {
    process.env.TZ = 'UTC';
    const stat = await statPath(root, '/dir/file');
    assert.deepEqual(stat, {
      name: 'file',
      size: 5,
      mode: GO_MODE.setuid + 0o750,
      mtime: '2020-09-13T12:26:40Z',
      linkTarget: '',
    });
  });

  test('a symlink is not followed; linkTarget is where it finally resolves', async () => {
    const link = await statPath(root, '/link');
    assert.ok(hasBit(link.mode, GO_MODE.symlink));
    assert.equal(link.linkTarget, '/dir/sub');
    assert.equal((await statPath(root, '/dir/chain')).linkTarget, '/dir/sub');
    assert.equal((await statPath(root, 'dangling')).linkTarget, '/nowhere/x');
  });

  test('a trailing slash or /. follows the link and names the directory', async () => {
    const viaSlash = await statPath(root, '/link/');
    assert.equal(viaSlash.name, 'link');
    assert.ok(hasBit(viaSlash.mode, GO_MODE.dir));
    assert.equal(viaSlash.linkTarget, '');
    assert.equal((await statPath(root, '/dir/.')).name, '.');
    assert.equal((await statPath(root, '/')).name, '/');
  });

  test('missing paths are PathNotFoundError', async () => {
    await assert.rejects(statPath(root, '/dir/missing'), PathNotFoundError);
    await assert.rejects(statPath(root, '/missing/x'), PathNotFoundError);
  });

  test('the header payload is base64 JSON with Docker field names', async () => {
    const stat = await statPath(root, '/dir/file');
    const header = encodePathStat(stat);
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(header, 'base64').toString())), [
      'name',
      'size',
      'mode',
      'mtime',
      'linkTarget',
    ]);
    assert.deepEqual(decodePathStat(header), stat);
  });
});
