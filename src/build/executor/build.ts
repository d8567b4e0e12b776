/**
 * One build: the plan's stages started together, each waiting only for the
 * stages it depends on (so independent stages run in parallel and stages
 * the target does not need are never built), base images resolved or pulled
 * once per build, step results looked up in and added to the build cache.
 */
import type { ContainerdClient } from '../../containerd/client.js';
import { invalidParameter } from '../../common/errors.js';
import type { ImageService } from '../../engine/images/service.js';
import { ProgressWriter } from '../../engine/images/progress.js';
import { imageForPlatform } from '../../engine/images/store.js';
import { credentialsKey, parseNormalizedNamed, withDefaultTag } from '../../registry/reference.js';
import { formatPlatform, type PlatformSpec } from '../../registry/platform.js';
import type { BuildCache } from '../cache/records.js';
import type { CacheMountStore } from '../cache/mounts.js';
import type { ContextDigester } from '../context/digest.js';
import type { ContextFilter } from '../context/dockerignore.js';
import type { BuildPlan, PlannedStage, StageSource } from '../plan.js';
import { chainIds } from '../../containerd/unpack.js';
import { withId, type BuildImage } from './image.js';
import type { OrderedOutput, StageChannel } from './output.js';
import { viewImage } from './rootfs.js';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { BuildHostSettings, BuildNetworking, BuildSandbox } from './run.js';
import { StageBuilder, type ExtraLabel } from './stage.js';
import type { BuildRequest, BuildRun, StageResult, StageView } from './types.js';

export interface BuildSetup {
  leased: ContainerdClient;
  images: ImageService;
  cache: BuildCache;
  cacheMounts: CacheMountStore;
  networking?: BuildNetworking;
  execRoot: string;
  plan: BuildPlan;
  request: BuildRequest;
  contextDir: string;
  filter: ContextFilter;
  digester: ContextDigester;
  scratchDir: string;
  output: OrderedOutput;
  signal: AbortSignal;
  /** Global ARG steps printed before the first stage. */
  metaArgSteps: string[];
}

export class Build implements BuildRun {
  readonly leased: ContainerdClient;
  readonly plan: BuildPlan;
  readonly request: BuildRequest;
  readonly contextDir: string;
  readonly filter: ContextFilter;
  readonly digester: ContextDigester;
  readonly scratchDir: string;
  readonly cacheMounts: CacheMountStore;
  private readonly networking?: BuildNetworking;
  readonly execRoot: string;
  readonly signal: AbortSignal;
  private readonly results = new Map<number, Promise<StageResult>>();
  private readonly builders = new Map<number, () => Promise<StageResult>>();
  private readonly pulls = new Map<string, Promise<BuildImage>>();
  private readonly releaseHolds: (() => void)[] = [];
  private readonly sandboxes = new Map<string, Promise<BuildSandbox | undefined>>();
  /** Sandbox IDs attached to networks, detached when the build ends. */
  private readonly attached: string[] = [];

  constructor(private readonly setup: BuildSetup) {
    this.leased = setup.leased;
    this.plan = setup.plan;
    this.request = setup.request;
    this.contextDir = setup.contextDir;
    this.filter = setup.filter;
    this.digester = setup.digester;
    this.scratchDir = setup.scratchDir;
    this.cacheMounts = setup.cacheMounts;
    this.networking = setup.networking;
    this.execRoot = setup.execRoot;
    this.signal = setup.signal;
  }

  get host(): BuildHostSettings {
    return this.request.host;
  }

