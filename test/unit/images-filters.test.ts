import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LIST_FILTERS,
  boolFilter,
  familiarMatch,
  globToRegExp,
  matchLabels,
  parseTimestampFilter,
  validateFilters,
} from '../../src/engine/images/filters.js';

const filters = (entries: Record<string, string[]>): Map<string, string[]> =>
  new Map(Object.entries(entries));

describe('image filters', () => {
  test('path.Match globs never cross a slash', () => {
    assert.ok(globToRegExp('busy*').test('busybox'));
    assert.ok(!globToRegExp('*').test('library/busybox'));
    assert.ok(globToRegExp('*/*').test('library/busybox'));
    assert.ok(globToRegExp('b?sybox:[a-l]*').test('busybox:latest'));
    assert.ok(!globToRegExp('busybox:[^l]*').test('busybox:latest'));
    assert.ok(globToRegExp('a\\*b').test('a*b'));
    assert.ok(!globToRegExp('a\\*b').test('axb'));
  });

  test('reference matches the name with tag, then the bare name', () => {
    assert.ok(familiarMatch('busybox', 'busybox:latest', 'busybox'));
    assert.ok(familiarMatch('busybox:lat*', 'busybox:latest', 'busybox'));
    assert.ok(!familiarMatch('busybox:1*', 'busybox:latest', 'busybox'));
    assert.ok(familiarMatch('localhost:5000/*', 'localhost:5000/app:v1', 'localhost:5000/app'));
  });

  test('labels: presence, value, negation', () => {
    const labels = { a: '1', b: '' };
    assert.ok(matchLabels(filters({ label: ['a'] }), labels));
    assert.ok(matchLabels(filters({ label: ['a=1', 'b='] }), labels));
    assert.ok(!matchLabels(filters({ label: ['a=2'] }), labels));
    assert.ok(!matchLabels(filters({ label: ['c'] }), labels));
    assert.ok(!matchLabels(filters({ 'label!': ['a'] }), labels));
    assert.ok(matchLabels(filters({ 'label!': ['a=2'] }), labels));
    assert.ok(matchLabels(filters({}), null));
  });

  test('dangling must be a boolean', () => {
    assert.equal(boolFilter(filters({ dangling: ['TRUE'] }), 'dangling', false), true);
    assert.equal(boolFilter(filters({ dangling: ['0'] }), 'dangling', true), false);
    assert.equal(boolFilter(filters({}), 'dangling', true), true);
    assert.throws(
      () => boolFilter(filters({ dangling: ['maybe'] }), 'dangling', false),
      /invalid filter 'dangling=maybe'/,
    );
  });

  test("unknown keys are refused with Docker's message", () => {
    assert.throws(
      () => validateFilters(filters({ size: ['1'] }), LIST_FILTERS),
      /^Error: invalid filter 'size'$|invalid filter 'size'/,
    );
    validateFilters(filters({ reference: ['x'], 'label!': ['y'] }), LIST_FILTERS);
  });

  test('timestamps: durations, Unix seconds, RFC 3339 dates', () => {
    const now = Date.UTC(2024, 0, 2);
    assert.equal(parseTimestampFilter('24h', now), Date.UTC(2024, 0, 1));
    assert.equal(parseTimestampFilter('1h30m', now), now - 90 * 60_000);
    assert.equal(parseTimestampFilter('1700000000', now), 1_700_000_000_000);
    assert.equal(parseTimestampFilter('1700000000.5', now), 1_700_000_000_500);
    assert.equal(parseTimestampFilter('2024-01-01', now), Date.UTC(2024, 0, 1));
    assert.equal(parseTimestampFilter('2024-01-01T10:00:00Z', now), Date.UTC(2024, 0, 1, 10));
    assert.throws(() => parseTimestampFilter('yesterday', now), /failed to parse value as time or duration/);
  });
});
