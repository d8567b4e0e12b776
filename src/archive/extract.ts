/**
 * `PUT /containers/{id}/archive`: extracts a tar (plain or gzip) into a
 * directory of the container, in-process. Each entry's parent directory is
 * resolved inside the container root right before the write (symlinks in the
 * way are followed as the container would follow them, so they can only lead
 * elsewhere inside the root) and the write itself happens relative to that
 * directory's fd with O_NOFOLLOW/O_EXCL, so nothing is ever written outside the
 * root or the container's mounts.
 *
 * Refused, as Docker refuses them: names that climb out of the extraction
 * directory (`../x`), symlinks whose target climbs out of it, hard links to
 * anything outside it. Absolute names are taken relative to the extraction
 * directory (Docker's behaviour). Refused beyond Docker: device nodes (never
 * created from an upload) and FIFOs (Node cannot mknod).
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import tar, { type Header } from 'tar-stream';
import { invalidParameter } from '../common/errors.js';
import { decompressStream } from './decompress.js';
import { breakout, extractPointNotDirectory, pathError, rootfsReadOnly, volumeReadOnly } from './errors.js';
import {
  chmodAt,
  closeFd,
  fchmod,
  fchown,
  futimes,
  lchownAt,
  linkAt,
  lstatAtIfExists,
  lutimesAt,
  mkdirAt,
  O_CREATE_FILE,
  openAt,
  removeTreeAt,
  symlinkAt,
  writeAllFd,
} from './fdops.js';
import { cleanPath, openDirInRoot, openInRoot, type ContainerMount } from './resolve.js';

export interface ExtractOptions {
  mounts?: readonly ContainerMount[];
  /** Refuse to replace a directory with a non-directory or the reverse (the API's noOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
  /**
   * Owner given to every entry. The API's copyUIDGID asks for the container
   * user's ids, which the container service resolves; without it the ids in
   * the tar headers are kept.
   */
  owner?: { uid: number; gid: number };
  /** The container's rootfs is read-only: only writable mounts may be written. */
  readOnlyRoot?: boolean;
}

type Entry = AsyncIterable<Buffer> & { header: Header; resume(): unknown };

interface ParentDir {
  containerPath: string;
  fd: number;
  mount?: ContainerMount;
}

