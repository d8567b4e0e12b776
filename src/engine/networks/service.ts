/**
 * Networks with Docker's semantics: the network API (create, list, inspect,
 * remove, prune, connect, disconnect) and the calls the container engine
 * makes to give a container its network (attach before start, detach after
 * exit, restore after a berthd restart). netavark and aardvark-dns do the
 * plumbing; this service keeps the store, the addresses and the ports.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { forbidden, isEngineError, notFound, notImplemented } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { BerthFirewall } from '../../network/firewall.js';
import { DOCKER_DEFAULT_POOLS, type AddressPool } from '../../network/ipam.js';
import { Netavark } from '../../network/netavark.js';
import { prepareNetnsDir } from '../../network/netns.js';
import { HostPortAllocator, readEphemeralRange } from '../../network/port-allocator.js';
import { parseResolvConf, type ResolvConf } from '../../network/resolution-files.js';
import { NetworkStore, type NetworkRecord } from '../../network/store.js';
import type {
  EndpointSettings,
  Network,
  NetworkContainer,
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkPruneResponse,
  NetworkSettings,
} from '../../types/network.js';
import { buildNetworkRecord, isPredefined } from './create.js';
import { listFilter, pruneFilter, type Filters } from './filters.js';
import { DEFAULT_BRIDGE_NAME, NetworkRegistry } from './registry.js';
import { SandboxManager, dnsEnabled } from './sandboxes.js';
import type { AttachRequest, AttachResult, ContainerNetworkHooks, IsRunning, NetworkRef } from './types.js';

export interface NetworkServiceOptions {
  dataRoot: string;
  execRoot: string;
  /** daemon.json `default-address-pools`; Docker's pools when empty. */
  defaultAddressPools?: readonly AddressPool[];
  /** daemon.json `bip`. */
  bip?: string;
  /** Interface of the default bridge network (berth0). */
  defaultBridge?: string;
  mtu?: number;
  publish: (type: string, action: string, id: string, attributes: Record<string, string>) => void;
  netavarkBinary?: string;
  aardvarkBinary?: string;
  /** Set false to leave the firewall alone (no isolation rules). */
  firewall?: BerthFirewall | false;
  hostResolvConfPath?: string;
}

export class NetworkService {
  readonly store: NetworkStore;
  readonly registry: NetworkRegistry;
  readonly sandboxes: SandboxManager;
  private readonly firewall: BerthFirewall | undefined;
  private readonly ports = new HostPortAllocator();
  private hooks?: ContainerNetworkHooks;
  private creating: Promise<unknown> = Promise.resolve();
  private readonly netnsDir: string;

  constructor(private readonly options: NetworkServiceOptions) {
    const networkExecRoot = path.join(options.execRoot, 'network');
    this.netnsDir = path.join(options.execRoot, 'netns');
    this.store = new NetworkStore(path.join(options.dataRoot, 'network'));
    this.firewall = options.firewall === false ? undefined : (options.firewall ?? new BerthFirewall());
    this.registry = new NetworkRegistry(this.store, this.firewall);
    const binaries = { binary: options.netavarkBinary, aardvarkBinary: options.aardvarkBinary };
    this.sandboxes = new SandboxManager({
      store: this.store,
      registry: this.registry,
      netavark: new Netavark({ ...binaries, configDir: path.join(networkExecRoot, 'netavark') }),
      // aardvark-dns forwards outside names unless told not to; internal networks get an instance that never does.
      internalNetavark: new Netavark({
        ...binaries,
        configDir: path.join(networkExecRoot, 'netavark-internal'),
        env: { AARDVARK_NO_PROXY: '1' },
      }),
      ports: this.ports,
      firewall: this.firewall,
      netnsDir: this.netnsDir,
      publish: (action, network, containerId) => this.publishEndpointEvent(action, network, containerId),
      hostResolvConf: () => readHostResolvConf(options.hostResolvConfPath),
    });
  }

  /** Loads the store, creates the predefined networks and installs the firewall rules. */
  async start(): Promise<void> {
    const { networks, sandboxes } = await this.store.load();
    this.registry.load(networks);
    this.sandboxes.load(sandboxes);
    await prepareNetnsDir(this.netnsDir);
    this.ports.setEphemeralRange(await readEphemeralRange());
    await this.firewall?.ensureBase();
    const bridge = this.registry.byName('bridge');
    await this.registry.ensurePredefined(
      {
        bridge: this.options.defaultBridge ?? DEFAULT_BRIDGE_NAME,
        bip: this.options.bip,
        pools: this.options.defaultAddressPools?.length
          ? this.options.defaultAddressPools
          : DOCKER_DEFAULT_POOLS,
        mtu: this.options.mtu,
      },
      bridge !== undefined && this.sandboxes.endpointsOn(bridge.Id).length > 0,
    );
    await this.registry.installAllFirewall();
  }

