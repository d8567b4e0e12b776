import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { getLogLevel } from '../../common/log.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { MAX_API_VERSION, MIN_API_VERSION } from '../../api/version.js';
import type { DaemonConfig } from '../../daemon/config/options.js';
import { ENGINE_VERSION, goArch } from '../../common/version.js';
import { binaryVersion, readHostFacts, type ComponentVersion, type HostFacts } from './host.js';

/** Counts other backends contribute to /info. */
export interface InfoCounts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  images: number;
}

export interface SystemDependencies {
  config: () => DaemonConfig;
  containerdVersion: () => Promise<ComponentVersion>;
  counts: () => Promise<InfoCounts>;
  eventListeners: () => number;
}

/** Answers /info and /version from the running config, the host and containerd. */
export class SystemService {
  private readonly host: HostFacts = readHostFacts();
  private runc?: ComponentVersion;
  private init?: ComponentVersion;
  private engineId = '';

  constructor(private readonly deps: SystemDependencies) {}

  async start(dataRoot: string): Promise<void> {
    this.engineId = await loadEngineId(path.join(dataRoot, 'engine-id'));
    [this.runc, this.init] = await Promise.all([
      binaryVersion('runc', /runc version (\S+)/),
      binaryVersion('tini', /tini version (\S+)/),
    ]);
  }

  async info(): Promise<Record<string, unknown>> {
    const config = this.deps.config();
    const [counts, containerd] = await Promise.all([this.deps.counts(), this.deps.containerdVersion()]);
    const runtimes = Object.fromEntries([
      ['runc', { path: 'runc' }],
      ...Object.entries(config.runtimes).map(([name, r]) => [
        name,
        { path: r.path, runtimeArgs: r.runtimeArgs },
      ]),
    ]);
    return {
      ID: this.engineId,
      Containers: counts.containers,
      ContainersRunning: counts.running,
      ContainersPaused: counts.paused,
      ContainersStopped: counts.stopped,
      Images: counts.images,
      Driver: 'overlayfs',
      DriverStatus: [['driver-type', 'io.containerd.snapshotter.v1']],
      Plugins: {
        Volume: ['local'],
        Network: ['bridge', 'host', 'null'],
        Authorization: null,
        Log: ['json-file', 'local', 'none'],
      },
      MemoryLimit: true,
      SwapLimit: true,
      KernelMemoryTCP: false,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      OomKillDisable: this.host.cgroupVersion === '1',
      IPv4Forwarding: true,
      BridgeNfIptables: true,
      BridgeNfIp6tables: true,
      Debug: config.debug || getLogLevel() === 'debug',
      NFd: await countOpenFds(),
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: config['log-driver'],
      CgroupDriver: 'cgroupfs',
      CgroupVersion: this.host.cgroupVersion,
      NEventsListener: this.deps.eventListeners(),
      KernelVersion: this.host.kernelVersion,
      OperatingSystem: this.host.operatingSystem,
      OSVersion: this.host.osVersion,
      OSType: 'linux',
      Architecture: this.host.architecture,
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: registryConfig(config),
      NCPU: this.host.ncpu,
      MemTotal: this.host.memTotal,
      GenericResources: null,
      DockerRootDir: config['data-root'],
      HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '',
      HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
      NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
      Name: this.host.hostname,
      Labels: config.labels,
      ExperimentalBuild: false,
      ServerVersion: ENGINE_VERSION,
      Runtimes: runtimes,
      DefaultRuntime: config['default-runtime'],
      Swarm: {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      },
      LiveRestoreEnabled: config['live-restore'],
      Isolation: '',
      InitBinary: 'docker-init',
      ContainerdCommit: { ID: containerd.commit },
      RuncCommit: { ID: this.runc?.commit ?? '' },
      InitCommit: { ID: this.init?.commit ?? '' },
      SecurityOptions: ['name=seccomp,profile=builtin'],
      DefaultAddressPools: config['default-address-pools'].map((p) => ({ Base: p.base, Size: p.size })),
      Warnings: warnings(config),
    };
  }

  async version(): Promise<Record<string, unknown>> {
    const containerd = await this.deps.containerdVersion();
    const buildTime = new Date().toISOString();
    const components: Record<string, unknown>[] = [
      {
        Name: 'Engine',
        Version: ENGINE_VERSION,
        Details: {
          ApiVersion: MAX_API_VERSION,
          Arch: goArch(),
          BuildTime: buildTime,
          Experimental: 'false',
          GitCommit: 'berth',
          GoVersion: `node${process.versions.node}`,
          KernelVersion: this.host.kernelVersion,
          MinAPIVersion: MIN_API_VERSION,
          Os: 'linux',
        },
      },
      { Name: 'containerd', Version: containerd.version, Details: { GitCommit: containerd.commit } },
    ];
    if (this.runc)
      components.push({ Name: 'runc', Version: this.runc.version, Details: { GitCommit: this.runc.commit } });
    if (this.init)
      components.push({
        Name: 'docker-init',
        Version: this.init.version,
        Details: { GitCommit: this.init.commit },
      });
    return {
      Platform: { Name: 'berth' },
      Components: components,
      Version: ENGINE_VERSION,
      ApiVersion: MAX_API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: 'berth',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: goArch(),
      KernelVersion: this.host.kernelVersion,
      BuildTime: buildTime,
    };
  }
}

function registryConfig(config: DaemonConfig): Record<string, unknown> {
  const insecureCidrs = ['127.0.0.0/8', ...config['insecure-registries'].filter((r) => r.includes('/'))];
  const insecureHosts = config['insecure-registries'].filter((r) => !r.includes('/'));
  const indexConfigs: Record<string, unknown> = {
    'docker.io': { Name: 'docker.io', Mirrors: config['registry-mirrors'], Secure: true, Official: true },
  };
  for (const host of insecureHosts)
    indexConfigs[host] = { Name: host, Mirrors: [], Secure: false, Official: false };
  return {
    AllowNondistributableArtifactsCIDRs: null,
    AllowNondistributableArtifactsHostnames: null,
    InsecureRegistryCIDRs: insecureCidrs,
    IndexConfigs: indexConfigs,
    Mirrors: config['registry-mirrors'],
  };
}

function warnings(config: DaemonConfig): string[] {
  const result: string[] = [];
  for (const host of config.hosts) {
    if (host.startsWith('tcp://') && !config.tlsverify) {
      result.push(`WARNING: API is accessible on ${host} without encryption.`);
    }
  }
  return result;
}

async function countOpenFds(): Promise<number> {
  try {
    return (await fs.readdir('/proc/self/fd')).length;
  } catch {
    return 0;
  }
}

/** The engine ID survives restarts, as Docker's does. */
async function loadEngineId(file: string): Promise<string> {
  try {
    const id = (await fs.readFile(file, 'utf8')).trim();
    if (id) return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const id = randomUUID();
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, id, 0o644);
  return id;
}
