/**
 * Looking into a container's root filesystem without running it: the layer
 * directories behind its overlay snapshot, files read through the layers,
 * the filesystem diff (docker diff), and a read-only mount for export.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemError } from '../../common/errors.js';
import type { Mount } from '../../containerd/types.js';
import { CONTAINER_INIT_PATH } from '../../oci/mounts.js';
import { resolveUser, type ResolvedUser } from '../../oci/user.js';
import type { ContainerChange } from '../../types/container.js';

const execFileAsync = promisify(execFile);

export interface Layers {
  /** The container's own writable layer (overlay upperdir, or the bind source of a parentless snapshot). */
  upper: string;
  /** Read-only layers, topmost first. */
  lowers: string[];
}

/** The directories behind snapshot mounts, as the overlayfs snapshotter describes them. */
export function layersOf(mounts: readonly Mount[]): Layers {
  const mount = mounts[0];
  if (!mount) throw systemError('the container snapshot has no mounts');
  if (mount.type === 'bind') return { upper: mount.source, lowers: [] };
  if (mount.type !== 'overlay') throw systemError(`unsupported snapshot mount type ${mount.type}`);
  const option = (name: string): string | undefined =>
    mount.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);
  const upper = option('upperdir');
  const lowers = (option('lowerdir') ?? '').split(':').filter(Boolean);
  // A view (read-only snapshot) has no upperdir: its topmost lower plays the part.
  if (!upper) return { upper: lowers[0], lowers: lowers.slice(1) };
  return { upper, lowers };
}

async function lstatOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(file);
  } catch {
    return undefined;
  }
}

/** overlayfs marks a deleted path in an upper layer with a 0:0 character device. */
const isWhiteout = (stats: Stats): boolean => stats.isCharacterDevice() && stats.rdev === 0;

/**
 * The topmost version of `relPath` through the layers: its host path, or
 * undefined when no layer has it or a whiteout hides it. `symlink` reports a
 * symbolic link on the way, which only a real mount resolves faithfully.
 */
async function findInLayers(layers: Layers, relPath: string): Promise<{ file?: string; symlink: boolean }> {
  const parts = relPath.split('/').filter(Boolean);
  for (const dir of [layers.upper, ...layers.lowers]) {
    for (let i = 1; i < parts.length; i++) {
      const parent = await lstatOrUndefined(path.join(dir, ...parts.slice(0, i)));
      if (parent?.isSymbolicLink()) return { symlink: true };
    }
    const stats = await lstatOrUndefined(path.join(dir, ...parts));
    if (!stats) continue;
    if (isWhiteout(stats)) return { symlink: false };
    if (stats.isSymbolicLink()) return { symlink: true };
    return { file: path.join(dir, ...parts), symlink: false };
  }
  return { symlink: false };
}

/** The committed snapshot under a container's writable one, as Docker names its init layer. */
export function initSnapshotName(containerId: string): string {
  return `${containerId}-init`;
}

/** Mount points the runtime would otherwise create in the container's writable layer. */
export interface InitLayerPaths {
  dirs: string[];
  files: string[];
}

/**
 * What Docker's init layer holds: the mount points of /proc, /sys, /dev and
 * the per-container /etc files, plus the init binary's and the tmpfs
 * mounts' of this container. With them below the writable layer, runc finds
 * them in place and docker diff and commit see only what the process did.
 */
export function initLayerPaths(hostConfig: {
  Init?: boolean | null;
  Tmpfs?: Record<string, string> | null;
}): InitLayerPaths {
  const dirs = ['/proc', '/sys', '/dev', '/dev/pts', '/dev/shm', ...Object.keys(hostConfig.Tmpfs ?? {})];
  const files = ['/etc/hostname', '/etc/hosts', '/etc/resolv.conf', '/dev/console'];
  if (hostConfig.Init) files.push(CONTAINER_INIT_PATH);
  return { dirs: dirs.map((d) => path.posix.normalize(d)), files };
}

/** The parent of a root-relative path; '' for the root. */
function parentOf(rel: string): string {
  const parent = path.posix.dirname(rel);
  return parent === '.' ? '' : parent;
}

/**
 * Fills the writable layer of a fresh snapshot with the mount points the
 * image lacks (empty files, 0755 directories, as Docker's init layer). A
 * directory of the image that must hold a new entry is copied up with its
 * owner, mode and times, so the merged view of it is unchanged. Paths behind
 * a symbolic link are left to the runtime, which resolves links in the root.
 */
