/**
 * `docker save`: one tar holding both Docker's archive format (manifest.json
 * naming config and layer files) and an OCI image layout (oci-layout,
 * index.json, blobs/sha256/…) over the same blobs, streamed straight from
 * the content store. The stored manifest goes in unchanged, so a save/load
 * round trip keeps manifest digests as well as image IDs.
 */
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { ContainerdClient } from '../../containerd/client.js';
import { MediaType } from '../../registry/media-types.js';
import { familiarString, referenceString, type ParsedReference } from '../../registry/reference.js';
import type { StoredImage } from './store.js';

export interface ImageToSave {
  image: StoredImage;
  /** Tags to record for it (none when it was named by ID or digest). */
  tags: ParsedReference[];
}

interface ManifestDoc {
  mediaType?: string;
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}

const ARCHIVE_MTIME = new Date(0);

function blobPath(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

/** Writes the archive of `images` to `out`. */
export async function writeImageArchive(
  client: ContainerdClient,
  images: ImageToSave[],
  out: Writable,
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, out);
  written.catch(() => undefined);
  const addDirectory = (name: string): void => {
    pack.entry({ name, type: 'directory', mode: 0o755, mtime: ARCHIVE_MTIME });
  };
  const addFile = (name: string, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) =>
      pack.entry({ name, mode: 0o644, mtime: ARCHIVE_MTIME }, data, (err) => (err ? reject(err) : resolve())),
    );
  const blobsWritten = new Set<string>();
  const addBlob = async (digest: string, size: number): Promise<void> => {
    if (blobsWritten.has(digest)) return;
    blobsWritten.add(digest);
    const entry = pack.entry({ name: blobPath(digest), size, mode: 0o644, mtime: ARCHIVE_MTIME });
    await pipeline(client.content.read(digest), entry);
  };

  addDirectory('blobs/');
  addDirectory('blobs/sha256/');
  const dockerManifest: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
  const indexEntries: object[] = [];
  const addManifest = async (digest: string): Promise<{ manifest: ManifestDoc; bytes: Buffer }> => {
    const bytes = await client.content.readAll(digest);
    const manifest = JSON.parse(bytes.toString('utf8')) as ManifestDoc;
    for (const layer of manifest.layers) await addBlob(layer.digest, layer.size);
    await addBlob(manifest.config.digest, manifest.config.size);
    await addBlob(digest, bytes.length);
    return { manifest, bytes };
  };
  for (const { image, tags } of images) {
    // manifest.json holds the image of this platform; the OCI layout the whole index.
    for (const variant of image.variants ?? []) await addManifest(variant.manifest.digest);
    const { manifest, bytes: manifestBytes } = await addManifest(image.manifest.digest);
    dockerManifest.push({
      Config: blobPath(manifest.config.digest),
      RepoTags: tags.map((t) => familiarString(t)),
      Layers: manifest.layers.map((l) => blobPath(l.digest)),
    });
    let descriptor = {
      mediaType: manifest.mediaType ?? image.manifest.mediaType,
      digest: image.manifest.digest,
      size: manifestBytes.length,
    };
    if (image.variants) {
      await addBlob(image.target.digest, image.target.size);
      descriptor = {
        mediaType: image.target.mediaType,
        digest: image.target.digest,
        size: image.target.size,
      };
    }
    if (tags.length === 0) indexEntries.push(descriptor);
    for (const tag of tags) {
      indexEntries.push({
        ...descriptor,
        annotations: {
          'io.containerd.image.name': referenceString(tag),
          'org.opencontainers.image.ref.name': tag.tag ?? 'latest',
        },
      });
    }
  }
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: indexEntries };
  await addFile('index.json', Buffer.from(JSON.stringify(index)));
  await addFile('manifest.json', Buffer.from(JSON.stringify(dockerManifest)));
  await addFile('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
  pack.finalize();
  await written;
}
