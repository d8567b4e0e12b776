/**
 * The container service's side of networking: which networks a container is
 * configured for (kept with the container, as Docker keeps
 * NetworkSettings.Networks), the attach request each start makes to the
 * network service, and the NetworkSettings and ports inspect and ps show.
 */
import { invalidParameter, isEngineError } from '../../common/errors.js';
import type { ContainerConfig, HostConfig, NetworkingConfig, Port, PortMap } from '../../types/container.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';
import { dnsNamesOf } from '../networks/sandboxes.js';
import type { AttachRequest, NetworkRef } from '../networks/types.js';
import type { ContainerNetworks } from './deps.js';
import { blankNetworkSettings } from './inspect.js';

/** Network name to the endpoint settings the user asked for. */
export type EndpointsConfig = Record<string, EndpointSettings>;

/** How a container's network is set up at start. */
export type AttachKind = 'attach' | 'none' | 'container';

/**
 * `none` gets a namespace of its own with only lo straight from the runtime
 * and `container:` joins another's; the others get theirs from the network
 * service.
 */
export function attachKindOf(hostConfig: HostConfig): AttachKind {
  const mode = hostConfig.NetworkMode ?? '';
  if (mode === 'none') return 'none';
  if (mode.startsWith('container:')) return 'container';
  return 'attach';
}

/**
 * Whether a start (and a live connect/disconnect) goes through the network
 * service: every mode but `container:`. A `none` container has no
 * namespace of berth's, but its endpoint on `none` is listed in network
 * inspect and has connect/disconnect events, as on Docker.
 */
export function attachesThroughNetworkService(hostConfig: HostConfig): boolean {
  return attachKindOf(hostConfig) !== 'container';
}

const primaryName = (mode: string | undefined): string => (!mode || mode === 'default' ? 'bridge' : mode);

/** Only what a user may ask for is kept; addresses and IDs are the network's to give. */
function requested(settings: EndpointSettings | null | undefined): EndpointSettings {
  const kept: EndpointSettings = {};
  if (!settings) return kept;
  if (settings.IPAMConfig) kept.IPAMConfig = settings.IPAMConfig;
  if (settings.Links?.length) kept.Links = settings.Links;
  if (settings.Aliases?.length) kept.Aliases = settings.Aliases;
  if (settings.MacAddress) kept.MacAddress = settings.MacAddress;
  if (settings.DriverOpts) kept.DriverOpts = settings.DriverOpts;
  return kept;
}

/**
 * The networks of a new container, keyed by network name: the NetworkMode
 * network and every EndpointsConfig entry. Unknown networks are refused
 * (as 400: the docker CLI answers a 404 from create by pulling the image).
 */
export function endpointsAtCreate(
  hostConfig: HostConfig,
  networking: NetworkingConfig | undefined,
  networks: ContainerNetworks | undefined,
): EndpointsConfig {
  const mode = hostConfig.NetworkMode ?? '';
  if (mode.startsWith('container:')) return {};
  const nameOf = (term: string): string => {
    if (!networks) return term;
    try {
      return networks.findNetwork(term).name;
    } catch (err) {
      if (isEngineError(err, 'NotFound')) throw invalidParameter(err.message);
      throw err;
    }
  };
  const primary = nameOf(primaryName(mode));
  const config: EndpointsConfig = { [primary]: {} };
  for (const [key, settings] of Object.entries(networking?.EndpointsConfig ?? {})) {
    const name = key === 'default' ? primary : nameOf(key);
    config[name] = requested(settings);
  }
  if (Object.keys(config).length > 1 && (primary === 'host' || primary === 'none')) {
    throw invalidParameter(
      primary === 'host'
        ? 'container cannot be disconnected from host network or connected to host network'
        : 'container cannot be connected to multiple networks with one of the networks in private (none) mode',
    );
  }
  return config;
}

/**
 * The network a start attaches first: NetworkMode's, unless the container
 * was disconnected from it, then the first one it is still configured for.
 * Undefined when it is on no network at all (it then has only lo, as on Docker).
 */
