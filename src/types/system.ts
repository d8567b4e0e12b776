/**
 * Docker Engine API system models: info, version, events, disk usage, auth
 * (API v1.41, later additions marked by version). Field names are exactly as on
 * the wire.
 */
import type { ContainerSummary } from './container.js';
import type { ImageSummary } from './image.js';
import type { Volume } from './volume.js';

export interface PluginsInfo {
  Volume: string[] | null;
  Network: string[] | null;
  Authorization: string[] | null;
  Log: string[] | null;
}

export interface IndexInfo {
  Name: string;
  Mirrors: string[];
  Secure: boolean;
  Official: boolean;
}

export interface RegistryServiceConfig {
  /** Removed in API 1.49. */
  AllowNondistributableArtifactsCIDRs?: string[] | null;
  /** Removed in API 1.49. */
  AllowNondistributableArtifactsHostnames?: string[] | null;
  InsecureRegistryCIDRs: string[] | null;
  IndexConfigs: Record<string, IndexInfo>;
  Mirrors: string[] | null;
}

export interface RuntimeInfo {
  path: string;
  runtimeArgs?: string[];
  /** API 1.45+. */
  status?: Record<string, string>;
}

/** Commit of an external component (containerd, runc, init). */
export interface Commit {
  ID: string;
  /** Removed in API 1.48. */
  Expected?: string;
}

export type LocalNodeState = '' | 'inactive' | 'pending' | 'active' | 'error' | 'locked';

export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: unknown;
}

export interface NetworkAddressPool {
  Base: string;
  Size: number;
}

/** `GET /info`. */
export interface SystemInfo {
  ID: string;
  Containers: number;
  ContainersRunning: number;
  ContainersPaused: number;
  ContainersStopped: number;
  Images: number;
  Driver: string;
  DriverStatus: [string, string][] | null;
  Plugins: PluginsInfo;
  MemoryLimit: boolean;
  SwapLimit: boolean;
  /** Removed in API 1.42. */
  KernelMemory?: boolean;
  KernelMemoryTCP?: boolean;
  CpuCfsPeriod: boolean;
  CpuCfsQuota: boolean;
  CPUShares: boolean;
  CPUSet: boolean;
  PidsLimit: boolean;
  IPv4Forwarding: boolean;
  /** Removed in API 1.48. */
  BridgeNfIptables?: boolean;
  /** Removed in API 1.48. */
  BridgeNfIp6tables?: boolean;
  Debug: boolean;
  NFd: number;
  OomKillDisable: boolean;
  NGoroutines: number;
  /** RFC 3339 with nanoseconds. */
  SystemTime: string;
  LoggingDriver: string;
  CgroupDriver: 'cgroupfs' | 'systemd' | 'none';
  CgroupVersion?: '1' | '2';
  NEventsListener: number;
  KernelVersion: string;
  OperatingSystem: string;
  OSVersion: string;
  OSType: string;
  Architecture: string;
  IndexServerAddress: string;
  RegistryConfig: RegistryServiceConfig | null;
  NCPU: number;
  MemTotal: number;
  GenericResources: unknown[] | null;
  DockerRootDir: string;
  HttpProxy: string;
  HttpsProxy: string;
  NoProxy: string;
  Name: string;
  Labels: string[];
  ExperimentalBuild: boolean;
  ServerVersion: string;
  /** Removed in API 1.42. */
  ClusterStore?: string;
  /** Removed in API 1.42. */
  ClusterAdvertise?: string;
  Runtimes: Record<string, RuntimeInfo>;
  DefaultRuntime: string;
  Swarm: SwarmInfo;
  LiveRestoreEnabled: boolean;
  Isolation: '' | 'default' | 'hyperv' | 'process';
  InitBinary: string;
  ContainerdCommit: Commit;
  RuncCommit: Commit;
  InitCommit: Commit;
  SecurityOptions: string[];
  ProductLicense?: string;
  DefaultAddressPools?: NetworkAddressPool[];
  /** API 1.44+. */
  CDISpecDirs?: string[];
  /** API 1.46+. */
  Containerd?: { Address: string; Namespaces: { Containers: string; Plugins: string } };
  Warnings: string[] | null;
}

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

/** `GET /version`. */
export interface SystemVersion {
  Platform?: { Name: string };
  Components?: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
  Experimental?: boolean;
  /** RFC 3339. */
  BuildTime?: string;
}

export type EventType =
  | 'builder'
  | 'config'
  | 'container'
  | 'daemon'
  | 'image'
  | 'network'
  | 'node'
  | 'plugin'
  | 'secret'
  | 'service'
  | 'volume';

export interface EventActor {
  ID: string;
  Attributes: Record<string, string>;
}

/** One object of the `GET /events` stream. */
export interface EventMessage {
  /** Deprecated mirrors of Action / Actor.ID / Actor.Attributes.image, still sent for containers and images. */
  status?: string;
  id?: string;
  from?: string;
  Type: EventType;
  Action: string;
  Actor: EventActor;
  scope?: 'local' | 'swarm';
  /** Unix seconds. */
  time?: number;
  /** Unix nanoseconds (beyond 2^53, so precision is lost in a JS number). */
  timeNano?: number;
}

export interface BuildCacheRecord {
  ID: string;
  Parent?: string;
  /** API 1.42+. */
  Parents?: string[];
  Type: string;
  Description: string;
  InUse: boolean;
  Shared: boolean;
  Size: number;
  CreatedAt: string;
  LastUsedAt: string | null;
  UsageCount: number;
}

/** `GET /system/df`. */
export interface SystemDataUsage {
  LayersSize: number;
  /** Each list is null when its type was not asked for. */
  Images: ImageSummary[] | null;
  Containers: ContainerSummary[] | null;
  Volumes: Volume[] | null;
  BuildCache: BuildCacheRecord[] | null;
  /** Deprecated. */
  BuilderSize?: number;
}

/** Body of `POST /auth`, and the decoded `X-Registry-Auth` header. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  /** Deprecated. */
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface AuthResponse {
  Status: string;
  IdentityToken?: string;
}

/** The JSON body of every API error. */
export interface ErrorResponse {
  message: string;
}

export interface IdResponse {
  Id: string;
}
