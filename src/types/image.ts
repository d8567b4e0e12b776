/**
 * Docker Engine API image models (API v1.41, later additions marked by
 * version), plus the OCI image configuration the runtime reads. Field names are
 * exactly as on the wire.
 */
import type { ContainerConfig, GraphDriverData, HealthConfig } from './container.js';

/**
 * The runtime part of an image configuration (`config` of the OCI image config
 * JSON), with Docker's extensions (Healthcheck, OnBuild, Shell).
 */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  OnBuild?: string[] | null;
  Shell?: string[] | null;
}

export interface ImageHistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/**
 * The image configuration blob (`application/vnd.oci.image.config.v1+json`,
 * or Docker's `application/vnd.docker.container.image.v1+json`).
 */
export interface ImageConfigFile {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: ImageHistoryEntry[];
  /** Docker-only legacy fields. */
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
}

export interface ImageRootFS {
  Type: string;
  Layers?: string[];
  BaseLayer?: string;
}

/** An OCI descriptor, as used in API 1.48+ image fields. */
export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: {
    architecture: string;
    os: string;
    'os.version'?: string;
    'os.features'?: string[];
    variant?: string;
  };
  artifactType?: string;
}

/** `GET /images/{name}/json`. */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  /** Removed in API 1.45. */
  Container?: string;
  /** Removed in API 1.45. */
  ContainerConfig?: ContainerConfig | null;
  DockerVersion: string;
  Author: string;
  Config: ContainerConfig | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  /** Removed in API 1.44. */
  VirtualSize?: number;
  GraphDriver: GraphDriverData;
  RootFS: ImageRootFS;
  Metadata: {
    /** RFC 3339; omitted when never tagged. */
    LastTagTime?: string;
  };
  /** API 1.48+. */
  Descriptor?: OciDescriptor;
}

/** An entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  /** Unix seconds. */
  Created: number;
  Size: number;
  /** -1 unless computed (`system df`). */
  SharedSize: number;
  /** Removed in API 1.44. */
  VirtualSize?: number;
  Labels: Record<string, string>;
  /** -1 unless computed (`system df`). */
  Containers: number;
}

/** An entry of `GET /images/{name}/history`. */
export interface HistoryItem {
  /** Image ID or `<missing>`. */
  Id: string;
  /** Unix seconds. */
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export interface ImageDeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

export interface ImagePruneResponse {
  ImagesDeleted: ImageDeleteResponseItem[] | null;
  SpaceReclaimed: number;
}

export interface ImageSearchResult {
  name: string;
  description: string;
  star_count: number;
  is_official: boolean;
  /** Deprecated, always false. */
  is_automated: boolean;
}

/**
 * One line of the JSON progress streams (pull, push, load, build, import):
 * Docker's jsonmessage.JSONMessage.
 */
export interface JSONMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number; start?: number; hidecounts?: boolean; units?: string };
  stream?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  error?: string;
  errorDetail?: { code?: number; message: string };
  aux?: unknown;
}