export async function populateInitLayer(layers: Layers, paths: InitLayerPaths): Promise<void> {
  const copiedUp: { dir: string; atime: Date; mtime: Date }[] = [];
  const ensureDir = async (rel: string): Promise<boolean> => {
    if (rel === '') return true;
    const inUpper = await lstatOrUndefined(path.join(layers.upper, rel));
    if (inUpper) return inUpper.isDirectory();
    if (!(await ensureDir(parentOf(rel)))) return false;
    const found = await findInLayers(layers, rel);
    if (found.symlink) return false;
    const target = path.join(layers.upper, rel);
    const below = found.file ? await fs.lstat(found.file) : undefined;
    if (below && !below.isDirectory()) return false;
    await fs.mkdir(target, { mode: 0o755 });
    if (below) {
      await fs.chmod(target, below.mode & 0o7777);
      await fs.lchown(target, below.uid, below.gid);
      copiedUp.push({ dir: target, atime: below.atime, mtime: below.mtime });
    }
    return true;
  };
  for (const [list, isDir] of [
    [paths.dirs, true],
    [paths.files, false],
  ] as const) {
    for (const containerPath of list) {
      const rel = containerPath.replace(/^\/+/, '');
      const found = await findInLayers(layers, rel);
      if (found.file || found.symlink) continue;
      if (!(await ensureDir(parentOf(rel)))) continue;
      if (isDir) await ensureDir(rel);
      else await fs.writeFile(path.join(layers.upper, rel), '', { mode: 0o755, flag: 'wx' });
    }
  }
  // Creating entries touched the copied-up directories: they get the image's times back, deepest first.
  for (const { dir, atime, mtime } of copiedUp.reverse()) await fs.utimes(dir, atime, mtime);
}

/**
 * Resolves the container's User against the image's /etc/passwd and
 * /etc/group. The two files are copied out of the layers into a scratch
 * root, which is much cheaper than mounting the snapshot; only images whose
 * /etc files are symbolic links get a real read-only mount.
 */
export async function resolveUserInLayers(
  layers: Layers,
  scratchDir: string,
  userSpec: string | undefined,
  groupAdd: readonly string[] | null | undefined,
): Promise<ResolvedUser> {
  const [passwd, group] = await Promise.all([
    findInLayers(layers, 'etc/passwd'),
    findInLayers(layers, 'etc/group'),
  ]);
  if (passwd.symlink || group.symlink) {
    return withReadOnlyRootfs(layers, scratchDir, (root) => resolveUser(root, userSpec, groupAdd));
  }
  const root = path.join(scratchDir, `user-${randomBytes(6).toString('hex')}`);
  try {
    await fs.mkdir(path.join(root, 'etc'), { recursive: true, mode: 0o700 });
    if (passwd.file) await fs.copyFile(passwd.file, path.join(root, 'etc/passwd'));
    if (group.file) await fs.copyFile(group.file, path.join(root, 'etc/group'));
    return await resolveUser(root, userSpec, groupAdd);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

/**
 * Mounts the layers read-only (the writable layer as the topmost lower, so
 * this works while the container runs) at a scratch directory for `fn`.
 */
export async function withReadOnlyRootfs<T>(
  layers: Layers,
  scratchDir: string,
  fn: (root: string) => Promise<T>,
): Promise<T> {
  const all = [layers.upper, ...layers.lowers];
  if (all.length === 1) return fn(layers.upper);
  const target = path.join(scratchDir, `rootfs-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  try {
    await execFileAsync('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `ro,index=off,lowerdir=${all.join(':')}`,
      target,
    ]);
  } catch (err) {
    await fs.rmdir(target).catch(() => undefined);
    throw systemError(
      `mounting the container's filesystem: ${(err as { stderr?: string }).stderr || err}`,
      err,
    );
  }
  try {
    return await fn(target);
  } finally {
    await execFileAsync('umount', [target]).catch(() => execFileAsync('umount', ['-l', target]));
    await fs.rmdir(target).catch(() => undefined);
  }
}

/**
 * docker diff: every path in the writable layer, Added when no lower layer
 * has it, Modified when one does, Deleted for whiteouts. Paths in `hidden`
 * (mountpoints the runtime created, such as /etc/hostname) are left out, and
 * so are directories whose only changes were such mountpoints.
 */
export async function filesystemChanges(
  layers: Layers,
  hidden: ReadonlySet<string>,
): Promise<ContainerChange[]> {
  const changes: ContainerChange[] = [];
  const existsBelow = async (rel: string): Promise<boolean> => {
    for (const lower of layers.lowers) {
      const stats = await lstatOrUndefined(path.join(lower, rel));
      if (stats) return !isWhiteout(stats);
    }
    return false;
  };
  const walk = async (rel: string): Promise<boolean> => {
    let names: string[];
    try {
      names = await fs.readdir(path.join(layers.upper, rel));
    } catch {
      return false;
    }
    let any = false;
    for (const name of names.sort()) {
      const childRel = path.posix.join(rel, name);
      const containerPath = `/${childRel}`;
      const stats = await fs.lstat(path.join(layers.upper, childRel));
      if (hidden.has(containerPath)) continue;
      if (isWhiteout(stats)) {
        changes.push({ Path: containerPath, Kind: 2 });
        any = true;
        continue;
      }
      const below = await existsBelow(childRel);
      if (stats.isDirectory()) {
        const at = changes.length;
        const childrenChanged = await walk(childRel);
        if (!below) changes.splice(at, 0, { Path: containerPath, Kind: 1 });
        else if (childrenChanged) changes.splice(at, 0, { Path: containerPath, Kind: 0 });
        any ||= childrenChanged || !below;
        continue;
      }
      changes.push({ Path: containerPath, Kind: below ? 0 : 1 });
      any = true;
    }
    return any;
  };
  await walk('');
  return changes;
}
