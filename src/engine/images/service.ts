/**
 * The image service: Docker's image semantics (references, IDs, pull, push,
 * tag, delete, prune, save/load, import) over containerd's image, content and
 * snapshot stores. Routes call it; it never sees HTTP.
 */
import type { Readable, Writable } from 'node:stream';
import { conflict, errorMessage, invalidParameter, isEngineError, notFound } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { RegistryCredentials } from '../../registry/auth.js';
import { formatPlatform, parsePlatform, type PlatformSpec } from '../../registry/platform.js';
import {
  familiarName,
  familiarString,
  parseNormalizedNamed,
  referenceName,
  withDefaultTag,
  withTag,
  type ParsedReference,
} from '../../registry/reference.js';
import type {
  HistoryItem,
  ImageConfigFile,
  ImageDeleteResponseItem,
  ImageInspect,
  ImagePruneResponse,
  ImageSummary,
} from '../../types/image.js';
import {
  LIST_FILTERS,
  PRUNE_FILTERS,
  boolFilter,
  familiarMatch,
  matchLabels,
  parseTimestampFilter,
  validateFilters,
  type Filters,
} from './filters.js';
import { isImageIndex } from '../../registry/media-types.js';
import { ProgressWriter } from './progress.js';
import { pull as pullImage } from './pull.js';
import { push as pushImage } from './push.js';
import { applyChanges } from './changes.js';
import {
  LEASE_EXPIRY_MS,
  OPERATION_LEASE_LABEL,
  ociImage,
  removeLeftovers,
  storeLocalImage,
} from './content.js';
import { importTarball } from './import.js';
import { loadArchive } from './load.js';
import { classifyImageArgument, danglingName, isTagRef, noSuchImage, recordNameOf } from './references.js';
import { writeImageArchive, type ImageToSave } from './save.js';
import { RegistryClients, type RegistrySettings } from './registry-config.js';
import { removeImage, type RemoveContext } from './remove.js';
import { ImageStore, allChainIds, imageForPlatform, type ImageVariant, type StoredImage } from './store.js';
import { createdSeconds, historyOf, inspectOf, summaryOf } from './views.js';

export interface ImageServiceSettings extends RegistrySettings {
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
}

/** Where image events go (the daemon's EventsService). */
export interface ImageEventSink {
  publish(type: string, action: string, id: string, attributes?: Record<string, string>): unknown;
}

/** A container using an image, as the container service reports it. */
export interface ImageUser {
  containerId: string;
  running: boolean;
}

/** Answers whether a container uses the image (by image ID); undefined when none does. */
export type ImageUsageCheck = (imageId: string) => ImageUser | undefined | Promise<ImageUser | undefined>;

export interface ImageServiceOptions {
  containerd: () => ContainerdClient;
  events: ImageEventSink;
  settings: () => ImageServiceSettings;
  isImageInUse?: ImageUsageCheck;
}

/** What a container needs of its image. */
export interface ResolvedLocalImage {
  /** The image ID (config digest), "sha256:…". */
  id: string;
  /** The normalized reference when the image was named by one (docker.io/library/busybox:latest). */
  ref?: string;
  config: ImageConfigFile;
  /** Chain ID of the top layer: the snapshot to prepare containers from ('' for an image without layers). */
  chainId: string;
  diffIds: string[];
}

export interface PullRequest {
  /** A name without tag or digest pulls all tags (docker pull -a). */
  ref: ParsedReference;
  platform?: PlatformSpec;
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
}

export interface ListRequest {
  all: boolean;
  filters: Filters;
}

export interface RemoveRequest {
  force: boolean;
  /** Delete untagged parents (moby's !noprune); berth images have no local parents. */
  prune: boolean;
}

export interface PushRequest {
  /** The image name as given (busybox, host:5000/ns/app, possibly with a tag). */
  name: string;
  /** The tag to push; empty pushes every tag of the repository. */
  tag: string;
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
}

export interface ImportRequest {
  /** Repository to tag the imported image with ('' leaves it untagged). */
  repo: string;
  tag: string;
  /** Commit message (the image's Comment). */
  message: string;
  /** Dockerfile instructions applied to the config: CMD, ENV, ENTRYPOINT, WORKDIR... */
  changes: string[];
  platform?: PlatformSpec;
}

