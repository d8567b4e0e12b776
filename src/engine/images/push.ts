/**
 * `docker push`: every layer (top first) is checked in the registry, mounted
 * from another repository of the same registry when one is known to hold it,
 * or uploaded (max-concurrent-uploads at once); then the config and the very
 * manifest berth stored, so the pushed digest is the pulled one. Progress is
 * Docker's JSON stream, ending with "tag: digest: sha256:… size: N".
 */
import { Transform, pipeline, type Readable } from 'node:stream';
import { systemError } from '../../common/errors.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { RegistryCredentials } from '../../registry/auth.js';
import type { RegistryClient } from '../../registry/client.js';
import type { Descriptor } from '../../containerd/types.js';
import { FOREIGN_LAYER_MEDIA_TYPES, isIndexMediaType } from '../../registry/media-types.js';
import {
  familiarName,
  familiarString,
  parseNormalizedNamed,
  referenceName,
  withTag,
  type ParsedReference,
} from '../../registry/reference.js';
import { recordSource, sourcesOf } from './content.js';
import { Limiter } from './limiter.js';
import { progressStep, type ProgressWriter } from './progress.js';
import { isTagRef, recordNameOf, shortId } from './references.js';
import type { ImageStore, StoredImage } from './store.js';

export interface PushDeps {
  containerd: () => ContainerdClient;
  store: ImageStore;
  registry: () => RegistryClient;
  maxConcurrentUploads: () => number;
}

export interface PushOptions {
  name: string;
  tag: string;
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
}

/** The reference to push: a tag, or the bare repository (all its tags). */
export function pushReference(name: string, tag: string): ParsedReference {
  const ref = parseNormalizedNamed(name);
  if (tag !== '') return withTag({ domain: ref.domain, path: ref.path }, tag);
  if (ref.digest !== undefined) throw systemError('cannot push a digest reference');
  return ref;
}

/** Pushes; returns the reference pushed (for the push event). */
export async function push(
  deps: PushDeps,
  options: PushOptions,
  progress: ProgressWriter,
): Promise<ParsedReference> {
  const ref = pushReference(options.name, options.tag);
  const repo = { domain: ref.domain, path: ref.path };
  progress.status(`The push refers to repository [${referenceName(ref)}]`);
  const tagged = deps.store
    .allRecords()
    .filter((r) => r.ref && isTagRef(r.ref) && referenceName(r.ref) === referenceName(ref));
  if (tagged.length === 0)
    throw systemError(`An image does not exist locally with the tag: ${familiarName(ref)}`);
  let targets = tagged;
  if (ref.tag !== undefined) {
    targets = tagged.filter((r) => r.ref!.tag === ref.tag);
    if (targets.length === 0) throw systemError(`tag does not exist: ${familiarString(ref)}`);
  }
  for (const record of targets.sort((a, b) => a.name.localeCompare(b.name))) {
    const image = deps.store.get(record.imageId);
    if (!image) continue;
    await new TagPush(deps, options, progress, { ...repo, tag: record.ref!.tag }, image, record.target).run();
  }
  return ref;
}

