/**
 * The two Docker views of a container: the whole inspect document
 * (`GET /containers/{id}/json`) and the list entry (`GET /containers/json`).
 */
import type {
  ContainerInspect,
  ContainerSummary,
  HostConfig,
  MountPoint,
  Port,
} from '../../types/container.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';
import { inspectState, rfc3339ToNanos, statusOf, statusText, type Container } from './record.js';

/** The network a container is attached to by its NetworkMode, as Docker names it in NetworkSettings.Networks. */
export function networkNameOf(hostConfig: HostConfig): string | undefined {
  const mode = hostConfig.NetworkMode || 'bridge';
  if (mode === 'default') return 'bridge';
  if (mode.startsWith('container:')) return undefined;
  return mode;
}

function emptyEndpoint(): EndpointSettings {
  return {
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    MacAddress: '',
    DriverOpts: null,
    GwPriority: 0,
    NetworkID: '',
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: null,
  };
}

export function networkSettings(container: Container, sandboxKey = ''): NetworkSettings {
  const network = networkNameOf(container.HostConfig);
  return blankNetworkSettings(network ? { [network]: emptyEndpoint() } : {}, sandboxKey);
}

/** Docker's NetworkSettings for a container with no live endpoint: everything empty but its networks. */
export function blankNetworkSettings(
  networks: Record<string, EndpointSettings>,
  sandboxKey = '',
): NetworkSettings {
  return {
    Bridge: '',
    SandboxID: '',
    SandboxKey: sandboxKey,
    Ports: {},
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: '',
    Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    MacAddress: '',
    Networks: networks,
  };
}

export interface InspectExtras {
  sizeRw?: number;
  sizeRootFs?: number;
  execIds?: string[];
  /** Host paths of the snapshot (GraphDriver.Data). */
  graphDriverData?: Record<string, string> | null;
  networkSettings?: NetworkSettings;
  mounts?: MountPoint[];
}

export function inspectContainer(container: Container, extras: InspectExtras = {}): ContainerInspect {
  const doc: ContainerInspect = {
    Id: container.ID,
    Created: container.Created,
    Path: container.Path,
    Args: container.Args,
    State: inspectState(container.State),
    Image: container.Image,
    ResolvConfPath: container.ResolvConfPath,
    HostnamePath: container.HostnamePath,
    HostsPath: container.HostsPath,
    LogPath: container.LogPath,
    Name: container.Name,
    RestartCount: container.RestartCount,
    Driver: container.Driver,
    Platform: container.Platform,
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: extras.execIds && extras.execIds.length > 0 ? extras.execIds : null,
    HostConfig: container.HostConfig,
    GraphDriver: { Name: container.Driver, Data: extras.graphDriverData ?? null },
    Mounts: extras.mounts ?? [],
    Config: container.Config,
    NetworkSettings: extras.networkSettings ?? networkSettings(container),
  };
  if (extras.sizeRw !== undefined) doc.SizeRw = extras.sizeRw;
  if (extras.sizeRootFs !== undefined) doc.SizeRootFs = extras.sizeRootFs;
  return doc;
}

/** The COMMAND column: Path and Args joined by spaces, as Docker builds it. */
export function commandLine(container: Container): string {
  return [container.Path, ...container.Args].join(' ');
}

/** Exposed ports without host bindings, as `ps` lists them before networking publishes any. */
function exposedPorts(container: Container): Port[] {
  return Object.keys(container.Config.ExposedPorts ?? {})
    .map((key) => {
      const [port, proto = 'tcp'] = key.split('/');
      return { PrivatePort: Number(port), Type: proto as Port['Type'] };
    })
    .sort((a, b) => a.PrivatePort - b.PrivatePort);
}

export interface SummaryExtras {
  sizeRw?: number;
  sizeRootFs?: number;
  /** Published ports of a running container (exposed ports are listed otherwise). */
  ports?: Port[];
  networks?: Record<string, EndpointSettings>;
  mounts?: MountPoint[];
}

export function summarizeContainer(
  container: Container,
  imageName: string,
  extras: SummaryExtras = {},
): ContainerSummary {
  const network = networkNameOf(container.HostConfig);
  const summary: ContainerSummary = {
    Id: container.ID,
    Names: [container.Name],
    Image: imageName,
    ImageID: container.Image,
    Command: commandLine(container),
    Created: Number(rfc3339ToNanos(container.Created) / 1_000_000_000n),
    Ports: extras.ports ?? exposedPorts(container),
    Labels: container.Config.Labels ?? {},
    State: statusOf(container.State),
    Status: statusText(container.State, Date.now(), container.State.Health?.Status),
    HostConfig: { NetworkMode: container.HostConfig.NetworkMode || 'bridge' },
    NetworkSettings: { Networks: extras.networks ?? (network ? { [network]: emptyEndpoint() } : {}) },
    Mounts: extras.mounts ?? [],
  };
  if (extras.sizeRw !== undefined) summary.SizeRw = extras.sizeRw;
  if (extras.sizeRootFs !== undefined) summary.SizeRootFs = extras.sizeRootFs;
  return summary;
}
