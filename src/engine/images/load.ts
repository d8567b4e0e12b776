/**
 * `docker load`: reads a `docker save` archive (manifest.json) or an OCI
 * image layout (index.json) as it streams in, writing every file into the
 * content store on the way (blobs/… entries verified against their names),
 * then unpacks and records each image under one lease.
 */
import { createHash } from 'node:crypto';
import { Transform, pipeline, type Readable } from 'node:stream';
import tar from 'tar-stream';
import { errorMessage, invalidParameter } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { Descriptor } from '../../containerd/types.js';
import {
  MediaType,
  isImageIndex,
  isIndexMediaType,
  isManifestMediaType,
  type ImageIndex,
  type ImageManifest,
} from '../../registry/media-types.js';
import { GC_LABELS } from '../../containerd/unpack.js';
import { selectPlatform } from '../../registry/platform.js';
import { familiarString, parseNormalizedNamed, type ParsedReference } from '../../registry/reference.js';
import type { ImageConfigFile } from '../../types/image.js';
import {
  LEASE_EXPIRY_MS,
  OPERATION_LEASE_LABEL,
  holdBlob,
  storeLocalImage,
  writeDocument,
  type LocalImage,
} from './content.js';
import type { ProgressWriter } from './progress.js';
import { danglingName, recordNameOf, shortId } from './references.js';
import type { ImageStore } from './store.js';

export interface LoadDeps {
  containerd: () => ContainerdClient;
  store: ImageStore;
}

/** One file of the archive, now a blob in the content store. */
interface ArchiveFile {
  digest: string;
  size: number;
  gzip: boolean;
}

interface LoadedImage extends LocalImage {
  tags: ParsedReference[];
  /** A multi-platform image: its index (kept byte for byte: its digest is the ID) and every variant present. */
  index?: { descriptor: Descriptor; bytes: Buffer; variants: LocalImage[] };
}

/** The ID a loaded image gets: the index digest for a multi-platform image. */
function loadedId(image: LoadedImage): string {
  return image.index?.descriptor.digest ?? image.configDescriptor.digest;
}

const SMALL_FILE = 8 * 1024 * 1024;
const BLOB_PATH = /^blobs\/(sha256|sha384|sha512)\/([a-f0-9]+)$/;

/** Loads the archive; returns the IDs of the images loaded (for events). */
export async function loadArchive(
  deps: LoadDeps,
  source: Readable,
  quiet: boolean,
  progress: ProgressWriter,
): Promise<string[]> {
  const root = deps.containerd();
  const lease = await root.leases.create({
    expiresInMs: LEASE_EXPIRY_MS,
    labels: { [OPERATION_LEASE_LABEL]: 'load' },
  });
  const client = root.withLease(lease.id);
  try {
    const files = await readArchive(client, source);
    const images = await interpretArchive(client, files);
    const ids: string[] = [];
    for (const image of images) {
      for (const variant of image.index?.variants ?? [image]) {
        await storeLocalImage(client, variant, (index, phase) => {
          if (quiet) return;
          const size = variant.layers[index].size;
          progress.update(
            shortId(variant.diffIds[index]),
            'Loading layer',
            phase === 'start' ? 0 : size,
            size,
          );
        });
      }
      if (image.index) await storeIndexDocument(client, image.index);
      ids.push(loadedId(image));
    }
    await recordImages(deps.store, images, progress);
    await root.leases.delete(lease.id);
    return ids;
  } catch (err) {
    await root.leases
      .delete(lease.id, { sync: true })
      .catch((e: unknown) =>
        log.warn('could not remove load lease', { lease: lease.id, error: errorMessage(e) }),
      );
    throw err;
  }
}

/** Streams every regular file into the content store, by path. */
async function readArchive(client: ContainerdClient, source: Readable): Promise<Map<string, ArchiveFile>> {
  const files = new Map<string, ArchiveFile>();
  const extract = tar.extract();
  source.on('error', (err) => extract.destroy(err));
  source.pipe(extract);
  for await (const entry of extract) {
    const name = entry.header.name.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
      entry.resume();
      continue;
    }
    files.set(name, await storeEntry(client, name, entry as unknown as Readable, entry.header.size ?? 0));
  }
  return files;
}

