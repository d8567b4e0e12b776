/**
 * The container's mount table: Docker's default filesystems (/proc, /dev,
 * /sys, ...), the per-container /etc files, tmpfs mounts from HostConfig.Tmpfs,
 * /dev/shm, the init binary, and the volume and bind mounts the caller prepared.
 */
import path from 'node:path';
import { invalidParameter } from '../common/errors.js';
import type { OciMount } from './types.js';

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
/** Where the init binary appears inside the container, as in Docker. */
export const CONTAINER_INIT_PATH = '/sbin/docker-init';

/** The kernel filesystems every container gets, in mount order (without /dev/shm). */
export function defaultMounts(): OciMount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    {
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['ro', 'nosuid', 'noexec', 'nodev'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  ];
}

/** Mount flags, grouped so that the later of two conflicting flags wins (ro vs rw, ...). */
const FLAG_GROUPS: readonly (readonly string[])[] = [
  ['ro', 'rw'],
  ['suid', 'nosuid'],
  ['dev', 'nodev'],
  ['exec', 'noexec'],
  ['sync', 'async'],
  ['dirsync'],
  ['mand', 'nomand'],
  ['atime', 'noatime'],
  ['diratime', 'nodiratime'],
  ['relatime', 'norelatime'],
  ['strictatime', 'nostrictatime'],
  ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'],
];

/** tmpfs data options and the values each accepts. */
const TMPFS_DATA: Record<string, RegExp> = {
  size: /^\d+[kmgtpe%]?$/i,
  nr_blocks: /^\d+[kmgtpe%]?$/i,
  nr_inodes: /^\d+[kmgtpe%]?$/i,
  mode: /^[0-7]{1,4}$/,
  uid: /^\d+$/,
  gid: /^\d+$/,
  mpol: /^(default|prefer|bind|interleave|local)(:[\d,-]+)?$/,
  huge: /^(never|always|within_size|advise|deny|force)$/,
};

const flagGroup = (option: string): number => FLAG_GROUPS.findIndex((group) => group.includes(option));

/**
 * Validates tmpfs options and merges them as the kernel would apply them: for
 * each flag group and each `key=value`, the last occurrence wins, keeping the
 * order of the surviving options. `defaults` is dropped.
 */
