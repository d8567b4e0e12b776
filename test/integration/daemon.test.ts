import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, promises as fs, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BERTHD,
  berth,
  cleanupDaemonDir,
  docker,
  runCommand,
  startDaemon,
  waitForPing,
  type TestDaemon,
} from '../helpers/daemon.js';
import { makeTlsFiles } from '../helpers/tls.js';

function get(
  socket: string,
  urlPath: string,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: urlPath, method }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function info(daemon: TestDaemon): Promise<Record<string, unknown>> {
  return JSON.parse((await get(daemon.socket, '/info')).body) as Record<string, unknown>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs berthd expecting it to refuse to start; returns its exit code and output. */
async function failingStart(
  args: string[],
  config?: Record<string, unknown>,
): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-fail-'));
  try {
    const configFile = path.join(dir, 'daemon.json');
    writeFileSync(configFile, JSON.stringify(config ?? {}));
    const result = await runCommand(
      process.execPath,
      [
        BERTHD,
        '--data-root',
        path.join(dir, 'd'),
        '--exec-root',
        path.join(dir, 'e'),
        '--pidfile',
        path.join(dir, 'p'),
        '--config-file',
        configFile,
        '-H',
        `unix://${dir}/s.sock`,
        ...args,
      ],
      { timeoutMs: 20_000 },
    );
    return { code: result.code, output: result.stdout + result.stderr };
  } finally {
    await cleanupDaemonDir(dir);
  }
}

