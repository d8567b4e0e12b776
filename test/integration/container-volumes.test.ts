/**
 * Volumes, bind mounts, tmpfs, docker cp and disk usage through a real
 * berthd and the real docker CLI (and berth's own cp where docker's is the
 * reference): data shared through named volumes, copy-up from an image's
 * VOLUME, read-only mounts, tmpfs sizes and modes, --volumes-from, mount
 * propagation, rm -v, volume in-use refusals and events; cp round trips
 * keeping modes and owners, cp on stopped containers and through volumes,
 * the escape suite against a container racing symlinks with host canaries,
 * hostile tars sent to the archive API; system df with hundreds of
 * containers, and system prune.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  chownSync,
  chmodSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTar, snapshotTree } from '../helpers/archive.js';
import { seedBusybox } from '../helpers/busybox.js';
import { berth, docker, startDaemon, type CommandResult, type TestDaemon } from '../helpers/daemon.js';
import { api } from '../helpers/images.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

let daemon: TestDaemon;
let work: string;

const d = (...args: string[]): Promise<CommandResult> => docker(daemon, args);

async function ok(result: Promise<CommandResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

async function inspect(name: string): Promise<Doc> {
  return (JSON.parse(await ok(d('inspect', name))) as Doc[])[0];
}

/** `sh -c` in a throwaway busybox container with the given flags; its stdout. */
const sh = (flags: string[], script: string): Promise<string> =>
  ok(d('run', '--rm', ...flags, 'busybox', 'sh', '-c', script));

const isHex64 = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);

