/** What the stage executor needs from the build it belongs to. */
import type { ContainerdClient } from '../../containerd/client.js';
import type { RegistryCredentials } from '../../registry/auth.js';
import type { PlatformSpec } from '../../registry/platform.js';
import type { CacheMountStore } from '../cache/mounts.js';
import type { ContextDigester } from '../context/digest.js';
import type { ContextFilter } from '../context/dockerignore.js';
import type { BuildArgs, BuildPlan, StageScope, StageSource } from '../plan.js';
import type { BuildImage, RunConfig } from './image.js';
import type { StageChannel } from './output.js';
import type { ImageView } from './rootfs.js';
import type { BuildHostSettings, BuildSandbox } from './run.js';

/** A build as the API describes it (after parsing the request). */
export interface BuildRequest {
  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  dockerfile: string;
  tags: string[];
  buildArgs: BuildArgs;
  target?: string;
  /** `--label`s, added as LABEL steps to the target stage. */
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  /** Target platform, e.g. linux/amd64 (default: this host). */
  platform?: string;
  /** RUN containers' network: default (bridge), none, host or a network name. */
  networkMode: string;
  host: BuildHostSettings;
  /** Credentials per registry (X-Registry-Config). */
  credentials: Record<string, RegistryCredentials>;
  /** `berth build --secret`: id to content. */
  secrets: Map<string, Buffer>;
  /** Images whose history may serve as cache. */
  cacheFrom: string[];
  /** Store and name the result as an image (false when only exporting its filesystem). */
  storeImage: boolean;
  /** Stream each stage's messages live, tagged with the stage (berth's progress view). */
  liveStages?: boolean;
}

export interface StageResult {
  image: BuildImage;
  runConfig: RunConfig;
  scope: StageScope;
  platform: PlatformSpec;
}

export interface StageView {
  image: BuildImage;
  view: ImageView;
}

export interface BuildRun {
  readonly leased: ContainerdClient;
  readonly plan: BuildPlan;
  readonly request: BuildRequest;
  readonly contextDir: string;
  readonly filter: ContextFilter;
  readonly digester: ContextDigester;
  readonly scratchDir: string;
  readonly cacheMounts: CacheMountStore;
  readonly execRoot: string;
  readonly signal: AbortSignal;
  /** The result of stage `index`, building it if needed. */
  stage(index: number): Promise<StageResult>;
  /** An image by reference, pulled when missing (or always with --pull). */
  baseImage(ref: string, platform: PlatformSpec, channel: StageChannel): Promise<BuildImage>;
  /** A read-only view of a stage's result or of an image. */
  view(source: StageSource, platform: PlatformSpec, channel: StageChannel): Promise<StageView>;
  /** The network namespace RUN steps share for a network mode (undefined: only lo). */
  sandbox(networkMode: string): Promise<BuildSandbox | undefined>;
  /** The `cachefrom` images found locally. */
  cacheSources(): Promise<BuildImage[]>;
  /** A cached step result (never with --no-cache). */
  cached(key: string): Promise<BuildImage | undefined>;
  /** Records a step's result in the build cache. */
  remember(
    key: string,
    parent: BuildImage,
    image: BuildImage,
    newLayer: boolean,
    description: string,
  ): Promise<void>;
}
