/**
 * The container side of `docker cp` (the archive endpoints): where a
 * container's files are on the host for the length of one operation. A
 * running container's root is its task's rootfs; a stopped one's snapshot is
 * mounted for the operation (read-only and safe beside a start for reads,
 * writable for writes, which the caller serialises with starts). Volumes,
 * binds and the /etc files are substituted where the container sees them.
 * Every path is then resolved inside that root by src/archive.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ContainerMount } from '../../archive/index.js';
import { systemError } from '../../common/errors.js';
import type { Mount } from '../../containerd/types.js';
import { isMountPoint } from '../volumes/local.js';
import type { ContainerMounts } from './mounts.js';
import type { Container } from './record.js';
import { layersOf } from './rootfs.js';

const execFileAsync = promisify(execFile);

export interface ContainerRoot {
  /** Host directory standing for the container's `/`. */
  root: string;
  mounts: ContainerMount[];
  readOnlyRoot: boolean;
  /** Unmounts what was mounted for the operation. */
  release(): Promise<void>;
}

export interface RootContext {
  execRoot: string;
  namespace: string;
  scratchDir: string;
  snapshotMounts: () => Promise<Mount[]>;
  mounts: ContainerMounts;
  /** The /etc files the container sees (another container's with `container:` networking). */
  etcFiles: { hostname: string; hosts: string; resolvConf: string };
}

/** Where containerd's runc shim mounts a running task's root filesystem. */
export function taskRootfs(execRoot: string, namespace: string, id: string): string {
  return path.join(execRoot, 'containerd', 'state', 'io.containerd.runtime.v2.task', namespace, id, 'rootfs');
}

/** The mounts an archive operation substitutes: volumes and binds, and the per-container /etc files. */
function archiveMounts(c: Container, ctx: RootContext): ContainerMount[] {
  const points = ctx.mounts.archiveMounts(c.MountPoints ?? []);
  const taken = new Set(points.map((m) => m.destination));
  const etc: [string, string][] = [
    ['/etc/hostname', ctx.etcFiles.hostname],
    ['/etc/hosts', ctx.etcFiles.hosts],
    ['/etc/resolv.conf', ctx.etcFiles.resolvConf],
  ];
  for (const [destination, source] of etc) {
    if (source && !taken.has(destination)) points.push({ destination, source });
  }
  return points;
}

/**
 * The container's files for one operation. `writable` asks for a root that
 * takes writes: the task's rootfs when it runs, the snapshot mounted
 * read-write otherwise.
 */
export async function openContainerRoot(
  c: Container,
  ctx: RootContext,
  writable: boolean,
): Promise<ContainerRoot> {
  const mounts = archiveMounts(c, ctx);
  const readOnlyRoot = c.HostConfig.ReadonlyRootfs === true;
  if (c.State.Running && !c.State.Restarting) {
    const root = taskRootfs(ctx.execRoot, ctx.namespace, c.ID);
    if (await isMountPoint(root)) return { root, mounts, readOnlyRoot, release: async () => {} };
  }
  const snapshot = await ctx.snapshotMounts();
  const target = path.join(ctx.scratchDir, `archive-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  try {
    await mountSnapshot(snapshot, target, writable);
  } catch (err) {
    await fs.rmdir(target).catch(() => undefined);
    throw err;
  }
  return {
    root: target,
    mounts,
    readOnlyRoot,
    release: async () => {
      await execFileAsync('umount', [target]).catch(() => execFileAsync('umount', ['-l', target]));
      await fs.rmdir(target).catch(() => undefined);
    },
  };
}

/**
 * Mounts a container snapshot: writable with its own upper and work
 * directories, or read-only with the upper layer as the topmost lower (no
 * work directory, so this is safe while the snapshot is also mounted elsewhere).
 */
async function mountSnapshot(mounts: readonly Mount[], target: string, writable: boolean): Promise<void> {
  const mount = mounts[0];
  if (!mount) throw systemError('the container snapshot has no mounts');
  let args: string[];
  if (writable || mount.type === 'bind') {
    args = ['-t', mount.type, mount.source, '-o', mount.options.join(','), target];
  } else {
    const layers = layersOf(mounts);
    const lowers = [layers.upper, ...layers.lowers];
    args =
      lowers.length === 1
        ? ['--bind', '-o', 'ro', lowers[0], target]
        : ['-t', 'overlay', 'overlay', '-o', `ro,index=off,lowerdir=${lowers.join(':')}`, target];
  }
  try {
    await execFileAsync('mount', args);
  } catch (err) {
    throw systemError(
      `mounting the container's filesystem: ${(err as { stderr?: string }).stderr || String(err)}`,
      err,
    );
  }
}