describe(
  'volumes, mounts, cp and disk usage through the docker CLI',
  { concurrency: false, timeout: 400_000 },
  () => {
    before(async () => {
      work = mkdtempSync(path.join(os.tmpdir(), 'berth-volumes-'));
      daemon = await startDaemon();
      await seedBusybox(daemon);
    });

    after(async () => {
      const all = (await d('ps', '-aq')).stdout.split('\n').filter(Boolean);
      if (all.length > 0) await d('rm', '-f', ...all);
      await daemon.stop();
      execFileSync('sh', [
        '-c',
        `grep ' ${work}' /proc/self/mounts | cut -d' ' -f2 | sort -r | xargs -r -n1 umount -l`,
      ]);
      rmSync(work, { recursive: true, force: true });
    });

    test('a named volume written by one container is read by another; mount events and in-use refusal', async () => {
      const events = spawn(
        'docker',
        [
          'events',
          '--filter',
          'type=volume',
          '--format',
          '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.destination}}',
        ],
        {
          env: { ...process.env, DOCKER_HOST: daemon.host },
        },
      );
      let eventText = '';
      events.stdout.on('data', (c: Buffer) => (eventText += c.toString()));
      try {
        await sleep(200);
        await sh(['-v', 'shared:/data'], 'echo written > /data/note');
        assert.equal(await sh(['-v', 'shared:/other'], 'cat /other/note'), 'written\n');
        const volume = (JSON.parse(await ok(d('volume', 'inspect', 'shared'))) as Doc[])[0];
        assert.equal(readFileSync(path.join(volume.Mountpoint, 'note'), 'utf8'), 'written\n');
        await sleep(300);
        assert.match(eventText, /^create shared <no value>$/m);
        assert.match(eventText, /^mount shared \/data$/m);
        assert.match(eventText, /^unmount shared <no value>$/m);
      } finally {
        events.kill();
      }
      const id = (await ok(d('create', '-v', 'shared:/data', 'busybox', 'true'))).trim();
      const refused = await d('volume', 'rm', 'shared');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`remove shared: volume is in use - \\[${id}\\]`));
      const mounts = (await inspect(id)).Mounts as Doc[];
      assert.ok(String(mounts[0].Source).endsWith('/volumes/shared/_data'), mounts[0].Source);
      assert.deepEqual(mounts, [
        {
          Type: 'volume',
          Name: 'shared',
          Source: mounts[0].Source,
          Destination: '/data',
          Driver: 'local',
          Mode: 'z',
          RW: true,
          Propagation: '',
        },
      ]);
      await ok(d('rm', id));
      await ok(d('volume', 'rm', 'shared'));
    });

    test("copy-up from an image's VOLUME: anonymous and empty named volumes get the content, nocopy does not; rm -v", async () => {
      await ok(
        d(
          'run',
          '--name',
          'seed',
          'busybox',
          'sh',
          '-c',
          'mkdir /data && echo seeded > /data/file && busybox chown 1234:5678 /data/file && chmod 640 /data/file && busybox chown 42:43 /data && chmod 750 /data && ln -s file /data/link',
        ),
      );
      await ok(d('commit', '--change', 'VOLUME /data', 'seed', 'withvolume:1'));
      await ok(d('rm', 'seed'));
      const listing = "stat -c '%n %u:%g %a' /data /data/file; cat /data/file; readlink /data/link";
      const expected = '/data 42:43 750\n/data/file 1234:5678 640\nseeded\nfile\n';
      const anon = (await ok(d('run', '--name', 'anon', 'withvolume:1', 'sh', '-c', listing))).toString();
      assert.equal(anon, expected);
      const anonMounts = (await inspect('anon')).Mounts as Doc[];
      assert.equal(anonMounts.length, 1);
      assert.ok(isHex64(anonMounts[0].Name), anonMounts[0].Name);
      assert.equal(anonMounts[0].Destination, '/data');
      assert.equal(anonMounts[0].Mode, '');
      const anonName = anonMounts[0].Name as string;
      const labels = (JSON.parse(await ok(d('volume', 'inspect', anonName))) as Doc[])[0].Labels;
      assert.deepEqual(labels, { 'com.docker.volume.anonymous': '' });

      await ok(d('volume', 'create', 'named-copy'));
      assert.equal(
        await ok(d('run', '--rm', '-v', 'named-copy:/data', 'withvolume:1', 'sh', '-c', listing)),
        expected,
      );
      // A volume that already has content is not overwritten.
      await ok(
        d('run', '--rm', '-v', 'named-copy:/data', 'busybox', 'sh', '-c', 'echo changed > /data/file'),
      );
      assert.equal(
        await ok(d('run', '--rm', '-v', 'named-copy:/data', 'withvolume:1', 'cat', '/data/file')),
        'changed\n',
      );
      const nocopy = await ok(
        d(
          'run',
          '--rm',
          '--mount',
          'type=volume,src=nocopy-vol,dst=/data,volume-nocopy',
          'withvolume:1',
          'ls',
          '-A',
          '/data',
        ),
      );
      assert.equal(nocopy, '');

      // rm -v removes the anonymous volume, never a named one.
      await ok(d('create', '--name', 'both', '-v', 'keepme:/keep', '-v', '/anon', 'busybox', 'true'));
      const both = ((await inspect('both')).Mounts as Doc[]).find((m) => m.Destination === '/anon')!
        .Name as string;
      await ok(d('rm', '-v', 'both', 'anon'));
      const volumes = (await ok(d('volume', 'ls', '-q'))).split('\n');
      assert.ok(!volumes.includes(both) && !volumes.includes(anonName), 'anonymous volumes removed');
      assert.ok(volumes.includes('keepme') && volumes.includes('named-copy'), 'named volumes kept');
      // --rm containers take their anonymous volumes with them.
      await ok(d('run', '--rm', 'withvolume:1', 'true'));
      assert.deepEqual(
        (await ok(d('volume', 'ls', '-q'))).split('\n').filter((n) => isHex64(n)),
        [],
      );
    });

    test('copy-up happens when a container is created over an empty volume, as Docker does, not at start', async () => {
      await ok(
        d('run', '--name', 'timing-seed', 'busybox', 'sh', '-c', 'mkdir /data && echo seeded > /data/file'),
      );
      await ok(d('commit', 'timing-seed', 'copyup-timing:1'));
      await ok(d('rm', 'timing-seed'));
      const volumeFile = (): Promise<CommandResult> =>
        d('run', '--rm', '-v', 'filled-later:/v', 'busybox', 'cat', '/v/file');
      try {
        await ok(d('volume', 'create', 'filled-later'));
        assert.equal(await ok(d('run', '--rm', '-v', 'filled-later:/v', 'busybox', 'ls', '-A', '/v')), '');
        // Creating the container fills the volume, before anything runs in it.
        await ok(
          d(
            'create',
            '--name',
            'timing-a',
            '-v',
            'filled-later:/data',
            'copyup-timing:1',
            'cat',
            '/data/file',
          ),
        );
        assert.equal(await ok(volumeFile()), 'seeded\n');
        // Emptied while no container runs with it: starting the old container
        // does not fill it again (Docker copies only at create)...
        await ok(d('run', '--rm', '-v', 'filled-later:/v', 'busybox', 'rm', '/v/file'));
        const started = await d('start', '-a', 'timing-a');
        assert.notEqual(started.code, 0, started.stdout);
        assert.match(started.stderr + started.stdout, /can't open '\/data\/file'/);
        assert.notEqual((await volumeFile()).code, 0);
        // ...but a new container created over the empty volume does.
        assert.equal(
          await ok(d('run', '--rm', '-v', 'filled-later:/data', 'copyup-timing:1', 'cat', '/data/file')),
          'seeded\n',
        );
        assert.equal(await ok(volumeFile()), 'seeded\n');
      } finally {
        await d('rm', '-f', 'timing-a');
        await d('volume', 'rm', 'filled-later');
        await d('rmi', 'copyup-timing:1');
      }
    });

    test('read-only mounts, --read-only with writable volumes, binds created by -v and refused by --mount', async () => {
      const ro = await d('run', '--rm', '-v', 'rovol:/data:ro', 'busybox', 'sh', '-c', 'touch /data/x');
      assert.notEqual(ro.code, 0);
      assert.match(ro.stderr, /Read-only file system/);
      const roMount = await d(
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${work},dst=/w,readonly`,
        'busybox',
        'touch',
        '/w/x',
      );
      assert.match(roMount.stderr, /Read-only file system/);
      assert.ok(!existsSync(path.join(work, 'x')));
      assert.equal(
        await sh(
          ['--read-only', '-v', 'rwvol:/data'],
          'touch /data/ok && echo volume-ok; touch /rootfs-x 2>&1 || true',
        ),
        'volume-ok\ntouch: /rootfs-x: Read-only file system\n',
      );
      const missing = path.join(work, 'made', 'by', 'v');
      await sh(['-v', `${missing}:/m`], 'echo hi > /m/f');
      assert.equal(readFileSync(path.join(missing, 'f'), 'utf8'), 'hi\n');
      const refused = await d(
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${work}/nope,dst=/m`,
        'busybox',
        'true',
      );
      assert.equal(refused.code, 125);
      assert.match(
        refused.stderr,
        new RegExp(`invalid mount config for type "bind": bind source path does not exist: ${work}/nope`),
      );
      const bindMounts = (
        await inspect((await ok(d('create', '-v', `${work}:/w:ro,rslave`, 'busybox'))).trim())
      ).Mounts;
      assert.deepEqual(bindMounts, [
        {
          Type: 'bind',
          Source: work,
          Destination: '/w',
          Mode: 'ro,rslave',
          RW: false,
          Propagation: 'rslave',
        },
      ]);
      const dup = await d('create', '-v', 'a1:/x', '-v', 'a2:/x', 'busybox');
      assert.match(dup.stderr, /Duplicate mount point: \/x/);
    });

    test('tmpfs sizes and modes; volume-subpath', async () => {
      const out = await sh(
        ['--tmpfs', '/t1:size=1m', '--mount', 'type=tmpfs,dst=/t2,tmpfs-size=2097152,tmpfs-mode=1770'],
        "df -k /t1 /t2 | awk 'NR>1 {print $2}'; stat -c %a /t2; dd if=/dev/zero of=/t1/big bs=1k count=2048 2>&1 | grep -c 'No space left'",
      );
      const [t1, t2, mode, ddError] = out.trim().split('\n');
      assert.equal(t1, '1024');
      assert.equal(t2, '2048');
      assert.equal(mode, '1770');
      assert.equal(ddError, '1', 'writing past the size fails');
      const tmpfsMount = (
        await inspect((await ok(d('create', '--mount', 'type=tmpfs,dst=/t', 'busybox'))).trim())
      ).Mounts;
      assert.deepEqual(tmpfsMount, [
        { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
      ]);

      await sh(['-v', 'subvol:/v'], 'mkdir -p /v/dir1 && echo inside > /v/dir1/f && echo top > /v/top');
      assert.equal(
        await sh(['--mount', 'type=volume,src=subvol,dst=/s,volume-subpath=dir1'], 'ls /s; cat /s/f'),
        'f\ninside\n',
      );
      const badSub = await d(
        'run',
        '--rm',
        '--mount',
        'type=volume,src=subvol,dst=/s,volume-subpath=nope',
        'busybox',
        'true',
      );
      assert.notEqual(badSub.code, 0);
    });

    test('--volumes-from shares volumes and binds, read-only when asked', async () => {
      writeFileSync(path.join(work, 'bound'), 'from the host\n');
      await ok(
        d('create', '--name', 'donor', '-v', '/anonshared', '-v', `${work}:/hostdir`, 'busybox', 'true'),
      );
      await sh(['--volumes-from', 'donor'], 'echo via-donor > /anonshared/f; cat /hostdir/bound');
      assert.equal(
        await sh(['--volumes-from', 'donor:ro'], 'cat /anonshared/f; touch /anonshared/g 2>&1 || true'),
        'via-donor\ntouch: /anonshared/g: Read-only file system\n',
      );
      const mounts = (await inspect((await ok(d('create', '--volumes-from', 'donor:ro', 'busybox'))).trim()))
        .Mounts as Doc[];
      assert.deepEqual(mounts.map((m) => [m.Destination, m.RW]).sort(), [
        ['/anonshared', false],
        ['/hostdir', false],
      ]);
      const missing = await d('create', '--volumes-from', 'nobody', 'busybox');
      assert.notEqual(missing.code, 0);
      assert.match(missing.stderr, /No such container: nobody/);
    });

    test('bind propagation: rslave sees host mounts made later, rprivate does not', async () => {
      const shared = path.join(work, 'prop');
      mkdirSync(path.join(shared, 'sub'), { recursive: true });
      execFileSync('mount', ['--bind', shared, shared]);
      execFileSync('mount', ['--make-rshared', shared]);
      try {
        await ok(d('run', '-d', '--name', 'slave', '-v', `${shared}:/p:rslave`, 'busybox', 'sleep', '60'));
        await ok(d('run', '-d', '--name', 'private', '-v', `${shared}:/p`, 'busybox', 'sleep', '60'));
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'proptest', path.join(shared, 'sub')]);
        await sleep(100);
        const seen = async (name: string): Promise<boolean> =>
          (await ok(d('exec', name, 'cat', '/proc/mounts'))).includes(' /p/sub tmpfs ');
        assert.equal(await seen('slave'), true);
        assert.equal(await seen('private'), false);
      } finally {
        await d('rm', '-f', 'slave', 'private');
        execFileSync('umount', ['-R', shared]);
      }
    });

    test('cp round trips keep modes; owners follow docker (kept into containers, -a gives the container user)', async () => {
      await ok(
        d(
          'run',
          '-d',
          '--name',
          'cpsrc',
          'busybox',
          'sh',
          '-c',
          'mkdir -p /tree/sub && echo one > /tree/one && echo two > /tree/sub/two && busybox chown 1234:5678 /tree/one && chmod 4751 /tree/one && chmod 700 /tree/sub && ln -s one /tree/link && exec sleep 300',
        ),
      );
      await sleep(300);
      const out = path.join(work, 'out');
      mkdirSync(out);
      await ok(d('cp', 'cpsrc:/tree', out));
      // berth's cp makes the same tree.
      const bout = path.join(work, 'bout');
      mkdirSync(bout);
      const viaBerth = await berth(daemon, ['cp', 'cpsrc:/tree', bout]);
      assert.equal(viaBerth.code, 0, viaBerth.stderr);
      const withoutTimes = (tree: Map<string, string>): string[] =>
        [...tree].map(([p, detail]) => `${p} ${detail}`).sort();
      assert.deepEqual(
        withoutTimes(snapshotTree(path.join(bout, 'tree'))),
        withoutTimes(snapshotTree(path.join(out, 'tree'))),
      );
      const one = statSync(path.join(out, 'tree/one'));
      assert.equal(one.mode & 0o7777, 0o4751);
      assert.equal(statSync(path.join(out, 'tree/sub')).mode & 0o777, 0o700);
      assert.equal(one.uid, process.getuid!(), 'docker cp to the host does not chown');
      assert.ok(lstatSync(path.join(out, 'tree/link')).isSymbolicLink());
      // Trailing /. copies the contents; a missing destination takes the source's name.
      await ok(d('cp', 'cpsrc:/tree/.', path.join(out, 'contents')));
      assert.ok(existsSync(path.join(out, 'contents/sub/two')));
      // Into a container: tar owners are kept; -a gives everything the container user.
      chownSync(path.join(out, 'tree/sub/two'), 4321, 8765);
      chmodSync(path.join(out, 'tree/sub/two'), 0o604);
      await ok(d('run', '-d', '--name', 'cpdst', '--user', '1000:1000', 'busybox', 'sleep', '300'));
      await ok(d('cp', path.join(out, 'tree'), 'cpdst:/tmp/'));
      await ok(d('cp', '-a', path.join(out, 'tree/sub'), 'cpdst:/tmp/asuser'));
      const stats = await ok(
        d(
          'exec',
          '-u',
          '0',
          'cpdst',
          'stat',
          '-c',
          '%n %u:%g %a',
          '/tmp/tree/one',
          '/tmp/tree/sub/two',
          '/tmp/asuser/two',
        ),
      );
      assert.equal(
        stats,
        '/tmp/tree/one 0:0 4751\n/tmp/tree/sub/two 4321:8765 604\n/tmp/asuser/two 1000:1000 604\n',
      );
      assert.equal((await berth(daemon, ['cp', path.join(out, 'tree/one'), 'cpdst:/tmp/renamed'])).code, 0);
      assert.equal(await ok(d('exec', '-u', '0', 'cpdst', 'cat', '/tmp/renamed')), 'one\n');
      // Tar streams on stdin and stdout.
      const tarOut = execFileSync('docker', ['cp', 'cpsrc:/tree/sub', '-'], {
        env: { ...process.env, DOCKER_HOST: daemon.host },
      });
      assert.ok(tarOut.includes(Buffer.from('sub/two')));
      const r = await docker(daemon, ['cp', '-', 'cpdst:/tmp'], {
        input: await makeTar([{ name: 'fromstdin', body: 'stdin\n' }]),
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await ok(d('exec', 'cpdst', 'cat', '/tmp/fromstdin')), 'stdin\n');
      // Errors as docker words them.
      const missing = await d('cp', 'cpsrc:/nope', out);
      assert.match(missing.stderr, /Could not find the file \/nope in container cpsrc/);
      const noDir = await d('cp', path.join(out, 'tree/one'), 'cpdst:/tmp/nodir/');
      assert.notEqual(noDir.code, 0);
    });

    test('cp on a stopped container and through its volumes and binds', async () => {
      await ok(
        d(
          'create',
          '--name',
          'stopped',
          '-v',
          'cpvol:/vol',
          '-v',
          `${work}:/bind`,
          'busybox',
          'cat',
          '/rootfile',
          '/vol/volfile',
        ),
      );
      const src = path.join(work, 'cpsrc');
      mkdirSync(src);
      writeFileSync(path.join(src, 'rootfile'), 'in the root\n');
      writeFileSync(path.join(src, 'volfile'), 'in the volume\n');
      await ok(d('cp', path.join(src, 'rootfile'), 'stopped:/rootfile'));
      await ok(d('cp', path.join(src, 'volfile'), 'stopped:/vol/volfile'));
      await ok(d('cp', path.join(src, 'volfile'), 'stopped:/bind/through-bind'));
      assert.equal(readFileSync(path.join(work, 'through-bind'), 'utf8'), 'in the volume\n');
      assert.equal(await ok(d('start', '-a', 'stopped')), 'in the root\nin the volume\n');
      assert.equal(await sh(['-v', 'cpvol:/v'], 'cat /v/volfile'), 'in the volume\n');
      const back = path.join(work, 'back-from-stopped');
      await ok(d('cp', 'stopped:/vol/volfile', back));
      assert.equal(readFileSync(back, 'utf8'), 'in the volume\n');
      const hosts = await ok(d('cp', 'stopped:/etc/hostname', '-'));
      assert.ok(hosts.includes((await inspect('stopped')).Config.Hostname));
      // A read-only volume and a read-only rootfs refuse writes.
      await ok(d('create', '--name', 'rocp', '--read-only', '-v', 'cpvol:/vol:ro', 'busybox', 'true'));
      const roVol = await d('cp', path.join(src, 'volfile'), 'rocp:/vol/');
      assert.match(roVol.stderr, /mounted volume is marked read-only/);
      const roRoot = await d('cp', path.join(src, 'volfile'), 'rocp:/');
      assert.match(roRoot.stderr, /container rootfs is marked read-only/);
    });

    test('escape suite: cp in and out of a container that plants and swaps symlinks never touches the host', async () => {
      const canaries = mkdtempSync(path.join(os.tmpdir(), 'berth-canaries-'));
      writeFileSync(path.join(canaries, 'secret'), 'host secret\n');
      mkdirSync(path.join(canaries, 'sub'));
      writeFileSync(path.join(canaries, 'sub/secret'), 'host sub secret\n');
      const before = snapshotTree(canaries);
      const hostEtc = readFileSync('/etc/hostname', 'utf8');
      const script = [
        'mkdir -p /work/real && echo container file > /work/real/file',
        'busybox ln -s / /to-root',
        'busybox ln -s ../../../../.. /work/up',
        `busybox ln -s ${canaries} /host-looking`,
        `busybox ln -s ${canaries}/secret /host-secret`,
        'touch /ready',
        'while true; do',
        `  busybox mv /work/real /work/tmp; busybox ln -s ${canaries} /work/real; rm /work/real; busybox mv /work/tmp /work/real`,
        '  busybox mv /work/real /work/tmp; busybox ln -s / /work/real; rm /work/real; busybox mv /work/tmp /work/real',
        'done',
      ].join('\n');
      await ok(d('run', '-d', '--name', 'hostile', 'busybox', 'sh', '-c', script));
      try {
        for (let i = 0; i < 50 && (await d('exec', 'hostile', 'test', '-e', '/ready')).code !== 0; i++)
          await sleep(100);
        // Links to / and upwards stay in the container.
        assert.equal(
          (await ok(d('cp', 'hostile:/to-root/etc/hostname', '-'))).includes(hostEtc.trim()),
          false,
        );
        const up = await ok(d('cp', 'hostile:/work/up/etc/passwd', '-'));
        assert.ok(up.includes('root:x:0:0'));
        // Host-looking links lead nowhere: the container has no such path.
        const secret = await d('cp', '-L', 'hostile:/host-secret', '-');
        assert.notEqual(secret.code, 0);
        assert.ok(!secret.stdout.includes('host secret'));
        const viaDir = await d('cp', 'hostile:/host-looking/secret', '-');
        assert.ok(!viaDir.stdout.includes('host secret'));
        // Writes through the links land inside the container (or are refused), never on the host.
        const payload = path.join(work, 'payload');
        writeFileSync(payload, 'payload\n');
        await d('cp', payload, 'hostile:/host-looking/');
        await d('cp', payload, `hostile:/to-root${canaries}/`);
        // Race the swapping directory both ways.
        const out = path.join(work, 'race-out');
        mkdirSync(out, { recursive: true });
        for (let i = 0; i < 15; i++) {
          const inbound = await d('cp', payload, 'hostile:/work/real/');
          const outbound = await d('cp', 'hostile:/work/real/.', out);
          const outSub = await d('cp', 'hostile:/work/real/sub/secret', out);
          for (const r of [inbound, outbound, outSub]) assert.ok(r.code === 0 || r.stderr.length > 0);
        }
        assert.ok(!existsSync(path.join(out, 'secret')), 'a host file was read');
        assert.ok(!existsSync(path.join(out, 'sub')), 'a host directory was read');
        assert.deepEqual(snapshotTree(canaries), before, 'the host canaries changed');
      } finally {
        await d('rm', '-f', 'hostile');
        rmSync(canaries, { recursive: true, force: true });
      }
    });

    test('hostile tars sent to the archive API are refused and nothing lands outside', async () => {
      const id = (await ok(d('run', '-d', 'busybox', 'sleep', '300'))).trim();
      const target = `berth-escape-${path.basename(work)}`;
      const outside = ['/tmp', os.tmpdir()].map((dir) => path.join(dir, target));
      const cases: { name: string; entries: Parameters<typeof makeTar>[0] }[] = [
        { name: 'dot-dot', entries: [{ name: `../../../../../../tmp/${target}`, body: 'x' }] },
        { name: 'absolute', entries: [{ name: `/tmp/${target}`, body: 'x' }] },
        {
          name: 'symlink then write through it',
          entries: [
            { name: 'escape', type: 'symlink', linkname: '/tmp' },
            { name: `escape/${target}`, body: 'x' },
          ],
        },
        {
          name: 'hard link out of the root',
          entries: [{ name: 'hard', type: 'link', linkname: `../../../../../../etc/hostname` }],
        },
      ];
      for (const c of cases) {
        const res = await api(daemon, 'PUT', `/containers/${id}/archive?path=/tmp`, {
          body: await makeTar(c.entries),
          headers: { 'Content-Type': 'application/x-tar' },
        });
        assert.ok(res.status === 200 || res.status === 400, `${c.name}: ${res.status} ${res.text}`);
        for (const p of outside) assert.ok(!existsSync(p), `${c.name} wrote ${p}`);
      }
      const hard = await d('exec', id, 'cat', '/tmp/hard');
      assert.notEqual(hard.stdout, readFileSync('/etc/hostname', 'utf8'), 'a hard link reached a host file');
      await ok(d('rm', '-f', id));
    });

    test('system df answers quickly with 200 containers and 50 volumes; berth prints what docker prints; system prune', async () => {
      const batch = async (count: number, fn: (i: number) => Promise<unknown>): Promise<void> => {
        for (let i = 0; i < count; i += 20)
          await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) => fn(i + j)));
      };
      await batch(50, (i) => ok(d('volume', 'create', `dfvol${i}`)));
      await batch(200, (i) =>
        ok(d('create', '--label', 'df=1', ...(i < 50 ? ['-v', `dfvol${i}:/v`] : []), 'busybox', 'true')),
      );
      await ok(
        d(
          'run',
          '--name',
          'dfwriter',
          '-v',
          'dfvol0:/v',
          'busybox',
          'sh',
          '-c',
          'dd if=/dev/zero of=/v/f bs=1k count=300 2>/dev/null; dd if=/dev/zero of=/big bs=1k count=200 2>/dev/null',
        ),
      );
      const timings: number[] = [];
      let usage: Doc = {};
      for (let i = 0; i < 10; i++) {
        const start = process.hrtime.bigint();
        const res = await api(daemon, 'GET', '/system/df');
        timings.push(Number(process.hrtime.bigint() - start) / 1e6);
        assert.equal(res.status, 200);
        usage = JSON.parse(res.text) as Doc;
      }
      timings.sort((a, b) => a - b);
      const median = timings[Math.floor(timings.length / 2)];
      process.stdout.write(
        `# system df with ${usage.Containers.length} containers, ${usage.Volumes.length} volumes: median ${median.toFixed(1)} ms, max ${timings.at(-1)!.toFixed(1)} ms\n`,
      );
      assert.ok(median < 100, `median ${median} ms`);
      assert.ok(usage.Containers.length >= 201);
      assert.ok(usage.Volumes.length >= 50);
      const writer = (usage.Containers as Doc[]).find((c) => c.Names[0] === '/dfwriter')!;
      assert.ok(writer.SizeRw >= 200 * 1024, `SizeRw ${writer.SizeRw}`);
      assert.ok(writer.SizeRootFs > writer.SizeRw);
      const vol0 = (usage.Volumes as Doc[]).find((v) => v.Name === 'dfvol0')!;
      assert.ok(vol0.UsageData.Size >= 300 * 1024, JSON.stringify(vol0.UsageData));
      assert.equal(vol0.UsageData.RefCount, 2);
      const image = (usage.Images as Doc[]).find((i) => (i.RepoTags as string[]).includes('busybox:latest'))!;
      assert.ok(image.Containers >= 201);
      assert.ok(usage.LayersSize > 0);
      assert.equal(
        (await ok(d('system', 'df'))).split('\n')[0].replace(/\s+/g, ' '),
        'TYPE TOTAL ACTIVE SIZE RECLAIMABLE',
      );
      const summary = await d(
        'system',
        'df',
        '--format',
        '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}',
      );
      assert.equal(
        (
          await berth(daemon, [
            'system',
            'df',
            '--format',
            '{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}',
          ])
        ).stdout,
        summary.stdout,
      );
      const dockerJson = await d('system', 'df', '--format', 'json');
      assert.equal((await berth(daemon, ['system', 'df', '--format', 'json'])).stdout, dockerJson.stdout);

      // system prune: stopped containers and unused networks, anonymous volumes with --volumes, build cache.
      await ok(d('network', 'create', 'prunable'));
      await ok(d('run', '-d', '--name', 'survivor', '-v', 'dfvol1:/v', 'busybox', 'sleep', '300'));
      await ok(d('create', '-v', '/anon-prunable', 'busybox', 'true'));
      const pruned = await ok(d('system', 'prune', '-f', '--volumes'));
      assert.match(pruned, /^Deleted Containers:\n/);
      assert.match(pruned, /Deleted Networks:\nprunable\n/);
      assert.match(pruned, /Deleted Volumes:\n[0-9a-f]{64}\n/);
      assert.match(pruned, /Total reclaimed space: /);
      const running = (await ok(d('ps', '-q'))).trim().split('\n').sort();
      assert.ok(running.length >= 1);
      assert.deepEqual(
        (await ok(d('ps', '-aq'))).trim().split('\n').sort(),
        running,
        'only running containers stay',
      );
      const names = (await ok(d('volume', 'ls', '-q'))).split('\n').filter(Boolean);
      assert.ok(names.includes('dfvol0') && names.includes('dfvol1'), 'named volumes stay');
      assert.ok(!names.some(isHex64), 'anonymous volumes pruned');
      const again = await berth(daemon, ['system', 'prune', '-f']);
      assert.equal(again.stdout, 'Total reclaimed space: 0B\n');
    });
  },
);