export function mergeTmpfsOptions(options: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (let i = options.length - 1; i >= 0; i--) {
    const option = options[i].trim();
    if (option === '' || option === 'defaults') continue;
    const group = flagGroup(option);
    let key: string;
    if (group >= 0) {
      key = `flag:${group}`;
    } else {
      const eq = option.indexOf('=');
      const name = eq < 0 ? option : option.slice(0, eq);
      const pattern = TMPFS_DATA[name];
      if (eq < 0 || !pattern) throw invalidParameter(`invalid tmpfs option "${option}"`);
      if (!pattern.test(option.slice(eq + 1)))
        throw invalidParameter(`invalid value in tmpfs option "${option}"`);
      key = `data:${name}`;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    kept.unshift(option);
  }
  return kept;
}

/**
 * The options of a `HostConfig.Tmpfs` entry (`"size=64m,mode=1777"`), on top
 * of Docker's defaults for such mounts (noexec, nosuid, nodev, rprivate).
 */
export function parseTmpfsOptions(data: string): string[] {
  const given = data.trim() === '' ? [] : data.split(',');
  return mergeTmpfsOptions(['noexec', 'nosuid', 'nodev', 'rprivate', ...given]);
}

function checkContainerPath(destination: string, what: string): string {
  if (!path.isAbsolute(destination))
    throw invalidParameter(`invalid ${what} mount path: '${destination}' mount path must be absolute`);
  const clean = path.posix.normalize(destination);
  if (clean === '/')
    throw invalidParameter(`invalid ${what} mount path: '${destination}' cannot be the container's root`);
  return clean.length > 1 && clean.endsWith('/') ? clean.slice(0, -1) : clean;
}

/** OCI mounts for `HostConfig.Tmpfs` (container path to options). */
export function tmpfsMounts(tmpfs: Record<string, string> | undefined | null): OciMount[] {
  return Object.entries(tmpfs ?? {}).map(([destination, data]) => ({
    destination: checkContainerPath(destination, 'tmpfs'),
    type: 'tmpfs',
    source: 'tmpfs',
    options: parseTmpfsOptions(data),
  }));
}

export interface EtcFiles {
  /** Host paths of the per-container files, bind-mounted over the image's. */
  hostname?: string;
  hosts?: string;
  resolvConf?: string;
}

/** Bind mounts of the per-container /etc/hostname, /etc/hosts, /etc/resolv.conf. */
export function etcFileMounts(files: EtcFiles | undefined, readonlyRootfs: boolean): OciMount[] {
  const entries: [string, string | undefined][] = [
    ['/etc/resolv.conf', files?.resolvConf],
    ['/etc/hostname', files?.hostname],
    ['/etc/hosts', files?.hosts],
  ];
  return entries
    .filter((entry): entry is [string, string] => Boolean(entry[1]))
    .map(([destination, source]) => ({
      destination,
      type: 'bind',
      source,
      options: ['rbind', 'rprivate', ...(readonlyRootfs ? ['ro'] : [])],
    }));
}

export type ShmSource =
  /** A private tmpfs of the given size. */
  | { kind: 'tmpfs'; size: number }
  /** A bind mount of an existing /dev/shm (IpcMode host, shareable, container:). */
  | { kind: 'bind'; source: string }
  /** No /dev/shm at all (IpcMode none). */
  | { kind: 'none' };

export function shmMount(shm: ShmSource): OciMount | undefined {
  switch (shm.kind) {
    case 'tmpfs':
      return {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${shm.size}`],
      };
    case 'bind':
      return {
        destination: '/dev/shm',
        type: 'bind',
        source: shm.source,
        options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev'],
      };
    case 'none':
      return undefined;
  }
}

/** The read-only bind mount of the init binary (tini) at /sbin/docker-init. */
export function initMount(initPath: string): OciMount {
  return { destination: CONTAINER_INIT_PATH, type: 'bind', source: initPath, options: ['bind', 'ro'] };
}

const depth = (destination: string): number =>
  path.posix.normalize(destination).split('/').filter(Boolean).length;

export interface MountTableInput {
  shm: ShmSource;
  initPath?: string;
  /** Mounts the container asked for: /etc files, tmpfs, volumes, binds. */
  userMounts: OciMount[];
  privileged: boolean;
}

/**
 * Assembles the mount table as Docker does: defaults first, minus any the
 * user's mounts replace (a user /dev replaces every default under /dev too),
 * then the init binary, then the user's mounts, parents before children.
 * Privileged containers get /sys and the cgroup tree writable.
 */
export function assembleMounts(input: MountTableInput): OciMount[] {
  const userDestinations = new Set(input.userMounts.map((m) => path.posix.normalize(m.destination)));
  const replacesDev = userDestinations.has('/dev');
  const shm = shmMount(input.shm);
  const defaults = [...defaultMounts(), ...(shm ? [shm] : [])].filter(
    (m) => !userDestinations.has(m.destination) && !(replacesDev && m.destination.startsWith('/dev/')),
  );
  if (input.privileged) {
    for (const m of defaults) {
      if (m.destination === '/sys' || m.type === 'cgroup') m.options = m.options?.filter((o) => o !== 'ro');
    }
  }
  const init =
    input.initPath && !userDestinations.has(CONTAINER_INIT_PATH) ? [initMount(input.initPath)] : [];
  const user = input.userMounts
    .map((mount, index) => ({ mount, index }))
    .sort((a, b) => depth(a.mount.destination) - depth(b.mount.destination) || a.index - b.index)
    .map((entry) => entry.mount);
  return [...defaults, ...init, ...user];
}

/**
 * The rootfs propagation a set of mounts needs: a shared bind mount only
 * propagates if the root is shared, a slave one if the root is at least slave.
 */
export function rootfsPropagationFor(mounts: readonly OciMount[]): string | undefined {
  const options = mounts.flatMap((m) => m.options ?? []);
  if (options.some((o) => o === 'shared' || o === 'rshared')) return 'shared';
  if (options.some((o) => o === 'slave' || o === 'rslave')) return 'rslave';
  return undefined;
}