describe('berthd foundation', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startDaemon({ config: { labels: ['team=berth'] } });
  });
  after(async () => {
    await daemon?.stop();
  });

  test("/_ping answers with Docker's headers, GET and HEAD", async () => {
    const res = await get(daemon.socket, '/_ping');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'OK');
    assert.equal(res.headers['api-version'], '1.47');
    assert.equal(res.headers['ostype'], 'linux');
    assert.equal(res.headers['docker-experimental'], 'false');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(res.headers['pragma'], 'no-cache');
    assert.ok(res.headers['builder-version']);
    const head = await get(daemon.socket, '/_ping', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('version prefixes are honoured and a too-new client is refused', async () => {
    assert.equal((await get(daemon.socket, '/v1.24/version')).status, 200);
    const tooNew = await get(daemon.socket, '/v1.99/version');
    assert.equal(tooNew.status, 400);
    assert.deepEqual(JSON.parse(tooNew.body), {
      message: 'client version 1.99 is too new. Maximum supported API version is 1.47',
    });
    const tooOld = await get(daemon.socket, '/v1.12/version');
    assert.equal(tooOld.status, 400);
    assert.match(JSON.parse(tooOld.body).message, /client version 1.12 is too old/);
  });

  test("unknown paths and bad filters get Docker's error bodies", async () => {
    const missing = await get(daemon.socket, '/v1.47/nothing/here');
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), { message: 'page not found' });
    const badFilter = await get(daemon.socket, '/events?filters=%7Bnot-json&until=1');
    assert.equal(badFilter.status, 400);
    assert.match(JSON.parse(badFilter.body).message, /invalid filter/);
  });

  test('/version reports containerd and runc read from them', async () => {
    const version = JSON.parse((await get(daemon.socket, '/version')).body) as {
      Components: { Name: string; Version: string }[];
    };
    const names = version.Components.map((c) => c.Name);
    assert.deepEqual(names.slice(0, 3), ['Engine', 'containerd', 'runc']);
    assert.match(version.Components[1].Version, /^1\.6\./);
    assert.match(version.Components[2].Version, /^1\./);
  });

  test('/info reports real values and a persistent engine ID', async () => {
    const data = await info(daemon);
    assert.equal(data.DockerRootDir, daemon.dataRoot);
    assert.equal(data.NCPU, os.availableParallelism());
    assert.equal(data.MemTotal, os.totalmem());
    assert.equal(data.KernelVersion, os.release());
    assert.deepEqual(data.Labels, ['team=berth']);
    assert.equal(data.DefaultRuntime, 'runc');
    assert.equal(data.Driver, 'overlayfs');
    assert.equal(data.ID, readFileSync(path.join(daemon.dataRoot, 'engine-id'), 'utf8').trim());
  });

  test("the real docker CLI shows berth's version and info", async () => {
    const version = await docker(daemon, ['version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /Server: berth/);
    assert.match(version.stdout, /containerd:\n\s+Version:\s+1\.6\./);
    const id = await docker(daemon, ['info', '--format', '{{.ID}} {{.DockerRootDir}}']);
    assert.equal(id.code, 0, id.stderr);
    assert.equal(id.stdout.trim(), `${(await info(daemon)).ID} ${daemon.dataRoot}`);
    const full = await docker(daemon, ['info']);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stdout, /Server Version: 0\.1\.0/);
    assert.match(full.stdout, /team=berth/);
  });

  test("berth's own CLI shows version and info", async () => {
    const version = await berth(daemon, ['version']);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /Server: berth\n Engine:\n  Version:\s+0\.1\.0/);
    const info = await berth(daemon, ['info']);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stdout, /Docker Root Dir: /);
    const format = await berth(daemon, ['system', 'info', '--format', '{{.Name}}/{{json .Labels}}']);
    assert.equal(format.stdout.trim(), `${os.hostname()}/["team=berth"]`);
  });

  test('berth CLI reports an unreachable daemon in one line', async () => {
    const result = await berth(daemon, ['version'], {
      env: { DOCKER_HOST: 'unix:///nonexistent/berth.sock' },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^Cannot connect to the berth daemon at unix:\/\/\/nonexistent\/berth.sock/);
  });

  test('SIGHUP reloads debug, emits reload, and keeps the config when the file is invalid', async () => {
    const since = Date.now() / 1000;
    assert.equal((await info(daemon)).Debug, false);
    writeFileSync(daemon.configFile, JSON.stringify({ labels: ['team=berth'], debug: true }));
    daemon.process.kill('SIGHUP');
    await waitFor(async () => (await info(daemon)).Debug === true);
    const events = await get(
      daemon.socket,
      `/events?since=${since}&until=${Date.now() / 1000 + 1}&filters=${encodeURIComponent('{"type":["daemon"]}')}`,
    );
    assert.match(events.body, /"Action":"reload"/);
    writeFileSync(daemon.configFile, '{"debug": fals');
    daemon.process.kill('SIGHUP');
    await sleep(300);
    const after = await info(daemon);
    assert.equal(after.Debug, true);
    assert.match(daemon.logs(), /Error reloading configuration/);
    writeFileSync(daemon.configFile, JSON.stringify({ labels: ['team=berth'] }));
    daemon.process.kill('SIGHUP');
    await waitFor(async () => (await info(daemon)).Debug === false);
  });

  test('a second berthd with the same pidfile is refused', async () => {
    const result = await runCommand(process.execPath, [
      BERTHD,
      '--pidfile',
      daemon.pidfile,
      '--data-root',
      path.join(daemon.dir, 'x'),
      '--exec-root',
      path.join(daemon.dir, 'y'),
      '--config-file',
      daemon.configFile,
      '-H',
      `unix://${daemon.dir}/other.sock`,
    ]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /pid file found, ensure berthd is not running/);
    assert.equal(readFileSync(daemon.pidfile, 'utf8').trim(), String(daemon.process.pid));
  });

  test('a killed supervised containerd is restarted and /info answers again', async () => {
    const containerdPid = findProcess(daemon.dir, 'containerd --config');
    assert.ok(containerdPid, 'supervised containerd not found');
    process.kill(containerdPid, 'SIGKILL');
    const started = Date.now();
    await waitFor(async () => {
      const res = await get(daemon.socket, '/info');
      const pid = findProcess(daemon.dir, 'containerd --config');
      return res.status === 200 && pid !== undefined && pid !== containerdPid;
    }, 10_000);
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('berthd start-up refusals', () => {
  test('unknown key, conflicts, bad hosts and invalid values exit non-zero with one clear line', async () => {
    const cases: [string[], Record<string, unknown> | undefined, RegExp][] = [
      [[], { 'not-an-option': true }, /don't match any configuration option: not-an-option/],
      [['--debug'], { debug: true }, /specified both as a flag and in the configuration file: debug/],
      [['-H', 'tcp://:x'], undefined, /Invalid bind address format: tcp:\/\/:x/],
      [['-H', 'foo://'], undefined, /Invalid bind address format: foo:\/\//],
      [['--log-level', 'loud'], undefined, /invalid log level: loud/],
      [['--shutdown-timeout', 'soon'], undefined, /invalid argument "soon"/],
    ];
    for (const [args, config, expected] of cases) {
      const { code, output } = await failingStart(args, config);
      assert.notEqual(code, 0, `${args.join(' ')} should fail`);
      assert.match(output, expected);
      assert.equal(output.trim().split('\n').length, 1, `one line expected, got: ${output}`);
    }
  });

  test('a non-loopback tcp listener without tlsverify is refused', async () => {
    const { code, output } = await failingStart(['-H', 'tcp://0.0.0.0:1']);
    assert.notEqual(code, 0);
    assert.match(output, /refusing to listen on tcp:\/\/0\.0\.0\.0:1 without --tlsverify/);
  });
});

describe('berthd listeners', () => {
  test('a stale socket file is replaced', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-stale-'));
    const socket = path.join(dir, 'stale.sock');
    writeFileSync(socket, 'left over');
    const daemon = await startDaemon({ args: ['-H', `unix://${socket}`] });
    try {
      await waitForPing(socket);
      const stat = await fs.stat(socket);
      assert.ok(stat.isSocket());
      assert.equal(stat.mode & 0o777, 0o660);
    } finally {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fd:// socket activation serves on a socket passed by the caller', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-fd-'));
    const socket = path.join(dir, 'activated.sock');
    const daemonDir = mkdtempSync(path.join(os.tmpdir(), 'berth-fdd-'));
    // Do what systemd does: bind and listen, put the socket at fd 3, set
    // LISTEN_PID to the process that will exec berthd, then exec it.
    const activate = [
      'import os, socket, sys',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      `s.bind(${JSON.stringify(socket)})`,
      's.listen(16)',
      'os.dup2(s.fileno(), 3)',
      'os.set_inheritable(3, True)',
      'os.environ["LISTEN_PID"] = str(os.getpid())',
      'os.environ["LISTEN_FDS"] = "1"',
      'os.execv(sys.argv[1], sys.argv[1:])',
    ].join('\n');
    const child = spawn(
      'python3',
      [
        '-c',
        activate,
        process.execPath,
        BERTHD,
        '-H',
        'fd://',
        '--data-root',
        `${daemonDir}/d`,
        '--exec-root',
        `${daemonDir}/e`,
        '--pidfile',
        `${daemonDir}/p`,
        '--config-file',
        '/dev/null',
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let output = '';
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await waitForPing(socket, exited);
      const res = await get(socket, '/version');
      assert.equal(res.status, 200, output);
    } finally {
      child.kill('SIGTERM');
      await exited;
      await cleanupDaemonDir(daemonDir);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('mutual TLS admits only clients with a certificate from the CA', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-tls-'));
    const good = makeTlsFiles(dir, 'good');
    const other = makeTlsFiles(dir, 'other');
    const port = await freePort();
    const daemon = await startDaemon({
      args: [
        '-H',
        `tcp://127.0.0.1:${port}`,
        '--tlsverify',
        '--tlscacert',
        good.ca,
        '--tlscert',
        good.serverCert,
        '--tlskey',
        good.serverKey,
      ],
    });
    try {
      const host = `tcp://127.0.0.1:${port}`;
      const base = ['-H', host, '--tlsverify', '--tlscacert', good.ca];
      const ok = await runCommand(
        'docker',
        [
          ...base,
          '--tlscert',
          good.clientCert,
          '--tlskey',
          good.clientKey,
          'version',
          '--format',
          '{{.Server.Platform.Name}}',
        ],
        { env: { DOCKER_CONFIG: dir } },
      );
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), 'berth');
      const viaBerth = await runCommand(
        process.execPath,
        [
          path.join(path.dirname(BERTHD), 'berth'),
          ...base,
          '--tlscert',
          good.clientCert,
          '--tlskey',
          good.clientKey,
          'info',
          '--format',
          '{{.ID}}',
        ],
        { env: { DOCKER_CONFIG: dir } },
      );
      assert.equal(viaBerth.code, 0, viaBerth.stderr);
      const noCert = await runCommand('docker', [...base, 'version', '--format', '{{.Server.Version}}'], {
        env: { DOCKER_CONFIG: path.join(dir, 'empty') },
      });
      assert.notEqual(noCert.code, 0);
      assert.doesNotMatch(noCert.stdout, /0\.1\.0/);
      const wrongCa = await runCommand(
        'docker',
        [
          ...base,
          '--tlscert',
          other.clientCert,
          '--tlskey',
          other.clientKey,
          'version',
          '--format',
          '{{.Server.Version}}',
        ],
        { env: { DOCKER_CONFIG: dir } },
      );
      assert.notEqual(wrongCa.code, 0);
      assert.doesNotMatch(wrongCa.stdout, /0\.1\.0/);
    } finally {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch {
      // Not yet.
    }
    await sleep(100);
  }
  throw new Error('condition not met in time');
}

function findProcess(dir: string, needle: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(dir) && cmdline.includes(needle)) return Number(entry);
    } catch {
      // Gone.
    }
  }
  return undefined;
}
