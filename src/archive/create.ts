/**
 * `GET /containers/{id}/archive`: a tar of a file or directory in the
 * container, built in-process by walking directory fds (see fdops.ts), so a
 * symlink is archived as a symlink and never followed, and a directory swapped
 * for a symlink mid-walk is noticed instead of read through. Entries keep
 * uid/gid, mode (with setuid/setgid/sticky), mtime, symlink targets, hard
 * links (same inode archived once, later names as links) and device numbers.
 *
 * Names follow Docker's rebasing for `docker cp`: `/a/dir` archives as
 * `dir/...`, `/a/dir/.` as `./...`, `/` as `/...`, a file as its base name.
 */
import type { BigIntStats } from 'node:fs';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathError } from './errors.js';
import {
  closeFd,
  fstatFd,
  lstatAt,
  lstatAtIfExists,
  O_READ_FILE,
  openAt,
  openDirAt,
  openTrustedDir,
  readdirFd,
  readFd,
  readlinkAt,
} from './fdops.js';
import { cleanPath, openInRoot, type ContainerMount } from './resolve.js';
import { baseName, linkTargetOf, pathStatFrom, type PathStat } from './stat.js';
import { encodeTarHeader, TAR_END, tarPadding, type TarHeader, type TarType } from './tar-header.js';

export interface CreateArchiveOptions {
  mounts?: readonly ContainerMount[];
}

const READ_CHUNK = 256 * 1024;

interface WalkContext {
  mounts: Map<string, ContainerMount>;
  /** "dev:ino" of multiply-linked files already archived -> their entry name. */
  links: Map<string, string>;
}

/** Linux's dev_t split (glibc's gnu_dev_major/minor). */
export function deviceNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function tarType(st: BigIntStats): TarType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets are not archived (as in Docker)
}

function headerFor(st: BigIntStats, name: string, type: TarType): TarHeader {
  const header: TarHeader = {
    name,
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === 'file' ? Number(st.size) : 0,
    mtime: Number(st.mtimeMs / 1000n),
  };
  if (type === 'character-device' || type === 'block-device') {
    const { major, minor } = deviceNumbers(st.rdev);
    header.devmajor = major;
    header.devminor = minor;
  }
  return header;
}

function childEntryName(parentEntry: string, child: string): string {
  if (parentEntry === '') return `/${child}`;
  return `${parentEntry}/${child}`;
}

function childContainerPath(dir: string, child: string): string {
  return dir === '/' ? `/${child}` : `${dir}/${child}`;
}

/** Entries for the node `name` in `dirFd` (or `dirFd` itself when name is ''). */
async function* archiveNode(
  ctx: WalkContext,
  dirFd: number,
  name: string,
  st: BigIntStats,
  entryName: string,
  containerPath: string,
): AsyncGenerator<Buffer> {
  const type = tarType(st);
  if (!type) return;
  if (type === 'directory') {
    yield* archiveDirectory(ctx, dirFd, name, st, entryName, containerPath);
    return;
  }
  const header = headerFor(st, entryName, type);
  if (type === 'symlink') {
    header.linkname = await readlinkAt(dirFd, name);
    yield encodeTarHeader(header);
    return;
  }
  if (type !== 'file') {
    yield encodeTarHeader(header);
    return;
  }
  if (st.nlink > 1n) {
    const key = `${st.dev}:${st.ino}`;
    const first = ctx.links.get(key);
    if (first !== undefined) {
      yield encodeTarHeader({ ...header, type: 'link', size: 0, linkname: first });
      return;
    }
    ctx.links.set(key, entryName);
  }
  yield* archiveFile(dirFd, name, st, header);
}

async function* archiveFile(
  dirFd: number,
  name: string,
  st: BigIntStats,
  header: TarHeader,
): AsyncGenerator<Buffer> {
  const fd = await openAt(dirFd, name, O_READ_FILE);
  try {
    const opened = await fstatFd(fd);
    if (opened.ino !== st.ino || opened.dev !== st.dev || !opened.isFile()) {
      throw Object.assign(new Error(`${header.name} changed while it was being archived`), {
        code: 'EAGAIN',
      });
    }
    yield encodeTarHeader(header);
    // The header promised `size` bytes: a file that shrinks meanwhile is padded, one that grows is cut.
    let remaining = header.size;
    while (remaining > 0) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, remaining));
      const read = await readFd(fd, chunk, chunk.length);
      if (read === 0) break;
      remaining -= read;
      yield read === chunk.length ? chunk : chunk.subarray(0, read);
    }
    if (remaining > 0) yield Buffer.alloc(remaining);
    yield tarPadding(header.size);
  } finally {
    await closeFd(fd);
  }
}

