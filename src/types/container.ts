/**
 * Docker Engine API container models (API v1.41, with later additions marked by
 * version). Field names are exactly as on the wire. Optional fields are the ones
 * a client may leave out of a request, or Docker leaves out of a response
 * (`omitempty`); `| null` marks what Docker encodes as JSON null when unset
 * (Go nil slices, maps and pointers without `omitempty`).
 */
import { invalidParameter } from '../common/errors.js';
import type { EndpointSettings, NetworkSettings, SummaryNetworkSettings } from './network.js';

/** Port numbers with protocol as map keys, e.g. `"80/tcp"`. */
export type PortProtocol = 'tcp' | 'udp' | 'sctp';
/** `"<port>/<protocol>"`, e.g. `"8080/tcp"`; Docker treats a bare port as tcp. */
export type PortKey = string;

export interface HealthConfig {
  /**
   * `[]` inherit, `["NONE"]` disable, `["CMD", args...]` exec directly,
   * `["CMD-SHELL", command]` run with the image's default shell.
   */
  Test?: string[] | null;
  /** Nanoseconds; 0 means inherit. */
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  /** API 1.44+. */
  StartInterval?: number;
}

/** The portable part of a container's configuration (the `Config` of inspect). */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  /** `user`, `uid`, `user:group`, `uid:gid` and mixes. */
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** Keys are `"<port>/<protocol>"`, values are always `{}`. */
  ExposedPorts?: Record<PortKey, Record<string, never>> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  /** `KEY=value`; a bare `KEY` unsets an inherited variable. */
  Env?: string[] | null;
  /** Docker accepts a single string here too (see {@link toStrSlice}). */
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig;
  ArgsEscaped?: boolean;
  Image?: string;
  /** Keys are container paths, values are always `{}`. */
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  /** Docker accepts a single string here too; `[""]` clears the image's entrypoint. */
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  /** Deprecated in API 1.44 in favour of EndpointSettings.MacAddress. */
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  /** Seconds. */
  StopTimeout?: number | null;
  Shell?: string[] | null;
}

export interface RestartPolicy {
  Name?: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount?: number;
}

export interface LogConfig {
  Type?: string;
  Config?: Record<string, string> | null;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

/** Container port (`"80/tcp"`) to the host bindings that publish it. */
export type PortMap = Record<PortKey, PortBinding[] | null>;

export interface DeviceMapping {
  PathOnHost?: string;
  PathInContainer?: string;
  /** Any combination of `r`, `w`, `m`. */
  CgroupPermissions?: string;
}

export interface DeviceRequest {
  Driver?: string;
  Count?: number;
  DeviceIDs?: string[] | null;
  /** An OR list of AND lists of capabilities. */
  Capabilities?: string[][] | null;
  Options?: Record<string, string> | null;
}

export interface WeightDevice {
  Path?: string;
  Weight?: number;
}

export interface ThrottleDevice {
  Path?: string;
  Rate?: number;
}

export interface Ulimit {
  Name: string;
  Soft: number;
  Hard: number;
}

export type MountType = 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
export type MountPropagation = '' | 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';

/** A mount requested in `HostConfig.Mounts`. */
export interface Mount {
  Target?: string;
  Source?: string;
  Type?: MountType;
  ReadOnly?: boolean;
  Consistency?: 'default' | 'consistent' | 'cached' | 'delegated' | '';
  BindOptions?: {
    Propagation?: MountPropagation;
    NonRecursive?: boolean;
    /** API 1.42+. */
    CreateMountpoint?: boolean;
    /** API 1.44+. */
    ReadOnlyNonRecursive?: boolean;
    /** API 1.44+. */
    ReadOnlyForceRecursive?: boolean;
  };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string> | null;
    DriverConfig?: {
      Name?: string;
      Options?: Record<string, string> | null;
    };
    /** API 1.45+. */
    Subpath?: string;
  };
  TmpfsOptions?: {
    SizeBytes?: number;
    Mode?: number;
    /** API 1.46+: `[["noexec"], ["uid", "1000"]]`. */
    Options?: string[][];
  };
}

/** A mount as reported by inspect and list (`Mounts`). */
export interface MountPoint {
  Type?: MountType;
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}

