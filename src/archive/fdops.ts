/**
 * Directory-fd-relative file operations. Node has no openat(2), but a path of
 * the form /proc/self/fd/N/name is looked up by the kernel starting from the
 * directory open as N (the magic link is a jump to that inode, not a path
 * re-resolution), so combined with O_NOFOLLOW and the *l* variants (lstat,
 * lchown, lutimes, unlink, rmdir, symlink, link) every operation below acts
 * on one name inside an already opened directory and never follows a symlink
 * that a container may have planted or swapped in.
 */
import fs, { constants } from 'node:fs';
import { promisify } from 'node:util';

const openRaw = promisify(fs.open);
const closeRaw = promisify(fs.close);
const fstatRaw = promisify(fs.fstat);
const fchmodRaw = promisify(fs.fchmod);
const fchownRaw = promisify(fs.fchown);
const futimesRaw = promisify(fs.futimes);
const readRaw = promisify(fs.read);
const writeRaw = promisify(fs.write);

export const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
export const O_READ_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
export const O_CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The path that names `name` inside the directory open as `dirFd` (or the directory itself). */
export function procPath(dirFd: number, name = ''): string {
  return name === '' ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`;
}

/** Opens a trusted host directory (daemon-chosen: a root or a mount source); symlinks in it are followed. */
export function openTrustedDir(hostPath: string): Promise<number> {
  return openRaw(hostPath, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Opens the directory `name` inside `dirFd`; fails with ELOOP if it is (or became) a symlink. */
export function openDirAt(dirFd: number, name: string): Promise<number> {
  return openRaw(procPath(dirFd, name), O_DIR);
}

export function openAt(dirFd: number, name: string, flags: number, mode = 0o600): Promise<number> {
  return openRaw(procPath(dirFd, name), flags, mode);
}

export function closeFd(fd: number): Promise<void> {
  return closeRaw(fd).catch(() => undefined);
}

/** lstat of `name` in `dirFd`, or fstat of the directory itself when name is ''. */
export function lstatAt(dirFd: number, name: string): Promise<fs.BigIntStats> {
  if (name === '') return fstatRaw(dirFd, { bigint: true }) as Promise<fs.BigIntStats>;
  return fs.promises.lstat(procPath(dirFd, name), { bigint: true });
}

export async function lstatAtIfExists(dirFd: number, name: string): Promise<fs.BigIntStats | undefined> {
  try {
    return await lstatAt(dirFd, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function fstatFd(fd: number): Promise<fs.BigIntStats> {
  return fstatRaw(fd, { bigint: true }) as Promise<fs.BigIntStats>;
}

export const fchmod = fchmodRaw;
export const fchown = fchownRaw;
export const futimes = futimesRaw;

export async function readFd(fd: number, buffer: Buffer, length: number): Promise<number> {
  const { bytesRead } = await readRaw(fd, buffer, 0, length, null);
  return bytesRead;
}

export async function writeAllFd(fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await writeRaw(fd, data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

/** Opens `name` in `dirFd` (which must not be a symlink) and applies mode bits through the fd. */
export async function chmodAt(dirFd: number, name: string, mode: number, isDir: boolean): Promise<void> {
  const fd = isDir ? await openDirAt(dirFd, name) : await openAt(dirFd, name, O_READ_FILE);
  try {
    await fchmodRaw(fd, mode & 0o7777);
  } finally {
    await closeFd(fd);
  }
}

/**
 * rm -rf of `name` inside `dirFd`, fd by fd: directories are opened with
 * O_NOFOLLOW (a symlink swapped in for a directory makes the open fail instead
 * of redirecting the removal), symlinks are unlinked, never followed, and a
 * directory on another device (a mount) is refused rather than descended into.
 */
export async function removeTreeAt(dirFd: number, name: string, parentDev?: bigint): Promise<void> {
  const st = await lstatAtIfExists(dirFd, name);
  if (!st) return;
  if (!st.isDirectory()) {
    await fs.promises.unlink(procPath(dirFd, name));
    return;
  }
  const dev = parentDev ?? (await lstatAt(dirFd, '')).dev;
  if (st.dev !== dev)
    throw Object.assign(new Error(`refusing to remove ${name}: it is a mount point`), { code: 'EBUSY' });
  const fd = await openDirAt(dirFd, name);
  try {
    const opened = await fstatFd(fd);
    if (opened.ino !== st.ino || opened.dev !== st.dev) {
      throw Object.assign(new Error(`${name} changed while it was being removed`), { code: 'EAGAIN' });
    }
    for (const child of await fs.promises.readdir(procPath(fd))) await removeTreeAt(fd, child, st.dev);
  } finally {
    await closeFd(fd);
  }
  await fs.promises.rmdir(procPath(dirFd, name));
}

/** The current host path of an open file or directory (what /proc says it is now). */
export function fdHostPath(fd: number): Promise<string> {
  return fs.promises.readlink(procPath(fd));
}
