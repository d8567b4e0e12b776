/**
 * Directory copy between a container-controlled tree and a daemon-owned
 * directory, fd by fd (see fdops.ts): symlinks are copied as symlinks, never
 * followed; ownership, modes (setuid/setgid/sticky too), mtimes and hard
 * links are kept. Used for Docker's volume copy-up.
 */
import type { BigIntStats } from 'node:fs';
import { log } from '../common/log.js';
import {
  chmodAt,
  closeFd,
  fchmod,
  fchown,
  fstatFd,
  futimes,
  lchownAt,
  linkAt,
  lstatAt,
  lutimesAt,
  mkdirAt,
  O_CREATE_FILE,
  O_READ_FILE,
  openAt,
  openDirAt,
  openTrustedDir,
  readdirFd,
  readFd,
  readlinkAt,
  symlinkAt,
  writeAllFd,
} from './fdops.js';
import { openDirInRoot } from './resolve.js';

const CHUNK = 256 * 1024;

interface CopyState {
  destRootFd: number;
  /** "dev:ino" of multiply-linked source files -> path of their first copy, relative to the destination root. */
  links: Map<string, string>;
  /** Bytes as Docker's volume size counts them: non-directories, hard links once. */
  bytes: number;
}

export interface CopyResult {
  copied: boolean;
  bytes: number;
}

async function applyMetadata(dirFd: number, name: string, st: BigIntStats, isDir: boolean): Promise<void> {
  await lchownAt(dirFd, name, Number(st.uid), Number(st.gid));
  if (!st.isSymbolicLink()) await chmodAt(dirFd, name, Number(st.mode), isDir);
  await lutimesAt(dirFd, name, new Date(Number(st.atimeMs)), new Date(Number(st.mtimeMs)));
}

async function copyFile(
  state: CopyState,
  srcDir: number,
  destDir: number,
  name: string,
  st: BigIntStats,
): Promise<void> {
  const src = await openAt(srcDir, name, O_READ_FILE);
  try {
    const opened = await fstatFd(src);
    if (opened.ino !== st.ino || !opened.isFile())
      throw new Error(`${name} changed while it was being copied`);
    const dest = await openAt(destDir, name, O_CREATE_FILE, 0o600);
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const read = await readFd(src, buffer, buffer.length);
        if (read === 0) break;
        await writeAllFd(dest, buffer.subarray(0, read));
      }
      await fchown(dest, Number(st.uid), Number(st.gid));
      await fchmod(dest, Number(st.mode) & 0o7777);
      await futimes(dest, new Date(Number(st.atimeMs)), new Date(Number(st.mtimeMs)));
    } finally {
      await closeFd(dest);
    }
  } finally {
    await closeFd(src);
  }
}

async function copyChildren(
  state: CopyState,
  srcDir: number,
  destDir: number,
  relDir: string,
): Promise<void> {
  for (const name of (await readdirFd(srcDir)).sort()) {
    const st = await lstatAt(srcDir, name);
    const rel = relDir === '' ? name : `${relDir}/${name}`;
    if (st.isDirectory()) {
      await mkdirAt(destDir, name, 0o700);
      const childSrc = await openDirAt(srcDir, name);
      const childDest = await openDirAt(destDir, name).catch(async (err: unknown) => {
        await closeFd(childSrc);
        throw err;
      });
      try {
        await copyChildren(state, childSrc, childDest, rel);
      } finally {
        await closeFd(childSrc);
        await closeFd(childDest);
      }
      await applyMetadata(destDir, name, st, true);
      continue;
    }
    if (st.isFile() && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = state.links.get(key);
      if (first !== undefined) {
        await linkAt(state.destRootFd, first, destDir, name);
        continue;
      }
      state.links.set(key, rel);
    }
    if (st.isFile()) {
      await copyFile(state, srcDir, destDir, name, st);
    } else if (st.isSymbolicLink()) {
      await symlinkAt(await readlinkAt(srcDir, name), destDir, name);
      await applyMetadata(destDir, name, st, false);
    } else {
      // Device nodes, FIFOs and sockets cannot be made without mknod.
      log.warn('copy-up skipped a special file', { path: rel });
      continue;
    }
    if (st.size > 0n) state.bytes += Number(st.size);
  }
}

/**
 * Copies the directory at `containerPath` of the tree `srcRoot` (resolved
 * inside it, symlinks followed as in the container) into `destDir`, if the
 * source is a directory and `destDir` is empty; the destination's own owner,
 * mode and times become the source directory's.
 */
export async function copyDirectoryInto(
  srcRoot: string,
  containerPath: string,
  destDir: string,
): Promise<CopyResult> {
  let source: { fd: number } | undefined;
  try {
    source = await openDirInRoot(srcRoot, containerPath);
  } catch (err) {
    const kind = (err as { kind?: string }).kind;
    if (kind === 'NotFound' || kind === 'InvalidParameter') return { copied: false, bytes: 0 };
    throw err;
  }
  const destRootFd = await openTrustedDir(destDir);
  try {
    if ((await readdirFd(destRootFd)).length > 0) return { copied: false, bytes: 0 };
    const state: CopyState = { destRootFd, links: new Map(), bytes: 0 };
    await copyChildren(state, source.fd, destRootFd, '');
    const st = await fstatFd(source.fd);
    await fchown(destRootFd, Number(st.uid), Number(st.gid));
    await fchmod(destRootFd, Number(st.mode) & 0o7777);
    await futimes(destRootFd, new Date(Number(st.atimeMs)), new Date(Number(st.mtimeMs)));
    return { copied: true, bytes: state.bytes };
  } finally {
    await closeFd(destRootFd);
    await closeFd(source.fd);
  }
}