/** cgroup resources, shared by HostConfig and the update endpoint. */
export interface Resources {
  CpuShares?: number;
  /** Bytes. */
  Memory?: number;
  /** Units of 1e-9 CPUs. */
  NanoCpus?: number;
  CgroupParent?: string;
  BlkioWeight?: number;
  BlkioWeightDevice?: WeightDevice[] | null;
  BlkioDeviceReadBps?: ThrottleDevice[] | null;
  BlkioDeviceWriteBps?: ThrottleDevice[] | null;
  BlkioDeviceReadIOps?: ThrottleDevice[] | null;
  BlkioDeviceWriteIOps?: ThrottleDevice[] | null;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimePeriod?: number;
  CpuRealtimeRuntime?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  Devices?: DeviceMapping[] | null;
  /** e.g. `"c 13:* rwm"`. */
  DeviceCgroupRules?: string[] | null;
  DeviceRequests?: DeviceRequest[] | null;
  /** Deprecated (kernel 5.4 dropped kmem limits); removed in API 1.42+. */
  KernelMemory?: number;
  KernelMemoryTCP?: number;
  MemoryReservation?: number;
  /** memory + swap; -1 for unlimited swap. */
  MemorySwap?: number;
  MemorySwappiness?: number | null;
  OomKillDisable?: boolean | null;
  /** 0 or -1 for unlimited, null to leave unchanged. */
  PidsLimit?: number | null;
  Ulimits?: Ulimit[] | null;
  /** Windows only. */
  CpuCount?: number;
  /** Windows only. */
  CpuPercent?: number;
  /** Windows only. */
  IOMaximumIOps?: number;
  /** Windows only. */
  IOMaximumBandwidth?: number;
  /** Run an init (tini) as PID 1; null/absent means the daemon default. */
  Init?: boolean | null;
}

/** Container configuration that depends on the host. */
export interface HostConfig extends Resources {
  /** `host-src:container-dest[:options]` or `volume-name:container-dest[:options]`. */
  Binds?: string[] | null;
  ContainerIDFile?: string;
  LogConfig?: LogConfig;
  /** `bridge`, `host`, `none`, `container:<name|id>` or a network name. */
  NetworkMode?: string;
  PortBindings?: PortMap | null;
  RestartPolicy?: RestartPolicy;
  AutoRemove?: boolean;
  VolumeDriver?: string;
  /** `<container>[:ro|rw]`. */
  VolumesFrom?: string[] | null;
  Mounts?: Mount[];
  /** API 1.46+. */
  Annotations?: Record<string, string>;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  CgroupnsMode?: '' | 'private' | 'host';
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  /** `hostname:IP`. */
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  /** `''`, `none`, `private`, `shareable`, `container:<name|id>`, `host`. */
  IpcMode?: string;
  Cgroup?: string;
  /** `container_name:alias`. */
  Links?: string[] | null;
  OomScoreAdj?: number;
  /** `''`, `host`, `container:<name|id>`. */
  PidMode?: string;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  StorageOpt?: Record<string, string>;
  /** Container path to mount options, e.g. `{"/run": "rw,noexec,nosuid,size=65536k"}`. */
  Tmpfs?: Record<string, string>;
  /** `''` or `host`. */
  UTSMode?: string;
  UsernsMode?: string;
  /** Bytes; 0 means the default of 64 MiB. */
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Runtime?: string;
  /** `[height, width]`. */
  ConsoleSize?: [number, number] | null;
  Isolation?: '' | 'default' | 'process' | 'hyperv';
  /** Overrides the default masked paths when set (an empty list masks nothing). */
  MaskedPaths?: string[] | null;
  /** Overrides the default read-only paths when set. */
  ReadonlyPaths?: string[] | null;
}

export interface NetworkingConfig {
  /** Network name to endpoint settings. */
  EndpointsConfig?: Record<string, EndpointSettings | null> | null;
}

/** Body of `POST /containers/create`. */
export interface ContainerCreateRequest extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
  /** API 1.48+: an alternative to `?platform=` (nerdctl and newer CLIs). */
  Platform?: string;
}

export interface ContainerCreateResponse {
  Id: string;
  Warnings: string[];
}

export type ContainerStatus =
  'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';
export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface HealthcheckResult {
  /** RFC 3339 with nanoseconds. */
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface Health {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthcheckResult[] | null;
}

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  /** RFC 3339 with nanoseconds; `0001-01-01T00:00:00Z` when never started. */
  StartedAt: string;
  FinishedAt: string;
  Health?: Health;
}

export interface GraphDriverData {
  Name: string;
  Data: Record<string, string> | null;
}

/** `GET /containers/{id}/json` (Docker's ContainerJSON). */
export interface ContainerInspect {
  Id: string;
  /** RFC 3339 with nanoseconds. */
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState | null;
  /** Image ID (`sha256:...`). */
  Image: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  /** Leading slash, e.g. `/web`. */
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  /** API 1.48+. */
  ImageManifestDescriptor?: unknown;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[] | null;
  HostConfig: HostConfig;
  GraphDriver: GraphDriverData;
  /** Only with `?size=1`. */
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts: MountPoint[];
  Config: ContainerConfig;
  NetworkSettings: NetworkSettings;
}

export interface Port {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: PortProtocol;
}

