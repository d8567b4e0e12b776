/**
 * `docker import`: a root filesystem tarball (plain or gzip'd) becomes a
 * one-layer image. The tar is hashed (its diff ID) and gzip'd on the way into
 * the content store, the config gets the `changes` and the message, and the
 * result is unpacked and optionally tagged.
 */
import { createHash } from 'node:crypto';
import { Readable, Transform, pipeline } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { errorMessage } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { UNCOMPRESSED_LABEL } from '../../containerd/unpack.js';
import { MediaType } from '../../registry/media-types.js';
import { DEFAULT_PLATFORM, normalizePlatform, type PlatformSpec } from '../../registry/platform.js';
import type { ImageConfigFile } from '../../types/image.js';
import { applyChanges } from './changes.js';
import {
  LEASE_EXPIRY_MS,
  OPERATION_LEASE_LABEL,
  ociImage,
  storeLocalImage,
  type LocalImage,
} from './content.js';

export interface ImportOptions {
  message: string;
  changes: string[];
  platform?: PlatformSpec;
}

/** The body as an uncompressed tar stream: gzip is recognised by its magic bytes. */
async function decompressed(source: Readable): Promise<Readable> {
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await chunks.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield first.value;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const body = Readable.from(all());
  const gzip = !first.done && first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  if (!gzip) return body;
  const gunzip = createGunzip();
  pipeline(body, gunzip, () => undefined);
  return gunzip;
}

/** Stores the layer gzip'd; returns its descriptor and diff ID. */
async function storeLayer(
  client: ContainerdClient,
  tarStream: Readable,
): Promise<{ digest: string; size: number; diffId: string }> {
  const diffHash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      callback(null, chunk);
    },
  });
  const gzip = createGzip();
  pipeline(tarStream, hasher, gzip, () => undefined);
  const ref = `berth-import-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const written = await client.content.write(ref, gzip);
  const diffId = `sha256:${diffHash.digest('hex')}`;
  await client.content.setLabels(written.digest, { [UNCOMPRESSED_LABEL]: diffId });
  return { digest: written.digest, size: written.size, diffId };
}

/**
 * Imports the tarball. `record` names the stored image (tag or placeholder)
 * while the import's lease still holds it; returns the image.
 */
export async function importTarball(
  root: ContainerdClient,
  source: Readable,
  options: ImportOptions,
  record: (image: LocalImage) => Promise<void>,
): Promise<LocalImage> {
  const lease = await root.leases.create({
    expiresInMs: LEASE_EXPIRY_MS,
    labels: { [OPERATION_LEASE_LABEL]: 'import' },
  });
  const client = root.withLease(lease.id);
  try {
    const layer = await storeLayer(client, await decompressed(source));
    const platform = normalizePlatform(options.platform ?? DEFAULT_PLATFORM);
    const created = new Date().toISOString();
    const config: ImageConfigFile & { comment?: string } = {
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
      os: platform.os,
      created,
      config: applyChanges({}, options.changes),
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, ...(options.message ? { comment: options.message } : {}) }],
    };
    if (options.message) config.comment = options.message;
    const image = ociImage(config, [
      { mediaType: MediaType.ociLayerGzip, digest: layer.digest, size: layer.size },
    ]);
    await storeLocalImage(client, image);
    await record(image);
    await root.leases.delete(lease.id);
    return image;
  } catch (err) {
    await root.leases
      .delete(lease.id, { sync: true })
      .catch((e: unknown) =>
        log.warn('could not remove import lease', { lease: lease.id, error: errorMessage(e) }),
      );
    throw err;
  }
}
