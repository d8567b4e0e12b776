import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  credentialsKey,
  digestError,
  familiarName,
  familiarString,
  parseDockerRef,
  parseNormalizedNamed,
  parseReference,
  referenceName,
  referenceString,
  registryApiHost,
  withDefaultTag,
  withDigest,
  withTag,
} from '../../src/registry/reference.js';
import { isEngineError } from '../../src/common/errors.js';

const D = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c';
const HEX = D.slice('sha256:'.length);

function invalid(s: string, message?: string): void {
  assert.throws(
    () => parseNormalizedNamed(s),
    (err: unknown) => {
      assert.ok(isEngineError(err, 'InvalidParameter'), `${s}: ${String(err)}`);
      if (message !== undefined) assert.equal(err.message, message);
      return true;
    },
    s,
  );
}

describe('parseNormalizedNamed', () => {
  test('normalises familiar names to Docker Hub', () => {
    const cases: [string, string][] = [
      ['busybox', 'docker.io/library/busybox'],
      ['busybox:latest', 'docker.io/library/busybox:latest'],
      ['library/busybox', 'docker.io/library/busybox'],
      ['docker.io/busybox', 'docker.io/library/busybox'],
      ['index.docker.io/busybox', 'docker.io/library/busybox'],
      ['index.docker.io/fooo/bar', 'docker.io/fooo/bar'],
      ['docker.io/library/foo/bar', 'docker.io/library/foo/bar'],
      ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
      ['test_com/foo', 'docker.io/test_com/foo'],
      ['redis@' + D, 'docker.io/library/redis@' + D],
      ['busybox:1.36@' + D, 'docker.io/library/busybox:1.36@' + D],
      ['docker.io/' + HEX, 'docker.io/library/' + HEX],
      [HEX.slice(0, 63), 'docker.io/library/' + HEX.slice(0, 63)],
      ['192.168.0.1', 'docker.io/library/192.168.0.1'],
      ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(referenceString(parseNormalizedNamed(input)), expected, input);
    }
  });

  test('recognises registry hosts the way Docker guesses them', () => {
    const cases: [string, string, string][] = [
      ['localhost/x', 'localhost', 'x'],
      ['localhost:5000/x/y', 'localhost:5000', 'x/y'],
      ['test.com/foo', 'test.com', 'foo'],
      ['test.com:8080/foo', 'test.com:8080', 'foo'],
      ['test-com:8080/foo', 'test-com:8080', 'foo'],
      ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
      ['127.0.0.1:5000/library/debian', '127.0.0.1:5000', 'library/debian'],
      ['192.168.0.1:8/debian', '192.168.0.1:8', 'debian'],
      ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000', 'docker/docker'],
      ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000', 'library/debian'],
      ['Foo/bar', 'Foo', 'bar'],
      ['FOO/bar', 'FOO', 'bar'],
      ['docker/migrator', 'docker.io', 'docker/migrator'],
    ];
    for (const [input, domain, path] of cases) {
      const ref = parseNormalizedNamed(input);
      assert.deepEqual([ref.domain, ref.path], [domain, path], input);
    }
  });

  test('host:port/ns/name:tag and name:tag@digest keep every part', () => {
    assert.deepEqual(parseNormalizedNamed('reg.example:5000/ns/name:v1.2'), {
      domain: 'reg.example:5000',
      path: 'ns/name',
      tag: 'v1.2',
    });
    assert.deepEqual(parseNormalizedNamed('name:tag@' + D), {
      domain: 'docker.io',
      path: 'library/name',
      tag: 'tag',
      digest: D,
    });
    assert.deepEqual(parseNormalizedNamed('name@' + D), {
      domain: 'docker.io',
      path: 'library/name',
      digest: D,
    });
  });

  test('rejects uppercase repository names with Docker message', () => {
    invalid('Foo', 'invalid reference format: repository name (library/Foo) must be lowercase');
    invalid('docker/Docker', 'invalid reference format: repository name (docker/Docker) must be lowercase');
    invalid(
      'docker.io/docker/Docker',
      'invalid reference format: repository name (docker/Docker) must be lowercase',
    );
    invalid('localhost:5000/Foo:tag', 'invalid reference format: repository name (Foo) must be lowercase');
  });

  test('rejects malformed names with "invalid reference format"', () => {
    for (const s of [
      'https://github.com/docker/docker',
      '-docker',
      '-docker/docker',
      '-docker.io/docker/docker',
      'docker///docker',
      'docker.io/docker///docker',
      '[fc00::1]',
      '[fc00::1]:5000',
      'fc00::1:5000/debian',
      '[fe80::1%eth0]:5000/debian',
      '[2001:db8:3:4::192.0.2.33]:5000/debian',
      'docker-/docker',
      '-docker-/docker',
      '____/____',
      '_docker/_docker',
      'dock..er/docker',
      'dock_.er/docker',
      'dock-.er/docker',
      'docker/',
      'busybox:',
      'busybox:-tag',
      'busybox:' + 'a'.repeat(129),
      'busybox@sha256:abc',
      'a b',
      ':tag',
    ]) {
      invalid(s, 'invalid reference format');
    }
  });

  test('accepts the name forms Docker accepts', () => {
    for (const s of [
      'docker-rules/docker',
      'docker---rules/docker',
      'd/docker',
      'jess/t',
      'dock__er/docker',
      'ab/b_c__d-e---f.g/h',
      'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
      'busybox:' + 'a'.repeat(128),
      'busybox:_x.Y-1',
    ]) {
      assert.doesNotThrow(() => parseNormalizedNamed(s), s);
    }
  });

  test('refuses 64-hex names as ambiguous with image IDs', () => {
    invalid(HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`);
  });

  test('refuses too long names', () => {
    const long = 'a'.repeat(256);
    invalid('x.io/' + long, 'repository name must not be more than 255 characters');
  });

  test('digest problems use go-digest messages', () => {
    invalid('busybox@sha256:' + 'a'.repeat(40), 'invalid checksum digest length');
    invalid('busybox@sha256:' + 'A'.repeat(64), 'invalid checksum digest format');
    invalid('busybox@md5:' + 'a'.repeat(32), 'unsupported digest algorithm');
    assert.equal(
      parseNormalizedNamed('busybox@sha512:' + 'b'.repeat(128)).digest,
      'sha512:' + 'b'.repeat(128),
    );
  });
});

describe('parseReference', () => {
  test('does not normalise', () => {
    assert.deepEqual(parseReference('busybox'), { domain: '', path: 'busybox' });
    // Like distribution's Parse: any first component that could be a host is taken as one.
    assert.deepEqual(parseReference('library/busybox:1'), { domain: 'library', path: 'busybox', tag: '1' });
    assert.deepEqual(parseReference('a.b/c'), { domain: 'a.b', path: 'c' });
  });
  test('reports uppercase names and empty input', () => {
    assert.throws(() => parseReference('Busybox'), { message: 'repository name must be lowercase' });
    assert.throws(() => parseReference(''), { message: 'repository name must have at least one component' });
  });
});

describe('familiar forms', () => {
  test('familiarName drops docker.io and library/', () => {
    const cases: [string, string][] = [
      ['docker.io/library/busybox', 'busybox'],
      ['busybox', 'busybox'],
      ['docker.io/fooo/bar', 'fooo/bar'],
      ['docker.io/library/foo/bar', 'library/foo/bar'],
      ['docker.io/other/library', 'other/library'],
      ['127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase'],
      ['example.com:8000/private/moonbase', 'example.com:8000/private/moonbase'],
      ['localhost/x', 'localhost/x'],
      ['Foo/bar', 'Foo/bar'],
    ];
    for (const [input, expected] of cases) {
      assert.equal(familiarName(parseNormalizedNamed(input)), expected, input);
    }
  });

  test('familiarString keeps tag and digest', () => {
    const short = 'busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa';
    const ref = parseNormalizedNamed(short);
    assert.equal(referenceString(ref), 'docker.io/library/' + short);
    assert.equal(familiarString(ref), short);
    assert.equal(familiarString(parseNormalizedNamed('localhost:5000/a:b')), 'localhost:5000/a:b');
  });

  test('referenceName has no tag', () => {
    assert.equal(referenceName(parseNormalizedNamed('busybox:1')), 'docker.io/library/busybox');
  });
});

describe('tags and digests', () => {
  test('withDefaultTag adds latest only to bare names', () => {
    assert.equal(withDefaultTag(parseNormalizedNamed('busybox')).tag, 'latest');
    assert.equal(withDefaultTag(parseNormalizedNamed('busybox:1')).tag, '1');
    const pinned = withDefaultTag(parseNormalizedNamed('busybox@' + D));
    assert.equal(pinned.tag, undefined);
    assert.equal(pinned.digest, D);
  });

  test('parseDockerRef keeps the digest over the tag', () => {
    assert.deepEqual(parseDockerRef('busybox:1@' + D), {
      domain: 'docker.io',
      path: 'library/busybox',
      digest: D,
    });
    assert.equal(referenceString(parseDockerRef('busybox')), 'docker.io/library/busybox:latest');
  });

  test('withTag and withDigest validate', () => {
    const ref = parseNormalizedNamed('busybox@' + D);
    assert.deepEqual(withTag(ref, 'v2'), { domain: 'docker.io', path: 'library/busybox', tag: 'v2' });
    assert.throws(() => withTag(ref, '-foo'), { message: 'invalid tag format' });
    assert.throws(() => withDigest(ref, 'foo'), { message: 'invalid checksum digest format' });
    assert.equal(withDigest(parseNormalizedNamed('a:b'), D).digest, D);
  });

  test('digestError', () => {
    assert.equal(digestError(D), undefined);
    assert.equal(digestError('sha256:'), 'invalid checksum digest format');
    assert.equal(digestError(':abc'), 'invalid checksum digest format');
    assert.equal(digestError('sha384:' + 'c'.repeat(96)), undefined);
  });
});

describe('registry hosts', () => {
  test('Docker Hub API host and credentials key', () => {
    assert.equal(registryApiHost('docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('index.docker.io'), 'registry-1.docker.io');
    assert.equal(registryApiHost('127.0.0.1:5000'), '127.0.0.1:5000');
    assert.equal(credentialsKey('docker.io'), 'https://index.docker.io/v1/');
    assert.equal(credentialsKey('quay.io'), 'quay.io');
  });
});
