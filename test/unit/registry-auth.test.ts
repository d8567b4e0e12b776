import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  basicCredentials,
  mergeScopes,
  parseChallenges,
  repositoryScope,
  TokenCache,
} from '../../src/registry/auth.js';

describe('parseChallenges', () => {
  test('Bearer with realm, service and scope', () => {
    assert.deepEqual(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
      ),
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/busybox:pull',
          },
        },
      ],
    );
  });

  test('Basic realm', () => {
    assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });

  test('quoted values keep commas, spaces and escaped quotes', () => {
    const [challenge] = parseChallenges(
      'Bearer realm="https://r/token",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope",note="say \\"hi\\", then go"',
    );
    assert.equal(challenge.params.scope, 'repository:a/b:pull,push repository:c:pull');
    assert.equal(challenge.params.error, 'insufficient_scope');
    assert.equal(challenge.params.note, 'say "hi", then go');
  });

  test('scheme and parameter names are case-insensitive; spaces around = and commas are allowed', () => {
    assert.deepEqual(parseChallenges('BEARER Realm = "x" ,  Service=y'), [
      { scheme: 'bearer', params: { realm: 'x', service: 'y' } },
    ]);
  });

  test('several challenges in one value and across values', () => {
    const challenges = parseChallenges([
      'Basic realm="b", Bearer realm="https://t/token",service="s"',
      'Negotiate',
    ]);
    assert.deepEqual(
      challenges.map((c) => c.scheme),
      ['basic', 'bearer', 'negotiate'],
    );
    assert.deepEqual(challenges[1].params, { realm: 'https://t/token', service: 's' });
  });

  test('tolerates empty and odd input', () => {
    assert.deepEqual(parseChallenges(undefined), []);
    assert.deepEqual(parseChallenges(''), []);
    assert.deepEqual(parseChallenges('Bearer'), [{ scheme: 'bearer', params: {} }]);
    assert.deepEqual(parseChallenges('Bearer realm="unterminated'), [
      { scheme: 'bearer', params: { realm: 'unterminated' } },
    ]);
  });
});

describe('credentials and scopes', () => {
  test('basicCredentials reads username/password or the auth field', () => {
    assert.deepEqual(basicCredentials({ username: 'u', password: 'p' }), { username: 'u', password: 'p' });
    assert.deepEqual(basicCredentials({ auth: Buffer.from('me:se:cret').toString('base64') }), {
      username: 'me',
      password: 'se:cret',
    });
    assert.equal(basicCredentials({ identitytoken: 'x' }), undefined);
    assert.equal(basicCredentials(undefined), undefined);
  });

  test('scopes', () => {
    assert.equal(
      repositoryScope('library/busybox', ['pull', 'push']),
      'repository:library/busybox:pull,push',
    );
    assert.deepEqual(mergeScopes(['repository:a:pull'], 'repository:a:pull repository:b:pull'), [
      'repository:a:pull',
      'repository:b:pull',
    ]);
    assert.deepEqual(mergeScopes(['x'], undefined), ['x']);
  });
});

describe('TokenCache', () => {
  test('keys by realm, service, scopes (any order) and exact credentials', () => {
    const a = TokenCache.key('r', 's', ['x', 'y'], { username: 'u', password: 'p' });
    assert.equal(a, TokenCache.key('r', 's', ['y', 'x'], { username: 'u', password: 'p', email: 'e' }));
    assert.notEqual(a, TokenCache.key('r', 's', ['x', 'y'], { username: 'u', password: 'other' }));
    assert.ok(!a.includes('"p"'), 'the password is not in the key');
    assert.notEqual(a, TokenCache.key('r', 's', ['x', 'y'], { username: 'v', password: 'p' }));
    assert.notEqual(a, TokenCache.key('r', 's', ['x'], { username: 'u', password: 'p' }));
    assert.notEqual(a, TokenCache.key('r2', 's', ['x', 'y'], { username: 'u', password: 'p' }));
    assert.ok(!TokenCache.key('r', 's', [], { identitytoken: 'secret-token' }).includes('secret-token'));
  });

  test('forgets tokens shortly before they expire', () => {
    const cache = new TokenCache();
    const now = 1_000_000;
    cache.set('k', { token: 't', expiresAt: now + 60_000 });
    assert.equal(cache.get('k', now)?.token, 't');
    assert.equal(cache.get('k', now + 45_000)?.token, 't');
    assert.equal(cache.get('k', now + 55_000), undefined);
    assert.equal(cache.get('k', now), undefined, 'an expired token is dropped');
  });
});
