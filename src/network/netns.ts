/**
 * Network namespaces berth creates for containers, pinned by a bind mount
 * (like `ip netns add`, but under berth's exec-root) so they outlive the
 * container's processes until berth has torn the network down: netavark always
 * has a namespace to work in, even for a container that died while berthd was
 * down.
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { runCommand, type CommandResult } from './run-command.js';

function run(command: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

function isMountPoint(target: string): boolean {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === target);
}

/**
 * Makes the namespace directory a private mount of itself, so namespace bind
 * mounts made in it do not propagate into (and get pinned by) other mount
 * namespaces.
 */
export async function prepareNetnsDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const resolved = await fs.realpath(dir);
  if (!isMountPoint(resolved)) {
    const bind = await run('mount', ['--bind', resolved, resolved]);
    if (bind.code !== 0) throw new Error(`could not bind-mount ${resolved}: ${bind.stderr.trim()}`);
  }
  const makePrivate = await run('mount', ['--make-private', resolved]);
  if (makePrivate.code !== 0)
    throw new Error(`could not make ${resolved} private: ${makePrivate.stderr.trim()}`);
}

/** Creates a new network namespace pinned at `file` (its parent prepared with prepareNetnsDir). */
export async function createNetns(file: string): Promise<void> {
  await (await fs.open(file, 'a', 0o600)).close();
  const result = await run('unshare', [`--net=${file}`, 'true']);
  if (result.code !== 0) {
    await fs.rm(file, { force: true });
    throw new Error(`could not create network namespace ${file}: ${result.stderr.trim()}`);
  }
}

/** Unpins and removes a namespace file; the namespace ends once no process is left in it. */
export async function removeNetns(file: string): Promise<void> {
  const real = await fs.realpath(file).catch(() => file);
  if (isMountPoint(real)) {
    const result = await run('umount', [file]);
    if (result.code !== 0) {
      const lazy = await run('umount', ['-l', file]);
      if (lazy.code !== 0) throw new Error(`could not unmount ${file}: ${result.stderr.trim()}`);
    }
  }
  await fs.rm(file, { force: true });
}

/** True when `file` is a live network namespace (a pinned one, or /proc/PID/ns/net of a live process). */
export async function netnsExists(file: string): Promise<boolean> {
  if (file.startsWith('/proc/')) {
    try {
      await fs.readlink(file);
      return true;
    } catch {
      return false;
    }
  }
  try {
    // /var/run is usually a symlink to /run; mountinfo lists the real path.
    return isMountPoint(await fs.realpath(file));
  } catch {
    return false;
  }
}

/** Runs a command inside a network namespace (nsenter); used to inspect, never to configure. */
export function runInNetns(file: string, command: string, args: string[]): Promise<CommandResult> {
  return runCommand('nsenter', [`--net=${file}`, command, ...args]);
}
