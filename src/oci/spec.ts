/**
 * The OCI runtime spec of a Docker container: what the engine hands to
 * containerd (and runc) when it creates a task.
 */
import { invalidParameter } from '../common/errors.js';
import type { ContainerConfig, HostConfig } from '../types/container.js';
import type { ImageConfig } from '../types/image.js';
import { containerCapabilities } from './capabilities.js';
import { mergeConfigWithImage, mergeCommand, processEnv } from './command.js';
import {
  defaultDeviceRules,
  devicesForMapping,
  hostDevices,
  parseDeviceCgroupRule,
  privilegedDeviceRules,
} from './devices.js';
import {
  assembleMounts,
  CONTAINER_INIT_PATH,
  DEFAULT_SHM_SIZE,
  etcFileMounts,
  rootfsPropagationFor,
  tmpfsMounts,
  type EtcFiles,
  type ShmSource,
} from './mounts.js';
import {
  containerNamespaces,
  ipcModeKind,
  networkModeKind,
  pidModeKind,
  utsModeKind,
  type NamespacePaths,
} from './namespaces.js';
import { containerResources, containerRlimits } from './resources.js';
import { containerSeccomp } from './seccomp.js';
import { parseSecurityOpts } from './security-opts.js';
import { defaultNetworkSysctls, hostHasSysctl, validateSysctls } from './sysctls.js';
import { OCI_VERSION, type OciDevice, type OciDeviceCgroup, type OciMount, type OciSpec } from './types.js';
import type { ResolvedUser } from './user.js';

export const DEFAULT_CGROUP_PARENT = '/berth';

/** Paths Docker hides from containers (bind-mounted over with /dev/null or an empty tmpfs). */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Paths Docker makes read-only inside containers. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export interface SpecInput {
  /** The container ID (names its cgroup). */
  id: string;
  /**
   * The container's Config. If `imageConfig` is given, this is the request as
   * the client sent it and is merged with the image here; without it, this is
   * the already merged Config the engine stored at create time.
   */
  config: ContainerConfig;
  hostConfig: HostConfig;
  imageConfig?: ImageConfig;
  /** The user to run as, from {@link resolveUser}. */
  user: ResolvedUser;
  /** `root.path` of the spec; containerd's bundles use `rootfs`. */
  rootfsPath?: string;
  /** Host paths of the per-container /etc/hostname, /etc/hosts and /etc/resolv.conf. */
  etcFiles?: EtcFiles;
  /** Namespaces to join: the prepared network namespace, `container:<id>` targets. */
  namespacePaths?: NamespacePaths;
  /** Existing /dev/shm to bind for IpcMode shareable (this container's) or container:<id> (the other's). */
  shmPath?: string;
  /** The host's hard RLIMIT_NOFILE; container limits never exceed it. */
  hostNofileHard: number;
  /** Default `/berth`; HostConfig.CgroupParent overrides it. */
  cgroupParent?: string;
  /** Host path of a static tini, bind-mounted at /sbin/docker-init when Init applies. */
  initPath?: string;
  /** The daemon's default for HostConfig.Init being null. */
  defaultInit?: boolean;
  /** The daemon's default for an empty CgroupnsMode (Docker: host on cgroup v1, private on v2). */
  defaultCgroupnsMode?: 'host' | 'private';
  /** The daemon's no-new-privileges default. */
  defaultNoNewPrivileges?: boolean;
  /** Volumes and binds, already prepared as OCI mounts. */
  mounts?: OciMount[];
  /** Whether the host accounts swap; default true. */
  swapLimit?: boolean;
  /** Environment of linked containers, placed before Config.Env. */
  linkEnv?: string[];
  /** Host facts, overridable for tests. */
  host?: {
    /** Capabilities the host can grant; the daemon's bounding set when absent. */
    capabilities?: readonly string[];
    /** Node `process.arch`. */
    arch?: string;
    kernelRelease?: string;
    sysctlExists?: (name: string) => boolean;
    /** Devices a privileged container gets; the host's /dev when absent. */
    devices?: () => OciDevice[];
  };
}

function initApplies(input: SpecInput): boolean {
  const wanted = input.hostConfig.Init ?? input.defaultInit ?? false;
  // As in Docker, an init only makes sense as PID 1 of its own PID namespace.
  if (!wanted || pidModeKind(input.hostConfig.PidMode) !== 'private') return false;
  if (!input.initPath) throw invalidParameter('Init was requested but no init binary (tini) is configured');
  return true;
}

function shmSource(input: SpecInput): ShmSource {
  const ipc = ipcModeKind(input.hostConfig.IpcMode);
  if (ipc === 'none') return { kind: 'none' };
  if (ipc === 'host') return { kind: 'bind', source: '/dev/shm' };
  if (input.shmPath) return { kind: 'bind', source: input.shmPath };
  const size = input.hostConfig.ShmSize ?? 0;
  if (size < 0) throw invalidParameter('SHM size can not be less than 0');
  return { kind: 'tmpfs', size: size > 0 ? size : DEFAULT_SHM_SIZE };
}

function deviceSetup(
  input: SpecInput,
  privileged: boolean,
): { devices: OciDevice[]; rules: OciDeviceCgroup[] } {
  const hc = input.hostConfig;
  if (privileged) {
    const devices = (input.host?.devices ?? hostDevices)();
    const known = new Set(devices.map((d) => d.path));
    for (const mapping of hc.Devices ?? []) {
      // A privileged container already sees the host's nodes under their own names.
      if (mapping.PathOnHost === (mapping.PathInContainer || mapping.PathOnHost)) continue;
      for (const device of devicesForMapping({ ...mapping, CgroupPermissions: 'rwm' }).devices) {
        if (!known.has(device.path)) devices.push(device);
      }
    }
    return { devices, rules: privilegedDeviceRules() };
  }
  const devices: OciDevice[] = [];
  const rules = defaultDeviceRules();
  for (const mapping of hc.Devices ?? []) {
    const found = devicesForMapping(mapping);
    devices.push(...found.devices);
    rules.push(...found.rules);
  }
  rules.push(...(hc.DeviceCgroupRules ?? []).map(parseDeviceCgroupRule));
  return { devices, rules };
}

