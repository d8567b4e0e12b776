/**
 * Containers through a real berthd, a real containerd and real runc, driven
 * by the real docker CLI and by berth's own CLI: run, flags seen from inside
 * the container, exit codes, stop timing, restart policies, events,
 * lifecycle commands, logs, listing and inspect.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  berth,
  docker,
  startDaemon,
  type CommandResult,
  type TestDaemon,
  apiCall,
} from '../helpers/daemon.js';
import { seedBusybox } from '../helpers/busybox.js';

/** An inspect document or API answer, checked field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
let daemon: TestDaemon;

/** A CLI call that must succeed; returns its stdout. */
async function ok(result: Promise<CommandResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const d = (...args: string[]): Promise<CommandResult> => docker(daemon, args);
const b = (...args: string[]): Promise<CommandResult> => berth(daemon, args);

const api = (method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: string }> =>
  apiCall(daemon.socket, method, urlPath, body);

async function inspect(name: string): Promise<Doc> {
  return JSON.parse(await ok(d('inspect', name)))[0];
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** The container's cgroup directory under a v1 controller (berth's parent is /berth). */
const cgroupFile = (controller: string, id: string, file: string): string =>
  `/sys/fs/cgroup/${controller}/berth/${id}/${file}`;

/** Mount points at or under `dir`, from berthd's (and this process's) mount namespace. */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint) => mountPoint?.startsWith(dir));
}

