/**
 * `docker pull`: resolve the reference, fetch the config, download layers in
 * parallel (max-concurrent-downloads) into the content store while unpacking
 * each one, in order, as soon as it and the layers below it are in, all under
 * a lease so a failed pull leaves nothing behind. Progress is Docker's JSON
 * stream, message for message.
 */
import { performance } from 'node:perf_hooks';
import { EngineError, errorMessage, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { Descriptor } from '../../containerd/types.js';
import {
  LAYER_MEDIA_TYPES,
  UNCOMPRESSED_LABEL,
  chainIds as computeChainIds,
} from '../../containerd/unpack.js';
import type { RegistryCredentials } from '../../registry/auth.js';
import type { RegistryClient, ResolvedImage } from '../../registry/client.js';
import { BlobVerificationError } from '../../registry/errors.js';
import type { PlatformSpec } from '../../registry/platform.js';
import { formatPlatform, normalizePlatform } from '../../registry/platform.js';
import {
  familiarName,
  familiarString,
  referenceName,
  type ParsedReference,
} from '../../registry/reference.js';
import type { ImageConfigFile } from '../../types/image.js';
import {
  LEASE_EXPIRY_MS,
  OPERATION_LEASE_LABEL,
  SOURCE_LABEL_PREFIX,
  configGcLabels,
  holdBlob,
  holdSnapshot,
  manifestGcLabels,
  recordSource,
  unpackLayer,
  writeDocument,
} from './content.js';
import { Limiter } from './limiter.js';
import { progressStep, type ProgressWriter } from './progress.js';
import { recordNameOf, shortId } from './references.js';
import type { ImageStore } from './store.js';

export interface PullDeps {
  containerd: () => ContainerdClient;
  store: ImageStore;
  registry: () => RegistryClient;
  maxConcurrentDownloads: () => number;
  /** Downloads in progress in this daemon, by blob digest, shared between pulls. */
  downloads: Map<string, Promise<void>>;
  /** Unpacks in progress, by chain ID, likewise. */
  unpacks: Map<string, Promise<void>>;
}

export interface PullOptions {
  /** A name without tag or digest pulls every tag of the repository. */
  ref: ParsedReference;
  /** Set when the user asked for a platform (--platform); else linux/amd64. */
  platform?: PlatformSpec;
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
}

export interface PulledImage {
  /** The record name, e.g. docker.io/library/busybox:latest. */
  name: string;
  imageId: string;
  /** Whether a record changed (Docker's "Downloaded newer image"). */
  updated: boolean;
}

/** Pulls one reference, or every tag of a name-only reference. */
export async function pull(
  deps: PullDeps,
  options: PullOptions,
  progress: ProgressWriter,
): Promise<PulledImage[]> {
  const { ref } = options;
  const refs: ParsedReference[] = [];
  if (ref.tag !== undefined || ref.digest !== undefined) {
    refs.push(ref);
  } else {
    const tags = await deps
      .registry()
      .listTags(ref, { credentials: options.credentials, signal: options.signal });
    for (const tag of tags) refs.push({ domain: ref.domain, path: ref.path, tag });
  }
  const pulled: PulledImage[] = [];
  for (const one of refs) pulled.push(await new TagPull(deps, { ...options, ref: one }, progress).run());
  const newer = pulled.some((p) => p.updated);
  progress.status(
    `Status: ${newer ? 'Downloaded newer image' : 'Image is up to date'} for ${familiarString(ref)}`,
  );
  return pulled;
}

/**
 * Least time between two Downloading updates of a layer. moby hands each
 * watcher only the latest progress when it lags; a fast local download
 * would otherwise send a message per 512 KiB, hundreds a second.
 */
const PROGRESS_INTERVAL_MS = 100;

interface LayerJob {
  index: number;
  descriptor: Descriptor;
  diffId: string;
  chainId: string;
  id: string;
  /** Resolves when the blob is in the content store (and held by our lease). */
  downloaded?: Promise<void>;
}

/** One tag (or digest) of a pull. */
class TagPull {
  private readonly abort = new AbortController();
  private failure: unknown;
  private leased!: ContainerdClient;

  constructor(
    private readonly deps: PullDeps,
    private readonly options: PullOptions,
    private readonly progress: ProgressWriter,
  ) {
    options.signal?.addEventListener('abort', () => this.abort.abort(options.signal?.reason), { once: true });
  }

  private get call() {
    return { credentials: this.options.credentials, signal: this.abort.signal };
  }

  async run(): Promise<PulledImage> {
    const { ref } = this.options;
    const registry = this.deps.registry();
    const resolved = await registry.resolveImage(ref, { ...this.call, platform: this.options.platform });
    this.progress.status(`Pulling from ${familiarName(ref)}`, ref.digest ?? ref.tag);
    const root = this.deps.containerd();
    const lease = await root.leases.create({
      expiresInMs: LEASE_EXPIRY_MS,
      labels: { [OPERATION_LEASE_LABEL]: 'pull' },
    });
    this.leased = root.withLease(lease.id);
    try {
      const imageId = await this.fetchImage(resolved);
      this.progress.status(`Digest: ${resolved.descriptor.digest}`);
      const result = await this.register(resolved, imageId);
      await root.leases.delete(lease.id);
      return result;
    } catch (err) {
      this.abort.abort();
      // Synchronous GC, so nothing this pull wrote outlives the failure.
      await root.leases
        .delete(lease.id, { sync: true })
        .catch((e: unknown) =>
          log.warn('could not remove pull lease', { lease: lease.id, error: errorMessage(e) }),
        );
      throw err;
    }
  }

  /** Config, layers and manifest into the content store, layers unpacked; returns the image ID. */
  private async fetchImage(resolved: ResolvedImage): Promise<string> {
    const manifest = resolved.manifest.parsed;
    // An image already here needs nothing, not even layer messages (moby).
    if (!(await this.isComplete(manifest.config.digest))) await this.fetchContent(resolved);
    await writeDocument(
      this.leased,
      resolved.manifest.body,
      resolved.manifest.digest,
      manifestGcLabels(manifest.config.digest, manifest.layers),
    );
    await recordSource(this.leased, resolved.manifest.digest, this.options.ref.domain, this.options.ref.path);
    return manifest.config.digest;
  }

  /** The config and the layers, unpacked. */
  private async fetchContent(resolved: ResolvedImage): Promise<void> {
    const manifest = resolved.manifest.parsed;
    const config = await this.fetchConfig(manifest.config);
    this.checkPlatform(config, resolved);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw systemError("layers from manifest don't match image configuration");
    }
    for (const layer of manifest.layers) {
      if (!(LAYER_MEDIA_TYPES as readonly string[]).includes(layer.mediaType)) {
        throw systemError(
          `unsupported layer media type ${layer.mediaType} in ${familiarString(this.options.ref)}`,
        );
      }
    }
    const chainIds = computeChainIds(diffIds);
    const jobs: LayerJob[] = manifest.layers.map((layer, index) => ({
      index,
      descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size },
      diffId: diffIds[index],
      chainId: chainIds[index],
      id: shortId(layer.digest),
    }));
    await this.fetchLayers(jobs);
    await writeDocument(this.leased, config.bytes, manifest.config.digest, configGcLabels(chainIds));
  }

  /** Whether the image is fully present: indexed, with its top snapshot; the lease then holds both. */
  private async isComplete(imageId: string): Promise<boolean> {
    const image = this.deps.store.get(imageId);
    if (!image) return false;
    const top = image.chainIds[image.chainIds.length - 1];
    if (top !== undefined && !(await holdSnapshot(this.leased, top))) return false;
    return (await holdBlob(this.leased, imageId)) !== undefined;
  }

  private async fetchConfig(descriptor: Descriptor): Promise<ImageConfigFile & { bytes: Buffer }> {
    const { ref } = this.options;
    let bytes: Buffer;
    if (await holdBlob(this.leased, descriptor.digest)) {
      bytes = await this.leased.content.readAll(descriptor.digest);
    } else {
      try {
        bytes = await this.deps.registry().fetchBlobBytes(ref, descriptor, this.call);
      } catch (err) {
        if (err instanceof BlobVerificationError) {
          throw systemError(`image config verification failed for digest ${descriptor.digest}`, err);
        }
        throw err;
      }
      await writeDocument(this.leased, bytes, descriptor.digest);
      await recordSource(this.leased, descriptor.digest, ref.domain, ref.path);
    }
    let config: ImageConfigFile;
    try {
      config = JSON.parse(bytes.toString('utf8')) as ImageConfigFile;
    } catch (err) {
      throw systemError(`invalid image config ${descriptor.digest}: ${errorMessage(err)}`);
    }
    return Object.assign(config, { bytes });
  }

  /** A single-platform image that does not match an explicitly requested platform is refused, as by Docker. */
  private checkPlatform(config: ImageConfigFile, resolved: ResolvedImage): void {
    const wanted = this.options.platform;
    if (!wanted || resolved.index) return;
    const actual = normalizePlatform({
      os: config.os,
      architecture: config.architecture,
      variant: config.variant,
    });
    const want = normalizePlatform(wanted);
    if (actual.os !== want.os || actual.architecture !== want.architecture) {
      throw new EngineError(
        'NotFound',
        `image with reference ${familiarString(this.options.ref)} was found but does not match the specified platform: wanted ${formatPlatform(want)}, actual: ${formatPlatform(actual)}`,
      );
    }
  }

  /**
   * Announces every layer (Already exists / Pulling fs layer / Waiting),
   * starts the downloads, and unpacks in order as downloads complete.
   */
  private async fetchLayers(jobs: LayerJob[]): Promise<void> {
    let present = 0;
    // A layer exists when its whole chain is unpacked and its blob is here (push needs it).
    while (
      present < jobs.length &&
      (await holdSnapshot(this.leased, jobs[present].chainId)) &&
      (await holdBlob(this.leased, jobs[present].descriptor.digest))
    ) {
      present++;
    }
    const limiter = new Limiter(this.deps.maxConcurrentDownloads());
    const pending = jobs.slice(present);
    for (const job of jobs.slice(0, present)) this.progress.update(job.id, 'Already exists');
    for (const job of pending) this.progress.update(job.id, 'Pulling fs layer');
    const started = new Set<string>();
    for (const job of pending) {
      if (started.has(job.descriptor.digest)) continue;
      started.add(job.descriptor.digest);
      if (limiter.saturated) this.progress.update(job.id, 'Waiting');
      job.downloaded = limiter.run(() => this.download(job));
      job.downloaded.catch((err: unknown) => this.fail(err));
    }
    const byDigest = new Map(
      pending.filter((j) => j.downloaded).map((j) => [j.descriptor.digest, j.downloaded!]),
    );
    for (const job of pending) {
      try {
        await byDigest.get(job.descriptor.digest);
        await this.unpack(job, jobs[job.index - 1]?.chainId ?? '');
      } catch (err) {
        this.fail(err);
        await Promise.allSettled(byDigest.values());
        throw this.failure;
      }
    }
  }

  private fail(err: unknown): void {
    if (this.failure === undefined) this.failure = err;
    this.abort.abort();
  }

  private async unpack(job: LayerJob, parent: string): Promise<void> {
    const { unpacks } = this.deps;
    for (;;) {
      const running = unpacks.get(job.chainId);
      if (running === undefined) break;
      await running.catch(() => undefined);
    }
    // No await between the check above and this claim: one unpack per layer at a time.
    const work = this.unpackUnlessPresent(job, parent);
    unpacks.set(job.chainId, work);
    try {
      await work;
    } finally {
      if (unpacks.get(job.chainId) === work) unpacks.delete(job.chainId);
    }
    this.progress.update(job.id, 'Pull complete');
  }

  private async unpackUnlessPresent(job: LayerJob, parent: string): Promise<void> {
    if (await holdSnapshot(this.leased, job.chainId)) return;
    this.progress.update(job.id, 'Extracting', 0, job.descriptor.size);
    await unpackLayer(this.leased, job.descriptor, job.diffId, job.chainId, parent);
    this.progress.update(job.id, 'Extracting', job.descriptor.size, job.descriptor.size);
  }

  /** Gets the blob into the content store, sharing a download another pull already runs. */
  private async download(job: LayerJob): Promise<void> {
    const { digest } = job.descriptor;
    for (;;) {
      const running = this.deps.downloads.get(digest);
      if (running === undefined) break;
      await running.catch(() => undefined);
    }
    // No await between the check above and this claim: one download per blob.
    const work = this.downloadUnlessPresent(job);
    this.deps.downloads.set(digest, work);
    try {
      await work;
    } finally {
      if (this.deps.downloads.get(digest) === work) this.deps.downloads.delete(digest);
    }
  }

  private async downloadUnlessPresent(job: LayerJob): Promise<void> {
    if (await holdBlob(this.leased, job.descriptor.digest)) {
      this.progress.update(job.id, 'Download complete');
      return;
    }
    await this.fetchBlob(job);
  }

  private async fetchBlob(job: LayerJob): Promise<void> {
    const { ref } = this.options;
    const { digest, size } = job.descriptor;
    const blob = await this.deps.registry().fetchBlob(ref, job.descriptor, this.call);
    let reported = 0;
    let reportedAt = 0;
    const step = progressStep(size);
    const onProgress = (current: number): void => {
      const now = performance.now();
      const due = current - reported > step && now - reportedAt >= PROGRESS_INTERVAL_MS;
      if (reported === 0 || due || current === size) {
        reported = current;
        reportedAt = now;
        this.progress.update(job.id, 'Downloading', current, size);
      }
    };
    try {
      await this.leased.content.write(`berth-pull-${digest}`, blob, {
        expected: digest,
        total: size,
        labels: {
          [UNCOMPRESSED_LABEL]: job.diffId,
          [SOURCE_LABEL_PREFIX + ref.domain]: ref.path,
        },
        onProgress,
      });
    } catch (err) {
      blob.destroy();
      await this.leased.content.abort(`berth-pull-${digest}`).catch(() => undefined);
      if (
        err instanceof BlobVerificationError ||
        (isEngineError(err, 'Conflict') && /digest/.test(errorMessage(err)))
      ) {
        throw systemError(`filesystem layer verification failed for digest ${digest}`, err);
      }
      throw err;
    }
    this.progress.update(job.id, 'Verifying Checksum');
    this.progress.update(job.id, 'Download complete');
  }

  /** Points the tag (or digest) and the repository digest at the pulled image. */
  private async register(resolved: ResolvedImage, imageId: string): Promise<PulledImage> {
    const { ref } = this.options;
    const target = resolved.manifest.descriptor;
    const descriptor: Descriptor = { mediaType: target.mediaType, digest: target.digest, size: target.size };
    const name = recordNameOf(ref);
    const digestName = `${referenceName(ref)}@${resolved.descriptor.digest}`;
    const { store } = this.deps;
    return store.serialize(async () => {
      const updated = store.record(name)?.imageId !== imageId;
      for (const recordName of new Set([name, digestName])) {
        const existing = store.record(recordName);
        if (existing?.imageId === imageId && existing.target.digest === descriptor.digest) continue;
        await store.setRecord(recordName, descriptor);
      }
      return { name, imageId, updated };
    });
  }
}
