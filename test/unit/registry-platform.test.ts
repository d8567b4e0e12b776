import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImageIndex, Platform } from '../../src/registry/media-types.js';
import {
  formatPlatform,
  normalizePlatform,
  parsePlatform,
  platformMatches,
  selectPlatform,
} from '../../src/registry/platform.js';
import { isEngineError } from '../../src/common/errors.js';

function index(...platforms: (Platform | undefined)[]): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: platforms.map((platform, i) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${String(i).repeat(64)}`,
      size: 100 + i,
      ...(platform ? { platform } : {}),
    })),
  };
}

const chosen = (idx: ImageIndex, wanted: Parameters<typeof selectPlatform>[1]): number =>
  idx.manifests.indexOf(selectPlatform(idx, wanted));

describe('selectPlatform', () => {
  const multi = index(
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'unknown', architecture: 'unknown' },
    { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
  );

  test('defaults to linux/amd64', () => {
    assert.equal(chosen(multi, undefined), 0);
  });

  test('exact matches', () => {
    assert.equal(chosen(multi, { os: 'linux', architecture: 'arm64' }), 3);
    assert.equal(chosen(multi, { os: 'linux', architecture: 'arm', variant: 'v6' }), 1);
    assert.equal(chosen(multi, { os: 'windows', architecture: 'amd64' }), 5);
  });

  test('arm without a variant means arm/v7', () => {
    assert.equal(chosen(multi, { os: 'linux', architecture: 'arm' }), 2);
  });

  test('aliases are normalised', () => {
    assert.equal(chosen(multi, { os: 'Linux', architecture: 'aarch64' }), 3);
    assert.equal(chosen(multi, { os: 'linux', architecture: 'x86_64' }), 0);
    assert.equal(chosen(multi, { os: 'linux', architecture: 'armhf' }), 2);
  });

  test('arm64 entries without variant serve arm64/v8', () => {
    assert.equal(
      chosen(index({ os: 'linux', architecture: 'arm64' }), {
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
      }),
      0,
    );
  });

  test('falls back to the closest older arm variant', () => {
    const armOnly = index(
      { os: 'linux', architecture: 'arm', variant: 'v5' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    );
    assert.equal(chosen(armOnly, { os: 'linux', architecture: 'arm', variant: 'v7' }), 1);
    assert.throws(() =>
      selectPlatform(index({ os: 'linux', architecture: 'arm', variant: 'v7' }), {
        os: 'linux',
        architecture: 'arm',
        variant: 'v6',
      }),
    );
  });

  test('prefers the first listed on equal matches', () => {
    assert.equal(
      chosen(
        index({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' }),
        undefined,
      ),
      0,
    );
  });

  test('entries without platform are skipped', () => {
    assert.equal(chosen(index(undefined, { os: 'linux', architecture: 'amd64' }), undefined), 1);
  });

  test('no match: Docker message and NotFound', () => {
    assert.throws(
      () =>
        selectPlatform(index({ os: 'linux', architecture: 'amd64' }), { os: 'linux', architecture: 'arm64' }),
      (err: unknown) =>
        isEngineError(err, 'NotFound') &&
        err.message === 'no matching manifest for linux/arm64 in the manifest list entries',
    );
    assert.throws(
      () =>
        selectPlatform(index({ os: 'linux', architecture: 'amd64' }), {
          os: 'linux',
          architecture: 'arm',
          variant: 'v7',
        }),
      { message: 'no matching manifest for linux/arm/v7 in the manifest list entries' },
    );
  });
});

describe('platform helpers', () => {
  test('normalizePlatform', () => {
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' }), {
      os: 'linux',
      architecture: 'arm64',
    });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'arm', variant: '6' }), {
      os: 'linux',
      architecture: 'arm',
      variant: 'v6',
    });
    assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'i386' }), {
      os: 'linux',
      architecture: '386',
    });
  });

  test('parsePlatform and formatPlatform', () => {
    assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64' });
    assert.deepEqual(parsePlatform('linux'), { os: 'linux', architecture: 'amd64' });
    assert.throws(
      () => parsePlatform('linux//x'),
      (err: unknown) => isEngineError(err, 'InvalidParameter'),
    );
    assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  });

  test('platformMatches', () => {
    assert.ok(
      platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'amd64' }),
    );
    assert.ok(
      !platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }),
    );
  });
});
