/**
 * The builder of berthd: `POST /build` (Docker's classic API, with BuildKit
 * semantics where they are better: only needed stages, parallel stages,
 * RUN --mount), the build cache with prune and disk usage, and the export
 * of a built filesystem. Engine code: it never sees HTTP.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createArchive } from '../archive/create.js';
import { openInRoot } from '../archive/resolve.js';
import { errorMessage, invalidParameter, notFound } from '../common/errors.js';
import { log } from '../common/log.js';
import type { ContainerdClient } from '../containerd/client.js';
import type { Descriptor } from '../containerd/types.js';
import { chainIds } from '../containerd/unpack.js';
import {
  LEASE_EXPIRY_MS,
  OPERATION_LEASE_LABEL,
  ociImage,
  storeLocalImage,
  storeLocalIndex,
  type IndexEntry,
} from '../engine/images/content.js';
import { formatPlatform, type PlatformSpec } from '../registry/platform.js';
import type { JSONMessage } from '../types/image.js';
import { danglingName, recordNameOf } from '../engine/images/references.js';
import { allChainIds } from '../engine/images/store.js';
import type { ImageService } from '../engine/images/service.js';
import {
  familiarString,
  parseNormalizedNamed,
  withDefaultTag,
  type ParsedReference,
} from '../registry/reference.js';
import type { BuildCacheRecord } from '../types/system.js';
import { BuildCache } from './cache/records.js';
import { CacheMountStore } from './cache/mounts.js';
import { ContextDigester } from './context/digest.js';
import { loadDockerignore } from './context/dockerignore.js';
import { receiveContext } from './context/receive.js';
import { parseStages } from './dockerfile/index.js';
import { Build } from './executor/build.js';
import { truncateId } from './executor/gofmt.js';
import type { BuildImage } from './executor/image.js';
import { OrderedOutput, type MessageSink } from './executor/output.js';
import { unmount, viewImage } from './executor/rootfs.js';
import type { BuildNetworking } from './executor/run.js';
import type { BuildRequest } from './executor/types.js';
import { planBuild } from './plan.js';

export type { BuildRequest } from './executor/types.js';
export { StepExitError } from './executor/stage.js';

export interface BuildServiceOptions {
  containerd: () => ContainerdClient;
  images: ImageService;
  networking?: BuildNetworking;
  dataRoot: string;
  execRoot: string;
  events?: {
    publish(type: string, action: string, id: string, attributes?: Record<string, string>): unknown;
  };
}

export interface BuildResult {
  /** The image ID ("sha256:…"). */
  id: string;
  tags: string[];
}

export interface PruneRequest {
  all: boolean;
  /** `until` filter: epoch ms. */
  until?: number;
  keepStorage?: number;
}

export interface BuildPruneResponse {
  CachesDeleted: string[] | null;
  SpaceReclaimed: number;
}

const DEFAULT_DOCKERFILE = 'Dockerfile';

export class BuildService {
  readonly cache: BuildCache;
  readonly cacheMounts: CacheMountStore;
  private readonly root: string;

  constructor(private readonly options: BuildServiceOptions) {
    this.root = path.join(options.dataRoot, 'build');
    this.cache = new BuildCache({
      dir: this.root,
      containerd: options.containerd,
      imageUsage: () => {
        const ids = new Set<string>();
        const chains = new Set<string>();
        for (const image of options.images.store.all()) {
          ids.add(image.id);
          for (const id of allChainIds(image)) chains.add(id);
          for (const variant of image.variants ?? []) ids.add(variant.configDescriptor.digest);
        }
        return { ids, chains };
      },
    });
    this.cacheMounts = new CacheMountStore(path.join(this.root, 'cache-mounts'));
  }

  async start(): Promise<void> {
    // A build cut short by a crash may have left mounts in its scratch space: never delete through them.
    const tmp = path.join(this.root, 'tmp');
    await unmountUnder(tmp);
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await this.cache.start();
    await this.cacheMounts.start();
  }

  async close(): Promise<void> {
    await this.cache.flush();
  }

