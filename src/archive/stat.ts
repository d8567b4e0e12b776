/**
 * `HEAD /containers/{id}/archive`: Docker's ContainerPathStat, carried
 * base64-encoded in the X-Docker-Container-Path-Stat header.
 */
import type { BigIntStats } from 'node:fs';
import { constants } from 'node:fs';
import { pathError } from './errors.js';
import { cleanPath, hasTrailingDirMarker, openInRoot, type ContainerMount } from './resolve.js';

/** Go os.FileMode type and special bits. */
export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits. */
  mode: number;
  /** RFC 3339 with nanoseconds, local offset (Go's time.Time JSON). */
  mtime: string;
  /** For a symlink: where it leads, fully resolved inside the container; otherwise ''. */
  linkTarget: string;
}

export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

/** Converts a POSIX st_mode to Go's os.FileMode. */
export function goFileMode(stMode: number): number {
  let mode = stMode & 0o777;
  if (stMode & 0o4000) mode += GO_MODE.setuid;
  if (stMode & 0o2000) mode += GO_MODE.setgid;
  if (stMode & 0o1000) mode += GO_MODE.sticky;
  switch (stMode & constants.S_IFMT) {
    case constants.S_IFDIR:
      return mode + GO_MODE.dir;
    case constants.S_IFLNK:
      return mode + GO_MODE.symlink;
    case constants.S_IFIFO:
      return mode + GO_MODE.namedPipe;
    case constants.S_IFSOCK:
      return mode + GO_MODE.socket;
    case constants.S_IFCHR:
      return mode + GO_MODE.device + GO_MODE.charDevice;
    case constants.S_IFBLK:
      return mode + GO_MODE.device;
    default:
      return mode;
  }
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/**
 * Go's time.Format(RFC3339 or RFC3339Nano) in the daemon's local zone: "Z"
 * for UTC, otherwise "+hh:mm"; with `nano`, the fraction is printed without
 * trailing zeros and omitted when zero.
 */
export function formatRFC3339(epochNs: bigint, nano = false): string {
  const ms = Number(epochNs / 1_000_000n);
  const offsetMin = -new Date(ms).getTimezoneOffset();
  const local = new Date(ms + offsetMin * 60_000);
  let text =
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}` +
    `T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  if (nano) {
    const frac = ((epochNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
    if (frac !== 0n) text += '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  }
  if (offsetMin === 0) return text + 'Z';
  const sign = offsetMin > 0 ? '+' : '-';
  const abs = Math.abs(offsetMin);
  return `${text}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

export function pathStatFrom(name: string, st: BigIntStats, linkTarget = ''): PathStat {
  return {
    name,
    size: Number(st.size),
    mode: goFileMode(Number(st.mode)),
    mtime: formatRFC3339(st.mtimeNs, true),
    linkTarget,
  };
}

/** Go's filepath.Base for slash paths ("/" stays "/", trailing slashes ignored). */
export function baseName(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  if (trimmed === '') return p.startsWith('/') ? '/' : '.';
  return trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * Stats a path in the container without following a final symlink (unless
 * the path ends in `/` or `/.`); for a symlink, linkTarget is where it
 * resolves inside the container.
 */
export async function statPath(
  root: string,
  containerPath: string,
  options: { mounts?: readonly ContainerMount[] } = {},
): Promise<PathStat> {
  const absPath = '/' + containerPath.replace(/^\/+/, '');
  const resolved = await openInRoot(root, absPath, { mounts: options.mounts });
  let st: BigIntStats;
  try {
    st = await resolved.lstat();
  } catch (err) {
    throw pathError(err, cleanPath(absPath));
  } finally {
    await resolved.close();
  }
  return pathStatFrom(baseName(absPath), st, await linkTargetOf(root, absPath, st, options.mounts));
}

/** For a symlink (not named with a trailing `/`), the container path it finally resolves to; otherwise ''. */
export async function linkTargetOf(
  root: string,
  absPath: string,
  st: BigIntStats,
  mounts?: readonly ContainerMount[],
): Promise<string> {
  if (!st.isSymbolicLink() || hasTrailingDirMarker(absPath)) return '';
  try {
    const target = await openInRoot(root, absPath, { mounts, followFinalSymlink: true, allowMissing: true });
    await target.close();
    return target.containerPath;
  } catch {
    // A loop: there is no final target.
    return cleanPath(absPath);
  }
}

/** The header value: base64 of the JSON payload. */
export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString('base64');
}

export function decodePathStat(header: string): PathStat {
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}
