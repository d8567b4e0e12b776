/**
 * Everything a user sees of a running container, through a real berthd and
 * the real docker CLI (and berth's): stdin and TTYs, attach (hijacked and
 * websocket), exec, logs with each option and across rotation, stats,
 * healthchecks, interactive sessions under tmux, a 200 MB stream, and logs
 * across a kill -9 of berthd.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameDecoder } from '../../src/api/router/container/websocket.js';
import {
  BERTH,
  BERTHD,
  berth,
  cleanupDaemonDir,
  docker,
  runCommand,
  startDaemon,
  waitForPing,
  type CommandResult,
  type TestDaemon,
  apiCall,
} from '../helpers/daemon.js';
import { seedBusybox } from '../helpers/busybox.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;
let daemon: TestDaemon;
/** The berthd process now serving the daemon's roots (replaced by the kill -9 test). */
let berthd: ChildProcess;
const tmuxSocket = `berth-io-${process.pid}`;

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

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Events of the last two minutes matching the filters, as `Action {attributes}` lines. */
async function recentEvents(...filters: string[]): Promise<string[]> {
  // The docker CLI sends a relative --until in whole seconds: an absolute one keeps this second's events.
  const until = (Date.now() / 1000 + 0.05).toFixed(3);
  const args = [
    'events',
    '--since',
    '2m',
    '--until',
    until,
    '--format',
    '{{.Action}} {{json .Actor.Attributes}}',
  ];
  for (const filter of filters) args.push('--filter', filter);
  return (await ok(d(...args))).split('\n').filter(Boolean);
}

// ------------------------------------------------------------------ tmux

const tmux = (...args: string[]): Promise<CommandResult> => runCommand('tmux', ['-L', tmuxSocket, ...args]);

async function screen(session: string): Promise<string> {
  return (await tmux('capture-pane', '-t', session, '-p')).stdout;
}

async function waitForScreen(session: string, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  let last = '';
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    last = await screen(session);
    if (pattern.test(last)) return last;
    await sleep(100);
  }
  assert.fail(`screen never matched ${pattern}:\n${last}`);
}

/** Starts a command in a tmux session of its own size; its exit status lands in `<dir>/<session>.status`. */
async function openSession(session: string, command: string, size = { x: 100, y: 30 }): Promise<string> {
  const statusFile = path.join(daemon.dir, `${session}.status`);
  const env = `DOCKER_HOST=${daemon.host} DOCKER_CONFIG=${path.join(daemon.dir, 'docker-config')}`;
  await ok(
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      String(size.x),
      '-y',
      String(size.y),
      `env ${env} ${command}; echo $? > ${statusFile}; sleep 30`,
    ),
  );
  return statusFile;
}

async function sessionStatus(statusFile: string): Promise<number> {
  let text = '';
  await waitFor(`exit status in ${statusFile}`, () => {
    try {
      text = readFileSync(statusFile, 'utf8').trim();
      return text !== '';
    } catch {
      return false;
    }
  });
  return Number(text);
}

