/**
 * Content-store and snapshot steps shared by pull, load, import and push:
 * writing image documents with their GC labels, unpacking one layer into the
 * snapshot named by its chain ID, and recording where a blob came from.
 */
import { createHash, randomBytes } from 'node:crypto';
import { systemError } from '../../common/errors.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { ContentInfo } from '../../containerd/services/content.js';
import type { Descriptor, Labels } from '../../containerd/types.js';
import { GC_LABELS, SNAPSHOT_REF_LABEL, chainIds, writeBlob } from '../../containerd/unpack.js';

/** Label on a blob naming the repositories of a registry that hold it (containerd's convention). */
export const SOURCE_LABEL_PREFIX = 'containerd.io/distribution.source.';

export const SNAPSHOTTER = 'overlayfs';

/** How long a pull/load lease may live if berthd dies mid-way (containerd then collects it). */
export const LEASE_EXPIRY_MS = 24 * 3600 * 1000;

/** GC labels of a manifest: its config and each layer. */
export function manifestGcLabels(configDigest: string, layers: { digest: string }[]): Labels {
  const labels: Labels = { [GC_LABELS.config]: configDigest };
  layers.forEach((layer, i) => (labels[`${GC_LABELS.layerPrefix}${i}`] = layer.digest));
  return labels;
}

/** GC label of a config: the top snapshot of the unpacked image. */
export function configGcLabels(chainIds: string[]): Labels {
  const top = chainIds[chainIds.length - 1];
  return top === undefined ? {} : { [`${GC_LABELS.snapshotPrefix}${SNAPSHOTTER}`]: top };
}

/** Writes a small document (manifest, config) with labels, adding them if it already exists. */
export async function writeDocument(
  client: ContainerdClient,
  bytes: Buffer,
  digest: string,
  labels: Labels = {},
): Promise<void> {
  // A ref of its own: concurrent pulls of one image write the same documents,
  // and a shared ref would be "locked"; the second commit just finds the blob.
  const ref = `berth-doc-${randomBytes(8).toString('hex')}`;
  await writeBlob(client.content, bytes, { digest, size: bytes.length, labels, ref });
}

/**
 * Unpacks one layer blob (already in the content store) on top of `parent`
 * into the committed snapshot `chainId`. A snapshot someone else committed
 * meanwhile counts as done. Use a leased client.
 */
export async function unpackLayer(
  client: ContainerdClient,
  layer: Descriptor,
  diffId: string,
  chainId: string,
  parent: string,
): Promise<void> {
  const snapshots = client.snapshots;
  const key = `extract-${randomBytes(6).toString('hex')}-${chainId}`;
  const mounts = await snapshots.prepare(key, parent, { [SNAPSHOT_REF_LABEL]: chainId });
  try {
    const applied = await client.diff.apply(
      { mediaType: layer.mediaType, digest: layer.digest, size: layer.size },
      mounts,
    );
    if (applied.digest !== diffId) {
      throw systemError(
        `layer ${layer.digest} unpacked to ${applied.digest}, but the image config says ${diffId}`,
      );
    }
    await snapshots.commit(chainId, key);
  } catch (err) {
    await snapshots.remove(key).catch(() => undefined);
    // Another unpack of the same layer committed first: its snapshot is as good as ours.
    if (!(await holdSnapshot(client, chainId))) throw err;
  }
}

/** Whether the committed snapshot exists; if so, the lease (if any) now holds it too. */
export async function holdSnapshot(client: ContainerdClient, chainId: string): Promise<boolean> {
  if (!(await client.snapshots.tryStat(chainId))) return false;
  if (client.leaseId) {
    await client.leases.addResource(client.leaseId, { id: chainId, type: `snapshots/${SNAPSHOTTER}` });
  }
  return true;
}

/** The blob's info if present; the lease (if any) now holds it too. */
export async function holdBlob(client: ContainerdClient, digest: string): Promise<ContentInfo | undefined> {
  if (client.leaseId) await client.leases.addResource(client.leaseId, { id: digest, type: 'content' });
  return client.content.tryInfo(digest);
}

/** Adds `repository` to the blob's source label for `registry`, keeping the ones recorded before. */
export async function recordSource(
  client: ContainerdClient,
  digest: string,
  registry: string,
  repository: string,
  known?: ContentInfo,
): Promise<void> {
  const key = SOURCE_LABEL_PREFIX + registry;
  const info = known ?? (await client.content.tryInfo(digest));
  if (!info) return;
  const repos = (info.labels[key] ?? '').split(',').filter(Boolean);
  if (repos.includes(repository)) return;
  repos.push(repository);
  await client.content.setLabels(digest, { [key]: repos.join(',') });
}

