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

/** The capabilities whose bits are set in a capability mask (as in /proc/<pid>/status). */
export function capabilitiesFromMask(mask: bigint): string[] {
  return ALL_CAPABILITIES.filter((_cap, bit) => (mask >> BigInt(bit)) & 1n);
}

/**
 * What "all capabilities" can mean on this host: the daemon's own bounding
 * set, since runc cannot grant a container more than its parent holds (berthd
 * may itself run without some, e.g. inside another container).
 */
export function hostCapabilities(): string[] {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const bounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
    if (bounding) return capabilitiesFromMask(BigInt(`0x${bounding[1]}`));
  } catch {
    // No procfs: assume every capability this table knows.
  }
  return [...ALL_CAPABILITIES];
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
  /** The capabilities the host can grant (privileged, CapAdd ALL); the daemon's bounding set when absent. */
  available?: readonly string[];
}

/**
 * The effective capability set of a container, by Docker's rules: privileged
 * gets every capability; CapAdd `ALL` gives all but the dropped ones; CapDrop
 * `ALL` gives just the added ones; otherwise defaults minus drops plus adds.
 */
export function containerCapabilities(options: CapabilityOptions): string[] {
  const add = (options.capAdd ?? []).map(normalizeCapability);
  const drop = (options.capDrop ?? []).map(normalizeCapability);
  const available = () => [...(options.available ?? hostCapabilities())];
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