class TagPush {
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: PushDeps,
    private readonly options: PushOptions,
    private readonly progress: ProgressWriter,
    private readonly ref: ParsedReference & { tag?: string },
    private readonly image: StoredImage,
    private readonly target: Descriptor,
  ) {
    options.signal?.addEventListener('abort', () => this.abort.abort(options.signal?.reason), { once: true });
  }

  private get call() {
    return { credentials: this.options.credentials, signal: this.abort.signal };
  }

  async run(): Promise<void> {
    const client = this.deps.containerd();
    const tag = this.ref.tag ?? 'latest';
    const top = await client.content.readAll(this.target.digest);
    let mediaType: string;
    if (isIndexMediaType(this.target.mediaType)) {
      // A multi-platform image: every platform's manifest by digest, then the index by tag.
      for (const variant of this.image.variants ?? []) {
        await this.pushManifest(variant.manifest, variant.diffIds, variant.manifest.digest);
      }
      mediaType = this.target.mediaType;
    } else {
      mediaType = await this.pushManifest(this.target, this.image.diffIds);
    }
    const pushed = await this.deps.registry().putManifest(this.ref, tag, mediaType, top, this.call);
    this.progress.status(`${tag}: digest: ${pushed.digest} size: ${top.length}`);
    this.progress.aux({ Tag: tag, Digest: pushed.digest, Size: top.length });
    await recordSource(client, this.target.digest, this.ref.domain, this.ref.path);
    const digestName = recordNameOf({ domain: this.ref.domain, path: this.ref.path, digest: pushed.digest });
    await this.deps.store.serialize(async () => {
      if (this.deps.store.record(digestName)?.imageId !== this.image.id) {
        await this.deps.store.setRecord(digestName, { ...this.target, size: top.length });
      }
    });
  }

  /**
   * Pushes a manifest's layers and config, and the manifest itself when
   * `reference` (its digest) is given; returns its media type.
   */
  private async pushManifest(descriptor: Descriptor, diffIds: string[], reference?: string): Promise<string> {
    const client = this.deps.containerd();
    const manifestBytes = await client.content.readAll(descriptor.digest);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as {
      mediaType?: string;
      config: { digest: string; size: number; mediaType: string };
      layers: { digest: string; size: number; mediaType: string }[];
    };
    await this.pushLayers(manifest.layers, diffIds);
    await this.pushBlob(manifest.config.digest, manifest.config.size);
    const mediaType = manifest.mediaType ?? descriptor.mediaType;
    if (reference !== undefined) {
      await this.deps.registry().putManifest(this.ref, reference, mediaType, manifestBytes, this.call);
      await recordSource(client, descriptor.digest, this.ref.domain, this.ref.path);
    }
    return mediaType;
  }

  /** Layers top first, as Docker lists them, ids from their diff IDs. */
  private async pushLayers(
    layers: { digest: string; size: number; mediaType: string }[],
    diffIds: string[],
  ): Promise<void> {
    const limiter = new Limiter(this.deps.maxConcurrentUploads());
    const jobs = layers
      .map((layer, index) => ({ layer, id: shortId(diffIds[index] ?? layer.digest) }))
      .filter((job) => !FOREIGN_LAYER_MEDIA_TYPES.includes(job.layer.mediaType))
      .reverse();
    for (const job of jobs) this.progress.update(job.id, 'Preparing');
    const seen = new Map<string, Promise<void>>();
    const uploads: Promise<void>[] = [];
    for (const job of jobs) {
      let upload = seen.get(job.layer.digest);
      if (upload === undefined) {
        if (limiter.saturated) this.progress.update(job.id, 'Waiting');
        upload = limiter.run(() => this.pushLayer(job.id, job.layer.digest, job.layer.size));
        seen.set(job.layer.digest, upload);
      }
      uploads.push(upload);
    }
    const results = await Promise.allSettled(
      uploads.map((u) =>
        u.catch((err: unknown) => {
          this.abort.abort();
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async pushLayer(id: string, digest: string, size: number): Promise<void> {
    const client = this.deps.containerd();
    const info = await client.content.tryInfo(digest);
    if (!info)
      throw systemError(`layer ${digest} is not in the content store; pull the image again to push it`);
    const candidates = sourcesOf(info, this.ref.domain).filter((path) => path !== this.ref.path);
    const result = await this.deps
      .registry()
      .uploadBlob(this.ref, digest, size, () => this.readWithProgress(id, digest, size), {
        ...this.call,
        mountFrom: candidates[0],
      });
    if (result.existed) this.progress.update(id, 'Layer already exists');
    else if (result.mounted) {
      this.progress.update(
        id,
        `Mounted from ${familiarName({ domain: this.ref.domain, path: candidates[0] })}`,
      );
    } else this.progress.update(id, 'Pushed');
    await recordSource(client, digest, this.ref.domain, this.ref.path, info);
  }

  private readWithProgress(id: string, digest: string, size: number): Readable {
    const source = this.deps.containerd().content.read(digest);
    let current = 0;
    let reported = 0;
    const step = progressStep(size);
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        current += chunk.length;
        if (reported === 0 || current - reported > step || current === size) {
          reported = current;
          this.progress.update(id, 'Pushing', current, size);
        }
        callback(null, chunk);
      },
    });
    pipeline(source, counter, () => undefined);
    return counter;
  }

  private async pushBlob(digest: string, size: number): Promise<void> {
    const client = this.deps.containerd();
    await this.deps
      .registry()
      .uploadBlob(this.ref, digest, size, () => client.content.read(digest), this.call);
  }
}