async function* archiveDirectory(
  ctx: WalkContext,
  parentFd: number,
  name: string,
  st: BigIntStats,
  entryName: string,
  containerPath: string,
): AsyncGenerator<Buffer> {
  const fd = name === '' ? parentFd : await openDirAt(parentFd, name);
  try {
    const opened = await fstatFd(fd);
    if (opened.ino !== st.ino || opened.dev !== st.dev) {
      throw Object.assign(new Error(`${containerPath} changed while it was being archived`), {
        code: 'EAGAIN',
      });
    }
    yield encodeTarHeader(headerFor(st, entryName === '' ? '/' : entryName, 'directory'));
    const children = new Set(await readdirFd(fd));
    for (const destination of ctx.mounts.keys()) {
      if (path.posix.dirname(destination) === containerPath) children.add(path.posix.basename(destination));
    }
    for (const child of [...children].sort()) {
      const childPath = childContainerPath(containerPath, child);
      const childEntry = childEntryName(entryName, child);
      const mount = ctx.mounts.get(childPath);
      if (mount) {
        yield* archiveMount(ctx, mount, childEntry, childPath);
        continue;
      }
      const childStat = await lstatAtIfExists(fd, child);
      if (childStat) yield* archiveNode(ctx, fd, child, childStat, childEntry, childPath);
    }
  } finally {
    if (fd !== parentFd) await closeFd(fd);
  }
}

/** What the container sees at a mount point: the mount's source, archived under the container's name for it. */
async function* archiveMount(
  ctx: WalkContext,
  mount: ContainerMount,
  entryName: string,
  containerPath: string,
): AsyncGenerator<Buffer> {
  const st = await fs.stat(mount.source, { bigint: true });
  const directory = st.isDirectory();
  const fd = await openTrustedDir(directory ? mount.source : path.dirname(mount.source));
  try {
    const name = directory ? '' : path.basename(mount.source);
    const nodeStat = await lstatAt(fd, name);
    yield* archiveNode(ctx, fd, name, nodeStat, entryName, containerPath);
  } finally {
    await closeFd(fd);
  }
}

function mountTable(mounts: readonly ContainerMount[] | undefined): Map<string, ContainerMount> {
  const table = new Map<string, ContainerMount>();
  for (const mount of mounts ?? []) {
    const destination = cleanPath('/' + mount.destination);
    if (destination !== '/') table.set(destination, mount);
  }
  return table;
}

/**
 * Stats the path and opens a tar stream of it. Errors in resolving the path
 * (missing, loops) are thrown before any byte is produced; errors while
 * walking end the stream with that error.
 */
export async function archivePath(
  root: string,
  containerPath: string,
  options: CreateArchiveOptions = {},
): Promise<{ stat: PathStat; stream: Readable }> {
  const absPath = '/' + containerPath.replace(/^\/+/, '');
  const resolved = await openInRoot(root, absPath, { mounts: options.mounts });
  let stat: PathStat;
  let st: BigIntStats;
  try {
    st = await resolved.lstat();
    stat = pathStatFrom(baseName(absPath), st, await linkTargetOf(root, absPath, st, options.mounts));
  } catch (err) {
    await resolved.close();
    throw pathError(err, cleanPath(absPath));
  }
  const rebase = baseName(absPath);
  const rootEntry = rebase === '/' ? '' : rebase;
  const ctx: WalkContext = { mounts: mountTable(options.mounts), links: new Map() };
  async function* entries(): AsyncGenerator<Buffer> {
    try {
      yield* archiveNode(ctx, resolved.dirFd, resolved.name, st, rootEntry, resolved.containerPath);
      yield TAR_END;
    } finally {
      await resolved.close();
    }
  }
  return { stat, stream: Readable.from(entries(), { objectMode: false }) };
}

/** The tar stream alone (see archivePath). */
export async function createArchive(
  root: string,
  containerPath: string,
  options: CreateArchiveOptions = {},
): Promise<Readable> {
  return (await archivePath(root, containerPath, options)).stream;
}
