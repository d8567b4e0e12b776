/**
 * Resolution of a container path inside the container's root directory, as
 * the kernel would resolve it inside the container: symlinks are followed
 * component by component with the root standing in for `/` (absolute targets
 * restart at the root, `..` stops at the root), and the container's mounts
 * (volumes, bind mounts) are substituted where their destinations appear.
 *
 * Guarantee: the walk holds an open directory fd for every component and looks
 * up each next name relative to that fd with O_NOFOLLOW (see fdops.ts). A
 * container that swaps a directory for a symlink while we walk can at most
 * make the walk fail (ELOOP/ENOTDIR) or see the swapped-in link, which is then
 * resolved inside the root like any other link; it can never redirect a lookup
 * to the host. The result is an open directory fd plus one final name, so the
 * caller's operation (open, mkdir, symlink, unlink...) also happens relative to
 * a directory already known to be inside the root. Before the result is handed
 * out, the directory's current host path (/proc/self/fd/N) is checked to lie
 * within the root or within the mount source it was reached through.
 *
 * `resolveInRoot` returns a plain host path string for callers that only need
 * a location; a string can be re-resolved later by someone else, so anything
 * that reads or writes container-controlled trees should use `openInRoot`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { errnoError, pathError, rootfsReadOnly, volumeReadOnly } from './errors.js';
import {
  closeFd,
  fdHostPath,
  lstatAt,
  mkdirAt,
  openDirAt,
  openTrustedDir,
  procPath,
  readlinkAt,
} from './fdops.js';

/** One mount of a container: what the container sees at `destination` is the host's `source`. */
export interface ContainerMount {
  /** Absolute path inside the container. */
  destination: string;
  /** Host directory or file mounted there (chosen by the daemon or the user, so trusted). */
  source: string;
  readOnly?: boolean;
}

export interface ResolveOptions {
  /** Resolve a symlink in the final component too (a trailing `/` or `/.` always does). */
  followFinalSymlink?: boolean;
  mounts?: readonly ContainerMount[];
  /** Create missing directories on the way (mode 0755, owned by the daemon) instead of failing. */
  createMissingDirs?: boolean;
  /** With createMissingDirs: the rootfs is read-only, so only writable mounts may get new directories. */
  readOnlyRoot?: boolean;
  /**
   * A missing directory on the way is not an error: the rest of the path is
   * taken literally (securejoin's behaviour) and the result does not exist.
   */
  allowMissing?: boolean;
}

/** The kernel's limit on symlinks followed in one lookup. */
export const MAX_SYMLINKS = 40;

interface Frame {
  fd: number;
  /** Where this directory is, as the container sees it. */
  containerPath: string;
  /** The mount this directory was reached through, if any. */
  mount?: ContainerMount;
}

/**
 * A resolved location: an open directory and one name in it (`name` is ''
 * when the location is that directory itself: the root or a mount's root).
 * Close it when done.
 */
export class RootedPath {
  private closed = false;

  constructor(
    readonly dirFd: number,
    readonly name: string,
    /** The location as the container sees it, symlinks resolved. */
    readonly containerPath: string,
    readonly mount: ContainerMount | undefined,
    /** Whether the final name existed when it was resolved. */
    readonly exists: boolean,
  ) {}

  /** /proc/self/fd/N/name: usable with fs calls that do not follow a final symlink. */
  procPath(): string {
    return procPath(this.dirFd, this.name);
  }

  lstat(): ReturnType<typeof lstatAt> {
    return lstatAt(this.dirFd, this.name);
  }

  /** Host path of the location now; for messages and for tools that need a path, not for reopening safely. */
  async hostPath(): Promise<string> {
    const dir = await fdHostPath(this.dirFd);
    return this.name === '' ? dir : path.join(dir, this.name);
  }

  /** Whether writes here are refused: a read-only mount, or the rootfs when it is read-only. */
  readOnly(readOnlyRoot = false): boolean {
    return this.mount ? Boolean(this.mount.readOnly) : readOnlyRoot;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeFd(this.dirFd);
  }
}

