import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import {
  mountPointView,
  ociMountsOf,
  parseBind,
  parseMountSpec,
  parseVolumesFrom,
  planMounts,
  type MountPointRecord,
} from '../../src/engine/containers/mounts.js';
import {
  attachKindOf,
  endpointsAtCreate,
  idleNetworkSettings,
  portList,
} from '../../src/engine/containers/networking.js';
import { ContainerSizes } from '../../src/engine/containers/sizes.js';
import type { ContainerNetworks } from '../../src/engine/containers/deps.js';
import { notFound } from '../../src/common/errors.js';

const invalid = (message: RegExp) => (err: unknown) =>
  isEngineError(err, 'InvalidParameter') && message.test((err as Error).message);

describe('-v / Binds', () => {
  test('named volumes, binds, modes and propagation', () => {
    assert.deepEqual(parseBind('data:/srv/'), {
      Type: 'volume',
      Name: 'data',
      Source: '',
      Destination: '/srv',
      Driver: 'local',
      Mode: 'z',
      RW: true,
      Propagation: '',
      CopyData: true,
    });
    const ro = parseBind('/host/dir:/in:ro,rshared');
    assert.equal(ro.Type, 'bind');
    assert.equal(ro.Source, '/host/dir');
    assert.equal(ro.RW, false);
    assert.equal(ro.Mode, 'ro,rshared');
    assert.equal(ro.Propagation, 'rshared');
    assert.equal(ro.CreateSource, true);
    assert.equal(parseBind('/h:/c').Propagation, 'rprivate');
    assert.equal(parseBind('v:/c:nocopy').CopyData, false);
  });

  test("docker's errors", () => {
    assert.throws(() => parseBind('/only'), invalid(/invalid volume specification: '\/only'/));
    assert.throws(() => parseBind('/a:rw'), invalid(/invalid volume specification/));
    assert.throws(() => parseBind('v:/c:bogus'), invalid(/^invalid mode: bogus$/));
    assert.throws(() => parseBind('v:/c:ro,rw'), invalid(/invalid mode/));
    assert.throws(() => parseBind('v:relative'), invalid(/mount path must be absolute/));
    assert.throws(() => parseBind('v:/'), invalid(/destination can't be '\/'/));
  });

  test('--volumes-from modes', () => {
    assert.deepEqual(parseVolumesFrom('c1'), { container: 'c1', mode: '' });
    assert.deepEqual(parseVolumesFrom('c1:ro'), { container: 'c1', mode: 'ro' });
    assert.throws(() => parseVolumesFrom('c1:rshared'), invalid(/invalid mode/));
    assert.throws(() => parseVolumesFrom('c1:nocopy'), invalid(/invalid mode/));
  });
});

describe('--mount / Mounts', () => {
  test('bind sources must exist unless asked to create them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-mounts-'));
    try {
      const point = await parseMountSpec({ Type: 'bind', Source: dir, Target: '/x', ReadOnly: true });
      assert.equal(point.RW, false);
      assert.equal(point.CreateSource, false);
      await assert.rejects(
        parseMountSpec({ Type: 'bind', Source: `${dir}/missing`, Target: '/x' }),
        invalid(/invalid mount config for type "bind": bind source path does not exist: .*\/missing$/),
      );
      const created = await parseMountSpec({
        Type: 'bind',
        Source: `${dir}/missing`,
        Target: '/x',
        BindOptions: { CreateMountpoint: true },
      });
      assert.equal(created.CreateSource, true);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  test('volumes: anonymous, nocopy, subpath rules', async () => {
    const anonymous = await parseMountSpec({ Type: 'volume', Target: '/data' });
    assert.equal(anonymous.Name, undefined);
    assert.equal(anonymous.Mode, '');
    const nocopy = await parseMountSpec({
      Type: 'volume',
      Source: 'v',
      Target: '/d',
      VolumeOptions: { NoCopy: true },
    });
    assert.equal(nocopy.CopyData, false);
    const sub = await parseMountSpec({
      Type: 'volume',
      Source: 'v',
      Target: '/d',
      VolumeOptions: { Subpath: 'a/b' },
    });
    assert.equal(sub.Subpath, 'a/b');
    await assert.rejects(
      parseMountSpec({ Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { Subpath: '../out' } }),
      invalid(/subpath/),
    );
    await assert.rejects(
      parseMountSpec({ Type: 'volume', Target: '/d', VolumeOptions: { Subpath: 'a' } }),
      invalid(/anonymous/),
    );
    await assert.rejects(
      parseMountSpec({ Type: 'volume', Target: '/d', ReadOnly: true }),
      invalid(/ReadOnly/),
    );
  });

  test('tmpfs options as Docker writes them', async () => {
    const point = await parseMountSpec({
      Type: 'tmpfs',
      Target: '/t',
      TmpfsOptions: { SizeBytes: 2 * 1024 * 1024, Mode: 0o1770, Options: [['exec']] },
    });
    assert.equal(point.TmpfsData, 'mode=1770,size=2m,exec');
    const [oci] = ociMountsOf([point], new Map());
    assert.equal(oci.type, 'tmpfs');
    assert.ok(
      oci.options?.includes('size=2m') && oci.options.includes('exec') && !oci.options.includes('noexec'),
    );
    await assert.rejects(parseMountSpec({ Type: 'tmpfs', Target: '/t', Source: '/x' }), invalid(/Source/));
    await assert.rejects(
      parseMountSpec({ Type: 'npipe' as never, Target: '/t' }),
      invalid(/mount type unknown/),
    );
  });
});

describe('planMounts', () => {
  const donor: MountPointRecord[] = [
    {
      Type: 'volume',
      Name: 'shared',
      Source: '',
      Destination: '/s',
      Driver: 'local',
      Mode: '',
      RW: true,
      Propagation: '',
      CopyData: true,
      Anonymous: true,
    },
    { Type: 'bind', Source: '/h', Destination: '/b', Mode: '', RW: true, Propagation: 'rprivate' },
    { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
  ];

  test('precedence: --volumes-from, then Binds, then Mounts; image volumes fill what is left', async () => {
    const points = await planMounts({
      hostConfig: { VolumesFrom: ['donor:ro'], Binds: ['named:/b'], Tmpfs: { '/tmpfs': '' } },
      configVolumes: { '/s': {}, '/image-vol/': {}, '/tmpfs': {} },
      mountsOf: () => donor,
    });
    const byDest = new Map(points.map((p) => [p.Destination, p]));
    assert.deepEqual([...byDest.keys()].sort(), ['/b', '/image-vol', '/s']);
    assert.equal(byDest.get('/s')!.RW, false, 'volumes-from :ro');
    assert.equal(byDest.get('/s')!.CopyData, false);
    assert.equal(byDest.get('/b')!.Name, 'named', 'a bind replaces the inherited mount');
    assert.equal(byDest.get('/image-vol')!.Anonymous, true);
  });

  test('duplicates are refused', async () => {
    await assert.rejects(
      planMounts({ hostConfig: { Binds: ['a:/x', 'b:/x'] }, configVolumes: {}, mountsOf: () => [] }),
      invalid(/^Duplicate mount point: \/x$/),
    );
    await assert.rejects(
      planMounts({
        hostConfig: { Binds: ['a:/x'], Mounts: [{ Type: 'volume', Source: 'b', Target: '/x' }] },
        configVolumes: {},
        mountsOf: () => [],
      }),
      invalid(/Duplicate mount point/),
    );
  });

  test('inspect views', () => {
    assert.deepEqual(
      mountPointView(donor[0], (name) => `/var/lib/berth/volumes/${name}/_data`),
      {
        Type: 'volume',
        Name: 'shared',
        Source: '/var/lib/berth/volumes/shared/_data',
        Destination: '/s',
        Driver: 'local',
        Mode: '',
        RW: true,
        Propagation: '',
      },
    );
    assert.deepEqual(
      mountPointView(donor[1], () => ''),
      {
        Type: 'bind',
        Source: '/h',
        Destination: '/b',
        Mode: '',
        RW: true,
        Propagation: 'rprivate',
      },
    );
  });
});

describe('container networking helpers', () => {
  const networks = {
    findNetwork: (term: string) => {
      if (term === 'missing') throw notFound('network missing not found');
      return { id: `id-${term}`, name: term === 'id-net' ? 'net' : term };
    },
  } as unknown as ContainerNetworks;

  test('the networks a container starts with', () => {
    assert.deepEqual(endpointsAtCreate({ NetworkMode: 'bridge' }, undefined, networks), { bridge: {} });
    assert.deepEqual(
      endpointsAtCreate(
        { NetworkMode: 'net' },
        {
          EndpointsConfig: {
            net: { Aliases: ['a'], IPAMConfig: { IPv4Address: '10.0.0.5' }, NetworkID: 'x' },
            other: null,
          },
        },
        networks,
      ),
      { net: { Aliases: ['a'], IPAMConfig: { IPv4Address: '10.0.0.5' } }, other: {} },
    );
    assert.deepEqual(endpointsAtCreate({ NetworkMode: 'container:abc' }, undefined, networks), {});
    assert.throws(
      () => endpointsAtCreate({ NetworkMode: 'missing' }, undefined, networks),
      invalid(/network missing not found/),
    );
    assert.throws(
      () => endpointsAtCreate({ NetworkMode: 'host' }, { EndpointsConfig: { net: {} } }, networks),
      invalid(/host network/),
    );
    assert.equal(attachKindOf({ NetworkMode: 'none' }), 'none');
    assert.equal(attachKindOf({ NetworkMode: 'container:x' }), 'container');
    assert.equal(attachKindOf({ NetworkMode: 'host' }), 'attach');
  });

  test('idle settings and the ps port list', () => {
    const idle = idleNetworkSettings({ net: { Aliases: ['a'] } }, networks);
    assert.equal(idle.Networks.net.NetworkID, 'id-net');
    assert.equal(idle.Networks.net.IPAddress, '');
    assert.deepEqual(idle.Networks.net.Aliases, ['a']);
    assert.deepEqual(
      portList({
        '80/tcp': [
          { HostIp: '0.0.0.0', HostPort: '8080' },
          { HostIp: '127.0.0.1', HostPort: '8081' },
        ],
        '53/udp': null,
      }),
      [
        { PrivatePort: 53, Type: 'udp' },
        { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
        { IP: '127.0.0.1', PrivatePort: 80, PublicPort: 8081, Type: 'tcp' },
      ],
    );
  });
});

describe('ContainerSizes', () => {
  test('measures changed layers in the background and answers from the cache', async () => {
    const measured: string[] = [];
    const sizes = new ContainerSizes({
      measure: async (id) => {
        measured.push(id);
        await new Promise((r) => setTimeout(r, 5));
        return id.length * 100;
      },
      runningMaxAgeMs: 0,
    });
    sizes.created('new');
    assert.equal(sizes.get('new'), 0);
    await sizes.refresh(['new', 'old'], () => false, 1000);
    assert.deepEqual(measured, ['old'], 'a new container is not measured');
    assert.equal(sizes.get('old'), 300);
    sizes.changed('new');
    await sizes.refresh([], () => false, 1000);
    assert.equal(sizes.get('new'), 300);
    measured.length = 0;
    await sizes.refresh(['new', 'old'], (id) => id === 'old', 1000);
    assert.deepEqual(measured, ['old'], 'only running containers are measured again');
    // The budget caps the wait; the answer then is the last known size.
    const slow = new ContainerSizes({ measure: () => new Promise((r) => setTimeout(() => r(7), 200)) });
    const start = Date.now();
    await slow.refresh(['x'], () => false, 20);
    assert.ok(Date.now() - start < 150);
    assert.equal(slow.get('x'), 0);
  });
});
