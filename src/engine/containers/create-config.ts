/**
 * The create request as Docker stores it: checks with Docker's messages and
 * the defaults inspect shows (NetworkMode bridge, RestartPolicy no, the
 * daemon's log driver, ShmSize 64 MiB...).
 */
import { invalidParameter } from '../../common/errors.js';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS } from '../../oci/spec.js';
import { DEFAULT_SHM_SIZE } from '../../oci/mounts.js';
import { ipcModeKind, pidModeKind, utsModeKind } from '../../oci/namespaces.js';
import type { ContainerConfig, HostConfig, RestartPolicy } from '../../types/container.js';
import { toStrSlice } from '../../types/container.js';
import { validateLogOptions } from '../../logs/index.js';

export const BUILTIN_NETWORK_MODES = ['bridge', 'default', 'host', 'none'];
const LOG_DRIVERS = ['json-file', 'local', 'none'];

export function validateRestartPolicy(
  policy: RestartPolicy | undefined,
  autoRemove: boolean | undefined,
): void {
  const name = policy?.Name ?? '';
  const retries = policy?.MaximumRetryCount ?? 0;
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw invalidParameter(
      `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  if (retries < 0) throw invalidParameter('invalid restart policy: maximum retry count cannot be negative');
  if (retries !== 0 && name !== 'on-failure') {
    throw invalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  }
  if (autoRemove && name !== '' && name !== 'no') {
    throw invalidParameter("can't create 'AutoRemove' container with restart policy");
  }
}

/**
 * Checks the network mode; `container:<x>` targets are looked up by the
 * caller, and so are network names when a network service can (`knownNetworks`).
 */
export function validateNetworkMode(
  hostConfig: HostConfig,
  config: ContainerConfig,
  knownNetworks = false,
): void {
  const mode = hostConfig.NetworkMode ?? '';
  if (mode.startsWith('container:')) {
    if (mode === 'container:')
      throw invalidParameter('Invalid network mode: invalid container format container:<name|id>');
    if (config.Hostname) throw invalidParameter('conflicting options: hostname and the network mode');
    if ((hostConfig.Dns?.length ?? 0) > 0)
      throw invalidParameter('conflicting options: dns and the network mode');
    if ((hostConfig.ExtraHosts?.length ?? 0) > 0)
      throw invalidParameter('conflicting options: custom host-to-IP mapping and the network mode');
    return;
  }
  // Not NotFound: the docker CLI answers a 404 from create by pulling the image.
  if (!knownNetworks && mode !== '' && !BUILTIN_NETWORK_MODES.includes(mode))
    throw invalidParameter(`network ${mode} not found`);
}

export function validateLogConfig(hostConfig: HostConfig): void {
  const type = hostConfig.LogConfig?.Type;
  if (type && !LOG_DRIVERS.includes(type)) {
    throw invalidParameter(`failed to create container: logger: no log driver named '${type}' is registered`);
  }
  if (type) validateLogOptions(type, hostConfig.LogConfig?.Config ?? {});
}

/** Request fields that may arrive as a single string. */
export function normalizeStrSlices(config: ContainerConfig): ContainerConfig {
  return {
    ...config,
    Cmd: toStrSlice(config.Cmd, 'Cmd'),
    Entrypoint: toStrSlice(config.Entrypoint, 'Entrypoint'),
    Shell: toStrSlice(config.Shell, 'Shell'),
  };
}

/** The Config fields Docker always shows, filled with its zero values. */
export function completeConfig(config: ContainerConfig): ContainerConfig {
  return {
    Hostname: '',
    Domainname: '',
    User: '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: null,
    Cmd: null,
    Image: '',
    Volumes: null,
    WorkingDir: '',
    Entrypoint: null,
    OnBuild: null,
    Labels: {},
    ...config,
  };
}

/** HostConfig with Docker's defaults, as inspect shows it. */
export function completeHostConfig(
  hostConfig: HostConfig,
  defaults: {
    logDriver: string;
    logOpts: Record<string, string>;
    runtime: string;
    cgroupnsMode: 'host' | 'private';
  },
): HostConfig {
  const hc: HostConfig = { ...hostConfig };
  if (!hc.NetworkMode || hc.NetworkMode === 'default') hc.NetworkMode = 'bridge';
  if (!hc.LogConfig?.Type)
    hc.LogConfig = {
      Type: defaults.logDriver,
      Config: { ...defaults.logOpts, ...(hc.LogConfig?.Config ?? {}) },
    };
  else hc.LogConfig = { Type: hc.LogConfig.Type, Config: hc.LogConfig.Config ?? {} };
  hc.RestartPolicy = {
    Name: hc.RestartPolicy?.Name || 'no',
    MaximumRetryCount: hc.RestartPolicy?.MaximumRetryCount ?? 0,
  };
  if (!hc.ShmSize) hc.ShmSize = DEFAULT_SHM_SIZE;
  if (!hc.Runtime) hc.Runtime = defaults.runtime;
  if (!hc.IpcMode) hc.IpcMode = 'private';
  if (!hc.CgroupnsMode) hc.CgroupnsMode = defaults.cgroupnsMode;
  hc.ConsoleSize ??= [0, 0];
  hc.Isolation ??= '';
  hc.AutoRemove ??= false;
  hc.Privileged ??= false;
  hc.PublishAllPorts ??= false;
  hc.ReadonlyRootfs ??= false;
  hc.Binds ??= null;
  hc.ContainerIDFile ??= '';
  hc.PortBindings ??= {};
  hc.VolumeDriver ??= '';
  hc.VolumesFrom ??= null;
  hc.CapAdd ??= null;
  hc.CapDrop ??= null;
  hc.Dns ??= [];
  hc.DnsOptions ??= [];
  hc.DnsSearch ??= [];
  hc.ExtraHosts ??= null;
  hc.GroupAdd ??= null;
  hc.Cgroup ??= '';
  hc.Links ??= null;
  hc.OomScoreAdj ??= 0;
  hc.PidMode ??= '';
  hc.SecurityOpt ??= null;
  hc.UTSMode ??= '';
  hc.UsernsMode ??= '';
  hc.CpuShares ??= 0;
  hc.Memory ??= 0;
  hc.NanoCpus ??= 0;
  hc.CgroupParent ??= '';
  hc.BlkioWeight ??= 0;
  hc.BlkioWeightDevice ??= [];
  hc.BlkioDeviceReadBps ??= [];
  hc.BlkioDeviceWriteBps ??= [];
  hc.BlkioDeviceReadIOps ??= [];
  hc.BlkioDeviceWriteIOps ??= [];
  hc.CpuPeriod ??= 0;
  hc.CpuQuota ??= 0;
  hc.CpuRealtimePeriod ??= 0;
  hc.CpuRealtimeRuntime ??= 0;
  hc.CpusetCpus ??= '';
  hc.CpusetMems ??= '';
  hc.Devices ??= [];
  hc.DeviceCgroupRules ??= null;
  hc.DeviceRequests ??= null;
  hc.MemoryReservation ??= 0;
  hc.MemorySwap ??= 0;
  hc.MemorySwappiness ??= null;
  hc.OomKillDisable ??= null;
  hc.PidsLimit ??= null;
  hc.Ulimits ??= [];
  hc.CpuCount ??= 0;
  hc.CpuPercent ??= 0;
  hc.IOMaximumIOps ??= 0;
  hc.IOMaximumBandwidth ??= 0;
  if (!hc.Privileged) {
    hc.MaskedPaths ??= [...DEFAULT_MASKED_PATHS];
    hc.ReadonlyPaths ??= [...DEFAULT_READONLY_PATHS];
  }
  return hc;
}

/** Namespace modes refused by Docker at create (the spec module holds the rules). */
export function validateNamespaceModes(hostConfig: HostConfig): void {
  ipcModeKind(hostConfig.IpcMode);
  pidModeKind(hostConfig.PidMode);
  utsModeKind(hostConfig.UTSMode);
}
