/**
 * Containers outliving berthd: a kill -9 of berthd with running and
 * restarting containers, a clean shutdown without live-restore, and a long
 * create/start/stop/rm loop that must leave nothing behind.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerdClient } from '../../src/containerd/client.js';
import { seedBusybox } from '../helpers/busybox.js';
import {
  BERTHD,
  cleanupDaemonDir,
  docker,
  startDaemon,
  waitForPing,
  type CommandResult,
  type TestDaemon,
  apiCall,
} from '../helpers/daemon.js';

/** An inspect document or API answer, checked field by field. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
let daemon: TestDaemon;
/** The berthd running now (the first one is replaced by restarts). */
let current: ChildProcess;

const d = (...args: string[]): Promise<CommandResult> => docker(daemon, args);

async function ok(result: Promise<CommandResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

const api = (method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: string }> =>
  apiCall(daemon.socket, method, urlPath, body);

async function apiOk(method: string, urlPath: string, body?: unknown): Promise<Doc> {
  const res = await api(method, urlPath, body);
  assert.ok(res.status < 300, `${method} ${urlPath}: ${res.status} ${res.body}`);
  return res.body ? (JSON.parse(res.body) as Doc) : {};
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

/** Starts berthd again on the same roots and socket. */
async function restartBerthd(): Promise<void> {
  const args = daemon.process.spawnargs.slice(2);
  current = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  current.stderr?.resume();
  await waitForPing(
    daemon.socket,
    exited(current).then(() => 0),
  );
}

async function waitForInfo(check: (info: Doc) => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (check(JSON.parse((await api('GET', '/info')).body) as Doc)) return;
    await sleep(50);
  }
  assert.fail('the daemon configuration did not change');
}

async function inspectAll(names: string[]): Promise<Doc[]> {
  return JSON.parse(await ok(d('inspect', ...names)));
}

/** Runs `count` docker commands, a few at a time. */
async function inBatches(count: number, run: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < count; i += 5) {
    await Promise.all(Array.from({ length: Math.min(5, count - i) }, (_, j) => run(i + j)));
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mountPoint) => mountPoint?.startsWith(dir));
}