  /** Parses a tag the way `docker build -t` needs it (default tag latest, no digest). */
  static parseTag(tag: string): ParsedReference {
    const ref = parseNormalizedNamed(tag);
    if (ref.digest !== undefined) throw invalidParameter('build tag cannot contain a digest');
    return withDefaultTag(ref);
  }

  /**
   * Builds from the context tar `body`, writing Docker's classic progress
   * messages to `sink`. Throws before writing anything for a bad request
   * or Dockerfile; later failures are thrown after the output so far.
   */
  async build(
    body: Readable,
    request: BuildRequest,
    sink: MessageSink,
    signal: AbortSignal,
  ): Promise<BuildResult> {
    const tags = request.tags.map((t) => BuildService.parseTag(t));
    const platforms = requestedPlatforms(request.platform);
    const buildId = randomBytes(12).toString('hex');
    const scratchDir = path.join(this.root, 'tmp', buildId);
    const contextDir = path.join(scratchDir, 'context');
    await fs.mkdir(scratchDir, { recursive: true, mode: 0o700 });
    const client = this.options.containerd();
    let lease: { id: string } | undefined;
    const builds: Build[] = [];
    // Each platform's stream comes out whole, in the order asked, while all build at once.
    const byPlatform = new OrderedOutput(sink);
    const channels = byPlatform.open(platforms.map((p) => p ?? ''));
    if (request.liveStages) for (const channel of channels) channel.goLive();
    const outputs = platforms.map((platform, i) => {
      const channelSink: MessageSink = (message) => channels[i].message(message);
      const tagged: MessageSink =
        platform !== undefined && platforms.length > 1 && request.liveStages
          ? (message) => {
              const stage = (message as { stage?: string }).stage ?? '';
              channelSink({ ...message, stage: `[${platform}] ${stage}`.trim() } as JSONMessage);
            }
          : channelSink;
      return new OrderedOutput(tagged, { live: request.liveStages });
    });
    const output = outputs[0];
    try {
      await receiveContext(body, contextDir);
      const { dockerfile, name } = await readDockerfile(contextDir, request.dockerfile);
      const parsed = parseStages(dockerfile);
      const plans = platforms.map((platform) =>
        planBuild(parsed, {
          buildArgs: request.buildArgs,
          target: request.target || undefined,
          platform,
        }),
      );
      const ignore = await loadDockerignore(contextDir, name);
      const digester = new ContextDigester(contextDir, { filter: ignore.filter });
      lease = await client.leases.create({
        expiresInMs: LEASE_EXPIRY_MS,
        labels: { [OPERATION_LEASE_LABEL]: 'build' },
      });
      const leased = client.withLease(lease.id);
      for (const warning of plans[0].warnings) output.message({ stream: `\u001b[91m${warning}\n\u001b[0m` });
      const results = await Promise.all(
        plans.map(async (plan, i) => {
          const platformScratch = platforms.length > 1 ? path.join(scratchDir, `platform-${i}`) : scratchDir;
          await fs.mkdir(platformScratch, { recursive: true, mode: 0o700 });
          if (platforms.length > 1) outputs[i].stream(`Building for ${platforms[i]}\n`);
          const build = new Build({
            leased,
            images: this.options.images,
            cache: this.cache,
            cacheMounts: this.cacheMounts,
            networking: this.options.networking,
            execRoot: this.options.execRoot,
            plan,
            request,
            contextDir,
            filter: ignore.filter,
            digester,
            scratchDir: platformScratch,
            output: outputs[i],
            signal,
            metaArgSteps: parsed.metaArgs.map((a) => a.original),
          });
          builds.push(build);
          try {
            const result = await build.run();
            if (result.image.id === '')
              throw invalidParameter('No image was generated. Is your Dockerfile empty?');
            return result;
          } finally {
            byPlatform.finish(i);
          }
        }),
      );
      if (plans[0].unusedBuildArgsWarning) output.stream(`${plans[0].unusedBuildArgsWarning}\n`);
      const finals = results.map((r) => r.image);
      let id: string;
      if (finals.length === 1) {
        id = finals[0].id;
        if (request.storeImage || tags.length > 0) await this.storeImage(leased, finals[0], tags);
      } else {
        const variants = results.map((r) => ({ image: r.image, platform: r.platform }));
        id = await this.storeMultiPlatform(leased, variants, tags, request.storeImage || tags.length > 0);
        sink({
          aux: {
            ID: id,
            Platforms: variants.map((v) => ({ Platform: formatPlatform(v.platform), ID: v.image.id })),
          },
        } as JSONMessage);
      }
      sink({ stream: `Successfully built ${truncateId(id)}\n` });
      for (const tag of tags) sink({ stream: `Successfully tagged ${familiarString(tag)}\n` });
      return { id, tags: tags.map((t) => familiarString(t)) };
    } catch (err) {
      byPlatform.flushAll();
      for (const each of outputs) each.flushAll();
      throw err;
    } finally {
      for (const build of builds) {
        await build.settle();
        build.release();
        await build.closeNetworks();
      }
      if (lease) await client.leases.delete(lease.id).catch(() => undefined);
      await fs
        .rm(scratchDir, { recursive: true, force: true })
        .catch((err: unknown) =>
          log.warn('removing build scratch space failed', { dir: scratchDir, error: errorMessage(err) }),
        );
    }
  }