/** What docker commit hands over (the container service's CommitImageInput). */
export interface CommitImageInput {
  /** The image the container was created from. */
  parent: { id: string };
  /** The new layer, already in the content store. */
  layer: { mediaType: string; digest: string; size: number; diffId: string };
  /** The new image config, complete except for rootfs and history, which are extended here. */
  config: Record<string, unknown>;
  /** The history entry of the new layer. */
  history: Record<string, unknown>;
  /** `repo[:tag]`, or undefined for a dangling image. */
  reference?: string;
}

/** `GET /distribution/{name}/json`. */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: {
    architecture: string;
    os: string;
    variant?: string;
    'os.version'?: string;
    'os.features'?: string[];
  }[];
}

export class ImageService {
  readonly store: ImageStore;
  private readonly registries: RegistryClients;
  private readonly downloads = new Map<string, Promise<void>>();
  private readonly unpacks = new Map<string, Promise<void>>();
  private isImageInUse?: ImageUsageCheck;
  private pruning = false;

  constructor(private readonly options: ImageServiceOptions) {
    this.store = new ImageStore(options.containerd);
    this.registries = new RegistryClients(() => options.settings());
    this.isImageInUse = options.isImageInUse;
  }

  /** Builds the index from containerd; call once containerd is connected. */
  async start(): Promise<void> {
    await removeLeftovers(this.options.containerd());
    await this.store.load();
  }

  close(): void {
    this.registries.close();
  }

  /** Lets the container service say which images its containers use (for rmi and prune). */
  setImageUsageCheck(check: ImageUsageCheck | undefined): void {
    this.isImageInUse = check;
  }

  /** Number of images (for /info). */
  count(): number {
    return this.store.all().length;
  }

  /**
   * Finds a local image by name (normalized like Docker: busybox →
   * docker.io/library/busybox:latest), name@digest, full ID or unique ID
   * prefix. NotFound: "No such image: busybox:latest".
   */
  async resolveImage(refOrId: string, platform?: string | PlatformSpec): Promise<ResolvedLocalImage> {
    const { image, name } = this.lookup(refOrId);
    // A single-platform image answers for any platform asked, as before multi-platform images.
    let chosen: ImageVariant | undefined;
    if (platform !== undefined && image.variants) {
      const wanted = typeof platform === 'string' ? parsePlatform(platform) : platform;
      chosen = imageForPlatform(image, wanted);
      if (!chosen) {
        throw notFound(
          `image with reference ${refOrId} was found but does not provide the specified platform (${formatPlatform(wanted)})`,
        );
      }
    }
    const variant = chosen ?? image;
    const resolved: ResolvedLocalImage = {
      id: image.id,
      // A copy: callers may fill in defaults without touching the index.
      config: structuredClone(variant.config),
      chainId: variant.chainIds[variant.chainIds.length - 1] ?? '',
      diffIds: [...variant.diffIds],
    };
    if (name !== undefined) resolved.ref = name;
    return resolved;
  }

  /** The stored image an argument names, and the record name when it was a reference. */
  lookup(refOrId: string): { image: StoredImage; name?: string } {
    const lookup = classifyImageArgument(refOrId);
    if (lookup.kind === 'id') {
      const image = this.findById(lookup.id);
      if (!image) throw noSuchImage(refOrId);
      return { image };
    }
    const name = recordNameOf(lookup.ref);
    const record = this.store.record(name);
    const image = record ? this.store.get(record.imageId) : undefined;
    if (image) return { image, name };
    if (lookup.idPrefix !== undefined) {
      const byId = this.findById(lookup.idPrefix);
      if (byId) return { image: byId };
    }
    throw noSuchImage(refOrId);
  }

  /** An image by full ID or unique prefix. */
  private findById(idOrPrefix: string): StoredImage | undefined {
    const matches = this.store.searchId(idOrPrefix);
    return matches.length === 1 ? matches[0] : undefined;
  }

  /** docker pull: streams progress into `progress`; rejects before any output for unknown images. */
  async pull(request: PullRequest, progress: ProgressWriter): Promise<void> {
    const settings = this.options.settings();
    await pullImage(
      {
        containerd: this.options.containerd,
        store: this.store,
        registry: () => this.registries.get(),
        maxConcurrentDownloads: () => Math.max(1, settings.maxConcurrentDownloads),
        downloads: this.downloads,
        unpacks: this.unpacks,
      },
      request,
      progress,
    );
    this.logEvent(familiarString(request.ref), familiarName(request.ref), 'pull');
  }

