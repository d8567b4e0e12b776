/**
 * Which namespaces a container gets, from its HostConfig modes: a new one,
 * the host's (no namespace entry), or another's (joined by path).
 */
import { invalidParameter } from '../common/errors.js';
import type { ContainerConfig, HostConfig } from '../types/container.js';
import type { OciNamespace } from './types.js';

/** Paths of namespaces to join, supplied by the caller for `container:<id>` modes and prepared network namespaces. */
export interface NamespacePaths {
  /** The container's own prepared network namespace (bridge networks), or the one of `NetworkMode: container:<id>`. */
  network?: string;
  /** `/proc/<pid>/ns/pid` of the container named by `PidMode: container:<id>`. */
  pid?: string;
  /** `/proc/<pid>/ns/ipc` of the container named by `IpcMode: container:<id>`. */
  ipc?: string;
}

export type ModeKind = 'private' | 'host' | 'container' | 'none';

const isContainerMode = (mode: string | undefined): boolean => (mode ?? '').startsWith('container:');

export function networkModeKind(mode: string | undefined): ModeKind {
  if (mode === 'host') return 'host';
  if (mode === 'none') return 'none';
  if (isContainerMode(mode)) return 'container';
  return 'private';
}

export function pidModeKind(mode: string | undefined): ModeKind {
  if (!mode) return 'private';
  if (mode === 'host') return 'host';
  if (isContainerMode(mode)) return 'container';
  throw invalidParameter(`invalid PID mode: ${mode}`);
}

export function ipcModeKind(mode: string | undefined): ModeKind {
  if (!mode || mode === 'private' || mode === 'shareable') return 'private';
  if (mode === 'none') return 'none';
  if (mode === 'host') return 'host';
  if (isContainerMode(mode)) return 'container';
  throw invalidParameter(`invalid IPC mode: ${mode}`);
}

export function utsModeKind(mode: string | undefined): ModeKind {
  if (!mode) return 'private';
  if (mode === 'host') return 'host';
  throw invalidParameter(`invalid UTS mode: ${mode}`);
}

function joined(
  type: OciNamespace['type'],
  mode: string | undefined,
  nsPath: string | undefined,
): OciNamespace {
  if (!nsPath) throw invalidParameter(`no namespace path was given to join for ${type} mode ${mode}`);
  return { type, path: nsPath };
}

/**
 * The namespace list: mount always new; network new, joined or the host's;
 * pid, ipc and uts new unless shared with the host or another container;
 * cgroup new only for CgroupnsMode private.
 */
export function containerNamespaces(
  hostConfig: HostConfig,
  config: ContainerConfig,
  paths: NamespacePaths = {},
  defaultCgroupnsMode: 'host' | 'private' = 'host',
): OciNamespace[] {
  const namespaces: OciNamespace[] = [{ type: 'mount' }];

  const network = networkModeKind(hostConfig.NetworkMode);
  if (config.NetworkDisabled || network === 'none') namespaces.push({ type: 'network' });
  else if (network === 'container') namespaces.push(joined('network', hostConfig.NetworkMode, paths.network));
  else if (network === 'private')
    namespaces.push(paths.network ? { type: 'network', path: paths.network } : { type: 'network' });

  const uts = utsModeKind(hostConfig.UTSMode);
  if (uts === 'private') namespaces.push({ type: 'uts' });

  const pid = pidModeKind(hostConfig.PidMode);
  if (pid === 'private') namespaces.push({ type: 'pid' });
  else if (pid === 'container') namespaces.push(joined('pid', hostConfig.PidMode, paths.pid));

  const ipc = ipcModeKind(hostConfig.IpcMode);
  if (ipc === 'private' || ipc === 'none') namespaces.push({ type: 'ipc' });
  else if (ipc === 'container') namespaces.push(joined('ipc', hostConfig.IpcMode, paths.ipc));

  const cgroupns = hostConfig.CgroupnsMode || defaultCgroupnsMode;
  if (cgroupns !== 'host' && cgroupns !== 'private')
    throw invalidParameter(`invalid cgroup namespace mode: ${cgroupns}`);
  if (cgroupns === 'private') namespaces.push({ type: 'cgroup' });

  return namespaces;
}
