import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pullReference } from '../../src/api/router/image/routes.js';
import {
  classifyImageArgument,
  danglingName,
  noSuchImage,
  parseRecordName,
  recordNameOf,
  shortId,
} from '../../src/engine/images/references.js';
import { isSingleReference } from '../../src/engine/images/remove.js';
import { pushReference } from '../../src/engine/images/push.js';
import { parseNormalizedNamed } from '../../src/registry/reference.js';

const ID = 'sha256:' + 'ab'.repeat(32);
const DIGEST = 'sha256:' + 'cd'.repeat(32);

describe('image references', () => {
  test('record names are fully qualified references; tag plus digest keeps the digest', () => {
    assert.equal(recordNameOf(parseNormalizedNamed('busybox')), 'docker.io/library/busybox:latest');
    assert.equal(recordNameOf(parseNormalizedNamed('me/app:1')), 'docker.io/me/app:1');
    assert.equal(
      recordNameOf(parseNormalizedNamed(`localhost:5000/x:t@${DIGEST}`)),
      `localhost:5000/x@${DIGEST}`,
    );
    assert.deepEqual(parseRecordName('docker.io/library/busybox:latest'), {
      domain: 'docker.io',
      path: 'library/busybox',
      tag: 'latest',
    });
    assert.equal(parseRecordName(danglingName(ID)), undefined);
    assert.equal(parseRecordName('busybox:latest'), undefined, 'not fully qualified: a foreign record');
  });

  test('IDs, ID prefixes and names are told apart as moby does', () => {
    assert.deepEqual(classifyImageArgument(ID), { kind: 'id', id: ID });
    assert.deepEqual(classifyImageArgument(ID.slice(7)), { kind: 'id', id: ID });
    assert.deepEqual(classifyImageArgument('sha256:abab'), { kind: 'id', id: 'sha256:abab' });
    const short = classifyImageArgument('abab12');
    assert.equal(short.kind, 'reference');
    assert.equal(short.kind === 'reference' && short.idPrefix, 'abab12');
    const named = classifyImageArgument('busybox');
    assert.equal(named.kind === 'reference' && named.idPrefix, undefined);
    assert.throws(() => classifyImageArgument('BusyBox'), /must be lowercase/);
    assert.throws(() => classifyImageArgument(''), /invalid reference format/);
  });

  test('"No such image" names what was asked, as Docker words it', () => {
    assert.equal(noSuchImage('busybox').message, 'No such image: busybox:latest');
    assert.equal(noSuchImage('docker.io/library/busybox:1').message, 'No such image: busybox:1');
    assert.equal(noSuchImage(ID.slice(7)).message, `No such image: ${ID}`);
    assert.equal(shortId(ID), 'abababababab');
  });

  test('pull references from fromImage and tag', () => {
    assert.deepEqual(pullReference('busybox', 'latest'), {
      domain: 'docker.io',
      path: 'library/busybox',
      tag: 'latest',
    });
    assert.deepEqual(pullReference('busybox', DIGEST), {
      domain: 'docker.io',
      path: 'library/busybox',
      digest: DIGEST,
    });
    assert.deepEqual(
      pullReference('busybox', ''),
      { domain: 'docker.io', path: 'library/busybox' },
      'all tags',
    );
    assert.deepEqual(pullReference('busybox:', ''), { domain: 'docker.io', path: 'library/busybox' });
    assert.deepEqual(pullReference('busybox:1.36', ''), {
      domain: 'docker.io',
      path: 'library/busybox',
      tag: '1.36',
    });
    assert.throws(() => pullReference('busybox', 'bad tag'), /invalid tag format/);
  });

  test('push references', () => {
    assert.deepEqual(pushReference('localhost:5000/app', 'v1'), {
      domain: 'localhost:5000',
      path: 'app',
      tag: 'v1',
    });
    assert.deepEqual(pushReference('localhost:5000/app', ''), { domain: 'localhost:5000', path: 'app' });
    assert.throws(() => pushReference(`app@${DIGEST}`, ''), /cannot push a digest reference/);
  });

  test('isSingleReference: one tag plus digests of its repository', () => {
    const ref = (s: string) => parseNormalizedNamed(s);
    assert.equal(isSingleReference([]), false);
    assert.equal(isSingleReference([ref('a:1')]), true);
    assert.equal(isSingleReference([ref('a:1'), ref(`a@${DIGEST}`)]), true);
    assert.equal(isSingleReference([ref('a:1'), ref('a:2')]), false);
    assert.equal(isSingleReference([ref('a:1'), ref(`b@${DIGEST}`)]), false);
    assert.equal(isSingleReference([ref(`a@${DIGEST}`), ref(`a@${ID}`)]), true);
  });
});
