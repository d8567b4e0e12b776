/**
 * The API model types cover every field moby's swagger.yaml (API v1.41)
 * defines. Each key list below is checked by the compiler against the
 * interface and at run time against swagger.yaml, when the file is available
 * (Debian's golang-github-docker-docker-dev, or BERTH_SWAGGER).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isEngineError } from '../../src/common/errors.js';
import type {
  ContainerConfig,
  ContainerState,
  ContainerSummary,
  DeviceMapping,
  HealthConfig,
  HostConfig,
  Mount,
  MountPoint,
  Port,
  Resources,
  RestartPolicy,
} from '../../src/types/container.js';
import { toStrSlice } from '../../src/types/container.js';
import type { ImageInspect, ImageSummary } from '../../src/types/image.js';
import type { EndpointSettings, IPAM, Network, NetworkSettings } from '../../src/types/network.js';
import type { SystemInfo, SystemVersion } from '../../src/types/system.js';
import type { Volume } from '../../src/types/volume.js';

type Keys<T> = Record<keyof T, true>;
const keys = <T>(record: Keys<T>): string[] => Object.keys(record);

const SWAGGER_CANDIDATES = [
  process.env.BERTH_SWAGGER,
  '/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml',
  '/tmp/moby-dev/usr/share/gocode/src/github.com/docker/docker/api/swagger.yaml',
].filter((p): p is string => Boolean(p));
const swaggerPath = SWAGGER_CANDIDATES.find((p) => existsSync(p));

/**
 * Whether a `properties:` line belongs to the definition itself: directly
 * under it, under its `items:` (array definitions), or under an `allOf` entry;
 * not under one of its fields.
 */
function isTopLevelProperties(block: string[], index: number): boolean {
  const indent = block[index].length - block[index].trimStart().length;
  if (indent === 4) return true;
  for (let i = index - 1; i >= 0; i--) {
    const line = block[i];
    const lineIndent = line.length - line.trimStart().length;
    if (line.trim() === '' || lineIndent >= indent) continue;
    return (indent === 6 && line === '    items:') || (indent === 8 && line.startsWith('      - '));
  }
  return false;
}

/**
 * Property names of a definition in swagger.yaml, following `allOf` $refs. A
 * small indentation-based reader: enough for moby's file, not general YAML.
 */
function swaggerProperties(lines: string[], name: string): string[] {
  const start = lines.findIndex((line) => line === `  ${name}:`);
  assert.ok(start >= 0, `definition ${name} not found`);
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const block: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() !== '' && indentOf(line) <= 2) break;
    block.push(line);
  }
  const names: string[] = [];
  for (let i = 0; i < block.length; i++) {
    const line = block[i];
    const ref = /^ {6}- \$ref: "#\/definitions\/(\w+)"/.exec(line);
    if (ref) names.push(...swaggerProperties(lines, ref[1]));
    if (/^ +properties:\s*$/.test(line) && isTopLevelProperties(block, i)) {
      const indent = indentOf(line);
      for (let j = i + 1; j < block.length; j++) {
        const child = block[j];
        if (child.trim() === '' || child.trimStart().startsWith('#')) continue;
        if (indentOf(child) <= indent) break;
        const key = new RegExp(`^ {${indent + 2}}([A-Za-z_][\\w-]*):`).exec(child);
        if (key) names.push(key[1]);
      }
    }
  }
  return names;
}