  /** Runs every needed stage; resolves with the target stage's result. */
  async run(): Promise<StageResult> {
    const { plan, output } = this.setup;
    const stages = plan.stages;
    const labels: ExtraLabel[] = Object.keys(this.request.labels)
      .sort()
      .map((key) => ({ key, value: this.request.labels[key] }));
    this.totalSteps =
      this.setup.metaArgSteps.length + stages.reduce((sum, s) => sum + stepsOf(s), 0) + labels.length;
    for (const text of this.setup.metaArgSteps)
      output.stream(`Step ${this.nextStep++}/${this.totalSteps} : ${text}\n`);
    const channels = output.open(stages.map((s) => s.displayName));
    stages.forEach((planned, order) => {
      const isTarget = planned.index === plan.target.index;
      this.addBuilder(planned, channels[order], order, isTarget ? labels : []);
    });
    const all = stages.map((s) => this.stage(s.index));
    // A failure anywhere fails the build; other stages may still be running and are awaited by the caller's cleanup.
    await Promise.all(all);
    return this.stage(plan.target.index);
  }

  private totalSteps = 0;
  private nextStep = 1;

  private addBuilder(
    planned: PlannedStage,
    channel: StageChannel,
    order: number,
    labels: ExtraLabel[],
  ): void {
    const first = this.nextStep;
    this.nextStep += stepsOf(planned);
    const builder = new StageBuilder(this, planned, channel, first, this.totalSteps, labels);
    this.builders.set(planned.index, async () => {
      try {
        return await builder.run();
      } finally {
        this.setup.output.finish(order);
      }
    });
  }

  /**
   * A stage the plan left out because only an ONBUILD trigger of a base
   * image names it (the plan cannot see inside base images): built when the
   * trigger asks, numbered after the planned steps.
   */
  private addOnDemandBuilder(index: number): boolean {
    const planned = this.plan.allStages[index];
    if (!planned) return false;
    const order = this.setup.plan.stages.length + this.onDemand++;
    const [channel] = this.setup.output.open([planned.displayName]);
    this.totalSteps += stepsOf(planned);
    this.addBuilder(planned, channel, order, []);
    return true;
  }

  private onDemand = 0;

  stage(index: number): Promise<StageResult> {
    let result = this.results.get(index);
    if (!result) {
      if (!this.builders.has(index)) this.addOnDemandBuilder(index);
      const builder = this.builders.get(index);
      if (!builder) return Promise.reject(invalidParameter(`stage ${index} is not part of this build`));
      result = builder();
      result.catch(() => undefined);
      this.results.set(index, result);
    }
    return result;
  }

  /** Waits for every started stage to settle (after a failure, before cleaning up). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.results.values()]);
  }

  async baseImage(ref: string, platform: PlatformSpec, channel: StageChannel): Promise<BuildImage> {
    const memo = `${ref}|${formatPlatform(platform)}`;
    let pending = this.pulls.get(memo);
    if (!pending) {
      pending = this.resolveBase(ref, platform, channel);
      this.pulls.set(memo, pending);
    }
    return pending;
  }

  private async resolveBase(
    name: string,
    platform: PlatformSpec,
    channel: StageChannel,
  ): Promise<BuildImage> {
    const images = this.setup.images;
    const local = (): BuildImage | undefined => {
      try {
        const variant = imageForPlatform(images.lookup(name).image, platform);
        return variant ? withId(variant.config, variant.layers) : undefined;
      } catch {
        return undefined;
      }
    };
    const found = this.request.pull ? undefined : local();
    if (found) return found;
    let ref;
    try {
      ref = withDefaultTag(parseNormalizedNamed(name));
    } catch {
      ref = undefined;
    }
    if (!ref) throw invalidParameter(`invalid reference format: ${name}`);
    const credentials =
      this.request.credentials[credentialsKey(ref.domain)] ?? this.request.credentials[ref.domain];
    await images.pull(
      { ref, platform, credentials, signal: this.signal },
      new ProgressWriter((message) => channel.message(message)),
    );
    const pulled = local();
    if (!pulled)
      throw invalidParameter(`no image for platform ${formatPlatform(platform)} found for ${name}`);
    return pulled;
  }

  async view(source: StageSource, platform: PlatformSpec, channel: StageChannel): Promise<StageView> {
    const image =
      source.kind === 'stage'
        ? (await this.stage(source.index)).image
        : await this.baseImage(source.ref, platform, channel);
    const chains = chainIds(image.config.rootfs.diff_ids);
    return { image, view: await viewImage(this.leased, chains[chains.length - 1] ?? '', this.scratchDir) };
  }

  /**
   * One network attachment per build and mode, shared by its RUN steps (as
   * BuildKit keeps a pool of namespaces): attaching costs far more than a
   * step usually runs.
   */
  sandbox(networkMode: string): Promise<BuildSandbox | undefined> {
    const networking = this.networking;
    if (!networking) return Promise.resolve(undefined);
    const mode = networkMode === 'default' || networkMode === '' ? 'bridge' : networkMode;
    let pending = this.sandboxes.get(mode);
    if (!pending) {
      const id = `build-${randomBytes(16).toString('hex')}`;
      const hostname = id.slice(6, 18);
      pending = networking
        .attachContainer({
          containerId: id,
          containerName: id,
          hostname,
          networkMode: mode,
          extraHosts: this.request.host.extraHosts ?? [],
          filesDir: path.join(this.scratchDir, id),
        })
        .then((result) => {
          this.attached.push(id);
          return {
            netnsPath: result.netnsPath,
            hostsPath: result.hostsPath,
            resolvConfPath: result.resolvConfPath,
            hostname,
            networkMode: mode,
          };
        });
      this.sandboxes.set(mode, pending);
    }
    return pending;
  }

