import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BERTHD = path.join(REPO_ROOT, 'bin/berthd');
export const BERTH = path.join(REPO_ROOT, 'bin/berth');

export interface DaemonOptions {
  args?: string[];
  /** daemon.json contents; written to <dir>/daemon.json and passed with --config-file. */
  config?: Record<string, unknown>;
  /** Do not add the default -H unix socket (the test passes its own hosts). */
  noDefaultHost?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Extra stdio descriptors handed to berthd (socket activation). */
  stdio?: ('pipe' | 'ignore' | number)[];
  waitReady?: boolean;
}

export interface TestDaemon {
  dir: string;
  socket: string;
  host: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  configFile: string;
  process: ChildProcess;
  logs: () => string;
  /** Resolves with the exit code once berthd exits. */
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

/** Starts a real berthd with its own temporary roots, socket and supervised containerd. */
export async function startDaemon(options: DaemonOptions = {}): Promise<TestDaemon> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'berth-'));
  const socket = path.join(dir, 'berth.sock');
  const dataRoot = path.join(dir, 'data');
  const execRoot = path.join(dir, 'exec');
  const pidfile = path.join(dir, 'berth.pid');
  const configFile = path.join(dir, 'daemon.json');
  if (options.config) await fs.writeFile(configFile, JSON.stringify(options.config));
  const args = [
    '--data-root',
    dataRoot,
    '--exec-root',
    execRoot,
    '--pidfile',
    pidfile,
    '--config-file',
    configFile,
    ...(options.noDefaultHost ? [] : ['-H', `unix://${socket}`]),
    ...(options.args ?? []),
  ];
  if (!options.config) await fs.writeFile(configFile, '{}');
  let output = '';
  const child = spawn(process.execPath, [BERTHD, ...args], {
    env: { ...process.env, ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const daemon: TestDaemon = {
    dir,
    socket,
    host: `unix://${socket}`,
    dataRoot,
    execRoot,
    pidfile,
    configFile,
    process: child,
    logs: () => output,
    exited,
    stop: (signal = 'SIGTERM') => stopDaemon(daemon, signal),
  };
  if (options.waitReady !== false) {
    try {
      await waitForPing(socket, exited);
    } catch (err) {
      await daemon.stop();
      throw new Error(`${(err as Error).message}\n--- berthd output ---\n${output}`);
    }
  }
  return daemon;
}

export function ping(socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('ping timed out')));
    req.end();
  });
}

export async function waitForPing(
  socket: string,
  exited?: Promise<number | null>,
  timeoutMs = 30_000,
): Promise<void> {
  let done = false;
  void exited?.then(() => (done = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (done) throw new Error('berthd exited before it was ready');
    try {
      if ((await ping(socket)) === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`berthd did not answer /_ping on ${socket} within ${timeoutMs} ms`);
}

/** Processes whose command line mentions the daemon's directory: the containerd and shims it started. */
function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids.filter((pid) => pid !== process.pid);
}

async function stopDaemon(daemon: TestDaemon, signal: NodeJS.Signals): Promise<void> {
  if (daemon.process.exitCode === null && daemon.process.signalCode === null) {
    daemon.process.kill(signal);
    const timer = setTimeout(() => daemon.process.kill('SIGKILL'), 20_000);
    await daemon.exited;
    clearTimeout(timer);
  }
  await cleanupDaemonDir(daemon.dir);
}

/** Removes everything a test daemon left: its processes (by PID), mounts under its dir, the dir. */
export async function cleanupDaemonDir(dir: string): Promise<void> {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await sleep(100);
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && m.startsWith(dir))
    .sort((a, b) => b.length - a.length);
  for (const mount of mounts) {
    await new Promise<void>((resolve) => spawn('umount', ['-l', mount]).on('exit', () => resolve()));
  }
  if (existsSync(dir)) await fs.rm(dir, { recursive: true, force: true });
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CLI (berth or the real docker) to completion. */
export function runCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input);
  });
}

/** The real docker CLI pointed at a test daemon. */
export function docker(
  daemon: TestDaemon,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return runCommand('docker', args, {
    ...options,
    env: { DOCKER_HOST: daemon.host, DOCKER_CONFIG: path.join(daemon.dir, 'docker-config'), ...options.env },
  });
}

/** berth's own CLI pointed at a test daemon. */
export function berth(
  daemon: TestDaemon,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, [BERTH, ...args], {
    ...options,
    env: { DOCKER_HOST: daemon.host, DOCKER_CONFIG: path.join(daemon.dir, 'docker-config'), ...options.env },
  });
}

/** One Engine API call over a daemon's unix socket; the body comes back as text. */
export function apiCall(
  socket: string,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: socket, method, path: urlPath, headers: { 'Content-Type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}
