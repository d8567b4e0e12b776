/** Linux capabilities: Docker's default set and the CapAdd/CapDrop rules. */
import { readFileSync } from 'node:fs';
import { invalidParameter } from '../common/errors.js';

/** Every capability the kernel defines, indexed by its number. */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** The set Docker grants an unprivileged container. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const ALL = 'ALL';

/** The highest capability number the running kernel knows (its cap_last_cap). */
export function hostLastCapability(): number {
  try {
    const last = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
    if (Number.isInteger(last) && last >= 0) return last;
  } catch {
    // No procfs: assume every capability this table knows.
  }
  return ALL_CAPABILITIES.length - 1;
}

/** The capabilities both this table and the host kernel know. */
export function hostCapabilities(lastCap = hostLastCapability()): string[] {
  return ALL_CAPABILITIES.slice(0, Math.min(lastCap, ALL_CAPABILITIES.length - 1) + 1);
}

/**
 * Upper-cases and adds the `CAP_` prefix, keeping the magic `ALL`; an unknown
 * name is an InvalidParameter error, as in Docker.
 */
export function normalizeCapability(name: string): string {
  let cap = name.trim().toUpperCase();
  if (cap === ALL) return ALL;
  if (!cap.startsWith('CAP_')) cap = `CAP_${cap}`;
  if (!ALL_CAPABILITIES.includes(cap)) throw invalidParameter(`unknown capability: "${cap}"`);
  return cap;
}

export interface CapabilityOptions {
  capAdd?: readonly string[] | null;
  capDrop?: readonly string[] | null;
  privileged?: boolean;
  /** The host's cap_last_cap; read from procfs when absent. */
  lastCap?: number;
}

/**
 * The effective capability set of a container, by Docker's rules: privileged
 * gets every capability; CapAdd `ALL` gives all but the dropped ones; CapDrop
 * `ALL` gives just the added ones; otherwise defaults minus drops plus adds.
 */
export function containerCapabilities(options: CapabilityOptions): string[] {
  const add = (options.capAdd ?? []).map(normalizeCapability);
  const drop = (options.capDrop ?? []).map(normalizeCapability);
  const available = () => hostCapabilities(options.lastCap ?? hostLastCapability());
  if (options.privileged) return available();

  let caps: string[];
  if (add.includes(ALL)) {
    caps = available().filter((cap) => !drop.includes(cap));
  } else if (drop.includes(ALL)) {
    caps = add;
  } else {
    caps = [...DEFAULT_CAPABILITIES.filter((cap) => !drop.includes(cap)), ...add];
  }
  return [...new Set(caps)];
}
