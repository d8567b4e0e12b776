/**
 * berth's view of the images in containerd: an in-memory index of image
 * records (one per Docker reference) grouped by image ID (the config digest),
 * rebuilt from containerd's Images service and the content store at start,
 * and kept in step by every change made through it.
 */
import { errorMessage, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { Image as ContainerdImage } from '../../containerd/services/images.js';
import type { Descriptor, Labels } from '../../containerd/types.js';
import { chainIds } from '../../containerd/unpack.js';
import {
  isImageIndex,
  isIndexMediaType,
  isManifestMediaType,
  type ImageIndex,
  type ImageManifest,
  type Manifest,
} from '../../registry/media-types.js';
import { hostPlatform, platformMatches, type PlatformSpec } from '../../registry/platform.js';
import type { ParsedReference } from '../../registry/reference.js';
import type { ImageConfigFile } from '../../types/image.js';
import { danglingName, isDanglingName, parseRecordName } from './references.js';

/** One containerd image record: a reference (or placeholder) pointing at a manifest. */
export interface ImageRecord {
  name: string;
  /** The parsed reference; undefined for dangling placeholders. */
  ref?: ParsedReference;
  imageId: string;
  target: Descriptor;
  labels: Labels;
  createdAt?: Date;
  updatedAt?: Date;
}

/** One platform's image of a multi-platform image (an index). */
export interface ImageVariant {
  platform: PlatformSpec;
  manifest: Descriptor;
  config: ImageConfigFile;
  configDescriptor: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
  chainIds: string[];
}

/**
 * An image: its config, its layers and every record naming it. A
 * multi-platform image (records pointing at an index) is identified by the
 * index digest, as Docker's containerd store does, and its config and layers
 * are those of the host platform's variant (else the first one present).
 */
export interface StoredImage {
  /** The config digest; the index digest for a multi-platform image. */
  id: string;
  /** What records of this image point at: the manifest, or the index. */
  target: Descriptor;
  /** Every platform present locally, for a multi-platform image. */
  variants?: ImageVariant[];
  config: ImageConfigFile;
  configDescriptor: Descriptor;
  /** A manifest of this image (records of one image may name different manifests). */
  manifest: Descriptor;
  layers: Descriptor[];
  diffIds: string[];
  chainIds: string[];
  records: Map<string, ImageRecord>;
  /** Bytes the unpacked layers take, once computed. */
  size?: number;
  /** When a tag last pointed here (Metadata.LastTagTime). */
  lastTagTime?: Date;
}

/** Parsed manifest facts, cached by manifest digest (manifests never change). */
interface ManifestFacts {
  manifest: ImageManifest;
  configDescriptor: Descriptor;
  config: ImageConfigFile;
}

const LAST_TAG_TIME_LABEL = 'io.berth.image.last-tag-time';

export class ImageStore {
  private readonly records = new Map<string, ImageRecord>();
  private readonly images = new Map<string, StoredImage>();
  private readonly manifests = new Map<string, ManifestFacts>();
  private readonly layerSizes = new Map<string, number>();
  private mutations: Promise<unknown> = Promise.resolve();

  constructor(private readonly client: () => ContainerdClient) {}

  /** Rebuilds the index from containerd; records whose content is gone are skipped with a warning. */
  async load(): Promise<void> {
    this.records.clear();
    this.images.clear();
    for (const image of await this.client().images.list()) {
      try {
        await this.index(image);
      } catch (err) {
        log.warn('skipping unreadable image', { name: image.name, error: errorMessage(err) });
      }
    }
  }

  /** Runs changes to records one at a time, so concurrent pulls and tags see a consistent index. */
  serialize<T>(work: () => Promise<T>): Promise<T> {
    const run = this.mutations.then(work, work);
    this.mutations = run.catch(() => undefined);
    return run;
  }

  get(id: string): StoredImage | undefined {
    return this.images.get(id);
  }

  record(name: string): ImageRecord | undefined {
    return this.records.get(name);
  }

  all(): StoredImage[] {
    return [...this.images.values()];
  }

  allRecords(): ImageRecord[] {
    return [...this.records.values()];
  }

  /** IDs starting with `prefix` ("sha256:" optional). */
  searchId(prefix: string): StoredImage[] {
    const full = prefix.startsWith('sha256:') ? prefix : `sha256:${prefix}`;
    return this.all().filter((image) => image.id.startsWith(full));
  }

  /** The variants of an index present in the content store, host platform first. */
  async describeIndex(target: Descriptor): Promise<ImageVariant[]> {
    const index = JSON.parse(
      (await this.client().content.readAll(target.digest)).toString('utf8'),
    ) as ImageIndex;
    const variants: ImageVariant[] = [];
    for (const entry of index.manifests) {
      if (!entry.platform || entry.platform.os === 'unknown') continue; // attestations
      if (!isManifestMediaType(entry.mediaType)) continue;
      if (!(await this.client().content.tryInfo(entry.digest))) continue;
      const manifest: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
      variants.push({ ...(await this.variantOf(manifest)), platform: { ...entry.platform } });
    }
    if (variants.length === 0) throw systemError(`index ${target.digest} has no image present locally`);
    const host = hostPlatform();
    const native = variants.findIndex((v) => platformMatches(host, v.platform));
    if (native > 0) variants.unshift(...variants.splice(native, 1));
    return variants;
  }

  /** Reads (or recalls) a manifest and its config from the content store. */
  async describe(target: Descriptor): Promise<ManifestFacts> {
    const cached = this.manifests.get(target.digest);
    if (cached) return cached;
    if (!isManifestMediaType(target.mediaType)) {
      throw systemError(`image target ${target.digest} is a ${target.mediaType}, not an image manifest`);
    }
    const content = this.client().content;
    const manifest = JSON.parse((await content.readAll(target.digest)).toString('utf8')) as Manifest;
    if (isImageIndex(manifest)) throw systemError(`image target ${target.digest} is an index`);
    const config = JSON.parse(
      (await content.readAll(manifest.config.digest)).toString('utf8'),
    ) as ImageConfigFile;
    const facts: ManifestFacts = {
      manifest,
      configDescriptor: {
        mediaType: manifest.config.mediaType,
        digest: manifest.config.digest,
        size: manifest.config.size,
      },
      config,
    };
    this.manifests.set(target.digest, facts);
    return facts;
  }

  private async index(image: ContainerdImage): Promise<ImageRecord> {
    const isIndex = isIndexMediaType(image.target.mediaType);
    const variants = isIndex ? await this.describeIndex(image.target) : undefined;
    const main = variants?.[0] ?? (await this.variantOf(image.target));
    const imageId = isIndex ? image.target.digest : main.configDescriptor.digest;
    const record: ImageRecord = {
      name: image.name,
      imageId,
      target: image.target,
      labels: image.labels ?? {},
      createdAt: image.createdAt,
      updatedAt: image.updatedAt,
    };
    const ref = parseRecordName(image.name);
    if (ref) record.ref = ref;
    this.unlink(image.name);
    this.records.set(image.name, record);
    let stored = this.images.get(imageId);
    if (!stored) {
      stored = {
        id: imageId,
        target: image.target,
        config: main.config,
        configDescriptor: main.configDescriptor,
        manifest: main.manifest,
        layers: main.layers,
        diffIds: main.diffIds,
        chainIds: main.chainIds,
        records: new Map(),
      };
      if (variants) stored.variants = variants;
      this.images.set(imageId, stored);
    }
    stored.records.set(image.name, record);
    const tagTime = record.labels[LAST_TAG_TIME_LABEL];
    if (tagTime && (!stored.lastTagTime || Date.parse(tagTime) > stored.lastTagTime.getTime())) {
      stored.lastTagTime = new Date(tagTime);
    }
    return record;
  }

  /** Drops a name from the index; forgets its image when no record is left. */
  private unlink(name: string): void {
    const old = this.records.get(name);
    if (!old) return;
    this.records.delete(name);
    const image = this.images.get(old.imageId);
    if (!image) return;
    image.records.delete(name);
    if (image.records.size === 0) this.images.delete(old.imageId);
  }

  /**
   * Points `name` at `target` (creating or replacing the record). An image
   * the name moves away from keeps a placeholder record when this was its
   * last reference, as Docker keeps an image whose tag moved; a placeholder of
   * the new image goes. Returns the image ID the name pointed at before, if
   * it was another image. Call inside serialize().
   */
  async setRecord(name: string, target: Descriptor, labels: Labels = {}): Promise<string | undefined> {
    const previous = this.records.get(name);
    const previousImage = previous ? this.images.get(previous.imageId) : undefined;
    const moved = previous !== undefined && previous.target.digest !== target.digest;
    if (moved && previousImage && previousImage.records.size === 1 && !isDanglingName(name)) {
      // Placeholder first, so the old image is never unreferenced in between.
      await this.putRecord(danglingName(previousImage.id), previous.target, {});
    }
    const allLabels = { ...labels };
    if (parseRecordName(name)?.tag !== undefined) allLabels[LAST_TAG_TIME_LABEL] = new Date().toISOString();
    const record = await this.putRecord(name, target, allLabels);
    const image = this.images.get(record.imageId);
    const placeholder = danglingName(record.imageId);
    if (!isDanglingName(name) && image?.records.has(placeholder)) await this.deleteRecord(placeholder);
    return previous !== undefined && previous.imageId !== record.imageId ? previous.imageId : undefined;
  }

  private async putRecord(name: string, target: Descriptor, labels: Labels): Promise<ImageRecord> {
    const saved = await this.client().images.put({ name, target, labels });
    return this.index(saved);
  }

  /** Deletes a record; with sync, containerd's GC runs before this resolves. */
  async deleteRecord(name: string, opts: { sync?: boolean } = {}): Promise<void> {
    try {
      await this.client().images.delete(name, opts);
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
    }
    this.unlink(name);
  }

  /** Gives the image a placeholder record, so it stays while its references are removed. Call inside serialize(). */
  async ensurePlaceholder(image: StoredImage): Promise<void> {
    const name = danglingName(image.id);
    if (!image.records.has(name)) await this.putRecord(name, image.target, {});
  }

  /** Removes the placeholder of an image that still has references. Call inside serialize(). */
  async dropPlaceholder(image: StoredImage): Promise<void> {
    const name = danglingName(image.id);
    if (image.records.has(name) && image.records.size > 1) await this.deleteRecord(name);
  }

  /** A manifest's facts as a variant, its platform read from its config. */
  private async variantOf(manifest: Descriptor): Promise<ImageVariant> {
    const facts = await this.describe(manifest);
    const diffIds = facts.config.rootfs?.diff_ids ?? [];
    return {
      platform: {
        os: facts.config.os,
        architecture: facts.config.architecture,
        ...(facts.config.variant ? { variant: facts.config.variant } : {}),
      },
      manifest,
      config: facts.config,
      configDescriptor: facts.configDescriptor,
      layers: layerDescriptors(facts.manifest),
      diffIds,
      chainIds: chainIds(diffIds),
    };
  }

  /** Whether a layer's snapshot is gone (collected). */
  async layerGone(chainId: string): Promise<boolean> {
    const gone = (await this.client().snapshots.tryStat(chainId)) === undefined;
    if (gone) this.layerSizes.delete(chainId);
    return gone;
  }

  /**
   * Sum of the unpacked sizes of the image's layers (snapshot usage), cached
   * per layer; for a multi-platform image every variant present counts, a
   * layer the variants share once (as Docker's containerd store reports).
   */
  async size(image: StoredImage): Promise<number> {
    if (image.size !== undefined) return image.size;
    let total = 0;
    for (const chainId of allChainIds(image)) total += await this.layerSize(chainId);
    image.size = total;
    return total;
  }

  /** The unpacked size of one layer (its own snapshot, not its parents). */
  async layerSize(chainId: string): Promise<number> {
    const cached = this.layerSizes.get(chainId);
    if (cached !== undefined) return cached;
    let size = 0;
    try {
      size = (await this.client().snapshots.usage(chainId)).size;
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
    }
    this.layerSizes.set(chainId, size);
    return size;
  }
}

function layerDescriptors(manifest: ImageManifest): Descriptor[] {
  return manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
}

/**
 * The image of `image` for `platform`: the variant of a multi-platform
 * image, or the image itself when its platform fits (undefined otherwise).
 */
export function imageForPlatform(image: StoredImage, platform: PlatformSpec): ImageVariant | undefined {
  if (image.variants) return image.variants.find((v) => platformMatches(platform, v.platform));
  const own = { os: image.config.os, architecture: image.config.architecture, variant: image.config.variant };
  if (!platformMatches(platform, own)) return undefined;
  const { manifest, config, configDescriptor, layers, diffIds } = image;
  return { platform: own, manifest, config, configDescriptor, layers, diffIds, chainIds: image.chainIds };
}

/** The layers (chain IDs) of every platform of the image, each once. */
export function allChainIds(image: StoredImage): string[] {
  return [...new Set([...image.chainIds, ...(image.variants ?? []).flatMap((v) => v.chainIds)])];
}
