/**
 * COPY and ADD into a step's root filesystem. Sources come from trees only
 * berthd writes to (the extracted context, read-only views of images), so
 * they are read with plain calls that never follow symlinks below the
 * source. The destination is image-controlled: it is resolved inside the
 * root and every write is relative to an open directory (O_NOFOLLOW, see
 * src/archive/fdops.ts), so a symlink planted by an earlier step can only
 * lead elsewhere inside the same root.
 */
import { constants, createReadStream, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { invalidParameter } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { extractArchive } from '../../archive/extract.js';
import {
  closeFd,
  lchownAt,
  lstatAtIfExists,
  lutimesAt,
  mkdirAt,
  chmodAt,
  openDirAt,
  procPath,
  removeTreeAt,
  symlinkAt,
  fchown,
  fchmod,
  openAt,
  O_CREATE_FILE,
  writeAllFd,
} from '../../archive/fdops.js';
import { openInRoot } from '../../archive/resolve.js';
import { detectCompression } from '../../archive/decompress.js';
import type { ContextFilter, PatternMatcher } from '../context/dockerignore.js';

export interface Owner {
  uid: number;
  gid: number;
}

/** One matched source: a path (already resolved inside `root`) to copy. */
export interface CopySource {
  /** Host directory the path is relative to. */
  root: string;
  /** Resolved path relative to root ('' is the root itself). */
  path: string;
  /** .dockerignore rules for what lies below a directory source (context sources only). */
  filter?: ContextFilter;
}

export interface CopyOptions {
  /** Owner of everything copied and of directories created; default: keep the source's. */
  owner?: Owner;
  /** Mode of everything copied (COPY --chmod); default: keep the source's. */
  mode?: number;
  /** COPY --exclude, matched against paths relative to a directory source. */
  excludes?: PatternMatcher;
  /** ADD: a local tar archive is extracted instead of copied. */
  extractArchives?: boolean;
  /** Owner of extracted archive entries (ADD --chown); default: the owners in the archive. */
  archiveOwner?: Owner;
}

const ROOT_OWNER: Owner = { uid: 0, gid: 0 };

/**
 * Opens directory `containerPath` in `root`, creating missing components
 * (mode 0755, owned by `owner`, as Docker's MkdirAllAndChownNew does).
 * Returns the open fd; close it.
 */
export async function ensureDir(
  root: string,
  containerPath: string,
  owner: Owner = ROOT_OWNER,
): Promise<number> {
  const parts = containerPath.split('/').filter((p) => p !== '' && p !== '.');
  let current = '/';
  for (const part of parts) {
    current = path.posix.join(current, part);
    const at = await openInRoot(root, current, { followFinalSymlink: true });
    try {
      if (!at.exists) {
        await mkdirAt(at.dirFd, at.name, 0o755);
        await lchownAt(at.dirFd, at.name, owner.uid, owner.gid);
        await chmodAt(at.dirFd, at.name, 0o755, true);
      } else if (!(await at.lstat()).isDirectory()) {
        throw invalidParameter(`cannot create directory ${current}: a file of that name exists`);
      }
    } finally {
      await at.close();
    }
  }
  const dir = await openInRoot(root, containerPath || '/', { followFinalSymlink: true });
  try {
    if (dir.name === '') {
      // The root itself: hand out a duplicate the caller may close.
      return await openDirAt(dir.dirFd, '.');
    }
    return await openDirAt(dir.dirFd, dir.name);
  } finally {
    await dir.close();
  }
}

/** Whether `containerPath` exists in `root` as a directory (symlinks followed inside the root). */
export async function isDirectoryIn(root: string, containerPath: string): Promise<boolean> {
  try {
    const at = await openInRoot(root, containerPath, { followFinalSymlink: true, allowMissing: true });
    try {
      return at.exists && (await at.lstat()).isDirectory();
    } finally {
      await at.close();
    }
  } catch {
    return false;
  }
}

/**
 * Copies one source to `dest` in `root` with Docker's rules: a directory's
 * contents go into dest (created as needed); a file goes to dest, or into it
 * when dest ends in `/` or is an existing directory; an archive (ADD) is
 * extracted into dest.
 */
export async function copySource(
  root: string,
  dest: string,
  source: CopySource,
  options: CopyOptions,
): Promise<void> {
  const sourcePath = path.join(source.root, source.path);
  const st = await fs.lstat(sourcePath);
  const destIsDir = dest.endsWith('/') || (await isDirectoryIn(root, dest));
  const cleanDest = path.posix.normalize(dest).replace(/\/+$/, '') || '/';
  const createdOwner = options.owner ?? ROOT_OWNER;
  if (st.isDirectory()) {
    const fd = await ensureDir(root, cleanDest, createdOwner);
    try {
      await copyChildren(sourcePath, source, '', fd, options);
    } finally {
      await closeFd(fd);
    }
    return;
  }
  if (options.extractArchives && st.isFile() && (await isArchive(sourcePath))) {
    const fd = await ensureDir(root, cleanDest, createdOwner);
    await closeFd(fd);
    await extractArchive(root, cleanDest, createReadStream(sourcePath), { owner: options.archiveOwner });
    return;
  }
  const target = destIsDir ? path.posix.join(cleanDest, path.basename(source.path || sourcePath)) : cleanDest;
  const parentFd = await ensureDir(root, path.posix.dirname(target), createdOwner);
  try {
    await copyEntry(sourcePath, st, parentFd, path.posix.basename(target), options);
  } finally {
    await closeFd(parentFd);
  }
}

/** Writes `data` as file `dest` (or dest/<name> when dest is a directory): COPY <<EOF. */
export async function writeInlineFile(
  root: string,
  dest: string,
  name: string,
  data: string,
  options: CopyOptions,
): Promise<void> {
  const destIsDir = dest.endsWith('/') || (await isDirectoryIn(root, dest));
  const cleanDest = path.posix.normalize(dest).replace(/\/+$/, '') || '/';
  const target = destIsDir ? path.posix.join(cleanDest, name) : cleanDest;
  const owner = options.owner ?? ROOT_OWNER;
  const parentFd = await ensureDir(root, path.posix.dirname(target), owner);
  try {
    const base = path.posix.basename(target);
    await removeTreeAt(parentFd, base);
    const fd = await openAt(parentFd, base, O_CREATE_FILE, 0o600);
    try {
      await writeAllFd(fd, Buffer.from(data));
      await fchown(fd, owner.uid, owner.gid);
      await fchmod(fd, options.mode ?? 0o644);
    } finally {
      await closeFd(fd);
    }
  } finally {
    await closeFd(parentFd);
  }
}

async function copyChildren(
  sourceDir: string,
  source: CopySource,
  relInside: string,
  destFd: number,
  options: CopyOptions,
): Promise<void> {
  const names = (await fs.readdir(sourceDir)).sort();
  for (const name of names) {
    const rel = relInside === '' ? name : `${relInside}/${name}`;
    if (options.excludes?.matches(rel)) continue;
    const contextRel = source.path === '' ? rel : `${source.path}/${rel}`;
    const child = path.join(sourceDir, name);
    const st = await fs.lstat(child);
    if (source.filter && !source.filter.includes(contextRel)) {
      // An excluded directory is entered only when a `!` pattern re-includes something below it.
      const matcher = source.filter.matcher;
      if (!st.isDirectory() || !matcher.hasExclusions || !matcher.exclusionUnder(contextRel)) continue;
    }
    await copyEntry(child, st, destFd, name, options, source, rel);
  }
}

async function copyEntry(
  sourcePath: string,
  st: Stats,
  destDirFd: number,
  name: string,
  options: CopyOptions,
  source?: CopySource,
  relInside?: string,
): Promise<void> {
  const owner = options.owner ?? { uid: st.uid, gid: st.gid };
  const mode = options.mode ?? st.mode & 0o7777;
  const existing = await lstatAtIfExists(destDirFd, name);
  if (st.isDirectory()) {
    if (existing && !existing.isDirectory()) await removeTreeAt(destDirFd, name);
    if (!existing || !existing.isDirectory()) await mkdirAt(destDirFd, name, 0o700);
    const fd = await openDirAt(destDirFd, name);
    try {
      if (source && relInside !== undefined) await copyChildren(sourcePath, source, relInside, fd, options);
      else await copyChildren(sourcePath, { root: sourcePath, path: '' }, '', fd, options);
      await fchown(fd, owner.uid, owner.gid);
      await fchmod(fd, mode);
    } finally {
      await closeFd(fd);
    }
    await lutimesAt(destDirFd, name, st.atime, st.mtime);
    return;
  }
  if (existing) await removeTreeAt(destDirFd, name);
  if (st.isFile()) {
    await fs.copyFile(sourcePath, procPath(destDirFd, name), constants.COPYFILE_EXCL);
    await lchownAt(destDirFd, name, owner.uid, owner.gid);
    await chmodAt(destDirFd, name, mode, false);
    await lutimesAt(destDirFd, name, st.atime, st.mtime);
    return;
  }
  if (st.isSymbolicLink()) {
    await symlinkAt(await fs.readlink(sourcePath), destDirFd, name);
    await lchownAt(destDirFd, name, owner.uid, owner.gid);
    await lutimesAt(destDirFd, name, st.atime, st.mtime);
    return;
  }
  log.debug('build copy skips a special file', { path: sourcePath });
}

/** A tar archive, plain or compressed, as ADD recognises one. */
async function isArchive(file: string): Promise<boolean> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const data = head.subarray(0, bytesRead);
    if (detectCompression(data) !== 'none') return true;
    return bytesRead >= 262 && data.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    await handle.close();
  }
}