/** An entry of `GET /containers/json`. */
export interface ContainerSummary {
  Id: string;
  /** With leading slashes, including link names such as `/web/db`. */
  Names: string[];
  Image: string;
  ImageID: string;
  /** API 1.48+. */
  ImageManifestDescriptor?: unknown;
  Command: string;
  /** Unix seconds. */
  Created: number;
  Ports: Port[];
  SizeRw?: number;
  SizeRootFs?: number;
  Labels: Record<string, string>;
  State: ContainerStatus;
  /** Human text, e.g. `Up 3 minutes (healthy)`, `Exited (0) 2 seconds ago`. */
  Status: string;
  HostConfig: {
    NetworkMode?: string;
    /** API 1.46+. */
    Annotations?: Record<string, string>;
  };
  NetworkSettings: SummaryNetworkSettings | null;
  Mounts: MountPoint[];
}

/** Body of `POST /containers/{id}/update`. */
export interface ContainerUpdateRequest extends Resources {
  RestartPolicy?: RestartPolicy;
}

export interface ContainerUpdateResponse {
  Warnings: string[] | null;
}

export interface ContainerWaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export interface ContainerTopResponse {
  Titles: string[];
  Processes: string[][];
}

/** Kind: 0 modified, 1 added, 2 deleted. */
export interface ContainerChange {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface ContainerPruneResponse {
  ContainersDeleted: string[] | null;
  SpaceReclaimed: number;
}

/** Header `X-Docker-Container-Path-Stat` of the archive endpoints (base64 JSON). */
export interface ContainerPathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits (type bits differ from POSIX st_mode). */
  mode: number;
  mtime: string;
  linkTarget: string;
}

/** Body of `POST /containers/{id}/exec`. */
export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  /** API 1.42+. */
  ConsoleSize?: [number, number] | null;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** Body of `POST /exec/{id}/start`. */
export interface ExecStartConfig {
  Detach?: boolean;
  Tty?: boolean;
  /** API 1.42+. */
  ConsoleSize?: [number, number] | null;
}

export interface ExecProcessConfig {
  privileged?: boolean;
  user?: string;
  tty: boolean;
  entrypoint: string;
  arguments: string[];
}

/** `GET /exec/{id}/json`. */
export interface ExecInspect {
  CanRemove: boolean;
  DetachKeys: string;
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  ProcessConfig: ExecProcessConfig;
  OpenStdin: boolean;
  OpenStderr: boolean;
  OpenStdout: boolean;
  ContainerID: string;
  Pid: number;
}

export interface ThrottlingData {
  periods: number;
  throttled_periods: number;
  throttled_time: number;
}

export interface CpuUsage {
  total_usage: number;
  /** cgroup v1 only. */
  percpu_usage?: number[];
  usage_in_kernelmode: number;
  usage_in_usermode: number;
}

export interface CpuStats {
  cpu_usage: CpuUsage;
  system_cpu_usage?: number;
  online_cpus?: number;
  throttling_data: ThrottlingData;
}

export interface MemoryStats {
  usage?: number;
  max_usage?: number;
  /** Raw memory.stat counters (keys differ between cgroup v1 and v2). */
  stats?: Record<string, number>;
  failcnt?: number;
  limit?: number;
  commitbytes?: number;
  commitpeakbytes?: number;
  privateworkingset?: number;
}

export interface BlkioStatEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

export interface BlkioStats {
  io_service_bytes_recursive: BlkioStatEntry[] | null;
  io_serviced_recursive: BlkioStatEntry[] | null;
  io_queue_recursive: BlkioStatEntry[] | null;
  io_service_time_recursive: BlkioStatEntry[] | null;
  io_wait_time_recursive: BlkioStatEntry[] | null;
  io_merged_recursive: BlkioStatEntry[] | null;
  io_time_recursive: BlkioStatEntry[] | null;
  sectors_recursive: BlkioStatEntry[] | null;
}

export interface NetworkStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
  endpoint_id?: string;
  instance_id?: string;
}

export interface PidsStats {
  current?: number;
  limit?: number;
}

export interface StorageStats {
  read_count_normalized?: number;
  read_size_bytes?: number;
  write_count_normalized?: number;
  write_size_bytes?: number;
}

/** One sample of `GET /containers/{id}/stats` (Docker's StatsJSON). */
export interface ContainerStats {
  /** RFC 3339 with nanoseconds. */
  read: string;
  preread: string;
  pids_stats: PidsStats;
  blkio_stats: BlkioStats;
  num_procs: number;
  storage_stats: StorageStats;
  cpu_stats: CpuStats;
  precpu_stats: CpuStats;
  memory_stats: MemoryStats;
  name?: string;
  id?: string;
  networks?: Record<string, NetworkStats>;
}

/**
 * Docker's StrSlice: `Cmd`, `Entrypoint` and `Shell` may arrive as one string
 * (meaning a one-element list) or a list. null stays null, so callers can still
 * tell "unset" from "set to empty".
 */
export function toStrSlice(value: unknown, field = 'value'): string[] | null | undefined {
  if (value === undefined || value === null) return value;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
  throw invalidParameter(`${field} must be a string or an array of strings`);
}