/** A PAX numeric record (large uids and gids live there). */
function paxNumber(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function isWithinContainerPath(parent: string, child: string): boolean {
  return parent === '/' || child === parent || child.startsWith(parent + '/');
}

class Extractor {
  private cached?: ParentDir & { requested: string };
  /** Set when an entry removed something, so the cached parent must not be reused. */
  private stale = false;
  private readonly dirTimes: { containerPath: string; mtime: Date }[] = [];

  constructor(
    private readonly root: string,
    private readonly dest: string,
    private readonly options: ExtractOptions,
  ) {}

  async entry(entry: Entry): Promise<void> {
    try {
      await this.extractEntry(entry);
    } finally {
      // Anything but a plain file may change what later paths resolve to.
      const type = entry.header.type;
      if (this.stale || (type !== 'file' && type !== 'contiguous-file' && type !== 'link'))
        this.forgetParent();
      this.stale = false;
    }
  }

  private async extractEntry(entry: Entry): Promise<void> {
    const header = entry.header;
    const rel = cleanPath(header.name).replace(/^\/+/, '') || '.';
    if (rel === '..' || rel.startsWith('../'))
      throw breakout(`"${header.name}" is outside of "${this.dest}"`);
    if (rel === '.') {
      if (header.type === 'directory') return;
      throw breakout(`"${header.name}" would replace the extraction directory`);
    }
    const entryPath = cleanPath(`${this.dest}/${rel}`);
    const parent = await this.parent(path.posix.dirname(entryPath));
    const name = path.posix.basename(entryPath);
    this.checkWritable(parent);

    const existing = await lstatAtIfExists(parent.fd, name);
    if (existing) {
      const wantDir = header.type === 'directory';
      if (this.options.noOverwriteDirNonDir && existing.isDirectory() && !wantDir) {
        throw invalidParameter(`cannot overwrite directory "${entryPath}" with non-directory "${this.dest}"`);
      }
      if (this.options.noOverwriteDirNonDir && !existing.isDirectory() && wantDir) {
        throw invalidParameter(`cannot overwrite non-directory "${entryPath}" with directory "${this.dest}"`);
      }
      if (!(existing.isDirectory() && wantDir)) {
        await removeTreeAt(parent.fd, name);
        this.stale = true;
      }
    }

    const pax = (header.pax ?? {}) as Record<string, string>;
    const uid = this.options.owner?.uid ?? paxNumber(pax.uid) ?? header.uid;
    const gid = this.options.owner?.gid ?? paxNumber(pax.gid) ?? header.gid;
    const mode = header.mode & 0o7777;
    const mtime =
      pax.mtime !== undefined && Number.isFinite(Number(pax.mtime))
        ? new Date(Number(pax.mtime) * 1000)
        : header.mtime;
    switch (header.type) {
      case 'directory':
        if (!existing?.isDirectory()) await mkdirAt(parent.fd, name, 0o700);
        await lchownAt(parent.fd, name, uid, gid);
        await chmodAt(parent.fd, name, mode, true);
        this.dirTimes.push({ containerPath: entryPath, mtime });
        return;
      case 'file':
      case 'contiguous-file':
        await this.writeFile(entry, parent.fd, name, { uid, gid, mode, mtime });
        return;
      case 'symlink': {
        const linkname = header.linkname ?? '';
        if (
          !isWithinContainerPath(
            this.dest,
            cleanPath(path.posix.join(path.posix.dirname(entryPath), linkname)),
          )
        ) {
          throw breakout(`invalid symlink "${entryPath}" -> "${linkname}"`);
        }
        await symlinkAt(linkname, parent.fd, name);
        await lchownAt(parent.fd, name, uid, gid);
        await lutimesAt(parent.fd, name, mtime, mtime);
        return;
      }
      case 'link':
        await this.hardlink(header.linkname ?? '', parent.fd, name, uid, gid, mode);
        return;
      case 'character-device':
      case 'block-device':
        throw breakout(`"${entryPath}" is a device node; device nodes are never created from an archive`);
      case 'fifo':
        throw breakout(`"${entryPath}" is a named pipe, which berth cannot create`);
      default:
        throw invalidParameter(`unhandled tar header type ${String(header.type)} for "${header.name}"`);
    }
  }

  private async writeFile(
    entry: Entry,
    dirFd: number,
    name: string,
    meta: { uid: number; gid: number; mode: number; mtime: Date },
  ): Promise<void> {
    const fd = await openAt(dirFd, name, O_CREATE_FILE, 0o600);
    try {
      for await (const chunk of entry) await writeAllFd(fd, chunk);
      await fchown(fd, meta.uid, meta.gid);
      await fchmod(fd, meta.mode);
      await futimes(fd, meta.mtime, meta.mtime);
    } finally {
      await closeFd(fd);
    }
  }

  private async hardlink(
    linkname: string,
    dirFd: number,
    name: string,
    uid: number,
    gid: number,
    mode: number,
  ): Promise<void> {
    const targetPath = cleanPath(path.posix.join(this.dest, linkname));
    if (!isWithinContainerPath(this.dest, targetPath))
      throw breakout(`invalid hardlink "${targetPath}" -> "${linkname}"`);
    const linked = await openInRoot(this.root, targetPath, { mounts: this.options.mounts });
    try {
      const st = await linked.lstat();
      if (st.isDirectory()) throw breakout(`invalid hardlink "${targetPath}" -> "${linkname}": a directory`);
      await linkAt(linked.dirFd, linked.name, dirFd, name);
      if (!st.isSymbolicLink()) {
        await lchownAt(dirFd, name, uid, gid);
        if (st.isFile()) await chmodAt(dirFd, name, mode, false);
      }
    } catch (err) {
      throw pathError(err, targetPath);
    } finally {
      await linked.close();
    }
  }

  private checkWritable(parent: ParentDir): void {
    if (parent.mount) {
      if (parent.mount.readOnly) throw volumeReadOnly();
    } else if (this.options.readOnlyRoot) {
      throw rootfsReadOnly();
    }
  }

  /** The open parent directory of an entry, creating missing directories (0755) as Docker does. */
  private async parent(containerPath: string): Promise<ParentDir> {
    if (this.cached?.requested === containerPath) return this.cached;
    this.forgetParent();
    const opened = await openDirInRoot(this.root, containerPath, {
      mounts: this.options.mounts,
      createMissingDirs: true,
      readOnlyRoot: this.options.readOnlyRoot,
    });
    this.cached = { ...opened, requested: containerPath };
    return this.cached;
  }

  /** Drops the cached parent after anything that may change what a path resolves to. */
  private forgetParent(): void {
    if (this.cached) void closeFd(this.cached.fd);
    this.cached = undefined;
  }

  /** Directory mtimes last, so files created inside do not disturb them. */
  async finish(): Promise<void> {
    this.forgetParent();
    for (const { containerPath, mtime } of this.dirTimes) {
      const dir = await openInRoot(this.root, containerPath, { mounts: this.options.mounts }).catch(
        () => undefined,
      );
      if (!dir) continue;
      try {
        if (dir.exists && (await dir.lstat()).isDirectory())
          await lutimesAt(dir.dirFd, dir.name, mtime, mtime);
      } finally {
        await dir.close();
      }
    }
  }

  close(): void {
    this.forgetParent();
  }
}

/**
 * Extracts `input` into the directory `destPath` of the container whose root
 * is `root`. The destination's last component is followed if it is a symlink
 * (Docker's rule); it must be a directory.
 */
export async function extractArchive(
  root: string,
  destPath: string,
  input: Readable,
  options: ExtractOptions = {},
): Promise<void> {
  const absDest = '/' + destPath.replace(/^\/+/, '');
  const dest = await openInRoot(root, absDest, { mounts: options.mounts, followFinalSymlink: true });
  let destContainerPath: string;
  try {
    const st = await dest.lstat().catch((err: unknown) => {
      throw pathError(err, cleanPath(absDest));
    });
    if (!st.isDirectory()) throw extractPointNotDirectory();
    if (dest.mount?.readOnly) throw volumeReadOnly();
    if (!dest.mount && options.readOnlyRoot) throw rootfsReadOnly();
    destContainerPath = dest.containerPath;
  } catch (err) {
    input.resume();
    throw err;
  } finally {
    await dest.close();
  }

  const tarStream = await decompressStream(input);
  const parser = tar.extract();
  tarStream.on('error', (err) => parser.destroy(err));
  tarStream.pipe(parser as unknown as NodeJS.WritableStream);
  const extractor = new Extractor(root, destContainerPath, options);
  try {
    for await (const entry of parser as AsyncIterable<Entry>) {
      try {
        await extractor.entry(entry);
      } finally {
        entry.resume();
      }
    }
    await extractor.finish();
  } catch (err) {
    parser.destroy();
    tarStream.destroy();
    input.destroy();
    throw err;
  } finally {
    extractor.close();
  }
}
