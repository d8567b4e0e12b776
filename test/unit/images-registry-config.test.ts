import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRegistryAuth, planMirrors } from '../../src/engine/images/registry-config.js';

describe('registry settings', () => {
  test('plain mirrors are Docker Hub mirrors; ?registry= names the registry mirrored', () => {
    assert.deepEqual(
      planMirrors([
        'https://hub-cache.example/',
        'http://10.0.0.5:5000/?registry=registry.example:5000',
        'http://10.0.0.6:5000?registry=registry.example:5000&registry=quay.io',
        'not a url',
      ]),
      {
        hub: ['https://hub-cache.example'],
        byRegistry: {
          'registry.example:5000': ['http://10.0.0.5:5000', 'http://10.0.0.6:5000'],
          'quay.io': ['http://10.0.0.6:5000'],
        },
      },
    );
  });

  test('X-Registry-Auth: base64url (or standard) JSON; junk counts as none', () => {
    const encode = (value: unknown, encoding: BufferEncoding = 'base64url'): string =>
      Buffer.from(JSON.stringify(value)).toString(encoding);
    assert.deepEqual(
      decodeRegistryAuth(encode({ username: 'u', password: 'p?>', serveraddress: 'r:5000' })),
      {
        username: 'u',
        password: 'p?>',
        serveraddress: 'r:5000',
      },
    );
    assert.deepEqual(decodeRegistryAuth(encode({ identitytoken: 't' }, 'base64')), { identitytoken: 't' });
    assert.equal(decodeRegistryAuth(encode({})), undefined);
    assert.equal(decodeRegistryAuth('e30='), undefined);
    assert.equal(decodeRegistryAuth('%%%'), undefined);
    assert.equal(decodeRegistryAuth(undefined), undefined);
    assert.equal(decodeRegistryAuth(encode(['x'])), undefined);
  });
});