function shimsOf(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('containerd-shim') && cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

const cgroupDirs = (id: string): string[] =>
  readdirSync('/sys/fs/cgroup')
    .map((controller) => path.join('/sys/fs/cgroup', controller, 'berth', id))
    .filter((dir) => existsSync(dir));

describe('containers across berthd restarts', { timeout: 300_000 }, () => {
  before(async () => {
    daemon = await startDaemon();
    current = daemon.process;
    await seedBusybox(daemon);
  });

  after(async () => {
    if (!daemon) return;
    const ids = (await d('ps', '-aq')).stdout.split('\n').filter(Boolean);
    if (ids.length) await d('rm', '-f', ...ids);
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 20_000);
    await exited(current);
    clearTimeout(timer);
    await cleanupDaemonDir(daemon.dir);
  });

  test('kill -9 berthd with 20 running and 5 restarting containers: nothing lost, exits recorded', async () => {
    const runners = Array.from({ length: 20 }, (_, i) => `run${i}`);
    const loopers = Array.from({ length: 5 }, (_, i) => `loop${i}`);
    const quitters = Array.from({ length: 3 }, (_, i) => `quit${i}`);
    await inBatches(20, (i) =>
      ok(
        d(
          'run',
          '-d',
          '--name',
          runners[i],
          'busybox',
          'sh',
          '-c',
          'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done',
        ),
      ),
    );
    await inBatches(5, (i) =>
      ok(
        d(
          'run',
          '-d',
          '--name',
          loopers[i],
          '--restart',
          'always',
          'busybox',
          'sh',
          '-c',
          'sleep 0.3; exit 1',
        ),
      ),
    );
    await inBatches(3, (i) =>
      ok(d('run', '-d', '--name', quitters[i], 'busybox', 'sh', '-c', 'sleep 1.5; exit 42')),
    );
    const pids = new Map((await inspectAll(runners)).map((c) => [c.Name, c.State.Pid as number]));
    const idsBefore = (await ok(d('ps', '-aq', '--no-trunc'))).trim().split('\n').sort();
    assert.equal(idsBefore.length, 28);

    current.kill('SIGKILL');
    await exited(current);
    const killedAt = Date.now();
    await sleep(3000);
    // Runners never stop; quitters exited while berthd was away.
    await restartBerthd();

    const idsAfter = (await ok(d('ps', '-aq', '--no-trunc'))).trim().split('\n').sort();
    assert.deepEqual(idsAfter, idsBefore);
    for (const c of await inspectAll(runners)) {
      assert.equal(c.State.Status, 'running', c.Name);
      assert.equal(c.State.Pid, pids.get(c.Name), `${c.Name} is still the same process`);
    }
    for (const c of await inspectAll(quitters)) {
      assert.equal(c.State.Status, 'exited', c.Name);
      assert.equal(c.State.ExitCode, 42, c.Name);
      const finished = Date.parse(c.State.FinishedAt);
      assert.ok(
        finished > killedAt && finished < killedAt + 3000,
        `${c.Name} finished at ${c.State.FinishedAt}`,
      );
    }
    // Output keeps flowing after the FIFOs were reopened.
    const ticks = async (): Promise<number> =>
      Number(/tick (\d+)\s*$/.exec(await ok(d('logs', '--tail', '1', 'run0')))![1]);
    const first = await ticks();
    await sleep(500);
    assert.ok((await ticks()) > first, 'run0 logs do not move');
    // Restart loops go on, counting up.
    const counts = new Map((await inspectAll(loopers)).map((c) => [c.Name, c.RestartCount as number]));
    await sleep(2500);
    for (const c of await inspectAll(loopers)) {
      assert.ok(c.RestartCount > counts.get(c.Name)!, `${c.Name} stopped restarting (${c.RestartCount})`);
    }
    // The exits seen at restore are events too.
    const dies = await ok(
      d(
        'events',
        '--since',
        String(Math.floor(killedAt / 1000)),
        '--until',
        String(Math.ceil(Date.now() / 1000)),
        '--filter',
        'event=die',
        '--filter',
        'container=quit0',
      ),
    );
    assert.match(dies, /exitCode=42/);
    await ok(d('rm', '-f', ...runners, ...loopers, ...quitters));
  });

  test('without live-restore, a shutdown stops containers; always-restart ones come back at start', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'plain',
        'busybox',
        'sh',
        '-c',
        'trap "exit 0" TERM; while true; do sleep 0.1; done',
      ),
    );
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'stubborn',
        '--stop-timeout',
        '1',
        'busybox',
        'sh',
        '-c',
        'trap "" TERM; while true; do sleep 0.1; done',
      ),
    );
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'back',
        '--restart',
        'always',
        'busybox',
        'sh',
        '-c',
        'trap "exit 0" TERM; while true; do sleep 0.1; done',
      ),
    );
    const ids = (await ok(d('ps', '-q', '--no-trunc'))).trim().split('\n');
    current.kill('SIGTERM');
    await exited(current);
    assert.deepEqual(shimsOf(daemon.dir), [], 'shims survive a shutdown without live-restore');
    await restartBerthd();
    const [plain, stubborn] = await inspectAll(['plain', 'stubborn', 'back']);
    assert.equal(plain.State.Status, 'exited');
    assert.equal(plain.State.ExitCode, 0);
    assert.equal(stubborn.State.Status, 'exited');
    assert.equal(stubborn.State.ExitCode, 137);
    await sleep(500);
    assert.equal((await inspectAll(['back']))[0].State.Status, 'running');
    void ids;
    await ok(d('rm', '-f', 'plain', 'stubborn', 'back'));
  });

  test('with live-restore (set by SIGHUP), containers keep running through a shutdown and are taken back', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'kept',
        'busybox',
        'sh',
        '-c',
        'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done',
      ),
    );
    const pid = (await inspectAll(['kept']))[0].State.Pid;
    writeFileSync(daemon.configFile, JSON.stringify({ 'live-restore': true }));
    current.kill('SIGHUP');
    await waitForInfo((info) => info.LiveRestoreEnabled === true);
    current.kill('SIGTERM');
    await exited(current);
    assert.ok(existsSync(`/proc/${pid}`), 'the container died with berthd');
    await restartBerthd();
    const [kept] = await inspectAll(['kept']);
    assert.equal(kept.State.Status, 'running');
    assert.equal(kept.State.Pid, pid);
    const before = (await ok(d('logs', 'kept'))).split('\n').length;
    await sleep(400);
    assert.ok((await ok(d('logs', 'kept'))).split('\n').length > before);
    writeFileSync(daemon.configFile, '{}');
    current.kill('SIGHUP');
    await waitForInfo((info) => info.LiveRestoreEnabled === false);
    await ok(d('rm', '-f', 'kept'));
  });

  test('100 create/start/stop/rm cycles leave no mounts, snapshots, cgroups, shims, FIFOs or fds behind', async () => {
    const cycles = Number(process.env.BERTH_LEAK_CYCLES ?? 100);
    const client = await ContainerdClient.connect({
      address: path.join(daemon.execRoot, 'containerd', 'containerd.sock'),
      namespace: 'berth',
    });
    try {
      const cycle = async (): Promise<string> => {
        const { Id } = await apiOk('POST', '/containers/create', {
          Image: 'busybox',
          Cmd: ['sh', '-c', 'trap "exit 0" TERM; sleep 100 & wait'],
        });
        await apiOk('POST', `/containers/${Id}/start`);
        await apiOk('POST', `/containers/${Id}/stop?t=5`);
        await apiOk('DELETE', `/containers/${Id}`);
        return Id;
      };
      for (let i = 0; i < 3; i++) await cycle();
      const snapshotsBefore = (await client.snapshots.list()).map((s) => s.name).sort();
      const fdsBefore = readdirSync(`/proc/${current.pid}/fd`).length;
      const ids: string[] = [];
      for (let i = 0; i < cycles; i++) ids.push(await cycle());

      // The network namespace directory itself is a (shared) mount of the networking code; what is under it is not.
      const netnsDir = path.join(daemon.execRoot, 'netns');
      assert.deepEqual(
        mountsUnder(daemon.dir).filter((m) => m !== netnsDir),
        [],
        'mounts left under the daemon directory',
      );
      assert.deepEqual((await client.snapshots.list()).map((s) => s.name).sort(), snapshotsBefore);
      assert.deepEqual(await client.containers.list(), []);
      assert.deepEqual(await client.tasks.list(), []);
      assert.deepEqual(shimsOf(daemon.dir), []);
      for (const id of ids) assert.deepEqual(cgroupDirs(id), [], `cgroups left for ${id}`);
      assert.deepEqual(readdirSync(path.join(daemon.dataRoot, 'containers')), []);
      const fifoRoot = path.join(daemon.execRoot, 'fifo');
      assert.deepEqual(existsSync(fifoRoot) ? readdirSync(fifoRoot) : [], []);
      // Leases of other services carry io.berth.* labels; a container's create lease has none.
      const leases = (await client.leases.list()).filter(
        (l) => !Object.keys(l.labels).some((key) => key.startsWith('io.berth.')),
      );
      assert.deepEqual(leases, []);
      const fdsAfter = readdirSync(`/proc/${current.pid}/fd`).length;
      assert.ok(fdsAfter <= fdsBefore + 3, `berthd fds grew from ${fdsBefore} to ${fdsAfter}`);
    } finally {
      client.close();
    }
  });
});
