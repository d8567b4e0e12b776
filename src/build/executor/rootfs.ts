/**
 * Filesystems of build steps: a writable snapshot on top of an image's
 * layers, mounted on a scratch directory when berthd itself must write into
 * it (COPY, ADD, WORKDIR), read-only views of images for COPY --from and
 * bind mounts, and the commit of a step's changes as a new layer through
 * containerd's differ.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isEngineError, systemError } from '../../common/errors.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { Descriptor, Mount } from '../../containerd/types.js';
import { holdSnapshot } from '../../engine/images/content.js';
import { EMPTY_LAYER_DIGEST } from './image.js';

const execFileAsync = promisify(execFile);

/** Layers are stored uncompressed, as Docker's own layer store keeps them: no compression on the build path. */
export const LAYER_MEDIA_TYPE = 'application/vnd.oci.image.layer.v1.tar';

export const randomKey = (prefix: string): string => `${prefix}-${randomBytes(8).toString('hex')}`;

/**
 * Mounts snapshot mounts at `target`. A parentless snapshot is a bind of a
 * directory containerd owns, used in place. Overlay lowerdirs are passed
 * relative to their common parent (mount runs there), as containerd does,
 * so deep images stay within the kernel's one-page limit on mount options.
 */
export async function mountAt(
  mounts: readonly Mount[],
  target: string,
): Promise<{ root: string; mounted: boolean }> {
  const mount = mounts[0];
  if (!mount || mounts.length !== 1)
    throw systemError(`unexpected snapshot mounts: ${JSON.stringify(mounts)}`);
  if (mount.type === 'bind') return { root: mount.source, mounted: false };
  if (mount.type !== 'overlay') throw systemError(`unsupported snapshot mount type ${mount.type}`);
  const { options, cwd } = relativeOverlayOptions(mount.options);
  await fs.mkdir(target, { recursive: true, mode: 0o700 });
  try {
    await execFileAsync('mount', ['-t', 'overlay', 'overlay', '-o', options.join(','), target], { cwd });
  } catch (err) {
    throw systemError(
      `mounting a build step's filesystem: ${(err as { stderr?: string }).stderr || err}`,
      err,
    );
  }
  return { root: target, mounted: true };
}

function relativeOverlayOptions(options: readonly string[]): { options: string[]; cwd?: string } {
  const dirs = options.flatMap((o) => {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq);
    return ['lowerdir', 'upperdir', 'workdir'].includes(key) ? o.slice(eq + 1).split(':') : [];
  });
  if (dirs.length === 0) return { options: [...options] };
  // Snapshots live in <root>/snapshots/<n>/fs: their common parent is two levels up.
  const parent = path.dirname(path.dirname(dirs[0]));
  if (!dirs.every((d) => d.startsWith(parent + '/'))) return { options: [...options] };
  const relative = (value: string): string =>
    value
      .split(':')
      .map((d) => path.relative(parent, d))
      .join(':');
  return {
    cwd: parent,
    options: options.map((o) => {
      const eq = o.indexOf('=');
      const key = o.slice(0, eq);
      return ['lowerdir', 'upperdir', 'workdir'].includes(key) ? `${key}=${relative(o.slice(eq + 1))}` : o;
    }),
  };
}

export async function unmount(target: string): Promise<void> {
  try {
    await execFileAsync('umount', [target]);
  } catch {
    await execFileAsync('umount', ['-l', target]).catch(() => undefined);
  }
  await fs.rmdir(target).catch(() => undefined);
}

/** Runs `fn` with `mounts` mounted at a fresh directory under `scratchDir`. */
export async function withMounted<T>(
  mounts: readonly Mount[],
  scratchDir: string,
  fn: (root: string) => Promise<T>,
): Promise<T> {
  const target = path.join(scratchDir, randomKey('mnt'));
  const { root, mounted } = await mountAt(mounts, target);
  try {
    return await fn(root);
  } finally {
    if (mounted) await unmount(target);
  }
}

export interface ImageView {
  /** Host directory showing the image's filesystem. */
  root: string;
  release(): Promise<void>;
}

/** A read-only view of an image's filesystem (an empty directory for an image without layers). */
export async function viewImage(
  leased: ContainerdClient,
  chainId: string,
  scratchDir: string,
): Promise<ImageView> {
  if (chainId === '') {
    const empty = path.join(scratchDir, randomKey('empty'));
    await fs.mkdir(empty, { recursive: true, mode: 0o755 });
    return { root: empty, release: () => fs.rm(empty, { recursive: true, force: true }) };
  }
  const key = randomKey('build-view');
  const mounts = await leased.snapshots.view(key, chainId);
  try {
    const target = path.join(scratchDir, key);
    const { root, mounted } = await mountAt(readOnly(mounts), target);
    return {
      root,
      release: async () => {
        if (mounted) await unmount(target);
        await leased.snapshots.remove(key).catch(() => undefined);
      },
    };
  } catch (err) {
    await leased.snapshots.remove(key).catch(() => undefined);
    throw err;
  }
}

function readOnly(mounts: readonly Mount[]): Mount[] {
  return mounts.map((m) => (m.options.includes('ro') ? m : { ...m, options: ['ro', ...m.options] }));
}

export interface CommittedLayer {
  /** The new layer; undefined when the step changed no file. */
  layer?: Descriptor;
  /** The committed snapshot now on top. */
  chainId: string;
}

export function nextChainId(parent: string, diffId: string): string {
  return parent === ''
    ? diffId
    : `sha256:${createHash('sha256').update(`${parent} ${diffId}`).digest('hex')}`;
}

/**
 * Turns the changes in active snapshot `key` (made on top of `parentChainId`)
 * into a layer blob and commits the snapshot under its chain ID. A step
 * that changed nothing yields no layer and its snapshot is dropped. The
 * active snapshot is gone afterwards either way.
 */
export async function commitLayer(
  leased: ContainerdClient,
  parentChainId: string,
  key: string,
): Promise<CommittedLayer> {
  let layer: Descriptor;
  const viewKey = randomKey('build-lower');
  try {
    const lower = parentChainId === '' ? [] : await leased.snapshots.view(viewKey, parentChainId);
    const upper = await leased.snapshots.mounts(key);
    const diff = await leased.diff.diff(lower, upper, {
      mediaType: LAYER_MEDIA_TYPE,
      ref: randomKey('build-layer'),
    });
    layer = { mediaType: LAYER_MEDIA_TYPE, digest: diff.digest, size: diff.size };
  } catch (err) {
    await leased.snapshots.remove(key).catch(() => undefined);
    throw err;
  } finally {
    if (parentChainId !== '') await leased.snapshots.remove(viewKey).catch(() => undefined);
  }
  if (layer.digest === EMPTY_LAYER_DIGEST) {
    await leased.snapshots.remove(key).catch(() => undefined);
    return { chainId: parentChainId };
  }
  const chainId = nextChainId(parentChainId, layer.digest);
  try {
    await leased.snapshots.commit(chainId, key);
  } catch (err) {
    await leased.snapshots.remove(key).catch(() => undefined);
    // The same change made by another build: its snapshot is as good as ours.
    if (!isEngineError(err, 'Conflict') || !(await holdSnapshot(leased, chainId))) throw err;
  }
  return { layer, chainId };
}
