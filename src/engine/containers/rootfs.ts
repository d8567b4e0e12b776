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

/**
 * Mount points the runtime creates in a container's writable layer when the
 * image lacks them: /proc, /sys, /dev, the per-container /etc files, the init
 * binary's and the tmpfs mounts'. Docker keeps them in an init layer under
 * the writable one; berth leaves them out of docker diff and commit instead.
 */
export function runtimeMountpoints(hostConfig: { Tmpfs?: Record<string, string> | null }): string[] {
  const tmpfs = Object.keys(hostConfig.Tmpfs ?? {}).map((d) =>
    path.posix.normalize(d).replace(/(.)\/$/, '$1'),
  );
  return [
    '/etc/hostname',
    '/etc/hosts',
    '/etc/resolv.conf',
    CONTAINER_INIT_PATH,
    '/dev',
    '/proc',
    '/sys',
    ...tmpfs,
  ];
}

/**
 * Recreates in `target` (the writable directory of a fresh snapshot on the
 * image) the runtime's mount points found in the container's writable layer
 * `upper`: directories with their owner and mode, empty files as exact copies
 * (times to the nanosecond), and the directories leading to them. containerd's
 * differ then finds them alike on both sides and leaves them out of the layer,
 * while anything the process changed stays in.
 */
export async function mirrorRuntimeMountpoints(
  upper: string,
  target: string,
  mountpoints: readonly string[],
): Promise<void> {
  const makeDir = async (rel: string, like: Stats): Promise<void> => {
    const dir = path.join(target, rel);
    await fs.mkdir(dir);
    await fs.chmod(dir, like.mode & 0o7777);
    await fs.lchown(dir, like.uid, like.gid);
  };
  for (const mountpoint of mountpoints) {
    const rel = mountpoint.replace(/^\/+/, '');
    const found = await lstatOrUndefined(path.join(upper, rel));
    if (!found || !(found.isDirectory() || (found.isFile() && found.size === 0))) continue;
    const parts = rel.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (await lstatOrUndefined(path.join(target, prefix))) continue;
      const like = await fs.lstat(path.join(upper, prefix));
      if (like.isDirectory()) await makeDir(prefix, like);
      else
        await execFileAsync('cp', [
          '-a',
          '--no-dereference',
          path.join(upper, prefix),
          path.join(target, prefix),
        ]);
    }
  }
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
  /** Walks a directory of the writable layer: whether it holds visible changes, and whether it holds hidden mount points. */
  const walk = async (rel: string): Promise<{ changed: boolean; hiddenOnly: boolean }> => {
    let names: string[];
    try {
      names = await fs.readdir(path.join(layers.upper, rel));
    } catch {
      return { changed: false, hiddenOnly: false };
    }
    let changed = false;
    let hiddenSeen = false;
    for (const name of names.sort()) {
      const childRel = path.posix.join(rel, name);
      const containerPath = `/${childRel}`;
      const stats = await fs.lstat(path.join(layers.upper, childRel));
      if (hidden.has(containerPath)) {
        hiddenSeen = true;
        continue;
      }
      if (isWhiteout(stats)) {
        changes.push({ Path: containerPath, Kind: 2 });
        changed = true;
        continue;
      }
      const below = await existsBelow(childRel);
      if (stats.isDirectory()) {
        const at = changes.length;
        const children = await walk(childRel);
        // A new directory holding nothing but mount points was made by the runtime for them (/sbin for docker-init).
        if (!below && !children.hiddenOnly) changes.splice(at, 0, { Path: containerPath, Kind: 1 });
        else if (below && children.changed) changes.splice(at, 0, { Path: containerPath, Kind: 0 });
        changed ||= children.changed || (!below && !children.hiddenOnly);
        hiddenSeen ||= children.hiddenOnly;
        continue;
      }
      changes.push({ Path: containerPath, Kind: below ? 0 : 1 });
      changed = true;
    }
    return { changed, hiddenOnly: hiddenSeen && !changed };
  };
  await walk('');
  return changes;
}
