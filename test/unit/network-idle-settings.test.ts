import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { notFound } from '../../src/common/errors.js';
import { idleNetworkSettings, type IdleContainer } from '../../src/engine/containers/networking.js';
import type { ContainerNetworks } from '../../src/engine/containers/deps.js';

/** The lookup idleNetworkSettings uses: user networks have DNS, the default bridge does not. */
const networks = {
  findNetwork: (term: string) => {
    if (term === 'gone') throw notFound(`network ${term} not found`);
    return { id: `id-${term}`, name: term, dns: term !== 'bridge' };
  },
} as unknown as ContainerNetworks;

const ID = 'a1b2c3d4e5f6'.padEnd(64, '0');
const started: IdleContainer = {
  ID,
  Name: '/web',
  Config: { Hostname: 'a1b2c3d4e5f6' },
  HasBeenStartedBefore: true,
};

describe('stopped containers in inspect (idleNetworkSettings)', () => {
  test("keep Docker's DNSNames on networks with DNS: name, aliases, short ID, hostname, no repeats", () => {
    const settings = idleNetworkSettings(
      { front: { Aliases: ['api', 'web'] }, bridge: {} },
      networks,
      started,
    );
    assert.deepEqual(settings.Networks.front.DNSNames, ['web', 'api', 'a1b2c3d4e5f6']);
    assert.equal(settings.Networks.front.NetworkID, 'id-front');
    assert.equal(settings.Networks.front.IPAddress, '');
    assert.equal(settings.Networks.bridge.DNSNames, null);
  });

  test('a custom hostname comes last', () => {
    const named = { ...started, Config: { Hostname: 'box' } };
    assert.deepEqual(idleNetworkSettings({ front: {} }, networks, named).Networks.front.DNSNames, [
      'web',
      'a1b2c3d4e5f6',
      'box',
    ]);
  });

  test('a container that never started, or without the container given, has none', () => {
    const fresh = { ...started, HasBeenStartedBefore: false };
    assert.equal(idleNetworkSettings({ front: {} }, networks, fresh).Networks.front.DNSNames, null);
    assert.equal(idleNetworkSettings({ front: {} }, networks).Networks.front.DNSNames, null);
  });

  test('a removed network is shown without an ID or names', () => {
    const settings = idleNetworkSettings({ gone: {} }, networks, started);
    assert.equal(settings.Networks.gone.NetworkID, '');
    assert.equal(settings.Networks.gone.DNSNames, null);
  });
});
