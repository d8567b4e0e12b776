/**
 * containerd-level image helpers: writing blobs and unpacking layers that are
 * already in the content store into snapshots named by chain ID, the way
 * containerd's own unpacker names them (so `ctr` and berth share snapshots).
 */
import { createHash, randomBytes } from 'node:crypto';
import { invalidParameter, isEngineError, systemError } from '../common/errors.js';
import type { ContainerdClient } from './client.js';
import type { ContentService, ContentSource, WriteContentResult } from './services/content.js';
import type { Descriptor, Labels } from './types.js';

/** Layer media types Diff.Apply understands (containerd decompresses gzip itself). */
export const LAYER_MEDIA_TYPES = [
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
] as const;

/** GC label keys containerd follows from content and snapshots. */
export const GC_LABELS = {
  /** On a lease-less object: keep it forever. */
  root: 'containerd.io/gc.root',
  /** On a manifest: its config blob. */
  config: 'containerd.io/gc.ref.content.config',
  /** On a manifest: `${layerPrefix}${index}` → layer blob. */
  layerPrefix: 'containerd.io/gc.ref.content.l.',
  /** On an index: `${manifestPrefix}${index}` → manifest blob. */
  manifestPrefix: 'containerd.io/gc.ref.content.m.',
  /** On a config: `${snapshotPrefix}${snapshotter}` → top chain ID of the unpacked image. */
  snapshotPrefix: 'containerd.io/gc.ref.snapshot.',
} as const;

/** Snapshot label linking an unpacked layer's snapshot to its chain ID (as containerd's unpacker sets it). */
export const SNAPSHOT_REF_LABEL = 'containerd.io/snapshot.ref';

/** Label containerd sets on layer blobs: their uncompressed digest. */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';

/** chainID(0) = diffID(0); chainID(n) = sha256(chainID(n-1) + " " + diffID(n)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(
      previous === undefined
        ? diffId
        : `sha256:${createHash('sha256').update(`${previous} ${diffId}`).digest('hex')}`,
    );
  }
  return out;
}

export interface LayerToUnpack {
  /** The layer blob, already in the content store. */
  descriptor: Descriptor;
  /** Its uncompressed digest (the image config's rootfs.diff_ids entry). */
  diffId: string;
}

export interface UnpackOptions {
  /** Snapshotter to unpack into; default overlayfs. */
  snapshotter?: string;
  /** Labels added to each committed snapshot. */
  labels?: Labels;
  /** Called after each layer: whether it was unpacked now or already present. */
  onLayer?: (index: number, chainId: string, unpacked: boolean) => void;
}

/**
 * Unpacks `layers` (bottom first) into committed snapshots named by chain ID,
 * skipping layers whose snapshot exists. Returns the chain IDs, top last.
 * Run it with a client that carries a lease (client.withLease) so snapshots
 * survive until something references them (the config's gc.ref.snapshot label).
 */
export async function unpackLayers(
  client: ContainerdClient,
  layers: LayerToUnpack[],
  opts: UnpackOptions = {},
): Promise<string[]> {
  const snapshots = opts.snapshotter ? client.snapshotter(opts.snapshotter) : client.snapshots;
  const ids = chainIds(layers.map((layer) => layer.diffId));
  for (const [index, layer] of layers.entries()) {
    if (!(LAYER_MEDIA_TYPES as readonly string[]).includes(layer.descriptor.mediaType)) {
      throw invalidParameter(`unsupported layer media type ${layer.descriptor.mediaType}`);
    }
    const chainId = ids[index];
    const parent = index === 0 ? '' : ids[index - 1];
    if (await snapshots.tryStat(chainId)) {
      opts.onLayer?.(index, chainId, false);
      continue;
    }
    const key = `extract-${randomBytes(6).toString('hex')}-${chainId}`;
    const mounts = await snapshots.prepare(key, parent, { [SNAPSHOT_REF_LABEL]: chainId });
    try {
      const applied = await client.diff.apply(layer.descriptor, mounts);
      if (applied.digest !== layer.diffId) {
        throw systemError(
          `layer ${layer.descriptor.digest} unpacked to ${applied.digest}, but the image config says ${layer.diffId}`,
        );
      }
      await snapshots.commit(chainId, key, { ...opts.labels });
      opts.onLayer?.(index, chainId, true);
    } catch (err) {
      await snapshots.remove(key).catch(() => undefined);
      // Someone else committed the same layer meanwhile: theirs is as good as ours.
      if (!(isEngineError(err, 'Conflict') && (await snapshots.tryStat(chainId)))) throw err;
      opts.onLayer?.(index, chainId, false);
    }
  }
  return ids;
}

export interface WriteBlobOptions {
  /** Expected digest; verified by containerd, and lets it skip blobs it has. */
  digest?: string;
  size?: number;
  labels?: Labels;
  /** Ingest ref; default derived from the digest (so concurrent writers of one blob serialise). */
  ref?: string;
}

/** Writes a blob into the content store (an existing blob counts as written). */
export async function writeBlob(
  content: ContentService,
  data: ContentSource,
  opts: WriteBlobOptions = {},
): Promise<WriteContentResult> {
  const size = opts.size ?? (data instanceof Uint8Array ? data.length : undefined);
  const ref = opts.ref ?? `berth-${opts.digest ?? randomBytes(12).toString('hex')}`;
  const result = await content.write(ref, data, { expected: opts.digest, total: size, labels: opts.labels });
  // An existing blob keeps its old labels: add ours so GC references are in place.
  if (result.existed && opts.labels && Object.keys(opts.labels).length > 0) {
    await content.setLabels(result.digest, opts.labels);
  }
  return result;
}
