import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressWriter, progressStep } from '../../src/engine/images/progress.js';
import { danglingName } from '../../src/engine/images/references.js';
import type { ImageRecord, StoredImage } from '../../src/engine/images/store.js';
import {
  containerConfigOf,
  historyOf,
  inspectOf,
  rfc3339Nano,
  summaryOf,
} from '../../src/engine/images/views.js';
import { parseNormalizedNamed } from '../../src/registry/reference.js';
import type { JSONMessage } from '../../src/types/image.js';

const ID = 'sha256:' + '1'.repeat(64);
const MANIFEST = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: 'sha256:' + '2'.repeat(64),
  size: 400,
};

function image(names: string[], history?: StoredImage['config']['history']): StoredImage {
  const records = new Map<string, ImageRecord>();
  for (const name of names) {
    const record: ImageRecord = { name, imageId: ID, target: MANIFEST, labels: {} };
    if (!name.startsWith('berth-dangling@')) record.ref = parseNormalizedNamed(name);
    records.set(name, record);
  }
  return {
    id: ID,
    config: {
      architecture: 'amd64',
      os: 'linux',
      created: '2024-01-01T00:00:00.500000000Z',
      config: { Cmd: ['sh'], Labels: { a: 'b' } },
      rootfs: { type: 'layers', diff_ids: ['sha256:d1', 'sha256:d2'] },
      history,
    },
    configDescriptor: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: ID, size: 100 },
    manifest: MANIFEST,
    target: MANIFEST,
    layers: [],
    diffIds: ['sha256:d1', 'sha256:d2'],
    chainIds: ['sha256:d1', 'sha256:c2'],
    records,
  };
}

const DIGEST = 'sha256:' + '3'.repeat(64);

describe('image views', () => {
  test('summary: familiar tags and digests, sorted; dangling images have neither', () => {
    const names = [
      'docker.io/library/busybox:latest',
      `docker.io/library/busybox@${DIGEST}`,
      'localhost:5000/app:v1',
      'docker.io/me/app:2',
    ];
    const summary = summaryOf(image(names), 1234);
    assert.deepEqual(summary.RepoTags, ['busybox:latest', 'localhost:5000/app:v1', 'me/app:2']);
    assert.deepEqual(summary.RepoDigests, [`busybox@${DIGEST}`]);
    assert.equal(summary.Created, 1704067200);
    assert.equal(summary.Size, 1234);
    assert.deepEqual(summary.Labels, { a: 'b' });
    assert.equal(summary.SharedSize, -1);
    const dangling = summaryOf(image([danglingName(ID)]), 0);
    assert.deepEqual([dangling.RepoTags, dangling.RepoDigests], [[], []]);
  });

  test('inspect: Docker field set, container config filled in, RFC 3339 nanos', () => {
    const inspect = inspectOf(image(['docker.io/library/busybox:latest']), 99);
    assert.equal(inspect.Created, '2024-01-01T00:00:00.5Z');
    assert.deepEqual(Object.keys(inspect.Config!), [
      'Hostname',
      'Domainname',
      'User',
      'AttachStdin',
      'AttachStdout',
      'AttachStderr',
      'Tty',
      'OpenStdin',
      'StdinOnce',
      'Env',
      'Cmd',
      'Image',
      'Volumes',
      'WorkingDir',
      'Entrypoint',
      'OnBuild',
      'Labels',
    ]);
    assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: ['sha256:d1', 'sha256:d2'] });
    assert.equal(inspect.Size, 99);
    assert.equal(inspect.GraphDriver.Name, 'overlayfs');
    assert.deepEqual(
      containerConfigOf({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }).Env,
      null,
    );
  });

  test('RFC3339Nano drops trailing zeros like Go', () => {
    assert.equal(rfc3339Nano('2024-05-06T07:08:09.120000000Z'), '2024-05-06T07:08:09.12Z');
    assert.equal(rfc3339Nano('2024-05-06T07:08:09.000Z'), '2024-05-06T07:08:09Z');
    assert.equal(rfc3339Nano('2024-05-06T07:08:09.123456789+02:00'), '2024-05-06T07:08:09.123456789+02:00');
    assert.equal(rfc3339Nano(undefined), '0001-01-01T00:00:00Z');
  });

  test('history: newest first, empty layers sized 0, the top one with ID and tags', () => {
    const history = historyOf(
      image(
        ['docker.io/library/busybox:latest'],
        [
          { created: '2024-01-01T00:00:00Z', created_by: 'ADD rootfs' },
          { created: '2024-01-02T00:00:00Z', created_by: 'ENV A=1', empty_layer: true },
          { created: '2024-01-03T00:00:00Z', created_by: 'RUN touch x', comment: 'c' },
        ],
      ),
      [100, 5],
    );
    assert.deepEqual(history, [
      {
        Id: ID,
        Created: 1704240000,
        CreatedBy: 'RUN touch x',
        Tags: ['busybox:latest'],
        Size: 5,
        Comment: 'c',
      },
      { Id: '<missing>', Created: 1704153600, CreatedBy: 'ENV A=1', Tags: null, Size: 0, Comment: '' },
      { Id: '<missing>', Created: 1704067200, CreatedBy: 'ADD rootfs', Tags: null, Size: 100, Comment: '' },
    ]);
    const untagged = historyOf(image([danglingName(ID)]), [1, 2]);
    assert.equal(untagged.length, 2, 'one entry per layer when the config has no history');
    assert.equal(untagged[0].Tags, null);
  });
});

describe('JSON progress messages', () => {
  test("shapes of moby's stream formatter", () => {
    const messages: JSONMessage[] = [];
    const progress = new ProgressWriter((m) => messages.push(m));
    progress.status('Pulling from library/busybox', 'latest');
    progress.update('abc', 'Pulling fs layer');
    progress.update('abc', 'Downloading', 512, 2048);
    progress.status('Digest: sha256:x');
    progress.aux({ Tag: 't' });
    progress.error(new Error('boom'));
    progress.stream('Loaded image: x\n');
    assert.deepEqual(messages, [
      { status: 'Pulling from library/busybox', id: 'latest' },
      { status: 'Pulling fs layer', progressDetail: {}, id: 'abc' },
      {
        status: 'Downloading',
        progressDetail: { current: 512, total: 2048 },
        progress: '[============>                                      ]     512B/2.048kB',
        id: 'abc',
      },
      { status: 'Digest: sha256:x' },
      { progressDetail: {}, aux: { Tag: 't' } },
      { errorDetail: { message: 'boom' }, error: 'boom' },
      { stream: 'Loaded image: x\n' },
    ]);
    assert.deepEqual(Object.keys(messages[2]), ['status', 'progressDetail', 'progress', 'id']);
  });

  test('updates every 512 KiB, or every 1% of smaller blobs', () => {
    assert.equal(progressStep(1024 * 1024 * 1024), 512 * 1024);
    assert.equal(progressStep(10_000), 100);
    assert.equal(progressStep(0), 512 * 1024);
  });
});