// prettier-ignore
const covered: [string, string[]][] = [
  [
    'ContainerConfig',
    keys<ContainerConfig>({
      Hostname: true, Domainname: true, User: true, AttachStdin: true, AttachStdout: true, AttachStderr: true,
      ExposedPorts: true, Tty: true, OpenStdin: true, StdinOnce: true, Env: true, Cmd: true, Healthcheck: true,
      ArgsEscaped: true, Image: true, Volumes: true, WorkingDir: true, Entrypoint: true, NetworkDisabled: true,
      MacAddress: true, OnBuild: true, Labels: true, StopSignal: true, StopTimeout: true, Shell: true,
    }),
  ],
  [
    'Resources',
    keys<Resources>({
      CpuShares: true, Memory: true, NanoCpus: true, CgroupParent: true, BlkioWeight: true, BlkioWeightDevice: true,
      BlkioDeviceReadBps: true, BlkioDeviceWriteBps: true, BlkioDeviceReadIOps: true, BlkioDeviceWriteIOps: true,
      CpuPeriod: true, CpuQuota: true, CpuRealtimePeriod: true, CpuRealtimeRuntime: true, CpusetCpus: true,
      CpusetMems: true, Devices: true, DeviceCgroupRules: true, DeviceRequests: true, KernelMemory: true,
      KernelMemoryTCP: true, MemoryReservation: true, MemorySwap: true, MemorySwappiness: true, OomKillDisable: true,
      PidsLimit: true, Ulimits: true, CpuCount: true, CpuPercent: true, IOMaximumIOps: true, IOMaximumBandwidth: true,
      Init: true,
    }),
  ],
  [
    'HostConfig',
    keys<HostConfig>({
      CpuShares: true, Memory: true, NanoCpus: true, CgroupParent: true, BlkioWeight: true, BlkioWeightDevice: true,
      BlkioDeviceReadBps: true, BlkioDeviceWriteBps: true, BlkioDeviceReadIOps: true, BlkioDeviceWriteIOps: true,
      CpuPeriod: true, CpuQuota: true, CpuRealtimePeriod: true, CpuRealtimeRuntime: true, CpusetCpus: true,
      CpusetMems: true, Devices: true, DeviceCgroupRules: true, DeviceRequests: true, KernelMemory: true,
      KernelMemoryTCP: true, MemoryReservation: true, MemorySwap: true, MemorySwappiness: true, OomKillDisable: true,
      PidsLimit: true, Ulimits: true, CpuCount: true, CpuPercent: true, IOMaximumIOps: true, IOMaximumBandwidth: true,
      Binds: true, ContainerIDFile: true, LogConfig: true, NetworkMode: true, PortBindings: true, RestartPolicy: true,
      AutoRemove: true, VolumeDriver: true, VolumesFrom: true, Mounts: true, Annotations: true, CapAdd: true,
      CapDrop: true, CgroupnsMode: true, Dns: true, DnsOptions: true, DnsSearch: true, ExtraHosts: true,
      GroupAdd: true, IpcMode: true, Cgroup: true, Links: true, OomScoreAdj: true, PidMode: true, Privileged: true,
      PublishAllPorts: true, ReadonlyRootfs: true, SecurityOpt: true, StorageOpt: true, Tmpfs: true, UTSMode: true,
      UsernsMode: true, ShmSize: true, Sysctls: true, Runtime: true, ConsoleSize: true, Isolation: true,
      MaskedPaths: true, ReadonlyPaths: true, Init: true,
    }),
  ],
  ['HealthConfig', keys<HealthConfig>({ Test: true, Interval: true, Timeout: true, Retries: true, StartPeriod: true, StartInterval: true })],
  ['RestartPolicy', keys<RestartPolicy>({ Name: true, MaximumRetryCount: true })],
  [
    'Mount',
    keys<Mount>({ Target: true, Source: true, Type: true, ReadOnly: true, Consistency: true, BindOptions: true, VolumeOptions: true, TmpfsOptions: true }),
  ],
  [
    'MountPoint',
    keys<MountPoint>({ Type: true, Name: true, Source: true, Destination: true, Driver: true, Mode: true, RW: true, Propagation: true }),
  ],
  ['DeviceMapping', keys<DeviceMapping>({ PathOnHost: true, PathInContainer: true, CgroupPermissions: true })],
  ['Port', keys<Port>({ IP: true, PrivatePort: true, PublicPort: true, Type: true })],
  [
    'ContainerState',
    keys<ContainerState>({
      Status: true, Running: true, Paused: true, Restarting: true, OOMKilled: true, Dead: true, Pid: true,
      ExitCode: true, Error: true, StartedAt: true, FinishedAt: true, Health: true,
    }),
  ],
  [
    'ContainerSummary',
    keys<ContainerSummary>({
      Id: true, Names: true, Image: true, ImageID: true, ImageManifestDescriptor: true, Command: true, Created: true,
      Ports: true, SizeRw: true, SizeRootFs: true, Labels: true, State: true, Status: true, HostConfig: true,
      NetworkSettings: true, Mounts: true,
    }),
  ],
  [
    'EndpointSettings',
    keys<EndpointSettings>({
      IPAMConfig: true, Links: true, Aliases: true, MacAddress: true, DriverOpts: true, GwPriority: true,
      NetworkID: true, EndpointID: true, Gateway: true, IPAddress: true, IPPrefixLen: true, IPv6Gateway: true,
      GlobalIPv6Address: true, GlobalIPv6PrefixLen: true, DNSNames: true,
    }),
  ],
  [
    'NetworkSettings',
    keys<NetworkSettings>({
      Bridge: true, SandboxID: true, HairpinMode: true, LinkLocalIPv6Address: true, LinkLocalIPv6PrefixLen: true,
      Ports: true, SandboxKey: true, SecondaryIPAddresses: true, SecondaryIPv6Addresses: true, EndpointID: true,
      Gateway: true, GlobalIPv6Address: true, GlobalIPv6PrefixLen: true, IPAddress: true, IPPrefixLen: true,
      IPv6Gateway: true, MacAddress: true, Networks: true,
    }),
  ],
  [
    'Network',
    keys<Network>({
      Name: true, Id: true, Created: true, Scope: true, Driver: true, EnableIPv4: true, EnableIPv6: true, IPAM: true,
      Internal: true, Attachable: true, Ingress: true, ConfigFrom: true, ConfigOnly: true, Containers: true,
      Options: true, Labels: true, Peers: true,
    }),
  ],
  ['IPAM', keys<IPAM>({ Driver: true, Config: true, Options: true })],
  [
    'Volume',
    keys<Volume>({
      Name: true, Driver: true, Mountpoint: true, CreatedAt: true, Status: true, Labels: true, Scope: true,
      Options: true, UsageData: true, ClusterVolume: true,
    }),
  ],
  [
    'Image',
    keys<ImageInspect>({
      Id: true, RepoTags: true, RepoDigests: true, Parent: true, Comment: true, Created: true, Container: true,
      ContainerConfig: true, DockerVersion: true, Author: true, Config: true, Architecture: true, Variant: true,
      Os: true, OsVersion: true, Size: true, VirtualSize: true, GraphDriver: true, RootFS: true, Metadata: true,
      Descriptor: true,
    }),
  ],
  [
    'ImageSummary',
    keys<ImageSummary>({
      Id: true, ParentId: true, RepoTags: true, RepoDigests: true, Created: true, Size: true, SharedSize: true,
      VirtualSize: true, Labels: true, Containers: true,
    }),
  ],
  [
    'SystemInfo',
    keys<SystemInfo>({
      ID: true, Containers: true, ContainersRunning: true, ContainersPaused: true, ContainersStopped: true,
      Images: true, Driver: true, DriverStatus: true, Plugins: true, MemoryLimit: true, SwapLimit: true,
      KernelMemory: true, KernelMemoryTCP: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true,
      CPUSet: true, PidsLimit: true, IPv4Forwarding: true, BridgeNfIptables: true, BridgeNfIp6tables: true,
      Debug: true, NFd: true, OomKillDisable: true, NGoroutines: true, SystemTime: true, LoggingDriver: true,
      CgroupDriver: true, CgroupVersion: true, NEventsListener: true, KernelVersion: true, OperatingSystem: true,
      OSVersion: true, OSType: true, Architecture: true, IndexServerAddress: true, RegistryConfig: true, NCPU: true,
      MemTotal: true, GenericResources: true, DockerRootDir: true, HttpProxy: true, HttpsProxy: true, NoProxy: true,
      Name: true, Labels: true, ExperimentalBuild: true, ServerVersion: true, ClusterStore: true,
      ClusterAdvertise: true, Runtimes: true, DefaultRuntime: true, Swarm: true, LiveRestoreEnabled: true,
      Isolation: true, InitBinary: true, ContainerdCommit: true, RuncCommit: true, InitCommit: true,
      SecurityOptions: true, ProductLicense: true, DefaultAddressPools: true, CDISpecDirs: true, Containerd: true,
      Warnings: true,
    }),
  ],
  [
    'SystemVersion',
    keys<SystemVersion>({
      Platform: true, Components: true, Version: true, ApiVersion: true, MinAPIVersion: true, GitCommit: true,
      GoVersion: true, Os: true, Arch: true, KernelVersion: true, Experimental: true, BuildTime: true,
    }),
  ],
];

describe(
  'API model types against swagger.yaml',
  { skip: !swaggerPath && 'swagger.yaml not available' },
  () => {
    const lines = swaggerPath ? readFileSync(swaggerPath, 'utf8').split('\n') : [];
    for (const [definition, ours] of covered) {
      test(`${definition} has every swagger field`, () => {
        const theirs = swaggerProperties(lines, definition);
        assert.ok(theirs.length >= Math.min(2, ours.length), `no properties read for ${definition}`);
        assert.deepEqual(
          theirs.filter((name) => !ours.includes(name)),
          [],
        );
      });
    }
  },
);

describe('toStrSlice', () => {
  test('a string is a one-element list; lists and null pass through', () => {
    assert.deepEqual(toStrSlice('echo hi'), ['echo hi']);
    assert.deepEqual(toStrSlice(['a', 'b']), ['a', 'b']);
    assert.equal(toStrSlice(null), null);
    assert.equal(toStrSlice(undefined), undefined);
  });

  test('anything else is an InvalidParameter error', () => {
    assert.throws(
      () => toStrSlice([1], 'Cmd'),
      (err) => isEngineError(err, 'InvalidParameter') && /Cmd must be a string/.test(err.message),
    );
  });
});
