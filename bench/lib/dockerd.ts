import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A Docker engine beside berthd for side-by-side numbers: Debian's docker.io,
 * on its own socket, data-root and exec-root, with no bridge and no iptables
 * so it touches nothing of the host's or berth's networking.
 */
export interface SideBySideDocker {
  host: string;
  stop(): Promise<void>;
}

function ensureInstalled(): boolean {
  if (existsSync('/usr/sbin/dockerd')) return true;
  // Keep the package's init script from starting a system dockerd.
  const policy = '/usr/sbin/policy-rc.d';
  const hadPolicy = existsSync(policy);
  if (!hadPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const result = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'docker.io'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
    });
    return result.status === 0 && existsSync('/usr/sbin/dockerd');
  } finally {
    if (!hadPolicy) rmSync(policy, { force: true });
  }
}

export async function startDocker(): Promise<SideBySideDocker | undefined> {
  if (!ensureInstalled()) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const child: ChildProcess = spawn(
    '/usr/sbin/dockerd',
    [
      '-H',
      `unix://${socket}`,
      '--data-root',
      path.join(dir, 'data'),
      '--exec-root',
      path.join(dir, 'exec'),
      '--pidfile',
      path.join(dir, 'docker.pid'),
      '--bridge',
      'none',
      '--iptables=false',
      '--ip6tables=false',
      '--storage-driver',
      'overlay2',
      '--default-ulimit',
      'nofile=1024:1024',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  for (let i = 0; i < 300 && !existsSync(socket); i++) await sleep(100);
  await sleep(500);
  return {
    host: `unix://${socket}`,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      killLeftovers(dir);
      for (const mount of mountsUnder(dir)) spawnSync('umount', ['-l', mount]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** dockerd's own containerd and shims, found by the directory we gave them. */
function killLeftovers(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir))
        process.kill(Number(entry), 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m?.startsWith(dir))
    .sort((a, b) => b.length - a.length);
}