async function storeEntry(
  client: ContainerdClient,
  name: string,
  entry: Readable,
  size: number,
): Promise<ArchiveFile> {
  const named = BLOB_PATH.exec(name);
  const expected = named ? `${named[1]}:${named[2]}` : undefined;
  let gzip = false;
  let first = true;
  const sniff = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (first && chunk.length >= 2) gzip = chunk[0] === 0x1f && chunk[1] === 0x8b;
      first = false;
      callback(null, chunk);
    },
  });
  if (expected && (await holdBlob(client, expected))) {
    // Already stored: read just enough to tell gzip, drop the rest.
    entry.pipe(sniff).resume();
    await new Promise<void>((resolve, reject) => sniff.on('end', resolve).on('error', reject));
    return { digest: expected, size, gzip };
  }
  pipeline(entry, sniff, () => undefined);
  const ref = `berth-load-${createHash('sha256')
    .update(name + Math.random())
    .digest('hex')
    .slice(0, 16)}`;
  try {
    const written = await client.content.write(ref, sniff, { expected, total: size });
    return { digest: written.digest, size: written.size, gzip };
  } catch (err) {
    await client.content.abort(ref).catch(() => undefined);
    if (expected)
      throw invalidParameter(`invalid archive: ${name} does not match its digest: ${errorMessage(err)}`);
    throw err;
  }
}

async function readJsonFile<T>(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  path: string,
): Promise<T> {
  const file = files.get(path.replace(/^(\.\/)+/, ''));
  if (!file) throw invalidParameter(`invalid archive: ${path} is missing`);
  if (file.size > SMALL_FILE) throw invalidParameter(`invalid archive: ${path} is too large`);
  const bytes = await client.content.readAll(file.digest);
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (err) {
    throw invalidParameter(`invalid archive: ${path}: ${errorMessage(err)}`);
  }
}

