/**
 * What the container service needs from the rest of berthd, as small
 * interfaces: the daemon wires the real services in, tests may wire others.
 */
import type { ContainerdClient } from '../../containerd/client.js';
import type { ImageConfig, ImageConfigFile } from '../../types/image.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';
import type { VolumeCreateRequest } from '../../types/volume.js';
import type {
  AttachRequest,
  AttachResult,
  ContainerNetworkHooks,
  IsRunning,
  NetworkRef,
} from '../networks/types.js';
import type { VolumeMountInfo, VolumeUsage } from '../volumes/service.js';

/** An image as the container service sees it. */
export interface ResolvedImage {
  /** `sha256:<hex>` of the image config. */
  id: string;
  /** The reference it was found by, normalized (e.g. `docker.io/library/busybox:latest`), if any. */
  ref?: string;
  /**
   * The OCI image config: either the whole config file (with `rootfs`,
   * `architecture`, `config`...) or only its `config` section.
   */
  config: ImageConfigLike;
  /** Chain ID of the top layer: the committed snapshot containers are prepared from. */
  chainId: string;
  diffIds: string[];
}

export type ImageConfigLike = ImageConfigFile | ImageConfig;

/** The runtime part of an image's config, whichever shape the image service gives. */
export function runtimeConfigOf(image: ResolvedImage): ImageConfig {
  const config = image.config as { config?: ImageConfig; rootfs?: unknown; architecture?: unknown };
  if ('rootfs' in config || 'architecture' in config || 'os' in config) return config.config ?? {};
  return config as ImageConfig;
}

export interface ContainerImages {
  /**
   * NotFound "No such image: x" when there is none; with a platform, the
   * variant of a multi-platform image for it (NotFound when it has none).
   */
  resolveImage(refOrId: string, platform?: string): Promise<ResolvedImage>;
}

/**
 * Creating a new image from a container's changes (docker commit). The image
 * service owns image naming and storage; when it offers no such helper the
 * container service writes the image itself (see commit.ts).
 */
export interface ImageCommitter {
  commitImage?(input: CommitImageInput): Promise<{ id: string }>;
}

export interface CommitImageInput {
  /** The base image the container was created from. */
  parent: ResolvedImage;
  /** The new layer, already in the content store. */
  layer: { mediaType: string; digest: string; size: number; diffId: string };
  /** The new image config file, complete except for rootfs and history, which the committer extends. */
  config: Record<string, unknown>;
  history: Record<string, unknown>;
  /** `repo[:tag]` to name the image, or undefined for a dangling one. */
  reference?: string;
}

/** Where container events go (the daemon's events service). */
export interface EventSink {
  publish(type: string, action: string, id: string, attributes?: Record<string, string>): unknown;
}

/**
 * The network service as the container service uses it (NetworkService):
 * a container gets its network before its task starts and gives it back
 * once the task is gone.
 */
export interface ContainerNetworks {
  attachContainer(request: AttachRequest): Promise<AttachResult>;
  detachContainer(containerId: string): Promise<void>;
  connectContainer(
    containerId: string,
    networkTerm: string,
    settings?: EndpointSettings,
  ): Promise<EndpointSettings>;
  disconnectContainer(containerId: string, networkTerm: string, force?: boolean): Promise<void>;
  recordStoppedDisconnect(containerId: string, networkTerm: string): void;
  networkSettings(containerId: string): NetworkSettings | undefined;
  /** NotFound "network x not found". */
  findNetwork(term: string): NetworkRef;
  renameContainer(containerId: string, newName: string): Promise<void>;
  restore(isRunning: IsRunning): Promise<void>;
  setContainerHooks(hooks: ContainerNetworkHooks): void;
}

/** The volume service as the container service uses it (VolumeService). */
export interface ContainerVolumes {
  create(request: VolumeCreateRequest): Promise<{ Name: string; Mountpoint: string }>;
  has(name: string): boolean;
  dataPath(name: string): string;
  copyUp(name: string, rootfs: string, containerPath: string): Promise<boolean>;
  mountForContainer(name: string, containerId: string, info?: VolumeMountInfo): Promise<string>;
  restoreMount(name: string, containerId: string): Promise<string>;
  unmountForContainer(name: string, containerId: string): Promise<void>;
  remove(name: string, options?: { force?: boolean }): Promise<void>;
  noteChanged(name: string): void;
  setUsage(usage: VolumeUsage): void;
}

export interface ContainerDaemonSettings {
  dataRoot: string;
  execRoot: string;
  /** Default log driver and options for containers that do not choose one. */
  logDriver: string;
  logOpts: Record<string, string>;
  liveRestore: boolean;
  /** Runtime names the daemon knows (runc plus daemon.json runtimes). */
  runtimes: Record<string, { path: string; runtimeArgs?: string[] }>;
  defaultRuntime: string;
  shutdownTimeoutSeconds: number;
}

export interface ContainerServiceDeps {
  containerd: () => ContainerdClient;
  images: ContainerImages & ImageCommitter;
  events: EventSink;
  settings: () => ContainerDaemonSettings;
  networks?: ContainerNetworks;
  volumes?: ContainerVolumes;
  /** Host path of a static tini for `--init`. */
  initPath?: string;
}