export function startNetworkMode(
  hostConfig: HostConfig,
  endpoints: EndpointsConfig | undefined,
  networks: ContainerNetworks,
): string | undefined {
  const mode = primaryName(hostConfig.NetworkMode);
  if (!endpoints) return mode;
  const names = Object.keys(endpoints);
  if (names.length === 0) return undefined;
  let primary: string | undefined;
  try {
    primary = networks.findNetwork(mode).name;
  } catch {
    // Removed since create: the start fails below with Docker's "network x not found".
    return mode;
  }
  return endpoints[primary] ? mode : names[0];
}

export interface AttachInput {
  id: string;
  name: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  endpoints: EndpointsConfig;
  /** Where the network service writes hosts, resolv.conf and hostname. */
  filesDir: string;
  /** The network to attach first (see startNetworkMode); NetworkMode's by default. */
  networkMode?: string;
}

export function attachRequestOf(input: AttachInput): AttachRequest {
  const { config, hostConfig: hc } = input;
  return {
    containerId: input.id,
    containerName: input.name.replace(/^\//, ''),
    hostname: config.Hostname ?? '',
    domainname: config.Domainname || undefined,
    networkMode: input.networkMode ?? primaryName(hc.NetworkMode),
    endpointsConfig: input.endpoints,
    macAddress: config.MacAddress || undefined,
    exposedPorts: config.ExposedPorts ?? null,
    portBindings: hc.PortBindings ?? null,
    publishAllPorts: hc.PublishAllPorts === true,
    extraHosts: hc.ExtraHosts ?? null,
    dns: hc.Dns ?? null,
    dnsSearch: hc.DnsSearch ?? null,
    dnsOptions: hc.DnsOptions ?? null,
    filesDir: input.filesDir,
  };
}

function endpointView(
  settings: EndpointSettings,
  networkId: string,
  dnsNames: string[] | null,
): EndpointSettings {
  return {
    IPAMConfig: settings.IPAMConfig ?? null,
    Links: settings.Links ?? null,
    Aliases: settings.Aliases ?? null,
    MacAddress: settings.MacAddress ?? '',
    DriverOpts: settings.DriverOpts ?? null,
    GwPriority: 0,
    NetworkID: networkId,
    EndpointID: '',
    Gateway: '',
    IPAddress: '',
    IPPrefixLen: 0,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: dnsNames,
  };
}

/** What a stopped container's DNSNames are made of. */
export interface IdleContainer {
  ID: string;
  Name: string;
  Config: Pick<ContainerConfig, 'Hostname'>;
  /**
   * Docker gives an endpoint its DNSNames when the container joins the
   * network (at start, or at a connect) and keeps them once it stops; a
   * container that never started shows none.
   */
  HasBeenStartedBefore?: boolean;
}

/**
 * NetworkSettings of a container without a live attachment: its networks, no
 * addresses; with the container, the DNSNames of its networks with DNS as
 * Docker keeps them after a stop.
 */
export function idleNetworkSettings(
  endpoints: EndpointsConfig,
  networks: ContainerNetworks | undefined,
  container?: IdleContainer,
): NetworkSettings {
  const views: Record<string, EndpointSettings> = {};
  for (const [name, settings] of Object.entries(endpoints)) {
    let network: NetworkRef | undefined;
    try {
      network = networks?.findNetwork(name);
    } catch {
      // The network was removed since; Docker shows the entry without an ID.
    }
    const named = container?.HasBeenStartedBefore && network?.dns;
    const dnsNames = named
      ? dnsNamesOf(
          {
            containerName: container.Name.replace(/^\//, ''),
            containerId: container.ID,
            hostname: container.Config.Hostname ?? '',
          },
          settings.Aliases ?? [],
        )
      : null;
    views[name] = endpointView(settings, network?.id ?? '', dnsNames);
  }
  return blankNetworkSettings(views);
}

/** The Ports of a list entry (`ps`), from NetworkSettings.Ports: one entry per host binding. */
export function portList(ports: PortMap | null | undefined): Port[] {
  const list: Port[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, proto = 'tcp'] = key.split('/');
    const base = { PrivatePort: Number(port), Type: proto as Port['Type'] };
    if (!bindings || bindings.length === 0) {
      list.push(base);
      continue;
    }
    for (const binding of bindings) {
      list.push({ IP: binding.HostIp ?? '', ...base, PublicPort: Number(binding.HostPort) });
    }
  }
  return list.sort((a, b) => a.PrivatePort - b.PrivatePort || (a.PublicPort ?? 0) - (b.PublicPort ?? 0));
}