describe('containers', { timeout: 300_000 }, () => {
  before(async () => {
    daemon = await startDaemon();
    await seedBusybox(daemon);
  });

  after(async () => {
    if (!daemon) return;
    if (process.env.BERTH_TEST_LOGS) console.error(daemon.logs());
    await d('rm', '-f', ...(await d('ps', '-aq')).stdout.split('\n').filter(Boolean));
    await daemon.stop();
  });

  test('docker run --rm busybox echo hi prints hi and leaves nothing behind', async () => {
    assert.equal(await ok(d('run', '--rm', 'busybox', 'echo', 'hi')), 'hi\n');
    assert.equal(await ok(b('run', '--rm', 'busybox', 'echo', 'hi')), 'hi\n');
    assert.equal(await ok(d('ps', '-aq')), '');
  });

  test('stdout and stderr stay apart, through both CLIs', async () => {
    for (const cli of [d, b]) {
      const r = await cli('run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2');
      assert.equal(r.stdout, 'out\n');
      assert.equal(r.stderr, 'err\n');
    }
  });

  test('stdin is forwarded and closed at EOF (run -i)', async () => {
    const viaDocker = await docker(daemon, ['run', '-i', '--rm', 'busybox', 'wc', '-c'], {
      input: 'hello\n',
    });
    assert.equal(viaDocker.stdout.trim(), '6');
    const viaBerth = await berth(daemon, ['run', '-i', '--rm', 'busybox', 'cat'], { input: 'data\n' });
    assert.equal(viaBerth.stdout, 'data\n');
  });

  test('exit codes: the process own, 127 not found, 126 not executable, 137 killed', async () => {
    for (const cli of [d, b]) {
      assert.equal((await cli('run', '--rm', 'busybox', 'sh', '-c', 'exit 3')).code, 3);
      const missing = await cli('run', '--rm', 'busybox', 'no-such-command');
      assert.equal(missing.code, 127, missing.stderr);
      assert.match(missing.stderr, /executable file not found/);
      assert.equal((await cli('run', '--rm', 'busybox', '/etc')).code, 126);
    }
    const id = (await ok(d('run', '-d', 'busybox', 'sleep', '100'))).trim();
    await ok(d('kill', id));
    assert.equal((await ok(d('wait', id))).trim(), '137');
    const state = (await inspect(id)).State;
    assert.equal(state.ExitCode, 137);
    assert.equal(state.Status, 'exited');
    await ok(d('rm', id));
    // A failed start leaves the container with Docker's code and the error.
    const created = (await ok(d('create', 'busybox', 'no-such-command'))).trim();
    assert.notEqual((await d('start', created)).code, 0);
    const failed = (await inspect(created)).State;
    assert.equal(failed.ExitCode, 127);
    assert.match(failed.Error, /executable file not found/);
    await ok(d('rm', created));
  });

  test('create flags are observable from inside the container', async () => {
    const script = [
      'hostname',
      'cat /etc/hostname',
      'echo "$FOO|$FROM_FILE"',
      'id -u; id -g; id -G',
      'pwd',
      'ulimit -n; ulimit -Hn',
      'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max',
      'cat /proc/self/oom_score_adj',
      'grep -c nameserver /etc/resolv.conf',
      'grep 10.1.2.3 /etc/hosts',
      'cat /proc/sys/kernel/domainname',
    ].join('; ');
    const out = await ok(
      d(
        'run',
        '--rm',
        '-h',
        'box',
        '--domainname',
        'example.test',
        '-e',
        'FOO=bar',
        '--env-file',
        '/dev/null',
        '-e',
        'FROM_FILE=x',
        '-u',
        '65534:65534',
        '--group-add',
        '10',
        '-w',
        '/work/dir',
        '--ulimit',
        'nofile=1000:2000',
        '-m',
        '64m',
        '--pids-limit',
        '40',
        '--oom-score-adj',
        '200',
        '--add-host',
        'db:10.1.2.3',
        'busybox',
        'sh',
        '-c',
        script,
      ),
    );
    assert.deepEqual(out.trim().split('\n'), [
      'box',
      'box',
      'bar|x',
      '65534',
      '65534',
      '65534 10',
      '/work/dir',
      '1000',
      '2000',
      '67108864',
      '40',
      '200',
      '1',
      '10.1.2.3\tdb',
      'example.test',
    ]);
  });

  test('capabilities: Docker default set, cap-drop/cap-add, privileged', async () => {
    const capEff = async (...flags: string[]): Promise<string> =>
      (await ok(d('run', '--rm', ...flags, 'busybox', 'grep', 'CapEff', '/proc/self/status'))).split(
        /\s+/,
      )[1];
    assert.equal(await capEff(), '00000000a80425fb');
    assert.equal(await capEff('--cap-drop', 'ALL'), '0000000000000000');
    assert.equal(await capEff('--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'), '0000000000001000');
    assert.notEqual(await capEff('--privileged'), '00000000a80425fb');
  });

  test('read-only root filesystem, with a writable tmpfs', async () => {
    const r = await d(
      'run',
      '--rm',
      '--read-only',
      '--tmpfs',
      '/scratch',
      'busybox',
      'sh',
      '-c',
      'touch /scratch/ok && touch /nope',
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
  });

  test('ulimits above the host hard limit are refused clearly', async () => {
    const r = await d('run', '--rm', '--ulimit', 'nofile=30000:30000', 'busybox', 'true');
    assert.equal(r.code, 125);
    assert.match(r.stderr, /exceeds the host's hard limit/);
  });

  test('stop: TERM honoured at once; a TERM-ignoring process is killed after -t', async () => {
    const polite = (
      await ok(d('run', '-d', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'))
    ).trim();
    let started = Date.now();
    await ok(d('stop', polite));
    assert.ok(Date.now() - started < 3000, `polite stop took ${Date.now() - started} ms`);
    assert.equal((await inspect(polite)).State.ExitCode, 0);

    const stubborn = (
      await ok(b('run', '-d', 'busybox', 'sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'))
    ).trim();
    started = Date.now();
    await ok(b('stop', '-t', '1', stubborn));
    const took = Date.now() - started;
    assert.ok(took >= 1000 && took < 4000, `stop -t 1 took ${took} ms`);
    assert.equal((await inspect(stubborn)).State.ExitCode, 137);
    // Stopping a stopped container is not an error.
    await ok(d('stop', stubborn));
    await ok(d('rm', polite, stubborn));
  });

  test('restart policies: on-failure:N with RestartCount, always with backoff, no restart after stop', async () => {
    const since = Math.floor(Date.now() / 1000);
    await ok(
      d('run', '-d', '--name', 'onfail', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 1'),
    );
    await ok(d('run', '-d', '--name', 'always', '--restart', 'always', 'busybox', 'true'));
    await waitFor(
      'on-failure retries',
      async () =>
        (await inspect('onfail')).State.Status === 'exited' && (await inspect('onfail')).RestartCount === 2,
    );
    assert.equal((await inspect('onfail')).State.ExitCode, 1);

    await waitFor('always to restart 4 times', async () => (await inspect('always')).RestartCount >= 4);
    const events = (
      await ok(
        d(
          'events',
          '--since',
          String(since),
          '--until',
          String(Math.ceil(Date.now() / 1000) + 1),
          '--filter',
          'container=always',
          '--filter',
          'event=start',
          '--format',
          '{{.TimeNano}}',
        ),
      )
    )
      .trim()
      .split('\n')
      .map(Number);
    const gaps = events.slice(1).map((t, i) => (t - events[i]) / 1e6);
    // 100 ms, 200 ms, 400 ms...: each gap at least the backoff, and growing.
    assert.ok(gaps.length >= 3, `gaps ${gaps}`);
    for (let i = 0; i < 3; i++) assert.ok(gaps[i] >= 100 * 2 ** i, `gap ${i} is ${gaps[i]} ms (${gaps})`);

    await ok(d('stop', 'always'));
    const count = (await inspect('always')).RestartCount;
    await sleep(1500);
    const after = await inspect('always');
    assert.equal(after.State.Status, 'exited');
    assert.equal(after.RestartCount, count);

    await ok(d('run', '-d', '--name', 'unless', '--restart', 'unless-stopped', 'busybox', 'sleep', '100'));
    await ok(d('kill', 'unless'));
    await sleep(500);
    assert.equal((await inspect('unless')).State.Status, 'exited');
    await ok(d('rm', 'onfail', 'always', 'unless'));
  });

  test('an OOM kill sets OOMKilled and emits oom', async (t) => {
    t.after(() => d('rm', '-f', 'oomer'));
    const since = (Date.now() / 1000).toFixed(3);
    const r = await d(
      'run',
      '--name',
      'oomer',
      '-m',
      '8m',
      '--memory-swap',
      '8m',
      'busybox',
      'sh',
      '-c',
      'a=xxxxxxxx; while true; do a="$a$a"; done',
    );
    assert.equal(r.code, 137);
    const state = (await inspect('oomer')).State;
    assert.equal(state.OOMKilled, true);
    assert.equal(state.ExitCode, 137);
    const actions = await ok(
      d(
        'events',
        '--since',
        since,
        '--until',
        (Date.now() / 1000 + 1).toFixed(3),
        '--filter',
        'container=oomer',
        '--format',
        '{{.Action}}',
      ),
    );
    // containerd can report the OOM before the start call has returned; berth
    // holds it until start is out. The kernel may report more than one OOM.
    const order = actions
      .trim()
      .split('\n')
      .filter((action, i, all) => action !== 'oom' || all[i - 1] !== 'oom');
    assert.deepEqual(order, ['create', 'attach', 'start', 'oom', 'die'], actions);
  });

  test('ipc: a shareable /dev/shm is seen by container:<owner>; private and host; Docker errors', async (t) => {
    const hostFile = `/dev/shm/berth-ipc-test-${process.pid}`;
    writeFileSync(hostFile, 'from the host\n');
    t.after(async () => {
      rmSync(hostFile, { force: true });
      await d('rm', '-f', 'ipc-owner', 'ipc-private');
    });
    const ownerId = (
      await ok(
        d(
          'run',
          '-d',
          '--name',
          'ipc-owner',
          '--ipc',
          'shareable',
          '--shm-size',
          '32m',
          'busybox',
          'sh',
          '-c',
          'echo owner > /dev/shm/mark; sleep 300',
        ),
      )
    ).trim();
    const ownerShm = path.join(daemon.dataRoot, 'containers', ownerId, 'mounts', 'shm');
    assert.deepEqual(mountsUnder(ownerShm), [ownerShm], 'the owner /dev/shm is a mount berth manages');
    await waitFor(
      'the owner mark',
      async () => (await d('exec', 'ipc-owner', 'cat', '/dev/shm/mark')).code === 0,
    );
    const ownerNs = await ok(d('exec', 'ipc-owner', 'busybox', 'readlink', '/proc/self/ns/ipc'));

    const joined = await ok(
      d(
        'run',
        '--rm',
        '--ipc',
        'container:ipc-owner',
        'busybox',
        'sh',
        '-c',
        'cat /dev/shm/mark; busybox readlink /proc/self/ns/ipc; df -k /dev/shm | tail -1; echo joiner > /dev/shm/back',
      ),
    );
    const [mark, joinedNs, df] = joined.trim().split('\n');
    assert.equal(mark, 'owner');
    assert.equal(joinedNs + '\n', ownerNs);
    assert.equal(df.trim().split(/\s+/)[1], String(32 * 1024), df);
    assert.equal(await ok(d('exec', 'ipc-owner', 'cat', '/dev/shm/back')), 'joiner\n');

    // private (the default) keeps its own, empty /dev/shm and namespace.
    const own = await ok(
      d('run', '--rm', 'busybox', 'sh', '-c', 'ls -A /dev/shm; busybox readlink /proc/self/ns/ipc'),
    );
    assert.equal(own.trim().split('\n').length, 1, own);
    assert.notEqual(own, ownerNs);
    // host: the host's /dev/shm and IPC namespace.
    const host = await ok(
      d(
        'run',
        '--rm',
        '--ipc',
        'host',
        'busybox',
        'sh',
        '-c',
        `cat ${hostFile}; busybox readlink /proc/self/ns/ipc`,
      ),
    );
    assert.equal(host, `from the host\n${readlinkSync('/proc/self/ns/ipc')}\n`);

    // Docker's errors: a donor that is not shareable, one that is not running.
    await ok(d('run', '-d', '--name', 'ipc-private', 'busybox', 'sleep', '300'));
    const privateJoin = await d('run', '--rm', '--ipc', 'container:ipc-private', 'busybox', 'true');
    assert.equal(privateJoin.code, 125);
    assert.match(
      privateJoin.stderr,
      /failed to join IPC namespace: container ipc-private: non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/,
    );
    await ok(d('stop', '-t', '0', 'ipc-owner'));
    assert.deepEqual(mountsUnder(ownerShm), [], 'the owner /dev/shm is unmounted when it stops');
    assert.equal(existsSync(ownerShm), false);
    const stoppedJoin = await d('run', '--rm', '--ipc', 'container:ipc-owner', 'busybox', 'true');
    assert.equal(stoppedJoin.code, 125);
    assert.match(stoppedJoin.stderr, /failed to join IPC namespace: Container ipc-owner is not running/);
    // Each run of the owner gets a fresh tmpfs, unmounted again when it is removed.
    await ok(d('start', 'ipc-owner'));
    assert.deepEqual(mountsUnder(ownerShm), [ownerShm]);
    await ok(d('rm', '-f', 'ipc-owner'));
    assert.deepEqual(mountsUnder(ownerShm), []);
  });

  test('User is resolved against the container own /etc/passwd at every start', async (t) => {
    t.after(() => d('rm', '-f', 'user-late'));
    // As on Docker, create accepts a user the image does not know; start refuses it.
    await ok(d('create', '--name', 'user-late', '-u', 'app', 'busybox', 'sh', '-c', 'id -u; exec sleep 300'));
    const refused = await d('start', 'user-late');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unable to find user app: no matching entries in passwd file/);

    const passwd = path.join(daemon.dir, 'user-late-passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n');
    await ok(d('cp', passwd, 'user-late:/etc/passwd'));
    await ok(d('start', 'user-late'));
    await waitFor('the first id', async () => (await ok(d('logs', 'user-late'))) === '1234\n');

    // A change made from inside the container takes effect at its next start.
    await ok(
      d(
        'exec',
        '-u',
        '0',
        'user-late',
        'sh',
        '-c',
        "printf 'root:x:0:0::/root:/bin/sh\\napp:x:4321:4321::/home/app:/bin/sh\\n' > /etc/passwd",
      ),
    );
    await ok(d('restart', '-t', '0', 'user-late'));
    await waitFor('the second id', async () => (await ok(d('logs', 'user-late'))) === '1234\n4321\n');
  });

  test('/info counts containers by state', async () => {
    await ok(d('run', '-d', '--name', 'count-run', 'busybox', 'sleep', '100'));
    await ok(d('run', '-d', '--name', 'count-paused', 'busybox', 'sleep', '100'));
    await ok(d('pause', 'count-paused'));
    await ok(d('create', '--name', 'count-created', 'busybox'));
    assert.equal(
      await ok(
        d(
          'info',
          '--format',
          '{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}}',
        ),
      ),
      '3 1 1 1\n',
    );
    await ok(d('rm', '-f', 'count-run', 'count-paused', 'count-created'));
  });

  test('events of a full docker run --rm, in order', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    await ok(d('run', '--rm', '--name', 'evrun', 'busybox', 'true'));
    const out = await ok(
      d(
        'events',
        '--since',
        since,
        '--until',
        (Date.now() / 1000 + 1).toFixed(3),
        '--filter',
        'container=evrun',
        '--format',
        '{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.image}}',
      ),
    );
    assert.deepEqual(out.trim().split('\n'), [
      'create evrun busybox',
      'attach evrun busybox',
      'start evrun busybox',
      'die evrun busybox',
      'destroy evrun busybox',
    ]);
    const dieLine = await ok(
      d(
        'events',
        '--since',
        since,
        '--until',
        (Date.now() / 1000).toFixed(3),
        '--filter',
        'event=die',
        '--filter',
        'container=evrun',
      ),
    );
    assert.match(dieLine, /exitCode=0/);
  });

  test('pause freezes the process; unpause resumes it', async () => {
    const id = (
      await ok(d('run', '-d', 'busybox', 'sh', '-c', 'while true; do echo tick; sleep 0.05; done'))
    ).trim();
    const ticks = async (): Promise<number> => (await ok(d('logs', id))).split('\n').length;
    await sleep(300);
    await ok(d('pause', id));
    assert.equal((await inspect(id)).State.Status, 'paused');
    assert.match(await ok(d('ps', '--filter', `id=${id}`, '--format', '{{.Status}}')), /\(Paused\)/);
    const before = await ticks();
    await sleep(500);
    assert.equal(await ticks(), before, 'the paused process kept writing');
    await ok(b('unpause', id));
    assert.equal((await inspect(id)).State.Status, 'running');
    await sleep(300);
    assert.ok((await ticks()) > before);
    await ok(d('rm', '-f', id));
  });

  test('rename, update (live), top, diff, export and commit', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'work1',
        'busybox',
        'sh',
        '-c',
        'echo hello > /greeting; rm /bin/ls; mkdir -p /a/b; sleep 100',
      ),
    );
    await sleep(300);
    await ok(d('rename', 'work1', 'work2'));
    assert.equal((await inspect('work2')).Name, '/work2');
    assert.equal((await d('inspect', 'work1')).code, 1);

    const id = (await inspect('work2')).Id as string;
    await ok(d('update', '--memory', '96m', '--memory-swap', '200m', '--restart', 'on-failure:3', 'work2'));
    assert.equal(
      readFileSync(cgroupFile('memory', id, 'memory.limit_in_bytes'), 'utf8').trim(),
      String(96 * 1024 * 1024),
    );
    const updated = await inspect('work2');
    assert.equal(updated.HostConfig.Memory, 96 * 1024 * 1024);
    assert.deepEqual(updated.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });

    const top = await ok(d('top', 'work2'));
    assert.match(top.split('\n')[0], /PID/);
    assert.match(top, /sleep 100/);
    assert.doesNotMatch(top, /containerd/);

    assert.deepEqual((await ok(d('diff', 'work2'))).trim().split('\n'), [
      'A /a',
      'A /a/b',
      'C /bin',
      'D /bin/ls',
      'A /greeting',
    ]);

    await ok(b('export', '-o', `${daemon.dir}/export.tar`, 'work2'));
    const listing = execFileSync('tar', ['-tf', `${daemon.dir}/export.tar`]).toString();
    assert.match(listing, /^greeting$/m);
    assert.doesNotMatch(listing, /^bin\/ls$/m);

    const imageId = (
      await ok(d('commit', '-c', 'CMD ["cat", "/greeting"]', '-m', 'msg', 'work2', 'committed:v1'))
    ).trim();
    assert.match(imageId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await ok(d('run', '--rm', 'committed:v1')), 'hello\n');
    assert.equal(
      (await ok(d('run', '--rm', 'committed:v1', 'sh', '-c', 'ls /bin/ls || echo gone'))).trim(),
      'gone',
    );
    await ok(d('rm', '-f', 'work2'));
    await ok(d('rmi', 'committed:v1'));
  });

  test('commit: the layer holds what docker diff shows, not the mount points the runtime needs', async (t) => {
    t.after(async () => {
      await d('rm', '-f', 'layered');
      await d('rmi', 'layered:v1');
    });
    await ok(
      d(
        'run',
        '--name',
        'layered',
        '--init',
        '--tmpfs',
        '/scratch',
        '-t',
        'busybox',
        'sh',
        '-c',
        'mkdir -p /a/b; echo x > /etc/extra; echo y > /new',
      ),
    );
    const diff = (await ok(d('diff', 'layered'))).trim().split('\n');
    assert.deepEqual(diff, ['A /a', 'A /a/b', 'C /etc', 'A /etc/extra', 'A /new']);
    await ok(d('commit', 'layered', 'layered:v1'));
    const saved = path.join(daemon.dir, 'layered.tar');
    await ok(d('save', '-o', saved, 'layered:v1'));
    const manifest = JSON.parse(execFileSync('tar', ['-xOf', saved, 'manifest.json']).toString());
    const layers: string[] = manifest[0].Layers;
    const top = path.join(daemon.dir, 'layered-top.tar');
    writeFileSync(
      top,
      execFileSync('tar', ['-xOf', saved, layers[layers.length - 1]], { maxBuffer: 1 << 30 }),
    );
    const listing = execFileSync('tar', ['-tf', top])
      .toString()
      .trim()
      .split('\n')
      .map((entry) => `/${entry.replace(/^\.?\/+/, '').replace(/\/$/, '')}`)
      .sort();
    assert.deepEqual(listing, diff.map((line) => line.slice(2)).sort());
    // The committed image still runs, with its own /etc files mounted over.
    assert.equal(await ok(d('run', '--rm', 'layered:v1', 'cat', '/new', '/etc/extra')), 'y\nx\n');
  });

  test('wait conditions and docker wait', async () => {
    const id = (await ok(d('create', '--rm', 'busybox', 'sh', '-c', 'sleep 0.3; exit 5'))).trim();
    const removed = api('POST', `/containers/${id}/wait?condition=removed`);
    const nextExit = api('POST', `/containers/${id}/wait?condition=next-exit`);
    await sleep(100);
    await ok(d('start', id));
    assert.deepEqual(JSON.parse((await nextExit).body), { StatusCode: 5 });
    assert.deepEqual(JSON.parse((await removed).body), { StatusCode: 5 });
    assert.equal((await api('GET', `/containers/${id}/json`)).status, 404);

    const other = (await ok(d('run', '-d', 'busybox', 'sh', '-c', 'sleep 0.3; exit 4'))).trim();
    assert.equal((await ok(d('wait', other))).trim(), '4');
    assert.equal((await ok(b('wait', other))).trim(), '4');
    assert.equal((await api('POST', `/containers/${other}/wait?condition=bogus`)).status, 400);
    await ok(d('rm', other));
  });

  test('logs: all, tail, timestamps, since, follow until exit', async () => {
    const id = (
      await ok(
        d(
          'run',
          '-d',
          'busybox',
          'sh',
          '-c',
          'for i in 1 2 3 4 5; do echo line $i; done; sleep 0.2; echo oops >&2; sleep 1; echo late',
        ),
      )
    ).trim();
    await sleep(500);
    const all = await d('logs', id);
    assert.equal(all.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal(all.stderr, 'oops\n');
    assert.equal(await ok(d('logs', '--tail', '2', id)), 'line 5\n');
    const stamped = await b('logs', '-t', '--tail', '2', id);
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 5\n$/);
    assert.match(stamped.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z oops\n$/);
    const followed = await ok(d('logs', '-f', id));
    assert.equal(followed, 'line 1\nline 2\nline 3\nline 4\nline 5\nlate\n');
    assert.equal(await ok(d('logs', '--since', '2100-01-01T00:00:00Z', id)), '');
    const log = readFileSync((await inspect(id)).LogPath, 'utf8').split('\n')[0];
    const entry = JSON.parse(log);
    assert.deepEqual(Object.keys(entry), ['log', 'stream', 'time']);
    assert.equal(entry.log, 'line 1\n');
    await ok(d('rm', id));
  });

  test('ps: default table, -a, -q, -n, filters, --format, --no-trunc; berth prints what docker prints', async () => {
    const running = (
      await ok(d('run', '-d', '--name', 'ps-run', '-l', 'tier=web', 'busybox', 'sleep', '100'))
    ).trim();
    assert.equal(
      (await d('run', '--name', 'ps-exit', '-l', 'tier=db', 'busybox', 'sh', '-c', 'exit 2')).code,
      2,
    );
    const table = (await ok(d('ps'))).split('\n');
    assert.match(table[0], /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
    assert.match(
      table[1],
      new RegExp(`^${running.slice(0, 12)}\\s+busybox\\s+"sleep 100"\\s+.*Up .*ps-run$`),
    );
    assert.equal(table.filter(Boolean).length, 2);
    assert.equal(await ok(d('ps', '-q', '--no-trunc')), `${running}\n`);
    assert.match(
      await ok(
        d(
          'ps',
          '-a',
          '--filter',
          'status=exited',
          '--filter',
          'name=ps-',
          '--format',
          '{{.Names}} {{.Status}}',
        ),
      ),
      /^ps-exit Exited \(2\) .* ago\n$/,
    );
    assert.equal(await ok(d('ps', '-a', '--filter', 'label=tier=db', '--format', '{{.Names}}')), 'ps-exit\n');
    assert.equal(await ok(d('ps', '-a', '--filter', 'exited=2', '--format', '{{.Names}}')), 'ps-exit\n');
    assert.equal(await ok(d('ps', '-n', '1', '--format', '{{.Names}}')), 'ps-exit\n');
    assert.equal(
      await ok(
        d('ps', '-a', '--filter', 'ancestor=busybox', '--filter', 'name=ps-', '--format', '{{.Names}}'),
      ),
      'ps-exit\nps-run\n',
    );
    const formats = [
      '{{.ID}}|{{.Image}}|{{.Command}}|{{.Names}}|{{.State}}|{{.Labels}}',
      'table {{.ID}}\t{{.Names}}\t{{.Label "tier"}}',
    ];
    for (const format of formats) {
      assert.equal(
        await ok(b('ps', '-a', '--filter', 'name=ps-', '--format', format)),
        await ok(d('ps', '-a', '--filter', 'name=ps-', '--format', format)),
      );
    }
    assert.equal(await ok(b('ps', '-a', '-q')), await ok(d('ps', '-a', '-q')));
    const bad = await d('ps', '--filter', 'status=bogus');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /invalid filter 'status=bogus'/);
    await ok(d('rm', '-f', 'ps-run', 'ps-exit'));
  });

  test('names: generated, Docker validation, 409 on duplicates; IDs by unique prefix only', async () => {
    const a = (await ok(d('create', 'busybox'))).trim();
    const name = (await inspect(a)).Name as string;
    assert.match(name, /^\/[a-z]+_[a-z]+\d?$/);
    await ok(d('create', '--name', 'taken', 'busybox'));
    const dup = await d('create', '--name', 'taken', 'busybox');
    assert.equal(dup.code, 1);
    assert.match(
      dup.stderr,
      /Conflict\. The container name "\/taken" is already in use by container "[0-9a-f]{64}"\. You have to remove \(or rename\) that container to be able to reuse that name\./,
    );
    const invalid = await d('create', '--name', 'bad name!', 'busybox');
    assert.match(
      invalid.stderr,
      /Invalid container name \(bad name!\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_.-\] are allowed/,
    );
    assert.equal((await inspect(a.slice(0, 10))).Id, a);
    const ids = (await ok(d('ps', '-aq', '--no-trunc'))).trim().split('\n');
    for (let i = 0; i < 20 && ids.length < 40; i++) ids.push((await ok(d('create', 'busybox'))).trim());
    const shared = ids.map((id) => id[0]).find((c, i, all) => all.indexOf(c) !== i)!;
    const ambiguous = await api('GET', `/containers/${shared}/json`);
    assert.equal(ambiguous.status, 400);
    assert.match(JSON.parse(ambiguous.body).message, /multiple IDs found with provided prefix/);
    assert.equal((await api('GET', '/containers/nonexistent/json')).status, 404);
    const recentKept = await ok(d('container', 'prune', '-f', '--filter', 'until=1h'));
    assert.doesNotMatch(recentKept, new RegExp(a));
    const badUntil = await d('container', 'prune', '-f', '--filter', 'until=yesterday');
    assert.match(badUntil.stderr, /failed to parse value as time or duration: "yesterday"/);
    const pruned = await ok(d('container', 'prune', '-f'));
    assert.match(pruned, /Deleted Containers:/);
    assert.match(pruned, new RegExp(`^${a}$`, 'm'));
    assert.equal(await ok(d('ps', '-aq', '--filter', 'status=created')), '');
  });

  test('rm: a running container is refused with Docker message; -f kills it', async () => {
    await ok(d('run', '-d', '--name', 'busy', 'busybox', 'sleep', '100'));
    const refused = await d('rm', 'busy');
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /cannot remove container "busy": container is running: stop the container before removing or force remove/,
    );
    await ok(b('rm', '-f', 'busy'));
    assert.equal((await d('inspect', 'busy')).code, 1);
  });

  test('restart, start -a and attach to a running container', async () => {
    const id = (await ok(d('run', '-d', 'busybox', 'sh', '-c', 'echo started; sleep 100'))).trim();
    const before = (await inspect(id)).State.StartedAt;
    await ok(d('restart', '-t', '0', id));
    const after = await inspect(id);
    assert.equal(after.State.Status, 'running');
    assert.notEqual(after.State.StartedAt, before);
    await ok(d('rm', '-f', id));

    const created = (await ok(d('create', 'busybox', 'sh', '-c', 'echo from-start; exit 6'))).trim();
    const started = await d('start', '-a', created);
    assert.equal(started.stdout, 'from-start\n');
    assert.equal(started.code, 6);

    const looping = (
      await ok(d('run', '-d', 'busybox', 'sh', '-c', 'sleep 0.5; echo hello-attached; exit 3'))
    ).trim();
    const attached = await d('attach', looping);
    assert.equal(attached.stdout, 'hello-attached\n');
    assert.equal(attached.code, 3);
    await ok(d('rm', created, looping));
  });

  test('inspect has every field of moby swagger.yaml, with the right types', async (t) => {
    const swagger = [
      process.env.BERTH_SWAGGER,
      '/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml',
      '/tmp/moby-dev/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml',
    ].find((p): p is string => Boolean(p) && existsSync(p!));
    if (!swagger) return t.skip('swagger.yaml not available');
    const id = (await ok(d('run', '-d', 'busybox', 'sleep', '100'))).trim();
    const doc = JSON.parse((await api('GET', `/containers/${id}/json?size=1`)).body);
    const lines = readFileSync(swagger, 'utf8').split('\n');
    const titleAt = lines.findIndex((l) => l.includes('title: "ContainerInspectResponse"'));
    let schemaAt = titleAt;
    while (lines[schemaAt].trim() !== 'schema:') schemaAt--;
    checkAgainstSchema(lines, schemaAt, doc, 'inspect');
    for (const [field, definition] of [
      ['State', 'ContainerState'],
      ['Config', 'ContainerConfig'],
      ['HostConfig', 'HostConfig'],
      ['NetworkSettings', 'NetworkSettings'],
    ] as const) {
      const at = lines.findIndex((l) => l === `  ${definition}:`);
      checkAgainstSchema(lines, at, doc[field], field);
    }
    await ok(d('rm', '-f', id));
  });
});