  /** Detaches the build's network sandboxes. */
  async closeNetworks(): Promise<void> {
    await Promise.allSettled([...this.sandboxes.values()]);
    for (const id of this.attached.splice(0))
      await this.networking?.detachContainer(id).catch(() => undefined);
  }

  private sources?: Promise<BuildImage[]>;

  cacheSources(): Promise<BuildImage[]> {
    this.sources ??= (async () => {
      const found: BuildImage[] = [];
      for (const ref of this.request.cacheFrom) {
        try {
          const { image } = this.setup.images.lookup(ref);
          found.push(withId(image.config, image.layers));
        } catch {
          // Docker ignores cache sources it does not have.
        }
      }
      return found;
    })();
    return this.sources;
  }

  async cached(key: string): Promise<BuildImage | undefined> {
    if (this.request.noCache) return undefined;
    const record = await this.setup.cache.lookup(key);
    if (!record) return undefined;
    this.releaseHolds.push(this.setup.cache.hold([key]));
    // Layers the build will reference must stay while it runs.
    const top = chainIds(record.config.rootfs.diff_ids).pop();
    if (top)
      await this.leased.leases.addResource(this.leased.leaseId!, { id: top, type: 'snapshots/overlayfs' });
    return { id: record.id, config: record.config, layers: record.layers };
  }

  async remember(
    key: string,
    parent: BuildImage,
    image: BuildImage,
    newLayer: boolean,
    description: string,
  ): Promise<void> {
    let size = 0;
    if (newLayer) {
      const top = chainIds(image.config.rootfs.diff_ids).pop();
      if (top) size = (await this.leased.snapshots.usage(top).catch(() => ({ size: 0 }))).size;
    }
    const now = new Date().toISOString();
    this.releaseHolds.push(this.setup.cache.hold([key]));
    await this.setup.cache.add({
      key,
      parent: parent.id,
      id: image.id,
      config: image.config,
      layers: image.layers,
      newLayer,
      description,
      size,
      createdAt: now,
      lastUsedAt: now,
      usageCount: 0,
    });
  }

  /** Lets go of the cache records this build used. */
  release(): void {
    for (const release of this.releaseHolds.splice(0)) release();
  }
}

/** Steps a stage prints: its FROM and each instruction. */
function stepsOf(planned: PlannedStage): number {
  return 1 + planned.stage.instructions.length;
}
