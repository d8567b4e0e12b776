import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import { ANONYMOUS_LABEL, VolumeService, type VolumeFilters } from '../../src/engine/volumes/index.js';
import { isMountPoint } from '../../src/engine/volumes/local.js';

interface RecordedEvent {
  type: string;
  action: string;
  id: string;
  attributes: Record<string, string>;
}

/** Records events the way the daemon's bus receives them. */
class EventLog {
  events: RecordedEvent[] = [];
  publish(type: string, action: string, id: string, attributes: Record<string, string> = {}): void {
    this.events.push({ type, action, id, attributes });
  }
  actions(): string[] {
    return this.events.map((e) => `${e.action} ${e.id}`);
  }
}

/** Container references as the container service would report them. */
class Usage {
  readonly refs = new Map<string, string[]>();
  containersUsing(name: string): string[] {
    return this.refs.get(name) ?? [];
  }
}

const filters = (entries: Record<string, string[]>): VolumeFilters => new Map(Object.entries(entries));

async function rejectsWith(
  promise: Promise<unknown> | (() => unknown),
  kind: string,
  message: string | RegExp,
): Promise<void> {
  await assert.rejects(
    async () => (typeof promise === 'function' ? promise() : promise),
    (err: Error) => {
      assert.ok(isEngineError(err, kind as never), `expected ${kind}, got ${String(err)}`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('VolumeService', () => {
  let dataRoot: string;
  let events: EventLog;
  let usage: Usage;
  let service: VolumeService;
  const mounted: string[] = [];

  beforeEach(async () => {
    dataRoot = mkdtempSync(path.join(os.tmpdir(), 'berth-volumes-'));
    events = new EventLog();
    usage = new Usage();
    service = new VolumeService({ dataRoot, events, usage });
    await service.start();
  });
  afterEach(async () => {
    await service.close();
    for (const m of mounted.splice(0)) {
      if (await isMountPoint(m)) execFileSync('umount', [m]);
    }
    rmSync(dataRoot, { recursive: true, force: true });
  });

  test('create: named and anonymous volumes, Docker-shaped', async () => {
    const named = await service.create({ Name: 'data', Labels: { team: 'a' } });
    assert.deepEqual(Object.keys(named), [
      'CreatedAt',
      'Driver',
      'Labels',
      'Mountpoint',
      'Name',
      'Options',
      'Scope',
    ]);
    assert.equal(named.Mountpoint, path.join(dataRoot, 'volumes/data/_data'));
    assert.equal(named.Driver, 'local');
    assert.equal(named.Scope, 'local');
    assert.deepEqual(named.Labels, { team: 'a' });
    assert.equal(named.Options, null);
    assert.match(named.CreatedAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    assert.ok(lstatSync(named.Mountpoint).isDirectory());
    const anonymous = await service.create({});
    assert.match(anonymous.Name, /^[0-9a-f]{64}$/);
    assert.deepEqual(anonymous.Labels, { [ANONYMOUS_LABEL]: '' });
    assert.deepEqual(events.events[0], {
      type: 'volume',
      action: 'create',
      id: 'data',
      attributes: { driver: 'local' },
    });
  });

  test('create of an existing name returns it unchanged, without a second event', async () => {
    const first = await service.create({ Name: 'same', Labels: { v: '1' } });
    const again = await service.create({ Name: 'same', Labels: { v: '2' } });
    assert.deepEqual(again, first);
    assert.equal(events.events.filter((e) => e.action === 'create').length, 1);
  });

  test("create refuses bad names, options and drivers with Docker's messages", async () => {
    await rejectsWith(
      service.create({ Name: 'a' }),
      'InvalidParameter',
      'create a: volume name is too short, names should be at least two alphanumeric characters',
    );
    await rejectsWith(
      service.create({ Name: '../etc' }),
      'InvalidParameter',
      'create ../etc: "../etc" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path',
    );
    await rejectsWith(
      service.create({ Name: 'x1', DriverOpts: { foo: 'bar' } }),
      'InvalidParameter',
      'create x1: invalid option: "foo"',
    );
    await rejectsWith(
      service.create({ Name: 'x1', DriverOpts: { type: 'tmpfs' } }),
      'InvalidParameter',
      'create x1: missing required option: "device"',
    );
    await rejectsWith(
      service.create({ Name: 'x1', DriverOpts: { o: 'size=1m', device: 'tmpfs' } }),
      'InvalidParameter',
      'create x1: missing required option: "type"',
    );
    await rejectsWith(
      service.create({ Name: 'x1', DriverOpts: { size: '10m' } }),
      'InvalidParameter',
      /quota size requested but no quota support/,
    );
    await rejectsWith(
      service.create({ Name: 'x1', Driver: 'nfs-plugin' }),
      'NotFound',
      'create x1: error looking up volume plugin nfs-plugin: plugin "nfs-plugin" not found',
    );
    assert.equal(service.list().Volumes.length, 0);
  });

  test('volumes and their metadata survive a restart', async () => {
    await service.create({
      Name: 'keep',
      Labels: { a: 'b' },
      DriverOpts: { type: 'tmpfs', device: 'tmpfs' },
    });
    const before = await service.inspect('keep');
    await service.close();
    // A directory made by hand (or an older layout) is adopted as a plain local volume.
    mkdirSync(path.join(dataRoot, 'volumes/adopted/_data'), { recursive: true });
    service = new VolumeService({ dataRoot, events, usage });
    await service.start();
    assert.deepEqual(await service.inspect('keep'), before);
    assert.equal((await service.inspect('adopted')).Labels, null);
  });

  test('inspect: missing volumes are NotFound; UsageData only when asked', async () => {
    await rejectsWith(service.inspect('nope'), 'NotFound', 'get nope: no such volume');
    await service.create({ Name: 'sized' });
    assert.equal((await service.inspect('sized')).UsageData, undefined);
    assert.deepEqual((await service.inspect('sized', { withUsage: true })).UsageData, {
      Size: 0,
      RefCount: 0,
    });
  });

  test('list filters: name, label, driver, dangling', async () => {
    await service.create({ Name: 'web-data', Labels: { app: 'web', tier: 'front' } });
    await service.create({ Name: 'db-data', Labels: { app: 'db' } });
    await service.create({ Name: 'scratch' });
    usage.refs.set('db-data', ['c1']);
    const names = (f: Record<string, string[]>): string[] =>
      service
        .list(filters(f))
        .Volumes.map((v) => v.Name)
        .sort();
    assert.deepEqual(names({}), ['db-data', 'scratch', 'web-data']);
    assert.deepEqual(names({ name: ['data'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ name: ['^web'] }), ['web-data']);
    assert.deepEqual(names({ name: ['scratch', 'db-data'] }), ['db-data', 'scratch']);
    assert.deepEqual(names({ label: ['app'] }), ['db-data', 'web-data']);
    assert.deepEqual(names({ label: ['app=web'] }), ['web-data']);
    assert.deepEqual(names({ label: ['app', 'tier=front'] }), ['web-data']);
    assert.deepEqual(names({ driver: ['local'] }), ['db-data', 'scratch', 'web-data']);
    assert.deepEqual(names({ driver: ['other'] }), []);
    assert.deepEqual(names({ dangling: ['true'] }), ['scratch', 'web-data']);
    assert.deepEqual(names({ dangling: ['0'] }), ['db-data']);
    assert.throws(() => service.list(filters({ dangling: ['maybe'] })), /invalid filter 'dangling=maybe'/);
    assert.throws(() => service.list(filters({ color: ['red'] })), /invalid filter 'color'/);
    assert.equal(service.list().Warnings, null);
  });

  test("remove: in use is Docker's 409; force only forgives a missing volume", async () => {
    const vol = await service.create({ Name: 'busy' });
    writeFileSync(path.join(vol.Mountpoint, 'f'), 'x');
    usage.refs.set('busy', ['aaaa', 'bbbb']);
    await rejectsWith(service.remove('busy'), 'Conflict', 'remove busy: volume is in use - [aaaa, bbbb]');
    await rejectsWith(service.remove('busy', { force: true }), 'Conflict', /volume is in use/);
    usage.refs.clear();
    await service.mountForContainer('busy', 'cccc');
    await rejectsWith(service.remove('busy'), 'Conflict', 'remove busy: volume is in use - [cccc]');
    await service.unmountForContainer('busy', 'cccc');
    await service.remove('busy');
    assert.equal(existsSync(path.join(dataRoot, 'volumes/busy')), false);
    await rejectsWith(service.remove('busy'), 'NotFound', 'get busy: no such volume');
    await service.remove('busy', { force: true });
    assert.deepEqual(events.events.at(-1), {
      type: 'volume',
      action: 'destroy',
      id: 'busy',
      attributes: { driver: 'local' },
    });
  });

  test('remove never follows symlinks planted in the volume', async () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), 'berth-outside-'));
    try {
      writeFileSync(path.join(outside, 'keep'), 'keep me');
      const vol = await service.create({ Name: 'trap' });
      symlinkSync(outside, path.join(vol.Mountpoint, 'link'));
      mkdirSync(path.join(vol.Mountpoint, 'dir'));
      symlinkSync(path.join(outside, 'keep'), path.join(vol.Mountpoint, 'dir/file-link'));
      await service.remove('trap');
      assert.equal(readFileSync(path.join(outside, 'keep'), 'utf8'), 'keep me');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  test('prune: anonymous unused local volumes by default, with space reclaimed', async () => {
    const anon1 = await service.create({});
    const anon2 = await service.create({ Labels: { keep: 'yes' } });
    const anonBusy = await service.create({});
    await service.create({ Name: 'named' });
    await service.create({ DriverOpts: { type: 'tmpfs', device: 'tmpfs' } });
    writeFileSync(path.join(anon1.Mountpoint, 'a'), Buffer.alloc(1000));
    writeFileSync(path.join(anon1.Mountpoint, 'b'), Buffer.alloc(234));
    service.noteChanged(anon1.Name);
    usage.refs.set(anonBusy.Name, ['c1']);
    const report = await service.prune(filters({ 'label!': ['keep'] }));
    assert.deepEqual(report, { VolumesDeleted: [anon1.Name], SpaceReclaimed: 1234 });
    assert.deepEqual(events.events.at(-1), {
      type: 'volume',
      action: 'prune',
      id: '',
      attributes: { reclaimed: '1234' },
    });
    const second = await service.prune();
    assert.deepEqual(second.VolumesDeleted, [anon2.Name]);
    const remaining = service.list().Volumes.map((v) => v.Name);
    assert.ok(remaining.includes('named') && remaining.includes(anonBusy.Name));
    assert.equal(remaining.length, 3, 'the volume with mount options is never pruned');
  });

  test('prune: all=true takes named volumes too; labels narrow it; old API versions prune all', async () => {
    await service.create({ Name: 'n1', Labels: { env: 'test' } });
    await service.create({ Name: 'n2' });
    assert.deepEqual((await service.prune(filters({ all: ['true'], label: ['env=test'] }))).VolumesDeleted, [
      'n1',
    ]);
    assert.deepEqual((await service.prune(filters({}), { apiVersion: '1.41' })).VolumesDeleted, ['n2']);
    await rejectsWith(
      service.prune(filters({ all: ['maybe'] })),
      'InvalidParameter',
      `invalid filter 'all': strconv.ParseBool: parsing "maybe": invalid syntax`,
    );
    await rejectsWith(
      service.prune(filters({ dangling: ['true'] })),
      'InvalidParameter',
      `invalid filter 'dangling'`,
    );
    assert.deepEqual(await service.prune(), { VolumesDeleted: [], SpaceReclaimed: 0 });
  });

  test('mount and unmount for containers emit Docker-shaped events', async () => {
    const vol = await service.create({ Name: 'shared' });
    const hostPath = await service.mountForContainer('shared', 'c1', {
      destination: '/data',
      readWrite: false,
      propagation: 'rprivate',
    });
    assert.equal(hostPath, vol.Mountpoint);
    await service.mountForContainer('shared', 'c2');
    assert.deepEqual(service.users('shared').sort(), ['c1', 'c2']);
    await service.unmountForContainer('shared', 'c1');
    await service.unmountForContainer('shared', 'c2');
    await service.unmountForContainer('shared', 'c2');
    assert.deepEqual(service.users('shared'), []);
    const mountEvent = events.events.find((e) => e.action === 'mount');
    assert.deepEqual(mountEvent, {
      type: 'volume',
      action: 'mount',
      id: 'shared',
      attributes: {
        driver: 'local',
        container: 'c1',
        destination: '/data',
        'read/write': 'false',
        propagation: 'rprivate',
      },
    });
    assert.deepEqual(
      events.actions().filter((a) => a.startsWith('unmount')),
      ['unmount shared', 'unmount shared'],
    );
    await rejectsWith(service.mountForContainer('ghost', 'c1'), 'NotFound', 'get ghost: no such volume');
  });

  test('a tmpfs volume is mounted while used and unmounted after its last user', async () => {
    const vol = await service.create({
      Name: 'fast',
      DriverOpts: { type: 'tmpfs', device: 'tmpfs', o: 'size=4m,mode=0750' },
    });
    mounted.push(vol.Mountpoint);
    await service.mountForContainer('fast', 'c1');
    assert.equal(await isMountPoint(vol.Mountpoint), true);
    assert.equal(lstatSync(vol.Mountpoint).mode & 0o777, 0o750);
    assert.match(execFileSync('df', ['-k', vol.Mountpoint], { encoding: 'utf8' }), /tmpfs +4096 /);
    await service.mountForContainer('fast', 'c2');
    await service.unmountForContainer('fast', 'c1');
    assert.equal(await isMountPoint(vol.Mountpoint), true);
    await service.unmountForContainer('fast', 'c2');
    assert.equal(await isMountPoint(vol.Mountpoint), false);
    await service.remove('fast');
  });

  test('a bind-style local volume shows the host directory, which removal leaves alone', async () => {
    const hostDir = mkdtempSync(path.join(os.tmpdir(), 'berth-bindvol-'));
    try {
      writeFileSync(path.join(hostDir, 'existing'), 'host data');
      const vol = await service.create({
        Name: 'bound',
        DriverOpts: { type: 'none', o: 'bind', device: hostDir },
      });
      mounted.push(vol.Mountpoint);
      await service.mountForContainer('bound', 'c1');
      assert.equal(readFileSync(path.join(vol.Mountpoint, 'existing'), 'utf8'), 'host data');
      await service.unmountForContainer('bound', 'c1');
      await service.remove('bound');
      assert.equal(readFileSync(path.join(hostDir, 'existing'), 'utf8'), 'host data');
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  test('a failing mount reports the mount error', async () => {
    await service.create({
      Name: 'broken',
      DriverOpts: { type: 'none', o: 'bind', device: '/nonexistent/berth-test' },
    });
    await rejectsWith(
      service.mountForContainer('broken', 'c1'),
      'System',
      /error while mounting volume '.*broken\/_data': failed to mount local volume/,
    );
    assert.deepEqual(service.users('broken'), []);
  });

  test('copy-up fills an empty volume from the image, keeping owners, modes and links', async () => {
    const rootfs = mkdtempSync(path.join(os.tmpdir(), 'berth-rootfs-'));
    try {
      mkdirSync(path.join(rootfs, 'var/lib/app/sub'), { recursive: true });
      writeFileSync(path.join(rootfs, 'var/lib/app/config'), 'config\n');
      writeFileSync(path.join(rootfs, 'var/lib/app/sub/data'), Buffer.alloc(5000, 1));
      symlinkSync('/etc/passwd', path.join(rootfs, 'var/lib/app/abs-link'));
      symlinkSync('/var/lib/app', path.join(rootfs, 'app-link'));
      chmodSync(path.join(rootfs, 'var/lib/app'), 0o2770);
      lchownSync(path.join(rootfs, 'var/lib/app'), 999, 999);
      lchownSync(path.join(rootfs, 'var/lib/app/config'), 1000, 1001);
      const vol = await service.create({ Name: 'copied' });
      // Through a symlink in the image, resolved inside the image's root.
      assert.equal(await service.copyUp('copied', rootfs, '/app-link'), true);
      assert.equal(readFileSync(path.join(vol.Mountpoint, 'config'), 'utf8'), 'config\n');
      assert.equal(readlinkSync(path.join(vol.Mountpoint, 'abs-link')), '/etc/passwd');
      const rootStat = lstatSync(vol.Mountpoint);
      assert.deepEqual([rootStat.uid, rootStat.gid, rootStat.mode & 0o7777], [999, 999, 0o2770]);
      const config = lstatSync(path.join(vol.Mountpoint, 'config'));
      assert.deepEqual([config.uid, config.gid], [1000, 1001]);
      assert.deepEqual((await service.inspect('copied', { withUsage: true })).UsageData, {
        Size: 7 + 5000 + '/etc/passwd'.length,
        RefCount: 0,
      });
      // Not again into a volume that has content, and nothing for paths the image lacks.
      assert.equal(await service.copyUp('copied', rootfs, '/var/lib/app'), false);
      await service.create({ Name: 'empty' });
      assert.equal(await service.copyUp('empty', rootfs, '/not/there'), false);
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  test('usage answers from the size cache and catches up after containers stop', async () => {
    for (let i = 0; i < 50; i++) await service.create({ Name: `vol-${i}` });
    const vol = await service.create({ Name: 'written' });
    await service.mountForContainer('written', 'c1');
    writeFileSync(path.join(vol.Mountpoint, 'out'), Buffer.alloc(4096));
    usage.refs.set('written', ['c1']);
    const started = performance.now();
    const volumes = await service.usage();
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 100, `usage took ${elapsed} ms`);
    assert.equal(volumes.length, 51);
    assert.ok(volumes.every((v) => v.UsageData && v.UsageData.Size >= 0));
    assert.equal(volumes.find((v) => v.Name === 'written')?.UsageData?.RefCount, 1);
    usage.refs.clear();
    await service.unmountForContainer('written', 'c1');
    let size = -1;
    for (let i = 0; i < 50 && size !== 4096; i++) {
      size = (await service.usage()).find((v) => v.Name === 'written')!.UsageData!.Size;
    }
    assert.equal(size, 4096);
    // Sizes persist for the next start.
    await service.close();
    service = new VolumeService({ dataRoot, events, usage });
    await service.start();
    assert.equal((await service.inspect('written', { withUsage: true })).UsageData?.Size, 4096);
  });
});
