import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HUB_SERVER,
  convertToHostname,
  credentialsFor,
  encodeRegistryAuth,
  serverKeyForDomain,
} from '../../src/cli/commands/image/auth.js';
import { HistoryContext, rfc3339Local } from '../../src/cli/commands/image/history.js';
import { imageRows, renderImages } from '../../src/cli/commands/image/list.js';
import { loginServerKey } from '../../src/cli/commands/image/login.js';
import { imagePruneReport } from '../../src/cli/commands/image/prune.js';
import { pullQuery } from '../../src/cli/commands/image/pull.js';
import type { ImageSummary } from '../../src/types/image.js';

const ID = 'sha256:' + 'a'.repeat(64);
const DIGEST = 'sha256:' + 'b'.repeat(64);

function summary(tags: string[], digests: string[]): ImageSummary {
  return {
    Id: ID,
    ParentId: '',
    RepoTags: tags,
    RepoDigests: digests,
    Created: Math.floor(Date.now() / 1000) - 3 * 3600,
    Size: 4_261_000,
    SharedSize: -1,
    Labels: {},
    Containers: -1,
  };
}

describe('berth images', () => {
  test('rows per repository tag, digests only with --digests (docker/cli imageFormatTaggedAndDigest)', () => {
    const image = summary(
      ['busybox:latest', 'busybox:1', 'me/app:v1'],
      [`busybox@${DIGEST}`, `other@${DIGEST}`],
    );
    const plain = imageRows(image, false, true).map((r) => [r.Repository(), r.Tag(), r.Digest()]);
    assert.deepEqual(plain, [
      ['busybox', 'latest', '<none>'],
      ['busybox', '1', '<none>'],
      ['me/app', 'v1', '<none>'],
      ['other', '<none>', ''],
    ]);
    const withDigests = imageRows(image, true, true).map((r) => [r.Repository(), r.Tag(), r.Digest()]);
    assert.deepEqual(withDigests, [
      ['busybox', 'latest', DIGEST],
      ['busybox', '1', DIGEST],
      ['me/app', 'v1', '<none>'],
      ['other', '<none>', DIGEST],
    ]);
    assert.deepEqual(
      imageRows(summary([], []), true, true).map((r) => [r.Repository(), r.Tag(), r.Digest()]),
      [['<none>', '<none>', '<none>']],
    );
    assert.deepEqual(
      imageRows(summary(['<none>:<none>'], ['<none>@<none>']), false, true).map((r) => r.Repository()),
      ['<none>'],
      'the pre-1.43 dangling placeholders',
    );
  });

  test('table, quiet and --no-trunc output', () => {
    const out = renderImages([summary(['busybox:latest'], [])], { filter: [] });
    assert.equal(
      out,
      'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n' +
        'busybox      latest    aaaaaaaaaaaa   3 hours ago   4.26MB\n',
    );
    assert.equal(
      renderImages([summary(['a:1', 'b:2'], [])], { filter: [], quiet: true }),
      'aaaaaaaaaaaa\naaaaaaaaaaaa\n',
    );
    assert.match(
      renderImages([summary(['a:1'], [])], { filter: [], noTrunc: true, quiet: true }),
      new RegExp(`^${ID}\n$`),
    );
  });

  test('history rows: truncation, human and machine sizes', () => {
    const item = {
      Id: ID,
      Created: 1704067200,
      CreatedBy: '/bin/sh -c\t' + 'x'.repeat(60),
      Tags: null,
      Size: 2_048_000,
      Comment: '',
    };
    const human = new HistoryContext(item, true, true);
    assert.equal(human.ID(), 'aaaaaaaaaaaa');
    assert.equal(human.CreatedBy().length, 45);
    assert.ok(human.CreatedBy().startsWith('/bin/sh -c x') && human.CreatedBy().endsWith('…'));
    assert.equal(human.Size(), '2.05MB');
    const machine = new HistoryContext({ ...item, Id: '<missing>' }, false, false);
    assert.equal(machine.ID(), '<missing>');
    assert.equal(machine.Size(), '2048000');
    assert.equal(machine.CreatedSince(), rfc3339Local(1704067200));
    assert.match(rfc3339Local(1704067200), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
  });

  test('prune report', () => {
    assert.equal(
      imagePruneReport({
        ImagesDeleted: [{ Untagged: 'busybox:latest' }, { Deleted: ID }],
        SpaceReclaimed: 4_261_000,
      }),
      `Deleted Images:\nuntagged: busybox:latest\ndeleted: ${ID}\n\nTotal reclaimed space: 4.261MB\n`,
    );
    assert.equal(imagePruneReport({ ImagesDeleted: null, SpaceReclaimed: 0 }), 'Total reclaimed space: 0B\n');
  });
});

describe('berth pull and credentials', () => {
  test('pull query as the docker client sends it', () => {
    assert.deepEqual(pullQuery('busybox', false), { fromImage: 'busybox', tag: 'latest' });
    assert.deepEqual(pullQuery('localhost:5000/a/b:v1', false), {
      fromImage: 'localhost:5000/a/b',
      tag: 'v1',
    });
    assert.deepEqual(pullQuery(`busybox@${DIGEST}`, false), { fromImage: 'busybox', tag: DIGEST });
    assert.deepEqual(pullQuery('busybox', true), { fromImage: 'busybox' });
  });

  test('config.json lookups by hostname, Docker Hub under its URL', () => {
    const config = {
      auths: {
        'https://registry.example:5000/v2/': { auth: Buffer.from('u:p:x').toString('base64') },
        [HUB_SERVER]: { auth: Buffer.from('hub:pw').toString('base64') },
        'token.example': { identitytoken: 'refresh' },
      },
    };
    assert.deepEqual(credentialsFor(config, 'registry.example:5000'), {
      serveraddress: 'https://registry.example:5000/v2/',
      username: 'u',
      password: 'p:x',
    });
    assert.deepEqual(credentialsFor(config, serverKeyForDomain('docker.io')), {
      serveraddress: HUB_SERVER,
      username: 'hub',
      password: 'pw',
    });
    assert.deepEqual(credentialsFor(config, 'token.example'), {
      serveraddress: 'token.example',
      identitytoken: 'refresh',
    });
    assert.equal(credentialsFor(config, 'other.example'), undefined);
    assert.equal(convertToHostname('http://h:1/v1/'), 'h:1');
    assert.equal(encodeRegistryAuth(undefined), 'e30=');
    assert.equal(
      Buffer.from(encodeRegistryAuth({ username: 'a?>' }), 'base64url').toString(),
      '{"username":"a?>"}',
    );
  });

  test('login server keys', () => {
    assert.equal(loginServerKey(undefined), HUB_SERVER);
    assert.equal(loginServerKey('docker.io'), HUB_SERVER);
    assert.equal(loginServerKey('https://index.docker.io/v1/'), HUB_SERVER);
    assert.equal(loginServerKey('localhost:5000'), 'localhost:5000');
  });
});