/** Splits a container path into its components, dropping empty ones and `.`. */
export function pathComponents(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/** Go's filepath.Clean for slash paths. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const absolute = p.startsWith('/');
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(c);
  }
  const joined = out.join('/');
  if (absolute) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Whether a path names a directory explicitly: a trailing `/` or `/.` (docker cp's rule). */
export function hasTrailingDirMarker(p: string): boolean {
  return p.endsWith('/') || p.endsWith('/.') || p === '.';
}

function joinContainer(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

function mountTable(mounts: readonly ContainerMount[] | undefined): Map<string, ContainerMount> {
  const table = new Map<string, ContainerMount>();
  for (const mount of mounts ?? []) {
    const destination = cleanPath('/' + mount.destination);
    if (destination !== '/') table.set(destination, mount);
  }
  return table;
}

/** Whether `child` is `parent` or below it (host paths, both absolute and clean). */
export function isWithin(parent: string, child: string): boolean {
  return child === parent || child.startsWith(parent.endsWith('/') ? parent : parent + '/');
}

/**
 * Walks `containerPath` inside `root` and returns the open location. Errors
 * carry the container's view of the path (PathNotFoundError for ENOENT).
 */
export async function openInRoot(
  root: string,
  containerPath: string,
  options: ResolveOptions = {},
): Promise<RootedPath> {
  const walker = new Walker(root, options);
  try {
    return await walker.walk(containerPath);
  } catch (err) {
    throw pathError(err, cleanPath('/' + containerPath));
  } finally {
    await walker.release();
  }
}

/** Resolves `containerPath` to a host path inside `root` (see the module comment for when a string is enough). */
export async function resolveInRoot(
  root: string,
  containerPath: string,
  options: ResolveOptions = {},
): Promise<string> {
  const resolved = await openInRoot(root, containerPath, options);
  try {
    return await resolved.hostPath();
  } finally {
    await resolved.close();
  }
}

/**
 * Opens the directory at `containerPath` itself (all symlinks followed) and
 * returns its fd, its resolved container path and its mount.
 */
export async function openDirInRoot(
  root: string,
  containerPath: string,
  options: Omit<ResolveOptions, 'followFinalSymlink'> = {},
): Promise<{ fd: number; containerPath: string; mount?: ContainerMount }> {
  const resolved = await openInRoot(root, containerPath, { ...options, followFinalSymlink: true });
  if (resolved.name === '')
    return { fd: resolved.dirFd, containerPath: resolved.containerPath, mount: resolved.mount };
  try {
    if (!resolved.exists) {
      if (!options.createMissingDirs)
        throw pathError(errnoError('ENOENT', 'missing'), resolved.containerPath);
      if (resolved.readOnly(options.readOnlyRoot)) throw resolved.mount ? volumeReadOnly() : rootfsReadOnly();
      await mkdirAt(resolved.dirFd, resolved.name, 0o755).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw pathError(e, resolved.containerPath);
      });
    }
    const fd = await openDirAt(resolved.dirFd, resolved.name).catch((err: unknown) => {
      throw pathError(err, resolved.containerPath);
    });
    return { fd, containerPath: resolved.containerPath, mount: resolved.mount };
  } finally {
    await resolved.close();
  }
}

class Walker {
  private readonly mounts: Map<string, ContainerMount>;
  private stack: Frame[] = [];
  private rootReal = '';

  constructor(
    private readonly root: string,
    private readonly options: ResolveOptions,
  ) {
    this.mounts = mountTable(options.mounts);
  }