interface DockerManifestItem {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Images of the archive: manifest.json entries (using the OCI layout's manifests where they match), else index.json. */
async function interpretArchive(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
): Promise<LoadedImage[]> {
  const layout = files.has('index.json') ? await layoutManifests(client, files) : [];
  if (files.has('manifest.json')) {
    const items = await readJsonFile<DockerManifestItem[]>(client, files, 'manifest.json');
    const images: LoadedImage[] = [];
    for (const item of items) {
      const config = files.get(item.Config.replace(/^(\.\/)+/, ''));
      if (!config) throw invalidParameter(`invalid archive: ${item.Config} is missing`);
      const tags = (item.RepoTags ?? []).map(parseTag);
      const fromLayout = layout.find((l) => l.configDescriptor.digest === config.digest);
      images.push(
        fromLayout ? { ...fromLayout, tags } : await fromDockerItem(client, files, item, config, tags),
      );
    }
    return images;
  }
  if (layout.length > 0) return layout;
  throw invalidParameter('invalid archive: it has neither manifest.json nor index.json');
}

function parseTag(repoTag: string): ParsedReference {
  const ref = parseNormalizedNamed(repoTag);
  if (ref.tag === undefined || ref.digest !== undefined) throw invalidParameter(`invalid tag "${repoTag}"`);
  return ref;
}

function blobOf(files: Map<string, ArchiveFile>, digest: string): ArchiveFile | undefined {
  return files.get(`blobs/${digest.replace(':', '/')}`);
}

/** An image of Docker's archive format, given a manifest in Docker's schema 2. */
async function fromDockerItem(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  item: DockerManifestItem,
  configFile: ArchiveFile,
  tags: ParsedReference[],
): Promise<LoadedImage> {
  const configBytes = await client.content.readAll(configFile.digest);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfigFile;
  const diffIds = config.rootfs?.diff_ids ?? [];
  const layers: Descriptor[] = item.Layers.map((path) => {
    const file = files.get(path.replace(/^(\.\/)+/, ''));
    if (!file) throw invalidParameter(`invalid archive: ${path} is missing`);
    const mediaType = file.gzip ? MediaType.dockerLayerGzip : MediaType.dockerLayer;
    return { mediaType, digest: file.digest, size: file.size };
  });
  const configDescriptor: Descriptor = {
    mediaType: MediaType.dockerConfig,
    digest: configFile.digest,
    size: configBytes.length,
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: configDescriptor,
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDigest = `sha256:${createHash('sha256').update(manifestBytes).digest('hex')}`;
  return {
    configBytes,
    configDescriptor,
    manifestBytes,
    manifestDescriptor: {
      mediaType: MediaType.dockerManifest,
      digest: manifestDigest,
      size: manifestBytes.length,
    },
    layers,
    diffIds,
    tags,
  };
}

/** The images an OCI layout's index.json names (indexes resolved to linux/amd64), tagged by their annotations. */
async function layoutManifests(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
): Promise<LoadedImage[]> {
  const index = await readJsonFile<ImageIndex>(client, files, 'index.json');
  const images: LoadedImage[] = [];
  for (const entry of index.manifests ?? []) {
    let descriptor: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    const multi = isIndexMediaType(descriptor.mediaType)
      ? await multiPlatformIndex(client, files, descriptor)
      : undefined;
    for (let depth = 0; isIndexMediaType(descriptor.mediaType) && depth < 4; depth++) {
      const nested = await readBlobJson<ImageIndex>(client, files, descriptor.digest);
      if (!isImageIndex(nested)) break;
      const chosen = selectPlatform(nested);
      descriptor = { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size };
    }
    if (!isManifestMediaType(descriptor.mediaType)) continue;
    const name = entry.annotations?.['io.containerd.image.name'];
    const tags: ParsedReference[] = [];
    if (name) {
      try {
        tags.push(parseTag(name));
      } catch {
        // A name that is not a tag (a digest reference): loaded untagged.
      }
    }
    images.push({
      ...(await localImageOf(client, files, descriptor)),
      tags,
      ...(multi ? { index: multi } : {}),
    });
  }
  // Several entries of one image (one per tag) become one image with all the tags.
  const byManifest = new Map<string, LoadedImage>();
  for (const image of images) {
    const seen = byManifest.get(loadedId(image));
    if (seen) seen.tags.push(...image.tags);
    else byManifest.set(loadedId(image), image);
  }
  return [...byManifest.values()];
}

/**
 * The index an OCI layout entry names, when the archive holds more than one
 * of its platforms (what `docker save` of a multi-platform image writes):
 * loaded whole, as Docker's containerd store does. Undefined otherwise, and
 * the entry loads as the image of one platform.
 */
async function multiPlatformIndex(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  descriptor: Descriptor,
): Promise<LoadedImage['index']> {
  const bytes = await readBlob(client, files, descriptor.digest);
  const index = JSON.parse(bytes.toString('utf8')) as ImageIndex;
  if (!isImageIndex(index)) return undefined;
  const variants: LocalImage[] = [];
  for (const entry of index.manifests) {
    if (!entry.platform || entry.platform.os === 'unknown') continue; // attestations
    if (!isManifestMediaType(entry.mediaType) || !blobOf(files, entry.digest)) continue;
    const manifest = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    variants.push(await localImageOf(client, files, manifest));
  }
  if (variants.length < 2) return undefined;
  return { descriptor: { ...descriptor, size: bytes.length }, bytes, variants };
}

/** A manifest of the archive and its config, read from the content store. */
async function localImageOf(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  descriptor: Descriptor,
): Promise<LocalImage> {
  const manifestBytes = await readBlob(client, files, descriptor.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  const configBytes = await readBlob(client, files, manifest.config.digest);
  const config = JSON.parse(configBytes.toString('utf8')) as ImageConfigFile;
  return {
    configBytes,
    configDescriptor: {
      mediaType: manifest.config.mediaType,
      digest: manifest.config.digest,
      size: manifest.config.size,
    },
    manifestBytes,
    manifestDescriptor: {
      mediaType: descriptor.mediaType,
      digest: descriptor.digest,
      size: manifestBytes.length,
    },
    layers: manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    diffIds: config.rootfs?.diff_ids ?? [],
  };
}

/** Writes the index with the GC labels that keep its variants' manifests. */
async function storeIndexDocument(
  client: ContainerdClient,
  index: NonNullable<LoadedImage['index']>,
): Promise<void> {
  const labels: Record<string, string> = {};
  index.variants.forEach((v, i) => (labels[`${GC_LABELS.manifestPrefix}${i}`] = v.manifestDescriptor.digest));
  await writeDocument(client, index.bytes, index.descriptor.digest, labels);
}

async function readBlob(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  digest: string,
): Promise<Buffer> {
  if (!blobOf(files, digest) && !(await client.content.tryInfo(digest))) {
    throw invalidParameter(`invalid archive: blob ${digest} is missing`);
  }
  return client.content.readAll(digest);
}

async function readBlobJson<T>(
  client: ContainerdClient,
  files: Map<string, ArchiveFile>,
  digest: string,
): Promise<T> {
  return JSON.parse((await readBlob(client, files, digest)).toString('utf8')) as T;
}

/** Tags the loaded images, telling (like moby) when a tag moves off another image. */
async function recordImages(
  store: ImageStore,
  images: LoadedImage[],
  progress: ProgressWriter,
): Promise<void> {
  let tagged = 0;
  await store.serialize(async () => {
    for (const image of images) {
      const target = image.index?.descriptor ?? image.manifestDescriptor;
      const id = loadedId(image);
      for (const tag of image.tags) {
        const name = recordNameOf(tag);
        const previous = store.record(name);
        if (previous && previous.imageId !== id) {
          progress.stream(
            `The image ${familiarString(tag)} already exists, renaming the old one with ID ${previous.imageId} to empty string\n`,
          );
        }
        await store.setRecord(name, target);
        progress.stream(`Loaded image: ${familiarString(tag)}\n`);
        tagged++;
      }
      if (!store.get(id)) await store.setRecord(danglingName(id), target);
    }
  });
  if (tagged === 0) {
    for (const image of images) progress.stream(`Loaded image ID: ${loadedId(image)}\n`);
  }
}