  async list(request: ListRequest): Promise<ImageSummary[]> {
    const { filters } = request;
    validateFilters(filters, LIST_FILTERS);
    const danglingOnly = filters.has('dangling') && boolFilter(filters, 'dangling', false);
    const bounds = this.createdBounds(filters);
    const patterns = filters.get('reference') ?? [];
    const summaries: ImageSummary[] = [];
    for (const image of this.store.all()) {
      const created = createdSeconds(image.config);
      if (bounds.before !== undefined && created >= bounds.before) continue;
      if (bounds.since !== undefined && created <= bounds.since) continue;
      if (bounds.until !== undefined && created * 1000 >= bounds.until) continue;
      if (!matchLabels(filters, image.config.config?.Labels)) continue;
      const summary = summaryOf(image, await this.store.size(image));
      if (patterns.length > 0) {
        const keep = (familiar: string): boolean => {
          const ref = parseNormalizedNamed(familiar);
          return patterns.some((p) => familiarMatch(p, familiar, familiarName(ref)));
        };
        summary.RepoTags = summary.RepoTags.filter(keep);
        summary.RepoDigests = summary.RepoDigests.filter(keep);
      }
      if (summary.RepoTags.length === 0 && summary.RepoDigests.length === 0) {
        if (filters.has('dangling') && !danglingOnly) continue;
        if (patterns.length > 0) continue;
      } else if (danglingOnly && summary.RepoTags.length > 0) {
        continue;
      }
      summaries.push(summary);
    }
    return summaries.sort((a, b) => b.Created - a.Created);
  }

  /** before/since (other images' creation, seconds) and until (epoch ms) of a list filter. */
  private createdBounds(filters: Filters): { before?: number; since?: number; until?: number } {
    const createdOf = (refOrId: string): number => createdSeconds(this.lookup(refOrId).image.config);
    const bounds: { before?: number; since?: number; until?: number } = {};
    for (const value of filters.get('before') ?? []) bounds.before = createdOf(value);
    for (const value of filters.get('since') ?? []) bounds.since = createdOf(value);
    for (const value of filters.get('until') ?? []) bounds.until = parseTimestampFilter(value);
    return bounds;
  }

  async inspect(refOrId: string): Promise<ImageInspect> {
    const { image } = this.lookup(refOrId);
    return inspectOf(image, await this.store.size(image));
  }

  async history(refOrId: string): Promise<HistoryItem[]> {
    const { image } = this.lookup(refOrId);
    const sizes: number[] = [];
    for (const chainId of image.chainIds) sizes.push(await this.store.layerSize(chainId));
    return historyOf(image, sizes);
  }

  /** docker tag: points repo:tag (tag defaults to latest) at the image, moving it if needed. */
  async tag(source: string, repo: string, tag: string): Promise<void> {
    let ref = parseNormalizedNamed(repo);
    if (tag !== '') ref = withTag({ domain: ref.domain, path: ref.path }, tag);
    if (ref.digest !== undefined) throw invalidParameter('refusing to create a tag with a digest reference');
    ref = withDefaultTag(ref);
    await this.store.serialize(async () => {
      const { image } = this.lookup(source);
      await this.store.setRecord(recordNameOf(ref), image.target);
      this.logEvent(image.id, familiarString(ref), 'tag', image);
    });
  }

  /** docker rmi: untags and/or deletes; Conflict when a container needs the image. */
  async remove(refOrId: string, request: RemoveRequest): Promise<ImageDeleteResponseItem[]> {
    return this.store.serialize(async () => {
      const { image, name } = this.lookup(refOrId);
      return removeImage(this.removeContext(), refOrId, image, name, request);
    });
  }

  private removeContext(): RemoveContext {
    return {
      store: this.store,
      userOf: async (imageId) => (this.isImageInUse ? await this.isImageInUse(imageId) : undefined),
      event: (imageId, action, image) => this.logEvent(imageId, imageId, action, image),
    };
  }

  /** docker image prune: dangling images (or all unused with dangling=false), filtered by until and labels. */
  async prune(filters: Filters): Promise<ImagePruneResponse> {
    if (this.pruning) throw conflict('a prune operation is already running');
    this.pruning = true;
    try {
      return await this.pruneImages(filters);
    } finally {
      this.pruning = false;
    }
  }