  /** The container service registers itself here; until then connect/disconnect answer 501. */
  setContainerHooks(hooks: ContainerNetworkHooks): void {
    this.hooks = hooks;
  }

  // --- network API ----------------------------------------------------------

  /** Creates run one at a time: two at once could pick the same name or subnet. */
  create(request: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    const next = this.creating.then(async () => {
      const record = buildNetworkRecord(request, {
        existing: this.registry.all(),
        hostRoutes: await this.registry.foreignRoutes(),
        pools: this.options.defaultAddressPools?.length
          ? this.options.defaultAddressPools
          : DOCKER_DEFAULT_POOLS,
      });
      await this.registry.add(record);
      this.options.publish('network', 'create', record.Id, { name: record.Name, type: record.Driver });
      return { Id: record.Id, Warning: '' };
    });
    this.creating = next.catch(() => undefined);
    return next;
  }

  list(filters: Filters = new Map()): Network[] {
    const filter = listFilter(filters);
    return this.registry
      .all()
      .filter((n) => filter.matches(n, this.inUse(n)))
      .sort((a, b) => a.Created.localeCompare(b.Created))
      .map((n) => this.toNetwork(n));
  }

  inspect(term: string, scope?: string): Network {
    const record = this.registry.find(term);
    if (scope && scope !== record.Scope) throw notFound(`network ${term} not found`);
    return this.toNetwork(record);
  }

  /** Docker's network lookup for the engine (NetworkMode, EndpointsConfig keys). */
  findNetwork(term: string): NetworkRef {
    return refOf(this.registry.find(term));
  }

  async remove(term: string): Promise<void> {
    const record = this.registry.find(term);
    if (isPredefined(record.Name))
      throw forbidden(`${record.Name} is a pre-defined network and cannot be removed`);
    const endpoints = this.sandboxes.endpointsOn(record.Id);
    if (endpoints.length > 0) {
      const list = endpoints.map(
        ({ sandbox, endpoint }) =>
          `name:${JSON.stringify(sandbox.containerName)} id:${JSON.stringify(endpoint.endpointId.slice(0, 12))}`,
      );
      throw forbidden(
        `error while removing network: network ${record.Name} has active endpoints (${list.join(', ')})`,
      );
    }
    await this.registry.remove(record);
    this.options.publish('network', 'destroy', record.Id, { name: record.Name, type: record.Driver });
  }

  async prune(filters: Filters = new Map()): Promise<NetworkPruneResponse> {
    const filter = pruneFilter(filters);
    const deleted: string[] = [];
    for (const record of this.registry.all()) {
      if (!filter.matches(record, this.inUse(record))) continue;
      try {
        await this.remove(record.Id);
        deleted.push(record.Name);
      } catch (err) {
        log.warn('could not prune network', { network: record.Name, error: String(err) });
      }
    }
    this.options.publish('network', 'prune', '', { reclaimed: '0' });
    return { NetworksDeleted: deleted };
  }

  /** `POST /networks/{id}/connect`: through the container service, which knows the container. */
  async connect(
    networkTerm: string,
    container: string,
    endpoint: EndpointSettings | null | undefined,
  ): Promise<void> {
    const record = this.registry.find(networkTerm);
    if (!this.hooks)
      throw notImplemented(
        'connecting a container needs the container service, which is not available in this berthd',
      );
    await this.hooks.connect(container, refOf(record), endpoint ?? {});
  }

  /**
   * `POST /networks/{id}/disconnect`. With force, a container berth does not
   * know (removed, its endpoint left stale) has its endpoint deleted by name,
   * as dockerd's ForceEndpointDelete does; a name with no endpoint either is
   * Docker's "endpoint NAME not found".
   */
  async disconnect(networkTerm: string, container: string, force: boolean): Promise<void> {
    const record = this.registry.find(networkTerm);
    if (!this.hooks) {
      if (force) return this.forceEndpointDelete(container, record);
      throw notImplemented(
        'disconnecting a container needs the container service, which is not available in this berthd',
      );
    }
    try {
      await this.hooks.disconnect(container, refOf(record), force);
    } catch (err) {
      if (!force || !isEngineError(err, 'NotFound')) throw err;
      await this.forceEndpointDelete(container, record);
    }
  }

  private async forceEndpointDelete(container: string, record: NetworkRecord): Promise<void> {
    if (!(await this.sandboxes.forceRemoveEndpoint(container, record)))
      throw notFound(`endpoint ${container} not found`);
  }

  // --- container engine -----------------------------------------------------

  /** Gives a container its network before its task starts; see AttachRequest. */
  attachContainer(request: AttachRequest): Promise<AttachResult> {
    return this.sandboxes.attach(request);
  }