  /** Stores the build's result as an image named by `tags` (a dangling image without tags). */
  private async storeImage(
    leased: ContainerdClient,
    final: BuildImage,
    tags: ParsedReference[],
  ): Promise<void> {
    const images = this.options.images;
    const existing = images.store.get(final.id);
    let manifest: Descriptor;
    if (existing) {
      manifest = existing.target;
    } else {
      const local = ociImage(final.config, final.layers);
      await storeLocalImage(leased, local);
      manifest = local.manifestDescriptor;
    }
    await this.nameImage(final.id, manifest, tags, existing !== undefined);
  }

  /**
   * Stores one image per platform and an index over them, named by `tags`
   * (dangling without tags) when `keep`; returns the index digest, the ID
   * of a multi-platform image.
   */
  private async storeMultiPlatform(
    leased: ContainerdClient,
    variants: { image: BuildImage; platform: PlatformSpec }[],
    tags: ParsedReference[],
    keep: boolean,
  ): Promise<string> {
    const entries: IndexEntry[] = [];
    for (const { image, platform } of variants) {
      const local = ociImage(image.config, image.layers);
      await storeLocalImage(leased, local);
      entries.push({ manifest: local.manifestDescriptor, platform });
    }
    const index = await storeLocalIndex(leased, entries);
    if (keep)
      await this.nameImage(
        index.digest,
        index,
        tags,
        this.options.images.store.get(index.digest) !== undefined,
      );
    return index.digest;
  }

  private async nameImage(
    id: string,
    target: Descriptor,
    tags: ParsedReference[],
    existed: boolean,
  ): Promise<void> {
    const images = this.options.images;
    await images.store.serialize(async () => {
      if (tags.length === 0 && !existed) await images.store.setRecord(danglingName(id), target);
      for (const tag of tags) await images.store.setRecord(recordNameOf(tag), target);
    });
    for (const tag of tags) images.logEvent(id, familiarString(tag), 'tag');
  }

  /** `POST /build/prune`: build cache records and cache mounts. */
  async prune(request: PruneRequest): Promise<BuildPruneResponse> {
    const records = await this.cache.prune({
      all: request.all,
      until: request.until,
      keepStorage: request.keepStorage,
    });
    const mounts =
      request.keepStorage && request.keepStorage > 0
        ? { deleted: [], reclaimed: 0 }
        : await this.cacheMounts.prune(request.until);
    const deleted = [
      ...records.deleted.map((k) => k.slice(0, 25)),
      ...mounts.deleted.map((k) => k.slice(0, 25)),
    ];
    const reclaimed = records.reclaimed + mounts.reclaimed;
    this.options.events?.publish('builder', 'prune', '', { reclaimed: String(reclaimed) });
    return { CachesDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: reclaimed };
  }