/** berthd's resident memory in KiB. */
function berthdRss(): number {
  const status = readFileSync(`/proc/${berthd.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

before(async () => {
  daemon = await startDaemon();
  berthd = daemon.process;
  await seedBusybox(daemon);
});

after(async () => {
  await tmux('kill-server');
  if (!daemon) return;
  const ids = (await d('ps', '-aq')).stdout.split('\n').filter(Boolean);
  if (ids.length) await d('rm', '-f', ...ids);
  if (berthd.exitCode === null && berthd.signalCode === null) {
    berthd.kill('SIGTERM');
    const timer = setTimeout(() => berthd.kill('SIGKILL'), 20_000);
    await new Promise((resolve) => berthd.once('exit', resolve));
    clearTimeout(timer);
  }
  await cleanupDaemonDir(daemon.dir);
});

describe('stdin, TTY and attach', { timeout: 120_000 }, () => {
  test('echo data | docker run -i busybox cat, and the exit code comes back', async () => {
    const r = await docker(daemon, ['run', '-i', '--rm', 'busybox', 'cat'], { input: 'data\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'data\n');
    const big = randomBytes(300_000).toString('base64');
    const md5 = await docker(daemon, ['run', '-i', '--rm', 'busybox', 'md5sum'], { input: big });
    assert.equal(md5.stdout.split(' ')[0], createHash('md5').update(big).digest('hex'));
    assert.equal((await d('run', '--rm', 'busybox', 'sh', '-c', 'exit 13')).code, 13);
    const viaBerth = await berth(daemon, ['run', '-i', '--rm', 'busybox', 'cat'], {
      input: 'through berth\n',
    });
    assert.equal(viaBerth.stdout, 'through berth\n');
  });

  test('docker run -t: one terminal for both streams, CRLF line ends', async () => {
    const r = await d(
      'run',
      '-t',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'echo out; echo err >&2; ls -l /proc/self/fd/1',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^out\r\nerr\r\n/);
    assert.match(r.stdout, /\/dev\/pts\/0/);
    assert.equal(r.stderr, '');
  });

  test('-a picks the streams; several attachers see the same output; attach with logs=1 replays', async () => {
    const onlyErr = await d('run', '--rm', '-a', 'stderr', 'busybox', 'sh', '-c', 'echo out; echo err >&2');
    assert.equal(onlyErr.stdout, '');
    assert.equal(onlyErr.stderr, 'err\n');

    await ok(
      d(
        'run',
        '-d',
        '-i',
        '--name',
        'echoer',
        'busybox',
        'sh',
        '-c',
        'echo first; while read l; do echo "got $l"; done',
      ),
    );
    await waitFor('first line', async () => (await d('logs', 'echoer')).stdout === 'first\n');
    const attachers = [0, 1].map(() =>
      spawn('docker', ['attach', '--no-stdin', 'echoer'], {
        env: { ...process.env, DOCKER_HOST: daemon.host },
      }),
    );
    const outputs = attachers.map((child) => {
      let text = '';
      child.stdout!.on('data', (c: Buffer) => (text += c.toString()));
      return () => text;
    });
    await sleep(800);
    const writer = spawn('docker', ['attach', 'echoer'], {
      env: { ...process.env, DOCKER_HOST: daemon.host },
    });
    writer.stdin!.write('one\ntwo\n');
    await waitFor('both attachers', () => outputs.every((o) => o() === 'got one\ngot two\n'));
    writer.kill('SIGKILL');
    for (const child of attachers) child.kill('SIGKILL');

    const replay = await new Promise<Buffer>((resolve, reject) => {
      const req = http.request({
        socketPath: daemon.socket,
        method: 'POST',
        path: '/v1.43/containers/echoer/attach?logs=1&stream=0&stdout=1&stderr=1',
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      });
      req.on('error', reject);
      req.end();
    });
    // Multiplexed: stdout frames.
    assert.equal(replay[0], 1);
    assert.match(replay.toString(), /first\n[\s\S]*got one\n[\s\S]*got two\n/);
  });

  test('websocket attach: output in binary frames, input from masked frames', async () => {
    await ok(
      d('run', '-d', '-i', '--name', 'wsc', 'busybox', 'sh', '-c', 'while read l; do echo "ws $l"; done'),
    );
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        socketPath: daemon.socket,
        path: '/v1.43/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        },
      });
      req.on('upgrade', (res, socket, head) => {
        assert.equal(res.statusCode, 101);
        const decoder = new FrameDecoder();
        let text = '';
        const onData = (chunk: Buffer): void => {
          for (const frame of decoder.push(chunk)) {
            if (frame.opcode === 2) text += frame.payload.toString();
            if (text.includes('ws hello\n')) {
              socket.destroy();
              resolve(text);
            }
          }
        };
        if (head.length) onData(head);
        socket.on('data', onData);
        const mask = randomBytes(4);
        const payload = Buffer.from('hello\n');
        socket.write(
          Buffer.concat([
            Buffer.from([0x82, 0x80 | payload.length]),
            mask,
            Buffer.from(payload.map((x, i) => x ^ mask[i & 3])),
          ]),
        );
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    assert.equal(received, 'ws hello\n');
  });
});

describe('interactive sessions under tmux', { timeout: 120_000 }, () => {
  test('docker run -it: type, resize, detach with ctrl-p ctrl-q, attach again, exit code', async () => {
    const status = await openSession('run', 'docker run -it --name tty1 busybox sh');
    await waitForScreen('run', /\/ #\s*$/m);
    await tmux('send-keys', '-t', 'run', 'echo typed-$((6*7)); stty size', 'Enter');
    await waitForScreen('run', /typed-42\n30 100/);
    await tmux('resize-window', '-t', 'run', '-x', '120', '-y', '40');
    await sleep(300);
    await tmux('send-keys', '-t', 'run', 'stty size', 'Enter');
    await waitForScreen('run', /40 120/);
    await tmux('send-keys', '-t', 'run', 'C-p', 'C-q');
    assert.equal(await sessionStatus(status), 0);
    assert.equal((await inspect('tty1')).State.Status, 'running');

    const again = await openSession('attach', 'docker attach tty1', { x: 90, y: 25 });
    await sleep(800);
    await tmux('send-keys', '-t', 'attach', 'stty size; exit 3', 'Enter');
    await waitForScreen('attach', /25 90/);
    assert.equal(await sessionStatus(again), 3);
    assert.equal((await inspect('tty1')).State.ExitCode, 3);
  });

  test('berth run -it and berth exec -it behave the same', async () => {
    const status = await openSession('brun', `${process.execPath} ${BERTH} run -it --name tty2 busybox sh`);
    await waitForScreen('brun', /\/ #\s*$/m);
    await tmux('send-keys', '-t', 'brun', 'stty size', 'Enter');
    await waitForScreen('brun', /30 100/);
    await tmux('resize-window', '-t', 'brun', '-x', '110', '-y', '35');
    await sleep(300);
    await tmux('send-keys', '-t', 'brun', 'stty size', 'Enter');
    await waitForScreen('brun', /35 110/);
    await tmux('send-keys', '-t', 'brun', 'C-p', 'C-q');
    assert.equal(await sessionStatus(status), 0);
    assert.equal((await inspect('tty2')).State.Status, 'running');

    const exec = await openSession('bexec', `${process.execPath} ${BERTH} exec -it tty2 sh`, {
      x: 80,
      y: 20,
    });
    await waitForScreen('bexec', /\/ #\s*$/m);
    await tmux('send-keys', '-t', 'bexec', 'stty size; exit 5', 'Enter');
    await waitForScreen('bexec', /20 80/);
    assert.equal(await sessionStatus(exec), 5);

    const dexec = await openSession('dexec', 'docker exec -it tty2 sh', { x: 70, y: 15 });
    await waitForScreen('dexec', /\/ #\s*$/m);
    await tmux('resize-window', '-t', 'dexec', '-x', '75', '-y', '16');
    await sleep(300);
    await tmux('send-keys', '-t', 'dexec', 'stty size; exit 6', 'Enter');
    await waitForScreen('dexec', /16 75/);
    assert.equal(await sessionStatus(dexec), 6);
  });
});

describe('exec', { timeout: 120_000 }, () => {
  before(async () => {
    await ok(
      d('run', '-d', '--name', 'box', '-e', 'FROM_CONTAINER=yes', '-w', '/home', 'busybox', 'sleep', '1000'),
    );
  });

  test('exit codes, environment, user and working directory', async () => {
    assert.equal((await d('exec', 'box', 'sh', '-c', 'exit 7')).code, 7);
    assert.equal(await ok(d('exec', 'box', 'sh', '-c', 'pwd')), '/home\n');
    const out = await ok(
      d(
        'exec',
        '-e',
        'A=1',
        '-u',
        'nobody',
        '-w',
        '/tmp',
        'box',
        'sh',
        '-c',
        'echo $A $FROM_CONTAINER $(id -u):$(id -g) $(pwd)',
      ),
    );
    assert.equal(out, '1 yes 65534:65534 /tmp\n');
    const envFile = path.join(daemon.dir, 'exec.env');
    writeFileSync(envFile, 'FROM_FILE=f\n# comment\n');
    assert.equal(await ok(d('exec', '--env-file', envFile, 'box', 'sh', '-c', 'echo $FROM_FILE')), 'f\n');
    const notFound = await d('exec', 'box', 'no-such-command');
    assert.equal(notFound.code, 127);
    assert.match(notFound.stdout + notFound.stderr, /executable file not found/);
    const r = await docker(daemon, ['exec', '-i', 'box', 'sh', '-c', 'cat; echo done >&2'], {
      input: 'piped\n',
    });
    assert.equal(r.stdout, 'piped\n');
    assert.equal(r.stderr, 'done\n');
    assert.equal((await d('exec', '-t', 'box', 'sh', '-c', 'echo tty')).stdout, 'tty\r\n');
    const caps = async (...flags: string[]): Promise<bigint> =>
      BigInt(
        '0x' +
          (
            await ok(d('exec', ...flags, 'box', 'sh', '-c', 'grep CapEff /proc/self/status | cut -f2'))
          ).trim(),
      );
    assert.ok((await caps('--privileged')) > (await caps()), 'a privileged exec has more capabilities');
  });

  test('detached exec, inspect, and the same through berth', async () => {
    await ok(d('exec', '-d', 'box', 'sh', '-c', 'sleep 0.3; touch /tmp/detached'));
    await waitFor('detached exec', async () => (await d('exec', 'box', 'ls', '/tmp/detached')).code === 0);
    const created = await api('POST', '/v1.43/containers/box/exec', {
      Cmd: ['sh', '-c', 'exit 3'],
      AttachStdout: true,
    });
    assert.equal(created.status, 201);
    const id = (JSON.parse(created.body) as { Id: string }).Id;
    const before = JSON.parse((await api('GET', `/v1.43/exec/${id}/json`)).body) as Doc;
    assert.equal(before.Running, false);
    assert.equal(before.ExitCode, null);
    assert.deepEqual(before.ProcessConfig, {
      tty: false,
      entrypoint: 'sh',
      arguments: ['-c', 'exit 3'],
      privileged: false,
      user: '',
    });
    assert.equal((await api('POST', `/v1.43/exec/${id}/start`, { Detach: true })).status, 200);
    await waitFor(
      'exec exit',
      async () => (JSON.parse((await api('GET', `/v1.43/exec/${id}/json`)).body) as Doc).ExitCode === 3,
    );
    const again = await api('POST', `/v1.43/exec/${id}/start`, { Detach: true });
    assert.equal(again.status, 409);
    assert.equal((await api('GET', '/v1.43/exec/nope/json')).status, 404);

    assert.equal((await b('exec', 'box', 'sh', '-c', 'exit 4')).code, 4);
    const viaBerth = await berth(
      daemon,
      [
        'exec',
        '-i',
        '-e',
        'B=2',
        '-u',
        'nobody',
        '-w',
        '/tmp',
        'box',
        'sh',
        '-c',
        'cat; echo $B $(id -u) $(pwd)',
      ],
      { input: 'in\n' },
    );
    assert.equal(viaBerth.stdout, 'in\n2 65534 /tmp\n');
  });

  test("paused and stopped containers refuse with Docker's 409s; events", async () => {
    await ok(d('run', '-d', '--name', 'pausable', 'busybox', 'sleep', '1000'));
    await ok(d('pause', 'pausable'));
    const paused = await d('exec', 'pausable', 'true');
    assert.equal(paused.code, 1);
    assert.match(paused.stderr, /is paused, unpause the container before exec/);
    await ok(d('unpause', 'pausable'));
    assert.equal((await d('exec', 'pausable', 'sh', '-c', 'exit 2')).code, 2);
    await ok(d('stop', '-t', '0', 'pausable'));
    const stopped = await d('exec', 'pausable', 'true');
    assert.match(stopped.stderr, /Container [0-9a-f]{64} is not running/);
    const status = (await api('POST', '/v1.43/containers/pausable/exec', { Cmd: ['true'] })).status;
    assert.equal(status, 409);
    const events = await recentEvents('container=pausable');
    assert.ok(
      events.some((e) => e.startsWith('exec_create: sh -c exit 2')),
      events.join('\n'),
    );
    assert.ok(events.some((e) => e.startsWith('exec_start: sh -c exit 2')));
    assert.ok(events.some((e) => e.startsWith('exec_die ') && /"exitCode":"2"/.test(e)));
  });
});

describe('logs', { timeout: 120_000 }, () => {
  test('each option: streams, timestamps, since, until, tail, details, follow', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'talker',
        '--label',
        'team=infra',
        '--log-opt',
        'labels=team',
        'busybox',
        'sh',
        '-c',
        'echo one; echo err-one >&2; sleep 1.1; echo two; sleep 1.1; echo three',
      ),
    );
    await ok(d('wait', 'talker'));
    const all = await d('logs', 'talker');
    assert.equal(all.stdout, 'one\ntwo\nthree\n');
    assert.equal(all.stderr, 'err-one\n');
    const stamped = (await ok(d('logs', '-t', 'talker'))).trim().split('\n');
    assert.equal(stamped.length, 3);
    for (const line of stamped)
      assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (one|two|three)$/);
    const timeOf = (word: string): string => stamped.find((l) => l.endsWith(` ${word}`))!.split(' ')[0];
    assert.equal(await ok(d('logs', '--since', timeOf('two'), 'talker')), 'two\nthree\n');
    assert.equal(await ok(d('logs', '--until', timeOf('two'), 'talker')), 'one\ntwo\n');
    assert.equal(await ok(d('logs', '--since', timeOf('two'), '--until', timeOf('two'), 'talker')), 'two\n');
    assert.equal(await ok(d('logs', '--tail', '1', 'talker')), 'three\n');
    assert.equal(await ok(d('logs', '-n', '2', 'talker')), 'two\nthree\n');
    assert.equal(await ok(d('logs', '--tail', '0', 'talker')), '');
    assert.equal(await ok(d('logs', '--details', '--tail', '1', 'talker')), 'team=infra three\n');
    assert.equal(await ok(d('logs', '--since', '1h', 'talker')), 'one\ntwo\nthree\n');
    assert.equal(await ok(b('logs', '--since', timeOf('two'), '--tail', '1', 'talker')), 'three\n');
    assert.equal(await ok(b('logs', '--details', '--tail', '1', 'talker')), 'team=infra three\n');

    // follow: streams new lines and ends when the container stops.
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'follower',
        'busybox',
        'sh',
        '-c',
        'for i in 1 2 3; do echo line$i; sleep 0.4; done',
      ),
    );
    const started = Date.now();
    const followed = await ok(d('logs', '-f', 'follower'));
    assert.equal(followed, 'line1\nline2\nline3\n');
    assert.ok(Date.now() - started >= 700, 'follow waited for the container');
  });

  test('json-file rotation keeps max-file files; follow reads every line across rotations', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'rotator',
        '--log-opt',
        'max-size=2k',
        '--log-opt',
        'max-file=3',
        '--log-opt',
        'compress=true',
        'busybox',
        'sh',
        '-c',
        'sleep 1; seq 1 3000',
      ),
    );
    const followed = await ok(d('logs', '-f', 'rotator'));
    assert.equal(followed, Array.from({ length: 3000 }, (_, i) => `${i + 1}\n`).join(''));
    const kept = (await ok(d('logs', 'rotator'))).trim().split('\n').map(Number);
    assert.ok(kept.length > 20 && kept.length < 3000, `${kept.length} lines kept`);
    assert.equal(kept.at(-1), 3000);
    kept.forEach((n, i) => assert.equal(n, kept[0] + i));
    assert.equal(await ok(d('logs', '--tail', '2', 'rotator')), '2999\n3000\n');
    const logPath = (await inspect('rotator')).LogPath as string;
    const files = (await runCommand('ls', [path.dirname(logPath)])).stdout
      .split('\n')
      .filter((f) => f.includes('-json.log'));
    assert.deepEqual(files.map((f) => f.replace(/^[0-9a-f]{64}/, 'ID')).sort(), [
      'ID-json.log',
      'ID-json.log.1.gz',
      'ID-json.log.2.gz',
    ]);
  });

  test('a line longer than 16 KiB through the local driver comes back whole', async () => {
    const script = "head -c 40000 /dev/zero | tr '\\0' x; echo; echo after";
    try {
      await ok(d('run', '--name', 'longline', '--log-driver', 'local', 'busybox', 'sh', '-c', script));
      const out = await ok(d('logs', 'longline'));
      assert.equal(out, `${'x'.repeat(40_000)}\nafter\n`);
      assert.equal(await ok(d('logs', '--tail', '1', 'longline')), 'after\n');
    } finally {
      await d('rm', '-f', 'longline');
    }
  });

  test('local and none drivers; bad options refused at create', async () => {
    // stdout and stderr are separate pipes: the pause puts the stderr line last in the log.
    await ok(
      d(
        'run',
        '--name',
        'localer',
        '--log-driver',
        'local',
        'busybox',
        'sh',
        '-c',
        'seq 1 5; sleep 0.2; echo bad >&2',
      ),
    );
    assert.equal(await ok(d('logs', '--tail', '3', 'localer')), '4\n5\n');
    assert.equal((await d('logs', 'localer')).stderr, 'bad\n');
    await ok(d('run', '--name', 'silent', '--log-driver', 'none', 'busybox', 'echo', 'x'));
    const none = await d('logs', 'silent');
    assert.notEqual(none.code, 0);
    assert.match(none.stderr, /configured logging driver does not support reading/);
    const bad = await d(
      'run',
      '--rm',
      '--log-opt',
      'max-file=0',
      '--log-opt',
      'max-size=1m',
      'busybox',
      'true',
    );
    assert.match(bad.stderr, /max-file cannot be less than 1/);
  });
});

describe('stats', { timeout: 120_000 }, () => {
  test('docker stats --no-stream: CPU and memory move with the container', async () => {
    await ok(d('run', '-d', '--name', 'burner', 'busybox', 'sh', '-c', 'while :; do :; done'));
    await ok(d('run', '-d', '--name', 'idler', 'busybox', 'sleep', '1000'));
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'grower',
        '-m',
        '256m',
        'busybox',
        'sh',
        '-c',
        'sleep 1.5; dd if=/dev/zero of=/dev/shm/fill bs=1M count=64; sleep 1000',
      ),
    );
    const row = async (name: string): Promise<{ cpu: number; mem: number }> => {
      const out = await ok(d('stats', '--no-stream', '--format', '{{.CPUPerc}} {{.MemUsage}}', name));
      const [cpu, mem] = out.trim().split(' ');
      const [, value, unit] = /^([\d.]+)(B|KiB|MiB|GiB)$/.exec(mem)!;
      return {
        cpu: Number(cpu.replace('%', '')),
        mem: Number(value) * { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[unit]!,
      };
    };
    const before = await row('grower');
    assert.ok(before.mem < 16 * 1024 ** 2, `grower uses ${before.mem} before`);
    await sleep(2500);
    const grown = await row('grower');
    assert.ok(grown.mem >= 60 * 1024 ** 2, `grower uses ${grown.mem} after`);
    const burner = await row('burner');
    const idler = await row('idler');
    assert.ok(burner.cpu > 20, `burner at ${burner.cpu}%`);
    assert.ok(idler.cpu < 5, `idler at ${idler.cpu}%`);
    const table = await ok(d('stats', '--no-stream', 'burner', 'grower'));
    assert.match(
      table.split('\n')[0],
      /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+NET I\/O\s+BLOCK I\/O\s+PIDS$/,
    );
    assert.match(table, /grower .* \/ 256MiB /);
    const viaBerth = await ok(b('stats', '--no-stream', '--format', '{{.Name}} {{.PIDs}}', 'idler'));
    assert.equal(viaBerth, 'idler 1\n');
  });

  test('the API: one-shot answers at once, a stream ends when the container stops', async () => {
    const started = Date.now();
    const oneShot = await api('GET', '/v1.43/containers/burner/stats?stream=0&one-shot=1');
    assert.ok(Date.now() - started < 500);
    const doc = JSON.parse(oneShot.body) as Doc;
    assert.ok(doc.cpu_stats.cpu_usage.total_usage > 0);
    assert.ok(doc.cpu_stats.system_cpu_usage > 0);
    assert.ok(doc.cpu_stats.online_cpus >= 1);
    assert.ok(doc.memory_stats.usage > 0);
    assert.ok(doc.networks?.eth0, JSON.stringify(doc.networks));
    assert.equal(doc.name, '/burner');
    const samples: Doc[] = [];
    const streamed = new Promise<void>((resolve, reject) => {
      http
        .get({ socketPath: daemon.socket, path: '/v1.43/containers/idler/stats' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            const lines = text.split('\n');
            text = lines.pop()!;
            for (const line of lines) if (line) samples.push(JSON.parse(line) as Doc);
          });
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    await sleep(2300);
    await ok(d('stop', '-t', '0', 'idler'));
    await streamed;
    assert.ok(samples.length >= 2, `${samples.length} samples`);
    assert.equal(samples[1].preread, samples[0].read);
    const stopped = JSON.parse((await api('GET', '/v1.43/containers/idler/stats?stream=0')).body) as Doc;
    assert.equal(stopped.read, '0001-01-01T00:00:00Z');
    await ok(d('rm', '-f', 'burner', 'grower'));
  });
});

describe('healthchecks', { timeout: 120_000 }, () => {
  test('healthy then unhealthy, with events, inspect and ps --filter health=', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'checked',
        '--health-cmd',
        'test -f /tmp/ok && echo fine',
        '--health-interval',
        '300ms',
        '--health-retries',
        '2',
        'busybox',
        'sh',
        '-c',
        'touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 1000',
      ),
    );
    assert.match(
      await ok(d('ps', '--format', '{{.Status}}', '--filter', 'name=checked')),
      /\(health: starting\)|\(healthy\)/,
    );
    await waitFor('healthy', async () => (await inspect('checked')).State.Health?.Status === 'healthy');
    assert.equal(await ok(d('ps', '--filter', 'health=healthy', '--format', '{{.Names}}')), 'checked\n');
    await waitFor('unhealthy', async () => (await inspect('checked')).State.Health?.Status === 'unhealthy');
    const health = (await inspect('checked')).State.Health as Doc;
    assert.equal(health.FailingStreak >= 2, true);
    assert.equal(health.Log.length, 5);
    assert.equal(health.Log.at(-1).ExitCode, 1);
    assert.ok(health.Log.some((l: Doc) => l.Output === 'fine\n'));
    assert.match(
      await ok(d('ps', '--format', '{{.Status}}', '--filter', 'health=unhealthy')),
      /^Up .* \(unhealthy\)\n$/,
    );
    const events = (await recentEvents('container=checked', 'event=health_status')).map(
      (e) => e.split(' {')[0],
    );
    assert.deepEqual(events, ['health_status: healthy', 'health_status: unhealthy']);
    assert.ok((await recentEvents('container=checked', 'event=exec_die')).length >= 4);
  });

  describe("the image's HEALTHCHECK fills what the create config leaves unset", () => {
    const s = 1_000_000_000;
    const image = {
      Test: ['CMD-SHELL', 'true'],
      Interval: 30 * s,
      Timeout: 5 * s,
      StartPeriod: 10 * s,
      StartInterval: 2 * s,
      Retries: 4,
    };
    const healthcheckOf = async (name: string): Promise<Doc> => (await inspect(name)).Config.Healthcheck;

    before(async () => {
      await ok(d('create', '--name', 'hc-base', 'busybox', 'sleep', '1000'));
      await ok(
        d(
          'commit',
          '--change',
          'HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --start-interval=2s --retries=4 CMD true',
          'hc-base',
          'hc-image',
        ),
      );
    });

    after(async () => {
      await d('rm', '-f', 'hc-base', 'hc-interval', 'hc-test', 'hc-retries', 'hc-api');
      await d('rmi', 'hc-image');
    });

    test('through the docker CLI (unset fields left out)', async () => {
      await ok(d('create', '--name', 'hc-interval', '--health-interval', '7s', 'hc-image'));
      assert.deepEqual(await healthcheckOf('hc-interval'), { ...image, Interval: 7 * s });
      await ok(d('create', '--name', 'hc-test', '--health-cmd', 'exit 0', 'hc-image'));
      assert.deepEqual(await healthcheckOf('hc-test'), { ...image, Test: ['CMD-SHELL', 'exit 0'] });
    });

    test('through berth and raw API clients (unset fields sent as zeros)', async () => {
      await ok(b('create', '--name', 'hc-retries', '--health-retries', '1', 'hc-image'));
      assert.deepEqual(await healthcheckOf('hc-retries'), { ...image, Retries: 1 });
      const zeros = { Test: [], Interval: 0, Timeout: 0, StartPeriod: 0, StartInterval: 0, Retries: 0 };
      const response = await api('POST', '/containers/create?name=hc-api', {
        Image: 'hc-image',
        Healthcheck: { ...zeros, Timeout: 3 * s },
      });
      assert.equal(response.status, 201, response.body);
      assert.deepEqual(await healthcheckOf('hc-api'), { ...image, Timeout: 3 * s });
    });
  });

  test('timeouts count as failures; NONE disables the image check', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'slowcheck',
        '--health-cmd',
        'sleep 5',
        '--health-interval',
        '200ms',
        '--health-timeout',
        '300ms',
        '--health-retries',
        '1',
        'busybox',
        'sleep',
        '1000',
      ),
    );
    await waitFor('timeout', async () => (await inspect('slowcheck')).State.Health?.Status === 'unhealthy');
    const last = (await inspect('slowcheck')).State.Health.Log.at(-1) as Doc;
    assert.equal(last.ExitCode, -1);
    assert.equal(last.Output, 'Health check exceeded timeout (300ms)');
    await ok(d('run', '-d', '--name', 'unchecked', '--no-healthcheck', 'busybox', 'sleep', '1000'));
    assert.equal((await inspect('unchecked')).State.Health, undefined);
    assert.equal(
      await ok(d('ps', '--filter', 'health=none', '--filter', 'name=unchecked', '--format', '{{.Names}}')),
      'unchecked\n',
    );
    await ok(d('rm', '-f', 'slowcheck', 'unchecked'));
  });
});

describe('volume of output', { timeout: 180_000 }, () => {
  test('200 MB to stdout: every byte arrives, in order, and berthd stays small', async () => {
    const line = '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789';
    const total = 200 * 1024 * 1024;
    const expected = createHash('md5');
    const piece = Buffer.from((line + '\n').repeat(10_000));
    for (let left = total; left > 0; left -= piece.length)
      expected.update(left >= piece.length ? piece : piece.subarray(0, left));
    const baseline = berthdRss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, berthdRss())), 100);
    const hash = createHash('md5');
    let bytes = 0;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        'docker',
        ['run', '--name', 'firehose', 'busybox', 'sh', '-c', `yes "${line}" | head -c ${total}`],
        {
          env: { ...process.env, DOCKER_HOST: daemon.host },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      child.stdout.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      child.on('close', resolve);
    });
    clearInterval(sampler);
    assert.equal(code, 0);
    assert.equal(bytes, total);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
    assert.ok(peak - baseline < 150 * 1024, `berthd grew from ${baseline} KiB to ${peak} KiB`);
    // The log has it all too.
    const tail = await ok(d('logs', '--tail', '2', 'firehose'));
    const remainder = total % (line.length + 1);
    assert.equal(tail.length, remainder ? line.length + 1 + remainder : 2 * (line.length + 1));
    await ok(d('rm', 'firehose'));
  });
});

describe('berthd killed while a container logs', { timeout: 120_000 }, () => {
  test('after kill -9 the log goes on; what the container wrote meanwhile waited in the pipe', async () => {
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'chatty',
        'busybox',
        'sh',
        '-c',
        // ~100-byte lines as fast as the shell goes: far more than the 64 KiB pipe holds while berthd is away.
        'pad=$(printf "%090d" 0); i=0; while :; do i=$((i+1)); echo "n $i $pad"; done',
      ),
    );
    await ok(
      d(
        'run',
        '-d',
        '--name',
        'monitored',
        '--health-cmd',
        'true',
        '--health-interval',
        '300ms',
        'busybox',
        'sleep',
        '1000',
      ),
    );
    await waitFor('healthy', async () => (await inspect('monitored')).State.Health?.Status === 'healthy');
    await sleep(500);
    const args = berthd.spawnargs.slice(2);
    berthd.kill('SIGKILL');
    await new Promise((resolve) => berthd.once('exit', resolve));
    // The pipe fills within milliseconds; then the container blocks in write() until berthd reads again.
    await sleep(2000);
    berthd = spawn(process.execPath, [BERTHD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    berthd.stderr!.resume();
    await waitForPing(daemon.socket, new Promise((resolve) => berthd.once('exit', () => resolve(0))));
    await sleep(1500);
    await ok(d('stop', '-t', '0', 'chatty'));
    const lines = (await ok(d('logs', '-t', 'chatty'))).trim().split('\n');
    const numbers = lines.map((l) => Number(l.split(' ')[2]));
    const times = lines.map((l) => Date.parse(l.split(' ')[0]));
    const longestStall = times.reduce(
      (longest, t, i) => (i > 0 ? Math.max(longest, t - times[i - 1]) : 0),
      0,
    );
    const missing: number[] = [];
    for (let i = 1; i < numbers.length; i++) {
      assert.ok(numbers[i] > numbers[i - 1], `order at ${i}`);
      for (let n = numbers[i - 1] + 1; n < numbers[i]; n++) missing.push(n);
    }
    assert.equal(numbers[0], 1);
    assert.ok(numbers.length > 1000, `${numbers.length} lines`);
    // The writer waited while berthd was away: a gap in time, not in the sequence.
    assert.ok(longestStall >= 1500, `longest stall ${longestStall} ms`);
    // Only what berthd held in memory when it was killed can be lost: its read buffer and write
    // queue (64 KiB each) and one read being encoded; never what waited in the pipe.
    const lineBytes = lines[0].length - lines[0].indexOf(' ');
    assert.ok(
      missing.length * lineBytes <= 256 * 1024,
      `lost ${missing.length} lines: ${missing.slice(0, 10).join(',')}`,
    );
    console.log(
      `# kill -9: ${numbers.length} lines, ${missing.length} lost, writer stalled ${longestStall} ms`,
    );

    const health = (await inspect('monitored')).State.Health as Doc;
    assert.equal(health.Status, 'healthy');
    const lastProbe = Date.parse(health.Log.at(-1).End);
    assert.ok(Date.now() - lastProbe < 2000, 'probes resumed after the restart');
  });
});