  /** Tears down everything attachContainer set up (after the task exited, or on a failed start). */
  detachContainer(containerId: string): Promise<void> {
    return this.sandboxes.detach(containerId);
  }

  /** Connects a running container to one more network. */
  connectContainer(
    containerId: string,
    networkTerm: string,
    settings: EndpointSettings = {},
  ): Promise<EndpointSettings> {
    return this.sandboxes.connect(containerId, this.registry.find(networkTerm), settings);
  }

  disconnectContainer(containerId: string, networkTerm: string, force = false): Promise<void> {
    return this.sandboxes.disconnect(containerId, this.registry.find(networkTerm), force);
  }

  /** A stopped container left a network it was only configured for: dockerd still reports it. */
  recordStoppedDisconnect(containerId: string, networkTerm: string): void {
    this.publishEndpointEvent('disconnect', this.registry.find(networkTerm), containerId);
  }

  private publishEndpointEvent(
    action: 'connect' | 'disconnect',
    network: NetworkRecord,
    containerId: string,
  ): void {
    this.options.publish('network', action, network.Id, {
      container: containerId,
      name: network.Name,
      type: network.Driver,
    });
  }

  /** `docker rename`: DNS answers to the new name from now on. */
  renameContainer(containerId: string, newName: string): Promise<void> {
    return this.sandboxes.rename(containerId, newName);
  }

  /** The live NetworkSettings of an attached container (undefined when not attached). */
  networkSettings(containerId: string): NetworkSettings | undefined {
    const sandbox = this.sandboxes.get(containerId);
    return sandbox ? this.sandboxes.settingsOf(sandbox) : undefined;
  }

  /**
   * Lets go of the host ports berthd holds for published ports, and nothing
   * else: containers keep their networking while berthd is down, and a
   * restarted berthd takes the ports back in restore().
   */
  /**
   * Networks no container uses any more lose their isolation rules (start
   * installs them again): netavark has removed their bridges, and rules for a
   * bridge that is gone would otherwise outlive berthd. Networks of containers
   * that keep running (live-restore) keep theirs.
   */
  async shutdown(): Promise<void> {
    for (const sandbox of this.sandboxes.all()) await this.ports.release(sandbox.containerId);
    for (const record of this.registry.all()) {
      if (!this.inUse(record)) await this.registry.uninstallFirewall(record);
    }
  }

  /** After a restart: tears down what belongs to dead containers and restores what running ones miss. */
  restore(isRunning: IsRunning): Promise<void> {
    return this.sandboxes.restore(isRunning);
  }

  // --- helpers ----------------------------------------------------------------

  private inUse(record: NetworkRecord): boolean {
    return this.sandboxes.endpointsOn(record.Id).length > 0;
  }

  private toNetwork(record: NetworkRecord): Network {
    const containers: Record<string, NetworkContainer> = {};
    for (const { sandbox, endpoint } of this.sandboxes.endpointsOn(record.Id)) {
      containers[sandbox.containerId] = {
        Name: sandbox.containerName,
        EndpointID: endpoint.endpointId,
        MacAddress: endpoint.mac ?? '',
        IPv4Address: endpoint.ipv4 ? `${endpoint.ipv4}/${endpoint.ipv4PrefixLen}` : '',
        IPv6Address: endpoint.ipv6 ? `${endpoint.ipv6}/${endpoint.ipv6PrefixLen}` : '',
      };
    }
    return {
      Name: record.Name,
      Id: record.Id,
      Created: record.Created,
      Scope: record.Scope,
      Driver: record.Driver,
      EnableIPv4: record.EnableIPv4,
      EnableIPv6: record.EnableIPv6,
      IPAM: { Driver: record.IPAM.Driver, Options: record.IPAM.Options, Config: record.IPAM.Config },
      Internal: record.Internal,
      Attachable: record.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Containers: containers,
      Options: record.Options,
      Labels: record.Labels,
    };
  }
}

/**
 * The host's resolvers. With only loopback servers (systemd-resolved's stub)
 * the real upstream list is used instead, as dockerd does.
 */
async function readHostResolvConf(configured?: string): Promise<{ conf: ResolvConf; path: string }> {
  const primary = configured ?? '/etc/resolv.conf';
  const conf = parseResolvConf(await fs.readFile(primary, 'utf8').catch(() => ''));
  const onlyLoopback = conf.nameservers.length > 0 && conf.nameservers.every((ns) => /^127\.|^::1$/.test(ns));
  if (!configured && onlyLoopback) {
    const resolved = '/run/systemd/resolve/resolv.conf';
    const text = await fs.readFile(resolved, 'utf8').catch(() => undefined);
    if (text !== undefined) return { conf: parseResolvConf(text), path: resolved };
  }
  return { conf, path: primary };
}

function refOf(record: NetworkRecord): NetworkRef {
  return { id: record.Id, name: record.Name, dns: dnsEnabled(record) };
}
