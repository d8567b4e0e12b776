/**
 * Container sysctls: only namespaced ones, and only when the container owns
 * the namespace they belong to (as runc enforces, but with the reason given up
 * front, at create time).
 */
import { existsSync } from 'node:fs';
import { invalidParameter } from '../common/errors.js';

/** IPC-namespaced sysctls besides the fs.mqueue.* family. */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
]);

export interface SysctlNamespaces {
  /** The container has its own network namespace (new or a prepared one, not the host's). */
  privateNetwork: boolean;
  privateIpc: boolean;
  privateUts: boolean;
}

/** Throws InvalidParameter for a sysctl that is not namespaced or whose namespace is shared with the host. */
export function validateSysctls(
  sysctls: Record<string, string> | null | undefined,
  namespaces: SysctlNamespaces,
): void {
  for (const name of Object.keys(sysctls ?? {})) {
    if (IPC_SYSCTLS.has(name) || name.startsWith('fs.mqueue.')) {
      if (!namespaces.privateIpc)
        throw invalidParameter(`sysctl "${name}" is not allowed in the host's IPC namespace`);
    } else if (name.startsWith('net.')) {
      if (!namespaces.privateNetwork)
        throw invalidParameter(`sysctl "${name}" is not allowed in the host's network namespace`);
    } else if (name === 'kernel.domainname') {
      if (!namespaces.privateUts)
        throw invalidParameter(`sysctl "${name}" is not allowed in the host's UTS namespace`);
    } else if (name === 'kernel.hostname') {
      throw invalidParameter(`sysctl "${name}" is not allowed: set the container's hostname instead`);
    } else {
      throw invalidParameter(
        `sysctl "${name}" is not allowed: it is not namespaced, so it would change the host`,
      );
    }
  }
}

/** Whether the running kernel has a sysctl (runc refuses to set one that does not exist). */
export function hostHasSysctl(name: string): boolean {
  return existsSync(`/proc/sys/${name.replaceAll('.', '/')}`);
}

/**
 * Docker's defaults for containers with their own network namespace: anyone
 * may open ICMP echo sockets and bind low ports, as in-container root is not
 * meaningful for those. Only the sysctls the kernel has are set.
 */
export function defaultNetworkSysctls(
  exists: (name: string) => boolean = hostHasSysctl,
): Record<string, string> {
  const defaults: Record<string, string> = {};
  if (exists('net.ipv4.ping_group_range')) defaults['net.ipv4.ping_group_range'] = '0 2147483647';
  if (exists('net.ipv4.ip_unprivileged_port_start')) defaults['net.ipv4.ip_unprivileged_port_start'] = '0';
  return defaults;
}
