import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { requestedPlatforms } from '../../src/build/service.js';
import {
  allChainIds,
  imageForPlatform,
  type ImageVariant,
  type StoredImage,
} from '../../src/engine/images/store.js';
import type { ImageConfigFile } from '../../src/types/image.js';

function config(architecture: string, diffId: string): ImageConfigFile {
  return { architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } };
}

function variant(architecture: string): ImageVariant {
  const digest = (c: string): string => 'sha256:' + c.repeat(64);
  return {
    platform: { os: 'linux', architecture },
    manifest: {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: digest(architecture[0]),
      size: 1,
    },
    config: config(architecture, `sha256:${architecture}`),
    configDescriptor: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest('c'), size: 1 },
    layers: [],
    diffIds: [`sha256:${architecture}`],
    chainIds: [`sha256:${architecture}`],
  };
}

function stored(variants?: ImageVariant[]): StoredImage {
  const main = variants?.[0] ?? variant('amd64');
  const index = {
    mediaType: 'application/vnd.oci.image.index.v1+json',
    digest: 'sha256:' + 'f'.repeat(64),
    size: 1,
  };
  const image: StoredImage = {
    id: variants ? index.digest : main.configDescriptor.digest,
    target: variants ? index : main.manifest,
    config: main.config,
    configDescriptor: main.configDescriptor,
    manifest: main.manifest,
    layers: main.layers,
    diffIds: main.diffIds,
    chainIds: main.chainIds,
    records: new Map(),
  };
  if (variants) image.variants = variants;
  return image;
}

describe('multi-platform images', () => {
  test('a variant is chosen by platform; none fits: undefined', () => {
    const image = stored([variant('amd64'), variant('arm64')]);
    assert.equal(
      imageForPlatform(image, { os: 'linux', architecture: 'arm64' })?.config.architecture,
      'arm64',
    );
    assert.equal(
      imageForPlatform(image, { os: 'linux', architecture: 'amd64' })?.config.architecture,
      'amd64',
    );
    assert.equal(imageForPlatform(image, { os: 'linux', architecture: 's390x' }), undefined);
  });

  test('a single-platform image fits only its own platform', () => {
    const image = stored();
    assert.equal(imageForPlatform(image, { os: 'linux', architecture: 'amd64' })?.manifest, image.manifest);
    assert.equal(imageForPlatform(image, { os: 'linux', architecture: 'arm64' }), undefined);
  });

  test('layers of every platform count as the image', () => {
    assert.deepEqual(allChainIds(stored([variant('amd64'), variant('arm64')])), [
      'sha256:amd64',
      'sha256:arm64',
    ]);
    assert.deepEqual(allChainIds(stored()), ['sha256:amd64']);
  });

  test('platform lists: each once, in order; none means the default', () => {
    assert.deepEqual(requestedPlatforms('linux/amd64, linux/arm64,linux/amd64'), [
      'linux/amd64',
      'linux/arm64',
    ]);
    assert.deepEqual(requestedPlatforms('linux/arm64'), ['linux/arm64']);
    assert.deepEqual(requestedPlatforms(''), [undefined]);
    assert.deepEqual(requestedPlatforms(undefined), [undefined]);
  });
});