  /** Build cache entries as `GET /system/df` reports them. */
  async usage(): Promise<BuildCacheRecord[]> {
    const usage = this.cache.imageUsage();
    const byImage = new Map(this.cache.all().map((r) => [r.id, r.key.slice(0, 25)]));
    const out: BuildCacheRecord[] = this.cache.all().map((r) => {
      const parent = byImage.get(r.parent);
      return {
        ID: r.key.slice(0, 25),
        ...(parent ? { Parent: parent, Parents: [parent] } : { Parents: [] }),
        Type: 'regular',
        Description: r.description,
        InUse: this.cache.isInUse(r.key),
        Shared: this.cache.isShared(r, usage),
        Size: r.newLayer ? r.size : 0,
        CreatedAt: r.createdAt,
        LastUsedAt: r.lastUsedAt,
        UsageCount: r.usageCount,
      };
    });
    for (const mount of await this.cacheMounts.list()) {
      out.push({
        ID: mount.key.slice(0, 25),
        Parents: [],
        Type: 'exec.cachemount',
        Description: `cached mount ${mount.id}`,
        InUse: mount.inUse,
        Shared: false,
        Size: mount.size,
        CreatedAt: mount.createdAt,
        LastUsedAt: mount.lastUsedAt,
        UsageCount: mount.usageCount,
      });
    }
    return out;
  }

  /**
   * Writes a tar of the filesystem of image `id` (a built image or any
   * intermediate step still in the build cache) to `out`: what
   * `berth build --output` exports.
   */
  async exportFilesystem(id: string): Promise<(out: Writable) => Promise<void>> {
    const full = id.startsWith('sha256:') ? id : `sha256:${id}`;
    const diffIds =
      this.options.images.store.get(full)?.diffIds ?? this.cache.byImageId(full)?.config.rootfs.diff_ids;
    if (!diffIds) throw notFound(`No such image: ${id}`);
    return async (out) => {
      const client = this.options.containerd();
      const lease = await client.leases.create({
        expiresInMs: 3600_000,
        labels: { [OPERATION_LEASE_LABEL]: 'export' },
      });
      const scratch = path.join(this.root, 'tmp', `export-${randomBytes(6).toString('hex')}`);
      await fs.mkdir(scratch, { recursive: true, mode: 0o700 });
      try {
        const view = await viewImage(client.withLease(lease.id), chainIds(diffIds).pop() ?? '', scratch);
        try {
          await pipeline(await createArchive(view.root, '/.'), out);
        } finally {
          await view.release();
        }
      } finally {
        await client.leases.delete(lease.id).catch(() => undefined);
        await fs.rm(scratch, { recursive: true, force: true }).catch(() => undefined);
      }
    };
  }
}

/** `platform=a,b`: each platform once, in the order given; none asked means the default one. */
export function requestedPlatforms(platform: string | undefined): (string | undefined)[] {
  const list = [
    ...new Set(
      (platform ?? '')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  ];
  return list.length > 0 ? list : [undefined];
}

async function unmountUnder(dir: string): Promise<void> {
  const mountInfo = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const targets = mountInfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((target): target is string => target !== undefined && target.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length);
  for (const target of targets) await unmount(target);
}

/** The Dockerfile at `name` in the context (resolved inside it); `Dockerfile` falls back to `dockerfile`. */
async function readDockerfile(
  contextDir: string,
  requested: string,
): Promise<{ dockerfile: Buffer; name: string }> {
  const name = requested || DEFAULT_DOCKERFILE;
  const candidates = requested ? [name] : [DEFAULT_DOCKERFILE, 'dockerfile'];
  for (const candidate of candidates) {
    const at = await openInRoot(contextDir, '/' + candidate, {
      followFinalSymlink: true,
      allowMissing: true,
    }).catch(() => undefined);
    if (!at) continue;
    try {
      if (!at.exists || !(await at.lstat()).isFile()) continue;
      const dockerfile = await fs.readFile(at.procPath());
      if (dockerfile.toString('utf8').trim() === '')
        throw invalidParameter(`the Dockerfile (${candidate}) cannot be empty`);
      return { dockerfile, name: candidate };
    } finally {
      await at.close();
    }
  }
  throw invalidParameter(`Cannot locate specified Dockerfile: ${name}`);
}