  private async pruneImages(filters: Filters): Promise<ImagePruneResponse> {
    validateFilters(filters, PRUNE_FILTERS);
    const danglingOnly = boolFilter(filters, 'dangling', true);
    const untilValues = filters.get('until') ?? [];
    const until =
      untilValues.length > 0 ? parseTimestampFilter(untilValues[untilValues.length - 1]) : undefined;
    const deleted: ImageDeleteResponseItem[] = [];
    const sizes = new Map<string, number>();
    for (const image of this.store.all()) {
      if (until !== undefined && createdSeconds(image.config) * 1000 > until) continue;
      if (!matchLabels(filters, image.config.config?.Labels)) continue;
      for (const chainId of allChainIds(image)) sizes.set(chainId, await this.store.layerSize(chainId));
      const refs = [...image.records.values()].filter((r) => r.ref !== undefined);
      if (danglingOnly && refs.some((r) => isTagRef(r.ref!))) continue;
      const targets = refs.length > 0 ? refs.map((r) => r.name) : [image.id];
      for (const target of targets) {
        try {
          deleted.push(...(await this.removeForPrune(target)));
        } catch (err) {
          if (!isEngineError(err, 'Conflict'))
            log.warn('failed to prune image', { image: target, error: errorMessage(err) });
        }
      }
    }
    let reclaimed = 0;
    for (const item of deleted)
      if (item.Deleted && sizes.has(item.Deleted)) reclaimed += sizes.get(item.Deleted)!;
    this.options.events.publish('image', 'prune', '', { reclaimed: String(reclaimed) });
    return { ImagesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  private removeForPrune(target: string): Promise<ImageDeleteResponseItem[]> {
    return this.store.serialize(async () => {
      let found: { image: StoredImage; name?: string };
      try {
        found = this.lookup(target);
      } catch {
        return [];
      }
      return removeImage(this.removeContext(), target, found.image, found.name, {
        force: false,
        prune: true,
      });
    });
  }

  /** docker push: one tag, or every tag of the repository when `tag` is empty. */
  async push(request: PushRequest, progress: ProgressWriter): Promise<void> {
    const ref = await pushImage(
      {
        containerd: this.options.containerd,
        store: this.store,
        registry: () => this.registries.get(),
        maxConcurrentUploads: () => Math.max(1, this.options.settings().maxConcurrentUploads),
      },
      request,
      progress,
    );
    this.logEvent(familiarString(ref), familiarName(ref), 'push');
  }

  /** docker save: checks every name first, then returns the writer of the archive. */
  async exportImages(names: string[]): Promise<(out: Writable) => Promise<void>> {
    if (names.length === 0) throw invalidParameter('no images specified');
    const byId = new Map<string, ImageToSave>();
    const add = (image: StoredImage, tag?: ParsedReference): void => {
      const entry = byId.get(image.id) ?? { image, tags: [] };
      if (tag && !entry.tags.some((t) => familiarString(t) === familiarString(tag))) entry.tags.push(tag);
      byId.set(image.id, entry);
    };
    for (const name of names) {
      const lookup = classifyImageArgument(name);
      if (lookup.kind === 'reference' && lookup.ref.tag === undefined && lookup.ref.digest === undefined) {
        // A bare repository name saves all its tags (moby), else it may be an ID prefix.
        const repo = referenceName(lookup.ref);
        const tagged = this.store
          .allRecords()
          .filter((r) => r.ref && isTagRef(r.ref) && referenceName(r.ref) === repo);
        if (tagged.length > 0) {
          for (const record of tagged) add(this.store.get(record.imageId)!, record.ref);
          continue;
        }
      }
      const { image, name: recordName } = this.lookup(name);
      const ref = recordName !== undefined ? this.store.record(recordName)?.ref : undefined;
      add(image, ref && isTagRef(ref) ? ref : undefined);
    }
    const images = [...byId.values()];
    return async (out) => {
      await writeImageArchive(this.options.containerd(), images, out);
      for (const { image } of images) this.logEvent(image.id, image.id, 'save', image);
    };
  }

  /** docker load: both archive formats; progress unless quiet, then "Loaded image: …" lines. */
  async load(source: Readable, quiet: boolean, progress: ProgressWriter): Promise<void> {
    const ids = await loadArchive(
      { containerd: this.options.containerd, store: this.store },
      source,
      quiet,
      progress,
    );
    for (const id of ids) this.logEvent(id, id, 'load');
  }

  /** docker import: a rootfs tarball as a one-layer image, optionally tagged; prints the new ID. */
  async importImage(source: Readable, request: ImportRequest, progress: ProgressWriter): Promise<void> {
    let ref: ParsedReference | undefined;
    if (request.repo !== '') {
      ref = parseNormalizedNamed(request.repo);
      if (request.tag !== '') ref = withTag({ domain: ref.domain, path: ref.path }, request.tag);
      if (ref.digest !== undefined) throw invalidParameter('cannot import digest reference');
      ref = withDefaultTag(ref);
    }
    const changes = request.changes.flatMap((c) => c.split('\n'));
    applyChanges({}, changes); // refuse bad changes before reading the body
    const image = await importTarball(
      this.options.containerd(),
      source,
      { message: request.message, changes, platform: request.platform },
      (stored) =>
        this.store.serialize(async () => {
          const target = stored.manifestDescriptor;
          if (ref) await this.store.setRecord(recordNameOf(ref), target);
          else await this.store.setRecord(danglingName(stored.configDescriptor.digest), target);
        }),
    );
    const id = image.configDescriptor.digest;
    progress.status(id);
    this.logEvent(id, id, 'import');
  }

  /**
   * docker commit's image: the parent's layers plus `layer` (already in the
   * content store, held by the caller until this returns), `config` extended
   * with rootfs and history, unpacked, and named by `reference` (else
   * dangling). Returns the new image ID.
   */
  async commitImage(input: CommitImageInput): Promise<{ id: string }> {
    const parent = this.store.get(input.parent.id);
    if (!parent) throw noSuchImage(input.parent.id);
    let ref: ParsedReference | undefined;
    if (input.reference) {
      ref = withDefaultTag(parseNormalizedNamed(input.reference));
      if (ref.digest !== undefined)
        throw invalidParameter('refusing to create a tag with a digest reference');
    }
    const { diffId, ...layer } = input.layer;
    const config = {
      ...input.config,
      rootfs: { type: 'layers', diff_ids: [...parent.diffIds, diffId] },
      history: [...(parent.config.history ?? []), input.history],
    };
    const image = ociImage(config, [...parent.layers, layer]);
    const root = this.options.containerd();
    const lease = await root.leases.create({
      expiresInMs: LEASE_EXPIRY_MS,
      labels: { [OPERATION_LEASE_LABEL]: 'commit' },
    });
    try {
      await storeLocalImage(root.withLease(lease.id), image);
      await this.store.serialize(async () => {
        const target = image.manifestDescriptor;
        await this.store.setRecord(
          ref ? recordNameOf(ref) : danglingName(image.configDescriptor.digest),
          target,
        );
      });
    } finally {
      await root.leases.delete(lease.id);
    }
    const id = image.configDescriptor.digest;
    if (ref) this.logEvent(id, familiarString(ref), 'tag');
    return { id };
  }

  /** GET /distribution/{name}/json: what the registry holds for a reference, without pulling it. */
  async distributionInspect(name: string, credentials?: RegistryCredentials): Promise<DistributionInspect> {
    const lookup = classifyImageArgument(name);
    if (lookup.kind === 'id') throw invalidParameter('no manifest found for full image ID');
    const ref = withDefaultTag(lookup.ref);
    const registry = this.registries.get();
    const top = await registry.getManifest(ref, { credentials });
    const { mediaType, digest, size } = top.descriptor;
    const platforms: DistributionInspect['Platforms'] = [];
    if (isImageIndex(top.parsed)) {
      for (const entry of top.parsed.manifests) if (entry.platform) platforms.push({ ...entry.platform });
    } else {
      const config = JSON.parse(
        (await registry.fetchBlobBytes(ref, top.parsed.config, { credentials })).toString('utf8'),
      ) as ImageConfigFile;
      const platform: DistributionInspect['Platforms'][number] = {
        architecture: config.architecture,
        os: config.os,
      };
      if (config['os.version']) platform['os.version'] = config['os.version'];
      if (config['os.features']) platform['os.features'] = config['os.features'];
      if (config.variant) platform.variant = config.variant;
      platforms.push(platform);
    }
    return { Descriptor: { mediaType, digest, size }, Platforms: platforms };
  }

  /** POST /auth: checks credentials against the registry ("Login Succeeded"). */
  async login(auth: RegistryCredentials): Promise<{ Status: string; IdentityToken?: string }> {
    return this.registries.get().login(auth.serveraddress ?? '', auth);
  }

  /** moby's LogImageEvent: the image's labels plus `name`. */
  logEvent(id: string, name: string, action: string, image?: StoredImage): void {
    const attributes: Record<string, string> = {};
    const labels = (image ?? this.tryLookup(id))?.config.config?.Labels ?? {};
    for (const [key, value] of Object.entries(labels)) attributes[key] = value;
    if (name !== '') attributes.name = name;
    this.options.events.publish('image', action, id, attributes);
  }

  private tryLookup(refOrId: string): StoredImage | undefined {
    try {
      return this.lookup(refOrId).image;
    } catch {
      return undefined;
    }
  }
}