/** Properties (name, type) of the schema starting at `start`, following allOf $refs. */
function schemaProperties(lines: string[], start: number): Map<string, string | undefined> {
  const props = new Map<string, string | undefined>();
  const indentOf = (l: string): number => l.length - l.trimStart().length;
  const baseIndent = indentOf(lines[start]);
  for (
    let i = start + 1;
    i < lines.length && (lines[i].trim() === '' || indentOf(lines[i]) > baseIndent);
    i++
  ) {
    const ref = /^\s*- \$ref: "#\/definitions\/(\w+)"/.exec(lines[i]);
    if (ref) {
      const at = lines.findIndex((l) => l === `  ${ref[1]}:`);
      for (const [k, v] of schemaProperties(lines, at)) props.set(k, v);
    }
    if (lines[i].trim() !== 'properties:') continue;
    const propIndent = indentOf(lines[i]) + 2;
    for (
      let j = i + 1;
      j < lines.length && (lines[j].trim() === '' || indentOf(lines[j]) >= propIndent);
      j++
    ) {
      if (indentOf(lines[j]) !== propIndent || !lines[j].trim().endsWith(':')) continue;
      const name = lines[j].trim().slice(0, -1);
      let type: string | undefined;
      for (let k = j + 1; k < lines.length && indentOf(lines[k]) > propIndent; k++) {
        const m = /^\s*type: "(\w+)"/.exec(lines[k]);
        if (m && indentOf(lines[k]) === propIndent + 2) type = m[1];
        if (/\$ref/.test(lines[k]) && indentOf(lines[k]) === propIndent + 2) type = 'object';
      }
      props.set(name, type);
    }
    break;
  }
  return props;
}

function checkAgainstSchema(
  lines: string[],
  start: number,
  value: Record<string, unknown>,
  where: string,
): void {
  const props = schemaProperties(lines, start);
  assert.ok(props.size > 5, `no schema found for ${where}`);
  const optional = new Set([
    'Health',
    'SizeRw',
    'SizeRootFs',
    'Healthcheck',
    'ArgsEscaped',
    'MacAddress',
    'NetworkDisabled',
    'StopSignal',
    'StopTimeout',
    'Shell',
    'ExposedPorts',
    'OnBuild',
    'Node',
    'Annotations',
    'Mounts',
    'StorageOpt',
    'Tmpfs',
    'Sysctls',
    'KernelMemory',
    'KernelMemoryTCP',
    'Init',
    'LinkLocalIPv6PrefixLen',
  ]);
  for (const [name, type] of props) {
    if (!(name in value)) {
      assert.ok(optional.has(name), `${where}.${name} is missing`);
      continue;
    }
    const v = value[name];
    if (v === null || type === undefined) continue;
    const actual = Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : typeof v;
    const expected = type === 'number' && actual === 'integer' ? 'integer' : type;
    assert.equal(actual, expected, `${where}.${name} is ${actual}, swagger says ${type}`);
  }
}
