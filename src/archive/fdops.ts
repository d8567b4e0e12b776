/**
 * Directory-fd-relative file operations. Node has no openat(2), but a path of
 * the form /proc/self/fd/N/name is looked up by the kernel starting from the
 * directory open as N (the magic link is a jump to that inode, not a path
 * re-resolution), so combined with O_NOFOLLOW and the *l* variants (lstat,
 * lchown, lutimes, unlink, rmdir, symlink, link) every operation below acts
 * on one name inside an already opened directory and never follows a symlink
 * that a container may have planted or swapped in.
 *
 * Every container-tree operation of the archive code goes through here. They
 * are synchronous system calls behind async signatures: on a local
 * filesystem each takes a few microseconds, while a thread-pool round trip
 * costs tens, and per-entry round trips made a 10,000-file copy ten times
 * slower. File contents still move in bounded chunks, between which the event
 * loop runs.
 */
import fs, { constants } from 'node:fs';

export const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
export const O_READ_FILE = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
export const O_CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The path that names `name` inside the directory open as `dirFd` (or the directory itself). */
export function procPath(dirFd: number, name = ''): string {
  return name === '' ? `/proc/self/fd/${dirFd}` : `/proc/self/fd/${dirFd}/${name}`;
}

/** Opens a trusted host directory (daemon-chosen: a root or a mount source); symlinks in it are followed. */
export async function openTrustedDir(hostPath: string): Promise<number> {
  return fs.openSync(hostPath, constants.O_RDONLY | constants.O_DIRECTORY);
}

/** Opens the directory `name` inside `dirFd`; fails with ELOOP if it is (or became) a symlink. */
export async function openDirAt(dirFd: number, name: string): Promise<number> {
  return fs.openSync(procPath(dirFd, name), O_DIR);
}

export async function openAt(dirFd: number, name: string, flags: number, mode = 0o600): Promise<number> {
  return fs.openSync(procPath(dirFd, name), flags, mode);
}

export async function closeFd(fd: number): Promise<void> {
  try {
    fs.closeSync(fd);
  } catch {
    // Already closed.
  }
}

/** lstat of `name` in `dirFd`, or fstat of the directory itself when name is ''. */
export async function lstatAt(dirFd: number, name: string): Promise<fs.BigIntStats> {
  if (name === '') return fs.fstatSync(dirFd, { bigint: true });
  return fs.lstatSync(procPath(dirFd, name), { bigint: true });
}

export async function lstatAtIfExists(dirFd: number, name: string): Promise<fs.BigIntStats | undefined> {
  const st =
    name === ''
      ? fs.fstatSync(dirFd, { bigint: true })
      : fs.lstatSync(procPath(dirFd, name), { bigint: true, throwIfNoEntry: false });
  return st ?? undefined;
}

export async function fstatFd(fd: number): Promise<fs.BigIntStats> {
  return fs.fstatSync(fd, { bigint: true });
}

export async function fchmod(fd: number, mode: number): Promise<void> {
  fs.fchmodSync(fd, mode & 0o7777);
}

export async function fchown(fd: number, uid: number, gid: number): Promise<void> {
  fs.fchownSync(fd, uid, gid);
}

export async function futimes(fd: number, atime: Date, mtime: Date): Promise<void> {
  fs.futimesSync(fd, atime, mtime);
}

export async function readFd(fd: number, buffer: Buffer, length: number): Promise<number> {
  return fs.readSync(fd, buffer, 0, length, null);
}

export async function writeAllFd(fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += fs.writeSync(fd, data, offset, data.length - offset);
}

/** Names in the open directory. */
export async function readdirFd(dirFd: number): Promise<string[]> {
  return fs.readdirSync(procPath(dirFd));
}

export async function readlinkAt(dirFd: number, name: string): Promise<string> {
  return fs.readlinkSync(procPath(dirFd, name));
}

export async function mkdirAt(dirFd: number, name: string, mode: number): Promise<void> {
  fs.mkdirSync(procPath(dirFd, name), mode);
}

export async function symlinkAt(target: string, dirFd: number, name: string): Promise<void> {
  fs.symlinkSync(target, procPath(dirFd, name));
}

/** A hard link named `name` in `dirFd` to `existingName` in `existingDirFd` (never following a final symlink). */
export async function linkAt(
  existingDirFd: number,
  existingName: string,
  dirFd: number,
  name: string,
): Promise<void> {
  fs.linkSync(procPath(existingDirFd, existingName), procPath(dirFd, name));
}

export async function lchownAt(dirFd: number, name: string, uid: number, gid: number): Promise<void> {
  fs.lchownSync(procPath(dirFd, name), uid, gid);
}

export async function lutimesAt(dirFd: number, name: string, atime: Date, mtime: Date): Promise<void> {
  fs.lutimesSync(procPath(dirFd, name), atime, mtime);
}

/** Opens `name` in `dirFd` (which must not be a symlink) and applies mode bits through the fd. */
export async function chmodAt(dirFd: number, name: string, mode: number, isDir: boolean): Promise<void> {
  const fd = fs.openSync(procPath(dirFd, name), isDir ? O_DIR : O_READ_FILE);
  try {
    fs.fchmodSync(fd, mode & 0o7777);
  } finally {
    fs.closeSync(fd);
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
    fs.unlinkSync(procPath(dirFd, name));
    return;
  }
  const dev = parentDev ?? fs.fstatSync(dirFd, { bigint: true }).dev;
  if (st.dev !== dev) {
    throw Object.assign(new Error(`refusing to remove ${name}: it is a mount point`), { code: 'EBUSY' });
  }
  const fd = await openDirAt(dirFd, name);
  try {
    const opened = fs.fstatSync(fd, { bigint: true });
    if (opened.ino !== st.ino || opened.dev !== st.dev) {
      throw Object.assign(new Error(`${name} changed while it was being removed`), { code: 'EAGAIN' });
    }
    for (const child of fs.readdirSync(procPath(fd))) await removeTreeAt(fd, child, st.dev);
  } finally {
    fs.closeSync(fd);
  }
  fs.rmdirSync(procPath(dirFd, name));
}

/** The current host path of an open file or directory (what /proc says it is now). */
export async function fdHostPath(fd: number): Promise<string> {
  return fs.readlinkSync(procPath(fd));
}