  async walk(containerPath: string): Promise<RootedPath> {
    this.rootReal = fs.realpathSync(this.root);
    this.stack.push({ fd: await openTrustedDir(this.rootReal), containerPath: '/' });
    const followFinal = Boolean(this.options.followFinalSymlink) || hasTrailingDirMarker(containerPath);
    const mustBeDir = hasTrailingDirMarker(containerPath);
    let queue = pathComponents(containerPath);
    let linksFollowed = 0;

    while (queue.length > 0) {
      const component = queue.shift()!;
      const top = this.top();
      if (component === '..') {
        if (this.stack.length > 1) await closeFd(this.stack.pop()!.fd);
        continue;
      }
      const childPath = joinContainer(top.containerPath, component);
      const last = queue.length === 0;

      const mount = this.mounts.get(childPath);
      if (mount) {
        const mounted = await this.enterMount(mount, childPath, last);
        if (mounted) return mounted;
        continue;
      }

      let st;
      try {
        st = await lstatAt(top.fd, component);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        if (last) return this.result(top, component, childPath, false);
        if (this.options.allowMissing)
          return this.result(top, '', cleanPath([childPath, ...queue].join('/')), false);
        if (!this.options.createMissingDirs)
          throw errnoError('ENOENT', `${childPath}: no such file or directory`);
        if (top.mount ? top.mount.readOnly : this.options.readOnlyRoot)
          throw top.mount ? volumeReadOnly() : rootfsReadOnly();
        await mkdirAt(top.fd, component, 0o755).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        queue.unshift(component);
        continue;
      }

      if (st.isSymbolicLink() && (!last || followFinal)) {
        if (++linksFollowed > MAX_SYMLINKS) throw errnoError('ELOOP', 'too many levels of symbolic links');
        const target = await readlinkAt(top.fd, component);
        if (target.startsWith('/')) await this.unwindToRoot();
        queue = [...pathComponents(target), ...queue];
        continue;
      }
      if (last) {
        if (mustBeDir && !st.isDirectory()) throw errnoError('ENOTDIR', 'not a directory');
        return this.result(top, component, childPath, true);
      }
      if (!st.isDirectory()) throw errnoError('ENOTDIR', 'not a directory');
      this.stack.push({ fd: await openDirAt(top.fd, component), containerPath: childPath, mount: top.mount });
    }
    // The path ended on a directory already open (the root, a mount's root, or after `..`).
    return this.result(this.top(), '', this.top().containerPath, true);
  }

  /** Steps into a mount; returns the result directly when the mount is a single file at the end of the path. */
  private async enterMount(
    mount: ContainerMount,
    childPath: string,
    last: boolean,
  ): Promise<RootedPath | undefined> {
    const st = fs.statSync(mount.source);
    if (st.isDirectory()) {
      this.stack.push({ fd: await openTrustedDir(mount.source), containerPath: childPath, mount });
      return undefined;
    }
    if (!last) throw errnoError('ENOTDIR', 'not a directory');
    const frame = { fd: await openTrustedDir(path.dirname(mount.source)), containerPath: childPath, mount };
    this.stack.push(frame);
    return this.result(frame, path.basename(mount.source), childPath, true);
  }

  private top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  private async unwindToRoot(): Promise<void> {
    while (this.stack.length > 1) await closeFd(this.stack.pop()!.fd);
  }

  /** Checks containment of the frame's directory, then hands its fd to the result. */
  private async result(
    frame: Frame,
    name: string,
    containerPath: string,
    exists: boolean,
  ): Promise<RootedPath> {
    const bound = frame.mount ? await realDirOf(frame.mount.source) : this.rootReal;
    const here = await fdHostPath(frame.fd);
    if (!isWithin(bound, here)) {
      throw errnoError('EXDEV', `resolved outside of ${frame.mount ? 'the mount' : 'the container root'}`);
    }
    this.stack = this.stack.filter((f) => f !== frame);
    return new RootedPath(frame.fd, name, containerPath, frame.mount, exists);
  }

  async release(): Promise<void> {
    for (const frame of this.stack) await closeFd(frame.fd);
    this.stack = [];
  }
}

/** The real path of a mount source's directory (the source itself, or its parent for a file mount). */
async function realDirOf(source: string): Promise<string> {
  const st = fs.statSync(source);
  return fs.realpathSync(st.isDirectory() ? source : path.dirname(source));
}