function uniqueByDestination(mounts: OciMount[]): OciMount[] {
  const seen = new Set<string>();
  return mounts.filter((m) => !seen.has(m.destination) && seen.add(m.destination));
}

function cgroupsPath(input: SpecInput): string {
  const parent = input.hostConfig.CgroupParent || input.cgroupParent || DEFAULT_CGROUP_PARENT;
  return `${parent.replace(/\/+$/, '')}/${input.id}`;
}

/**
 * Builds the runtime spec of a container from its Docker configuration, the
 * way Docker does: default capabilities, masked and read-only paths, the
 * default seccomp profile, Docker's device allow list and mount table, cgroup
 * limits under `<cgroup parent>/<id>`, and rlimits within the host's.
 * Invalid settings are InvalidParameter errors.
 */
export function buildSpec(input: SpecInput): OciSpec {
  const hc = input.hostConfig;
  const config = input.imageConfig ? mergeConfigWithImage(input.config, input.imageConfig) : input.config;
  const privileged = hc.Privileged === true;
  const security = parseSecurityOpts(hc.SecurityOpt, input.defaultNoNewPrivileges);

  const command = mergeCommand(undefined, config);
  const withInit = initApplies(input);
  const capabilities = containerCapabilities({
    capAdd: hc.CapAdd,
    capDrop: hc.CapDrop,
    privileged,
    available: input.host?.capabilities,
  });

  const oomScoreAdj = hc.OomScoreAdj ?? 0;
  if (oomScoreAdj < -1000 || oomScoreAdj > 1000) {
    throw invalidParameter(`Invalid value ${oomScoreAdj}, range for oom score adj is [-1000, 1000]`);
  }

  const network = networkModeKind(hc.NetworkMode);
  const ownNetwork = network === 'private' || network === 'none' || config.NetworkDisabled === true;
  const ownUts = utsModeKind(hc.UTSMode) === 'private';
  const ownIpc = ['private', 'none'].includes(ipcModeKind(hc.IpcMode));
  validateSysctls(hc.Sysctls, {
    privateNetwork: ownNetwork || network === 'container',
    privateIpc: ownIpc,
    privateUts: ownUts,
  });
  const sysctl: Record<string, string> = {};
  if (config.Domainname && ownUts) sysctl['kernel.domainname'] = config.Domainname;
  if (network === 'private' || network === 'none') {
    Object.assign(sysctl, defaultNetworkSysctls(input.host?.sysctlExists ?? hostHasSysctl));
  }
  Object.assign(sysctl, hc.Sysctls ?? {});

  const readonlyRootfs = hc.ReadonlyRootfs === true;
  const mounts = assembleMounts({
    shm: shmSource(input),
    initPath: withInit ? input.initPath : undefined,
    // The caller's volumes and binds win over tmpfs entries, and both over berth's /etc files.
    userMounts: uniqueByDestination([
      ...(input.mounts ?? []),
      ...tmpfsMounts(hc.Tmpfs),
      ...etcFileMounts(input.etcFiles, readonlyRootfs),
    ]),
    privileged,
  });

  const { devices, rules } = deviceSetup(input, privileged);
  const resources = { ...containerResources(hc, { swapLimit: input.swapLimit }), devices: rules };

  const spec: OciSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: config.Tty === true,
      user: { uid: input.user.uid, gid: input.user.gid, additionalGids: input.user.additionalGids },
      args: withInit ? [CONTAINER_INIT_PATH, '--', ...command.args] : command.args,
      env: processEnv([...(input.linkEnv ?? []), ...(config.Env ?? [])], {
        hostname: config.Hostname,
        tty: config.Tty,
      }),
      cwd: config.WorkingDir || '/',
      capabilities: { bounding: capabilities, effective: capabilities, permitted: capabilities },
      rlimits: containerRlimits(hc.Ulimits, input.hostNofileHard),
      noNewPrivileges: security.noNewPrivileges,
      oomScoreAdj,
    },
    root: { path: input.rootfsPath ?? 'rootfs', readonly: readonlyRootfs },
    mounts,
    linux: {
      namespaces: containerNamespaces(hc, config, input.namespacePaths, input.defaultCgroupnsMode),
      cgroupsPath: cgroupsPath(input),
      resources,
      devices,
      sysctl,
    },
  };

  const [height, width] = hc.ConsoleSize ?? [0, 0];
  if (spec.process.terminal && height > 0 && width > 0) spec.process.consoleSize = { height, width };
  if (security.apparmorProfile && security.apparmorProfile !== 'unconfined')
    spec.process.apparmorProfile = security.apparmorProfile;
  if (ownUts && config.Hostname) spec.hostname = config.Hostname;

  if (!privileged) {
    spec.linux.maskedPaths = [...(hc.MaskedPaths ?? DEFAULT_MASKED_PATHS)];
    spec.linux.readonlyPaths = [...(hc.ReadonlyPaths ?? DEFAULT_READONLY_PATHS)];
  }
  const propagation = rootfsPropagationFor(mounts);
  if (propagation) spec.linux.rootfsPropagation = propagation;

  const seccomp = containerSeccomp({
    privileged,
    profile: security.seccompProfile,
    context: { capabilities, arch: input.host?.arch, kernelRelease: input.host?.kernelRelease },
  });
  if (seccomp) spec.linux.seccomp = seccomp;
  return spec;
}
