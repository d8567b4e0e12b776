import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bytesSize,
  ellipsis,
  fromHumanSize,
  goDuration,
  goTimeString,
  humanDuration,
  humanSize,
  humanSizeWithPrecision,
  ramInBytes,
  timeAgo,
  truncateId,
} from '../../src/cli/format/units.js';

describe('units: sizes', () => {
  // SIZE column of `docker images` (docker CLI 28.2.2, precision 3) for images of these sizes.
  const dockerImagesSize: [number, string][] = [
    [0, '0B'],
    [1, '1B'],
    [999, '999B'],
    [1000, '1kB'],
    [1500, '1.5kB'],
    [1125, '1.12kB'],
    [1135, '1.14kB'],
    [4260000, '4.26MB'],
    [10500, '10.5kB'],
    [1234567, '1.23MB'],
    [999999, '1e+03kB'],
    [999500, '1e+03kB'],
    [1e15, '1PB'],
    [5e18, '5EB'],
    [123456789012, '123GB'],
  ];
  for (const [size, expected] of dockerImagesSize) {
    test(`docker images SIZE of ${size}`, () => assert.equal(humanSizeWithPrecision(size, 3), expected));
  }

  test('humanSize keeps four digits', () => {
    assert.equal(humanSize(1234567), '1.235MB');
    assert.equal(humanSize(2746000), '2.746MB');
    assert.equal(humanSize(999.6), '999.6B');
    assert.equal(humanSize(0), '0B');
  });

  test('bytesSize uses binary units', () => {
    assert.equal(bytesSize(1536), '1.5KiB');
    assert.equal(bytesSize(1610612736), '1.5GiB');
    assert.equal(bytesSize(1000), '1000B');
    assert.equal(bytesSize(7.5 * 2 ** 20), '7.5MiB');
    assert.equal(bytesSize(2 ** 70), '1ZiB');
  });
});

describe('units: parsing sizes', () => {
  test('ramInBytes: binary multipliers, case-insensitive, b optional', () => {
    assert.equal(ramInBytes('512m'), 536870912);
    assert.equal(ramInBytes('1g'), 1073741824);
    assert.equal(ramInBytes('1.5GiB'), 1610612736);
    assert.equal(ramInBytes('10 MB'), 10485760);
    assert.equal(ramInBytes('32'), 32);
    assert.equal(ramInBytes('32b'), 32);
    assert.equal(ramInBytes('1K'), 1024);
    assert.equal(ramInBytes('0.5k'), 512);
  });

  test('fromHumanSize: decimal multipliers', () => {
    assert.equal(fromHumanSize('44kB'), 44000);
    assert.equal(fromHumanSize('17MB'), 17000000);
    assert.equal(fromHumanSize('1.5GiB'), 1500000000);
  });

  test('errors read like go-units', () => {
    assert.throws(() => ramInBytes('abc'), /^Error: invalid size: 'abc'$/);
    assert.throws(() => ramInBytes('-1'), /^Error: invalid size: '-1'$/);
    assert.throws(() => ramInBytes('3x'), /^Error: invalid suffix: 'x'$/);
    assert.throws(() => ramInBytes('1mm'), /^Error: invalid suffix: 'mm'$/);
    assert.throws(() => ramInBytes('1kbb'), /^Error: invalid suffix: 'kbb'$/);
    assert.throws(() => ramInBytes('1..2m'), /invalid syntax/);
  });
});

describe('units: durations', () => {
  // CREATED column of `docker images` (docker CLI 28.2.2) for images these many seconds old.
  const dockerCreatedSince: [number, string][] = [
    [1, '1 second ago'],
    [2, '2 seconds ago'],
    [60, 'About a minute ago'],
    [61, 'About a minute ago'],
    [120, '2 minutes ago'],
    [121, '2 minutes ago'],
    [3600, 'About an hour ago'],
    [3601, 'About an hour ago'],
    [5400, '2 hours ago'],
    [5401, '2 hours ago'],
    [47 * 3600 + 1, '47 hours ago'],
    [48 * 3600 + 1, '2 days ago'],
    [14 * 86400, '2 weeks ago'],
    [14 * 86400 + 1, '2 weeks ago'],
    [60 * 86400 + 1, '2 months ago'],
  ];
  for (const [seconds, expected] of dockerCreatedSince) {
    test(`${seconds}s ago`, () =>
      assert.equal(timeAgo((1_700_000_000 - seconds) * 1000, 1_700_000_000_000), expected));
  }

  test('humanDuration boundaries', () => {
    assert.equal(humanDuration(0), 'Less than a second');
    assert.equal(humanDuration(-5000), 'Less than a second');
    assert.equal(humanDuration(59_999), '59 seconds');
    assert.equal(humanDuration(3_599_000), '59 minutes');
    assert.equal(humanDuration(5_399_000), 'About an hour');
    assert.equal(humanDuration(730 * 86_400_000), '2 years');
    assert.equal(humanDuration(3000 * 86_400_000), '8 years');
  });

  test('timeAgo accepts dates and strings', () => {
    const now = Date.parse('2024-01-01T00:10:00Z');
    assert.equal(timeAgo(new Date('2024-01-01T00:00:00Z'), now), '10 minutes ago');
    assert.equal(timeAgo('2024-01-01T00:00:00Z', now), '10 minutes ago');
  });

  test('goDuration prints Go durations', () => {
    assert.equal(goDuration(0), '0s');
    assert.equal(goDuration(1), '1ns');
    assert.equal(goDuration(1500), '1.5µs');
    assert.equal(goDuration(1_500_000), '1.5ms');
    assert.equal(goDuration(1_500_000_000), '1.5s');
    assert.equal(goDuration(61_000_000_000), '1m1s');
    assert.equal(goDuration(3_600_000_000_000), '1h0m0s');
    assert.equal(goDuration(-5_000_000_000n), '-5s');
  });

  test('goTimeString prints Go time.Time strings', () => {
    assert.equal(goTimeString(1700000000, 'UTC'), '2023-11-14 22:13:20 +0000 UTC');
    assert.equal(goTimeString(1700000000, 'America/New_York'), '2023-11-14 17:13:20 -0500 EST');
    assert.equal(goTimeString(1700000000, 'Asia/Kathmandu'), '2023-11-15 03:58:20 +0545 +0545');
  });
});

describe('units: identifiers and text', () => {
  test('truncateId', () => {
    assert.equal(truncateId('sha256:0123456789abcdef0123'), '0123456789ab');
    assert.equal(truncateId('0123456789abcdef'), '0123456789ab');
    assert.equal(truncateId('short'), 'short');
  });

  test('ellipsis, as docker ps cuts COMMAND', () => {
    assert.equal(ellipsis("sh -c 'while true; do sleep 1; done'", 20), "sh -c 'while true; …");
    assert.equal(ellipsis('echo', 20), 'echo');
    assert.equal(ellipsis('abcdefghij', 10), 'abcdefghij');
    assert.equal(ellipsis('abcdefghijk', 10), 'abcdefghi…');
    assert.equal(ellipsis('日本語のテキスト', 7), '日本語…');
    assert.equal(ellipsis('abc', 1), 'a');
    assert.equal(ellipsis('abc', 0), '');
  });
});