/** Repositories of `registry` known to hold the blob (for cross-repository mounts). */
export function sourcesOf(info: ContentInfo | undefined, registry: string): string[] {
  return (info?.labels[SOURCE_LABEL_PREFIX + registry] ?? '').split(',').filter(Boolean);
}

/** An image whose blobs are in the content store, ready to be unpacked and recorded. */
export interface LocalImage {
  configBytes: Buffer;
  configDescriptor: Descriptor;
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
}

/**
 * Unpacks the layers (skipping those already unpacked) and writes config and
 * manifest with their GC labels. `onUnpack` hears about each layer unpacked
 * now. Use a leased client: the image record made afterwards takes over.
 */
export async function storeLocalImage(
  client: ContainerdClient,
  image: LocalImage,
  onUnpack?: (index: number, phase: 'start' | 'done') => void,
): Promise<void> {
  if (image.layers.length !== image.diffIds.length) {
    throw systemError(
      `invalid manifest, layers length mismatch: expected ${image.layers.length}, got ${image.diffIds.length}`,
    );
  }
  const ids = chainIds(image.diffIds);
  for (const [index, layer] of image.layers.entries()) {
    if (await holdSnapshot(client, ids[index])) continue;
    onUnpack?.(index, 'start');
    await unpackLayer(client, layer, image.diffIds[index], ids[index], ids[index - 1] ?? '');
    onUnpack?.(index, 'done');
  }
  await writeDocument(client, image.configBytes, image.configDescriptor.digest, configGcLabels(ids));
  await writeDocument(
    client,
    image.manifestBytes,
    image.manifestDescriptor.digest,
    manifestGcLabels(image.configDescriptor.digest, image.layers),
  );
}

/** Label on the leases of pulls, loads and imports. */
export const OPERATION_LEASE_LABEL = 'io.berth.lease';

/**
 * What a berthd that died mid-pull (or load, import) left: its leases (GC
 * then collects their content and snapshots) and unfinished ingests.
 */
export async function removeLeftovers(client: ContainerdClient): Promise<void> {
  for (const lease of await client.leases.list([`labels."${OPERATION_LEASE_LABEL}"`])) {
    await client.leases.delete(lease.id);
  }
  for (const ingest of await client.content.listStatuses(['ref~="^berth-(pull|load|import)-"'])) {
    await client.content.abort(ingest.ref).catch(() => undefined);
  }
}

const OCI_LAYER_TYPES: Record<string, string> = {
  'application/vnd.docker.image.rootfs.diff.tar': 'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'application/vnd.oci.image.layer.v1.tar+gzip',
};

/**
 * A new image made here (import, commit): its config and an OCI manifest
 * over `layers` (Docker layer types renamed to their OCI twins, same bytes).
 */
export function ociImage(config: { rootfs: { diff_ids: string[] } }, layers: Descriptor[]): LocalImage {
  const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDescriptor = {
    mediaType: 'application/vnd.oci.image.config.v1+json',
    digest: sha256(configBytes),
    size: configBytes.length,
  };
  const ociLayers = layers.map((l) => ({ ...l, mediaType: OCI_LAYER_TYPES[l.mediaType] ?? l.mediaType }));
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifestBytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, config: configDescriptor, layers: ociLayers }),
  );
  return {
    configBytes,
    configDescriptor,
    manifestBytes,
    manifestDescriptor: { mediaType, digest: sha256(manifestBytes), size: manifestBytes.length },
    layers: ociLayers,
    diffIds: config.rootfs.diff_ids,
  };
}

/** One platform's manifest in an index made here. */
export interface IndexEntry {
  manifest: Descriptor;
  platform: { os: string; architecture: string; variant?: string };
}

/**
 * A multi-platform image made here (a build for several platforms): an OCI
 * index over manifests already stored, written with the GC labels that keep
 * them. Returns the index descriptor. Use a leased client.
 */
export async function storeLocalIndex(client: ContainerdClient, entries: IndexEntry[]): Promise<Descriptor> {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const manifests = entries.map(({ manifest, platform }) => ({
    mediaType: manifest.mediaType,
    digest: manifest.digest,
    size: manifest.size,
    platform: {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
    },
  }));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const labels: Labels = {};
  entries.forEach((entry, i) => (labels[`${GC_LABELS.manifestPrefix}${i}`] = entry.manifest.digest));
  await writeDocument(client, bytes, digest, labels);
  return { mediaType, digest, size: bytes.length };
}
