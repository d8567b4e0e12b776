/** Host facts the container service reads once. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';

/** The hard RLIMIT_NOFILE of berthd (containers never get more). */
export function hostNofileHard(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const hard = line?.trim().split(/\s+/)[4];
    if (hard === 'unlimited') return 1048576;
    const value = Number(hard);
    if (Number.isInteger(value) && value > 0) return value;
  } catch {
    // Fall through to the usual default.
  }
  return 1048576;
}

/** cgroup v2 only (unified) hosts give containers a private cgroup namespace by default, v1 and hybrid ones the host's. */
export function cgroupUnified(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}

/** Whether the kernel accounts swap for memory cgroups (memory.memsw on v1, memory.swap.max on v2). */
export function swapAccounting(): boolean {
  return existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes') || cgroupUnified();
}

export function cpuCount(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

/**
 * PIDs of containerd shims serving container `id` in `namespace` for the
 * containerd at `address` (from their command lines).
 */
export function shimPids(namespace: string, id: string, address: string): number[] {
  const pids: number[] = [];
  const socket = address.replace(/^unix:\/\//, '');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args[0]?.includes('containerd-shim')) continue;
    const value = (flag: string): string | undefined => args[args.indexOf(flag) + 1];
    if (
      value('-id') === id &&
      value('-namespace') === namespace &&
      value('-address')?.replace(/^unix:\/\//, '') === socket
    ) {
      pids.push(Number(entry));
    }
  }
  return pids;
}
