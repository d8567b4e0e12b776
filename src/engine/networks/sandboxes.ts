/**
 * Container attachments ("sandboxes"): a network namespace, one endpoint per
 * network (an address, an interface, DNS names), published ports, and the
 * hosts/resolv.conf files. Every change is recorded before netavark runs, so a
 * berthd killed at any point leaves a record the next start can finish or undo.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { conflict, forbidden, invalidParameter, notFound, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { BerthFirewall } from '../../network/firewall.js';
import { formatAddress, parseAddress, type Family } from '../../network/ip.js';
import { allocateAddress, checkStaticAddress, type SubnetPlan } from '../../network/ipam.js';
import {
  aardvarkPid,
  readAardvarkEntries,
  startAardvark,
  type Netavark,
  type NetavarkNetwork,
  type NetavarkRequest,
} from '../../network/netavark.js';
import { createNetns, netnsExists, removeNetns, runInNetns } from '../../network/netns.js';
import type { HostPortAllocator } from '../../network/port-allocator.js';
import { portMapOf, portRequests } from '../../network/ports.js';
import {
  buildHostsFile,
  buildResolvConf,
  parseExtraHosts,
  type ResolvConf,
} from '../../network/resolution-files.js';
import type {
  EndpointRecord,
  NetworkRecord,
  NetworkStore,
  SandboxMode,
  SandboxRecord,
} from '../../network/store.js';
import type { EndpointSettings, NetworkSettings } from '../../types/network.js';
import { bridgeSettings, generateId, isPredefined, subnetPlans } from './create.js';
import type { NetworkRegistry } from './registry.js';
import type { AttachRequest, AttachResult, IsRunning } from './types.js';

export interface SandboxDeps {
  store: NetworkStore;
  registry: NetworkRegistry;
  /** netavark for networks with outside access, and one whose aardvark-dns never forwards (internal networks). */
  netavark: Netavark;
  internalNetavark: Netavark;
  ports: HostPortAllocator;
  firewall?: BerthFirewall;
  /** Where berth pins the namespaces it creates. */
  netnsDir: string;
  publish: (action: 'connect' | 'disconnect', network: NetworkRecord, containerId: string) => void;
  hostResolvConf: () => Promise<{ conf: ResolvConf; path: string }>;
  /** The host's /etc/hosts (host mode without extra hosts gets a copy). */
  hostHostsPath?: string;
}

/** A validated request for one endpoint, before anything is allocated. */
interface EndpointPlan {
  network: NetworkRecord;
  settings: EndpointSettings;
}

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

/** Networks whose containers get DNS from aardvark-dns: user-defined bridges (not the default bridge, as Docker). */
export const dnsEnabled = (network: NetworkRecord): boolean =>
  network.Driver === 'bridge' && network.Name !== 'bridge';

export class SandboxManager {
  private readonly sandboxes = new Map<string, SandboxRecord>();
  /** Addresses in use per network, from every sandbox's endpoints. */
  private readonly used = new Map<string, Set<bigint>>();
  private readonly lastAllocated = new Map<string, bigint>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private netavarkQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: SandboxDeps) {}

  load(records: readonly SandboxRecord[]): void {
    for (const record of records) {
      this.sandboxes.set(record.containerId, record);
      for (const endpoint of record.endpoints) this.claim(endpoint);
    }
  }

  get(containerId: string): SandboxRecord | undefined {
    return this.sandboxes.get(containerId);
  }

  all(): SandboxRecord[] {
    return [...this.sandboxes.values()];
  }

  /** Running containers' endpoints on a network (Containers of network inspect, "in use"). */
  endpointsOn(networkId: string): { sandbox: SandboxRecord; endpoint: EndpointRecord }[] {
    const found: { sandbox: SandboxRecord; endpoint: EndpointRecord }[] = [];
    for (const sandbox of this.sandboxes.values()) {
      for (const endpoint of sandbox.endpoints) {
        if (endpoint.networkId === networkId) found.push({ sandbox, endpoint });
      }
    }
    return found;
  }

  /** Per-container serialisation: attach, connect, disconnect and detach of one container never interleave. */
  private withLock<T>(containerId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(containerId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(containerId, settled);
    void settled.then(() => {
      if (this.locks.get(containerId) === settled) this.locks.delete(containerId);
    });
    return next;
  }

  /** netavark runs one at a time: concurrent runs race creating the same bridge. */
  private serialNetavark<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.netavarkQueue.then(fn, fn);
    this.netavarkQueue = next.catch(() => undefined);
    return next;
  }

  attach(request: AttachRequest): Promise<AttachResult> {
    return this.withLock(request.containerId, async () => {
      if (this.sandboxes.has(request.containerId)) {
        log.warn('container was still attached; detaching first', { container: request.containerId });
        await this.detachLocked(request.containerId);
      }
      return this.attachLocked(request);
    });
  }

  detach(containerId: string): Promise<void> {
    return this.withLock(containerId, () => this.detachLocked(containerId));
  }

  connect(
    containerId: string,
    network: NetworkRecord,
    settings: EndpointSettings,
  ): Promise<EndpointSettings> {
    return this.withLock(containerId, () => this.connectLocked(containerId, network, settings));
  }

  disconnect(containerId: string, network: NetworkRecord, force: boolean): Promise<void> {
    return this.withLock(containerId, () => this.disconnectLocked(containerId, network, force));
  }

  private async attachLocked(request: AttachRequest): Promise<AttachResult> {
    const mode = request.networkMode || 'default';
    if (mode.startsWith('container:')) return this.attachShared(request, mode.slice('container:'.length));
    const primary = this.deps.registry.find(mode === 'default' ? 'bridge' : mode);
    const plans = this.planEndpoints(request, primary);
    const sandboxMode: SandboxMode =
      primary.Driver === 'host' ? 'host' : primary.Driver === 'null' ? 'none' : 'bridge';
    const sandbox: SandboxRecord = {
      containerId: request.containerId,
      containerName: request.containerName,
      hostname: request.hostname,
      domainname: request.domainname ?? '',
      mode: sandboxMode,
      ownsNetns: sandboxMode === 'bridge' && !request.netnsPath,
      netnsPath: namespaceOf(sandboxMode, request, this.deps.netnsDir),
      filesDir: request.filesDir,
      extraHosts: request.extraHosts ?? [],
      dns: request.dns ?? [],
      dnsSearch: request.dnsSearch ?? [],
      dnsOptions: request.dnsOptions ?? [],
      exposedPorts: request.exposedPorts ?? {},
      portBindings: request.portBindings ?? {},
      publishAllPorts: Boolean(request.publishAllPorts),
      ports: [],
      endpoints: [],
      state: 'ready',
    };
    // Validate names and files before anything is created.
    this.extraHostRecords(sandbox);
    for (const plan of plans)
      sandbox.endpoints.push(this.allocateEndpoint(sandbox, plan, sandbox.endpoints.length === 0));
    this.sandboxes.set(sandbox.containerId, sandbox);
    try {
      await this.deps.store.saveSandbox(sandbox);
      if (sandbox.ownsNetns) await createNetns(sandbox.netnsPath!);
      if (sandbox.mode === 'none' && sandbox.netnsPath)
        await this.serialNetavark(() => this.deps.netavark.setup(sandbox.netnsPath!, emptyRequest(sandbox)));
      if (sandbox.mode === 'bridge') await this.publishPorts(sandbox);
      for (const endpoint of sandbox.endpoints) {
        if (sandbox.mode === 'bridge') await this.setupEndpoint(sandbox, endpoint);
        endpoint.state = 'ready';
      }
      await this.deps.store.saveSandbox(sandbox);
      const files = await this.writeFiles(sandbox);
      for (const endpoint of sandbox.endpoints)
        this.deps.publish('connect', this.networkOf(endpoint), sandbox.containerId);
      return { netnsPath: sandbox.netnsPath, networkSettings: this.settingsOf(sandbox), ...files };
    } catch (err) {
      await this.undoAttach(sandbox);
      throw err;
    }
  }

  /** `container:<id>`: the other container's namespace and files; nothing of its own. */
  private async attachShared(request: AttachRequest, target: string): Promise<AttachResult> {
    const owner = this.sandboxes.get(target);
    if (!owner || owner.state !== 'ready' || !owner.netnsPath) {
      throw conflict(
        `cannot join network namespace of a non running container: container ${target} has no network namespace`,
      );
    }
    const sandbox: SandboxRecord = {
      containerId: request.containerId,
      containerName: request.containerName,
      hostname: owner.hostname,
      domainname: owner.domainname,
      mode: 'container',
      sharedWith: owner.containerId,
      netnsPath: owner.netnsPath,
      ownsNetns: false,
      filesDir: owner.filesDir,
      extraHosts: [],
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      exposedPorts: {},
      portBindings: {},
      publishAllPorts: false,
      ports: [],
      endpoints: [],
      state: 'ready',
    };
    await this.deps.store.saveSandbox(sandbox);
    this.sandboxes.set(sandbox.containerId, sandbox);
    return {
      netnsPath: owner.netnsPath,
      networkSettings: this.settingsOf(sandbox),
      ...filePaths(owner.filesDir),
    };
  }

  /** The endpoints a container starts with: the NetworkMode network first, then the other EndpointsConfig entries. */
  private planEndpoints(request: AttachRequest, primary: NetworkRecord): EndpointPlan[] {
    const configs = Object.entries(request.endpointsConfig ?? {});
    const isPrimaryKey = (key: string): boolean =>
      key === primary.Name ||
      key === primary.Id ||
      key === request.networkMode ||
      (request.networkMode === 'default' && key === 'bridge');
    const primarySettings: EndpointSettings = { ...(configs.find(([key]) => isPrimaryKey(key))?.[1] ?? {}) };
    if (request.macAddress && !primarySettings.MacAddress) primarySettings.MacAddress = request.macAddress;
    const plans: EndpointPlan[] = [{ network: primary, settings: primarySettings }];
    for (const [key, settings] of configs) {
      if (isPrimaryKey(key)) continue;
      const network = this.deps.registry.find(key);
      if (plans.some((p) => p.network.Id === network.Id)) continue;
      plans.push({ network, settings: settings ?? {} });
    }
    if (plans.length > 1) {
      if (plans.some((p) => p.network.Driver === 'host')) {
        throw forbidden('container cannot be disconnected from host network or connected to host network');
      }
      if (plans.some((p) => p.network.Driver === 'null')) {
        throw forbidden(
          'container cannot be connected to multiple networks with one of the networks in private (none) mode',
        );
      }
    }
    for (const plan of plans) validateEndpointSettings(plan);
    return plans;
  }

  /** Picks the endpoint's address(es), interface name and DNS names; claims the addresses. */
  private allocateEndpoint(sandbox: SandboxRecord, plan: EndpointPlan, primary: boolean): EndpointRecord {
    const { network, settings } = plan;
    const endpoint: EndpointRecord = {
      networkId: network.Id,
      endpointId: generateId(),
      interfaceName: nextInterfaceName(sandbox),
      aliases: [...(settings.Aliases ?? [])],
      ipamConfig: settings.IPAMConfig ?? null,
      links: settings.Links ?? null,
      driverOpts: settings.DriverOpts ?? null,
      requestedMac: settings.MacAddress || undefined,
      dnsNames: dnsEnabled(network) ? dnsNamesOf(sandbox, settings.Aliases ?? []) : [],
      publishesPorts: primary && network.Driver === 'bridge' && !network.Internal,
      state: 'configuring',
    };
    if (network.Driver !== 'bridge') {
      endpoint.interfaceName = '';
      return endpoint;
    }
    for (const plan of subnetPlans(network)) {
      const family = plan.subnet.family;
      const wanted = family === 4 ? settings.IPAMConfig?.IPv4Address : settings.IPAMConfig?.IPv6Address;
      const address = wanted
        ? checkStaticAddress([plan], wanted, this.usedOn(network.Id)).value
        : this.nextAddress(network, plan);
      const text = formatAddress({ family, value: address });
      const gateway = plan.gateway ? formatAddress(plan.gateway) : undefined;
      if (family === 4)
        Object.assign(endpoint, { ipv4: text, ipv4PrefixLen: plan.subnet.bits, ipv4Gateway: gateway });
      else Object.assign(endpoint, { ipv6: text, ipv6PrefixLen: plan.subnet.bits, ipv6Gateway: gateway });
      this.usedOn(network.Id).add(address);
    }
    return endpoint;
  }

  private nextAddress(network: NetworkRecord, plan: SubnetPlan): bigint {
    const key = `${network.Id}/${plan.subnet.family}`;
    const address = allocateAddress(plan, this.usedOn(network.Id), this.lastAllocated.get(key));
    if (address === undefined) {
      throw forbidden(
        `no available IPv${plan.subnet.family} addresses on this network's address pools: ${network.Name} (${network.Id})`,
      );
    }
    this.lastAllocated.set(key, address);
    return address;
  }

  private usedOn(networkId: string): Set<bigint> {
    let used = this.used.get(networkId);
    if (!used) this.used.set(networkId, (used = new Set()));
    return used;
  }

  private claim(endpoint: EndpointRecord): void {
    for (const text of [endpoint.ipv4, endpoint.ipv6]) {
      const address = text ? parseAddress(text) : undefined;
      if (address) this.usedOn(endpoint.networkId).add(address.value);
    }
  }

  private release(endpoint: EndpointRecord): void {
    for (const text of [endpoint.ipv4, endpoint.ipv6]) {
      const address = text ? parseAddress(text) : undefined;
      if (address) this.used.get(endpoint.networkId)?.delete(address.value);
    }
  }

  private networkOf(endpoint: EndpointRecord): NetworkRecord {
    const network = this.deps.registry.byId(endpoint.networkId);
    if (!network) throw notFound(`network ${endpoint.networkId} not found`);
    return network;
  }

  private netavarkFor(network: NetworkRecord): Netavark {
    return network.Internal ? this.deps.internalNetavark : this.deps.netavark;
  }

  /** Finds host ports for the container's published ports (all or none), before any netavark rule exists. */
  private async publishPorts(sandbox: SandboxRecord): Promise<void> {
    const publisher = sandbox.endpoints.find((e) => e.publishesPorts);
    if (!publisher) return;
    const network = this.networkOf(publisher);
    const requests = portRequests(
      sandbox.portBindings,
      sandbox.exposedPorts,
      sandbox.publishAllPorts,
      bridgeSettings(network).hostBindingIpv4,
    );
    if (requests.length === 0) return;
    try {
      sandbox.ports = await this.deps.ports.allocate(sandbox.containerId, requests);
    } catch (err) {
      throw systemError(
        `driver failed programming external connectivity on endpoint ${sandbox.containerName} (${publisher.endpointId}): ${(err as Error).message}`,
        err,
      );
    }
  }

  private netavarkRequest(
    sandbox: SandboxRecord,
    endpoint: EndpointRecord,
    network: NetworkRecord,
  ): NetavarkRequest {
    const dns = dnsEnabled(network);
    const staticIps = subnetPlans(network).map((plan) =>
      plan.subnet.family === 4 ? endpoint.ipv4! : endpoint.ipv6!,
    );
    const request: NetavarkRequest = {
      container_id: sandbox.containerId,
      container_name: sandbox.containerName,
      networks: {
        [network.Id]: {
          interface_name: endpoint.interfaceName,
          static_ips: staticIps,
          aliases: dns ? endpoint.dnsNames.filter((n) => n !== sandbox.containerName) : undefined,
          static_mac: endpoint.mac ?? endpoint.requestedMac,
        },
      },
      network_info: { [network.Id]: netavarkNetwork(network) },
    };
    if (endpoint.publishesPorts && sandbox.ports.length > 0) {
      request.port_mappings = sandbox.ports.map((p) => ({
        host_ip: p.hostIp === '0.0.0.0' || p.hostIp === '::' ? '' : p.hostIp,
        container_port: p.containerPort,
        host_port: p.hostPort,
        range: 1,
        protocol: p.protocol,
      }));
    }
    if (dns && sandbox.dns.length > 0) request.dns_servers = sandbox.dns;
    return request;
  }

  private async setupEndpoint(sandbox: SandboxRecord, endpoint: EndpointRecord): Promise<void> {
    const network = this.networkOf(endpoint);
    const request = this.netavarkRequest(sandbox, endpoint, network);
    let status;
    try {
      status = await this.serialNetavark(() => this.netavarkFor(network).setup(sandbox.netnsPath!, request));
    } catch (err) {
      // netavark does not undo a half-done setup itself.
      await this.teardownEndpoint(sandbox, endpoint).catch(() => undefined);
      throw systemError(
        `failed to set up container networking on network ${network.Name}: ${(err as Error).message}`,
        err,
      );
    }
    const iface = status[network.Id]?.interfaces?.[endpoint.interfaceName];
    if (iface?.mac_address) endpoint.mac = iface.mac_address;
    await this.deps.firewall?.afterNetavarkSetup(endpoint.ipv6 ? [4, 6] : [4]);
  }

  /** `asName`: the name the endpoint was set up under, when it has changed since. */
  private async teardownEndpoint(
    sandbox: SandboxRecord,
    endpoint: EndpointRecord,
    asName?: string,
  ): Promise<void> {
    const network = this.deps.registry.byId(endpoint.networkId);
    if (!network || network.Driver !== 'bridge' || !sandbox.netnsPath) return;
    const netavark = this.netavarkFor(network);
    let netnsPath = sandbox.netnsPath;
    let scratch: string | undefined;
    if (!(await netnsExists(netnsPath))) {
      // The namespace died with the container: netavark still needs one to remove rules and DNS entries.
      scratch = path.join(this.deps.netnsDir, `scratch-${randomBytes(6).toString('hex')}`);
      await createNetns(scratch);
      netnsPath = scratch;
    }
    try {
      const request = this.netavarkRequest(
        asName ? { ...sandbox, containerName: asName } : sandbox,
        endpoint,
        network,
      );
      await this.serialNetavark(() => netavark.teardown(netnsPath, request));
    } catch (err) {
      if (!scratch)
        log.warn('netavark teardown reported errors', {
          container: sandbox.containerId,
          network: network.Name,
          error: (err as Error).message,
        });
    } finally {
      if (scratch) await removeNetns(scratch).catch(() => undefined);
    }
    await this.removeLeftoverChains(network);
  }

  /**
   * netavark 1.4 leaves the network's empty NETAVARK-DN-<hash> nat chain when
   * the last container to leave had no published ports; berth removes it once
   * the bridge is gone.
   */
  private async removeLeftoverChains(network: NetworkRecord): Promise<void> {
    if (!network.bridge || !this.deps.firewall) return;
    try {
      await fs.access(`/sys/class/net/${network.bridge}`);
      return;
    } catch {
      // The bridge went with its last container.
    }
    const families: Family[] = network.EnableIPv6 ? [4, 6] : [4];
    await this.deps.firewall.deleteChainIfEmpty(families, 'nat', `NETAVARK-DN-${netavarkHash(network.Id)}`);
  }

  private async undoAttach(sandbox: SandboxRecord): Promise<void> {
    for (const endpoint of [...sandbox.endpoints].reverse()) {
      // A failed setup has undone itself; only completed endpoints need a teardown.
      if (sandbox.mode === 'bridge' && endpoint.state === 'ready')
        await this.teardownEndpoint(sandbox, endpoint).catch(() => undefined);
      this.release(endpoint);
    }
    await this.deps.ports.release(sandbox.containerId);
    if (sandbox.ownsNetns && sandbox.netnsPath) await removeNetns(sandbox.netnsPath).catch(() => undefined);
    this.sandboxes.delete(sandbox.containerId);
    await this.deps.store.deleteSandbox(sandbox.containerId).catch(() => undefined);
  }

  private async detachLocked(containerId: string): Promise<void> {
    const sandbox = this.sandboxes.get(containerId);
    if (!sandbox) return;
    sandbox.state = 'removing';
    await this.deps.store.saveSandbox(sandbox);
    for (const endpoint of [...sandbox.endpoints].reverse()) {
      if (sandbox.mode === 'bridge') await this.teardownEndpoint(sandbox, endpoint);
      this.release(endpoint);
      const network = this.deps.registry.byId(endpoint.networkId);
      if (network && endpoint.state === 'ready') this.deps.publish('disconnect', network, containerId);
    }
    await this.deps.ports.release(containerId);
    if (sandbox.ownsNetns && sandbox.netnsPath) {
      await removeNetns(sandbox.netnsPath).catch((err: unknown) =>
        log.warn('could not remove network namespace', { error: String(err) }),
      );
    }
    this.sandboxes.delete(containerId);
    await this.deps.store.deleteSandbox(containerId);
  }

  private async connectLocked(
    containerId: string,
    network: NetworkRecord,
    settings: EndpointSettings,
  ): Promise<EndpointSettings> {
    const sandbox = this.sandboxes.get(containerId);
    if (!sandbox) throw conflict(`container ${containerId} is not running`);
    if (sandbox.mode === 'container') {
      throw invalidParameter(
        'container sharing network namespace with another container or host cannot be connected to any other network',
      );
    }
    if (sandbox.mode === 'host' || network.Driver === 'host') {
      throw forbidden('container cannot be disconnected from host network or connected to host network');
    }
    if (sandbox.mode === 'none' || network.Driver === 'null') {
      throw forbidden(
        'container cannot be connected to multiple networks with one of the networks in private (none) mode',
      );
    }
    if (sandbox.endpoints.some((e) => e.networkId === network.Id)) {
      throw forbidden(
        `endpoint with name ${sandbox.containerName} already exists in network ${network.Name}`,
      );
    }
    const plan = { network, settings };
    validateEndpointSettings(plan);
    const endpoint = this.allocateEndpoint(sandbox, plan, false);
    sandbox.endpoints.push(endpoint);
    try {
      await this.deps.store.saveSandbox(sandbox);
      await this.setupEndpoint(sandbox, endpoint);
      endpoint.state = 'ready';
      await this.deps.store.saveSandbox(sandbox);
    } catch (err) {
      sandbox.endpoints = sandbox.endpoints.filter((e) => e !== endpoint);
      this.release(endpoint);
      await this.deps.store.saveSandbox(sandbox).catch(() => undefined);
      throw err;
    }
    await this.writeFiles(sandbox);
    this.deps.publish('connect', network, containerId);
    return endpointSettings(endpoint, network);
  }

  private async disconnectLocked(containerId: string, network: NetworkRecord, force: boolean): Promise<void> {
    const sandbox = this.sandboxes.get(containerId);
    if (!sandbox) throw conflict(`container ${containerId} is not running`);
    if (network.Driver === 'host' && !force) {
      throw forbidden('container cannot be disconnected from host network or connected to host network');
    }
    const endpoint = sandbox.endpoints.find((e) => e.networkId === network.Id);
    if (!endpoint)
      throw invalidParameter(`container ${containerId} is not connected to network ${network.Name}`);
    if (sandbox.mode === 'bridge') await this.teardownEndpoint(sandbox, endpoint);
    if (endpoint.publishesPorts) {
      await this.deps.ports.release(containerId);
      sandbox.ports = [];
    }
    sandbox.endpoints = sandbox.endpoints.filter((e) => e !== endpoint);
    this.release(endpoint);
    await this.deps.store.saveSandbox(sandbox);
    await this.writeFiles(sandbox);
    this.deps.publish('disconnect', network, containerId);
  }

  /**
   * A renamed container answers to its new name on every network (Docker's
   * rename). aardvark-dns entries are only written by netavark setup, so each
   * DNS endpoint is set up again with the same address and MAC.
   */
  rename(containerId: string, newName: string): Promise<void> {
    return this.withLock(containerId, async () => {
      const sandbox = this.sandboxes.get(containerId);
      if (!sandbox) return;
      const oldName = sandbox.containerName;
      sandbox.containerName = newName;
      for (const endpoint of sandbox.endpoints) {
        endpoint.dnsNames = endpoint.dnsNames.map((n) => (n === oldName ? newName : n));
      }
      await this.deps.store.saveSandbox(sandbox);
      if (sandbox.mode !== 'bridge') return;
      for (const endpoint of sandbox.endpoints.filter((e) => dnsEnabled(this.networkOf(e)))) {
        await this.teardownEndpoint(sandbox, endpoint, oldName);
        await this.setupEndpoint(sandbox, endpoint);
      }
      await this.deps.store.saveSandbox(sandbox);
    });
  }

  /**
   * Deletes the endpoint on a network of a container the engine no longer
   * knows (Docker's endpoint name is the container name; the ID is accepted
   * too). False when there is no such endpoint. The last endpoint takes the
   * whole attachment with it, as nothing else would ever release it.
   */
  async forceRemoveEndpoint(containerIdOrName: string, network: NetworkRecord): Promise<boolean> {
    const sandbox = this.all().find(
      (s) =>
        (s.containerId === containerIdOrName || s.containerName === containerIdOrName) &&
        s.endpoints.some((e) => e.networkId === network.Id),
    );
    if (!sandbox) return false;
    await this.disconnect(sandbox.containerId, network, true);
    if (sandbox.endpoints.length === 0) await this.detach(sandbox.containerId);
    return true;
  }

  // --- NetworkSettings ------------------------------------------------------

  settingsOf(sandbox: SandboxRecord): NetworkSettings {
    const networks: Record<string, EndpointSettings> = {};
    for (const endpoint of sandbox.endpoints) {
      const network = this.deps.registry.byId(endpoint.networkId);
      if (network) networks[network.Name] = endpointSettings(endpoint, network);
    }
    const onDefaultBridge = networks.bridge;
    return {
      Bridge: '',
      SandboxID: sandbox.netnsPath && sandbox.mode !== 'container' ? sandbox.containerId : '',
      HairpinMode: false,
      LinkLocalIPv6Address: '',
      LinkLocalIPv6PrefixLen: 0,
      Ports:
        sandbox.mode === 'bridge' ? portMapOf(sandbox.ports, sandbox.exposedPorts, sandbox.portBindings) : {},
      SandboxKey: sandbox.mode === 'container' ? '' : (sandbox.netnsPath ?? ''),
      SecondaryIPAddresses: null,
      SecondaryIPv6Addresses: null,
      EndpointID: onDefaultBridge?.EndpointID ?? '',
      Gateway: onDefaultBridge?.Gateway ?? '',
      GlobalIPv6Address: onDefaultBridge?.GlobalIPv6Address ?? '',
      GlobalIPv6PrefixLen: onDefaultBridge?.GlobalIPv6PrefixLen ?? 0,
      IPAddress: onDefaultBridge?.IPAddress ?? '',
      IPPrefixLen: onDefaultBridge?.IPPrefixLen ?? 0,
      IPv6Gateway: onDefaultBridge?.IPv6Gateway ?? '',
      MacAddress: onDefaultBridge?.MacAddress ?? '',
      Networks: networks,
    };
  }

  // --- hosts, resolv.conf, hostname ------------------------------------------

  private hostGatewayIps(): string[] {
    const gateway = this.deps.registry.byName('bridge')?.IPAM.Config?.[0]?.Gateway;
    return gateway ? [gateway] : [];
  }

  private extraHostRecords(sandbox: SandboxRecord): ReturnType<typeof parseExtraHosts> {
    return parseExtraHosts(sandbox.extraHosts, this.hostGatewayIps());
  }

  /** Writes the container's resolution files in place (they are bind-mounted, so never replaced). */
  private async writeFiles(sandbox: SandboxRecord): Promise<Partial<AttachResult>> {
    // A `none` container without a namespace of berth's keeps the files the engine wrote for it.
    if (!sandbox.filesDir || sandbox.mode === 'container' || (sandbox.mode === 'none' && !sandbox.netnsPath))
      return {};
    await fs.mkdir(sandbox.filesDir, { recursive: true, mode: 0o711 });
    const paths = filesIn(sandbox.filesDir);
    await fs.writeFile(paths.hostsPath, await this.hostsContent(sandbox), { mode: 0o644 });
    await fs.writeFile(paths.resolvConfPath, await this.resolvConfContent(sandbox), { mode: 0o644 });
    await fs.writeFile(paths.hostnamePath, `${sandbox.hostname}\n`, { mode: 0o644 });
    return paths;
  }

  private async hostsContent(sandbox: SandboxRecord): Promise<string> {
    const extraHosts = this.extraHostRecords(sandbox);
    if (sandbox.mode === 'host') {
      if (extraHosts.length === 0)
        return fs.readFile(this.deps.hostHostsPath ?? '/etc/hosts', 'utf8').catch(() => '');
      return buildHostsFile({
        hostname: sandbox.hostname,
        domainname: sandbox.domainname,
        addresses: [],
        extraHosts,
      });
    }
    const addresses = sandbox.endpoints.flatMap((e) => [e.ipv4, e.ipv6]).filter((a): a is string => !!a);
    return buildHostsFile({
      hostname: sandbox.hostname,
      domainname: sandbox.domainname,
      addresses,
      extraHosts,
    });
  }

  private async resolvConfContent(sandbox: SandboxRecord): Promise<string> {
    const { conf, path: hostPath } = await this.deps.hostResolvConf();
    const internalNameservers =
      sandbox.mode === 'bridge'
        ? sandbox.endpoints
            .filter((e) => dnsEnabled(this.networkOf(e)) && e.ipv4Gateway)
            .map((e) => e.ipv4Gateway!)
        : [];
    return buildResolvConf({
      host: conf,
      hostPath,
      dns: sandbox.dns,
      dnsSearch: sandbox.dnsSearch,
      dnsOptions: sandbox.dnsOptions,
      internalNameservers,
      ipv6: sandbox.endpoints.some((e) => e.ipv6),
      keepLoopback: sandbox.mode === 'host',
    });
  }

  // --- restore after a berthd restart -----------------------------------------

  /**
   * Brings the recorded attachments in line with reality: containers that are
   * gone (or were half attached/detached) are torn down; running ones keep
   * their interfaces, and only what is missing is set up again (an endpoint
   * whose interface, DNS entry or port rules vanished; the port reservations;
   * an aardvark-dns that died).
   */
  async restore(isRunning: IsRunning): Promise<void> {
    const dnat = await this.deps.firewall?.natRules('NETAVARK-HOSTPORT-DNAT');
    for (const sandbox of this.all()) {
      await this.withLock(sandbox.containerId, async () => {
        const running =
          sandbox.state === 'ready' && (await isRunning(sandbox.containerId).catch(() => false));
        if (!running) {
          log.info('releasing the network of a container that is gone', { container: sandbox.containerId });
          await this.detachLocked(sandbox.containerId);
          return;
        }
        await this.restoreRunning(sandbox, dnat);
      });
    }
    await this.ensureAardvark();
  }

  private async restoreRunning(sandbox: SandboxRecord, dnat: string[] | undefined): Promise<void> {
    if (sandbox.mode === 'bridge' && sandbox.ports.length > 0) {
      for (const err of await this.deps.ports.restore(sandbox.containerId, sandbox.ports)) {
        log.warn('could not reserve a published port again', {
          container: sandbox.containerId,
          error: err.message,
        });
      }
    }
    if (sandbox.mode !== 'bridge') return;
    let changed = false;
    for (const endpoint of [...sandbox.endpoints]) {
      if (endpoint.state === 'configuring') {
        // A connect that never finished.
        await this.teardownEndpoint(sandbox, endpoint);
        this.release(endpoint);
        sandbox.endpoints = sandbox.endpoints.filter((e) => e !== endpoint);
        changed = true;
        continue;
      }
      const missing = await this.missingPieces(sandbox, endpoint, dnat);
      if (missing.length === 0) continue;
      log.info('restoring container networking', {
        container: sandbox.containerId,
        missing: missing.join(','),
      });
      await this.teardownEndpoint(sandbox, endpoint);
      await this.setupEndpoint(sandbox, endpoint);
      changed = true;
    }
    if (changed) {
      await this.deps.store.saveSandbox(sandbox);
      await this.writeFiles(sandbox);
    }
  }

  private async missingPieces(
    sandbox: SandboxRecord,
    endpoint: EndpointRecord,
    dnat: string[] | undefined,
  ): Promise<string[]> {
    const network = this.networkOf(endpoint);
    const missing: string[] = [];
    if (!(await exists(`/sys/class/net/${network.bridge}`))) missing.push('bridge');
    const link = await runInNetns(sandbox.netnsPath!, 'ip', [
      '-o',
      'link',
      'show',
      endpoint.interfaceName,
    ]).catch(() => undefined);
    if (!link || link.code !== 0) missing.push('interface');
    if (dnsEnabled(network)) {
      const entries = await readAardvarkEntries(this.netavarkFor(network).aardvarkDir, network.Id);
      if (!entries?.some((e) => e.containerId === sandbox.containerId)) missing.push('dns');
    }
    if (
      endpoint.publishesPorts &&
      sandbox.ports.length > 0 &&
      dnat &&
      !dnat.some((r) => r.includes(`id: ${sandbox.containerId}`))
    ) {
      missing.push('ports');
    }
    return missing;
  }

  /** Starts aardvark-dns again for a config directory that has entries but no live server. */
  private async ensureAardvark(): Promise<void> {
    for (const [netavark, env] of [
      [this.deps.netavark, this.deps.netavark.options.env],
      [this.deps.internalNetavark, this.deps.internalNetavark.options.env],
    ] as const) {
      const files = await fs.readdir(netavark.aardvarkDir).catch(() => [] as string[]);
      if (!files.some((f) => f !== 'aardvark.pid') || (await aardvarkPid(netavark.aardvarkDir))) continue;
      log.info('starting aardvark-dns again', { config: netavark.aardvarkDir });
      await startAardvark(netavark.aardvarkBinary, netavark.aardvarkDir, env).catch((err: unknown) =>
        log.warn('could not start aardvark-dns', { error: String(err) }),
      );
    }
  }
}

function validateEndpointSettings({ network, settings }: EndpointPlan): void {
  const errors: string[] = [];
  const ipam = settings.IPAMConfig ?? {};
  if (isPredefined(network.Name)) {
    if (ipam.IPv4Address || ipam.IPv6Address)
      errors.push('user-specified IP address is supported on user-defined networks only');
    if ((settings.Aliases ?? []).length > 0)
      errors.push('network-scoped aliases are only supported for user-defined networks');
  }
  if (ipam.IPv4Address && !parseAddress(ipam.IPv4Address))
    errors.push(`invalid IPv4 address: ${ipam.IPv4Address}`);
  if (ipam.IPv6Address && !parseAddress(ipam.IPv6Address))
    errors.push(`invalid IPv6 address: ${ipam.IPv6Address}`);
  if (ipam.IPv6Address && !network.EnableIPv6) errors.push(`IPv6 is not enabled on network ${network.Name}`);
  if (settings.MacAddress && !MAC_RE.test(settings.MacAddress))
    errors.push(`invalid MAC address: ${settings.MacAddress}`);
  if (errors.length > 0) throw invalidParameter(`invalid endpoint settings:\n${errors.join('\n')}`);
}

/** Docker's DNSNames: the container name, the aliases, the short ID and the hostname, without repeats. */
export function dnsNamesOf(
  sandbox: Pick<SandboxRecord, 'containerName' | 'containerId' | 'hostname'>,
  aliases: readonly string[],
): string[] {
  const names = [
    sandbox.containerName,
    ...aliases,
    sandbox.containerId.slice(0, 12),
    sandbox.hostname,
  ].filter(Boolean);
  return [...new Set(names)];
}

/**
 * Where a sandbox's network namespace is: none for host mode; for `none`
 * only a given one (the runtime creates the container's own, with only lo);
 * for a bridge the given one or one berth pins under exec-root.
 */
function namespaceOf(mode: SandboxMode, request: AttachRequest, netnsDir: string): string | undefined {
  if (mode === 'host') return undefined;
  if (mode === 'none') return request.netnsPath;
  return request.netnsPath ?? path.join(netnsDir, request.containerId);
}

function nextInterfaceName(sandbox: SandboxRecord): string {
  const taken = new Set(sandbox.endpoints.map((e) => e.interfaceName));
  for (let i = 0; ; i++) if (!taken.has(`eth${i}`)) return `eth${i}`;
}

export function endpointSettings(endpoint: EndpointRecord, network: NetworkRecord): EndpointSettings {
  return {
    IPAMConfig: endpoint.ipamConfig ?? null,
    Links: endpoint.links ?? null,
    Aliases: endpoint.aliases.length > 0 ? endpoint.aliases : null,
    MacAddress: endpoint.mac ?? '',
    DriverOpts: endpoint.driverOpts ?? null,
    GwPriority: 0,
    NetworkID: network.Id,
    EndpointID: endpoint.endpointId,
    Gateway: endpoint.ipv4Gateway ?? '',
    IPAddress: endpoint.ipv4 ?? '',
    IPPrefixLen: endpoint.ipv4PrefixLen ?? 0,
    IPv6Gateway: endpoint.ipv6Gateway ?? '',
    GlobalIPv6Address: endpoint.ipv6 ?? '',
    GlobalIPv6PrefixLen: endpoint.ipv6PrefixLen ?? 0,
    DNSNames: endpoint.dnsNames.length > 0 ? endpoint.dnsNames : null,
  };
}

export function netavarkNetwork(network: NetworkRecord): NetavarkNetwork {
  const plans = subnetPlans(network);
  const mtu = bridgeSettings(network).mtu;
  return {
    name: network.Id,
    id: network.Id,
    driver: 'bridge',
    network_interface: network.bridge!,
    subnets: plans.map((p) => ({
      subnet: `${formatAddress({ family: p.subnet.family, value: p.subnet.network })}/${p.subnet.bits}`,
      gateway: p.gateway ? formatAddress(p.gateway) : undefined,
    })),
    ipv6_enabled: plans.some((p) => p.subnet.family === 6),
    internal: network.Internal,
    dns_enabled: dnsEnabled(network),
    options: mtu ? { mtu: String(mtu) } : {},
    ipam_options: { driver: 'host-local' },
  };
}

/** netavark's per-network chain suffix: the first 13 hex digits (upper case) of SHA-512 of the network name. */
export function netavarkHash(name: string): string {
  return createHash('sha512').update(name).digest('hex').toUpperCase().slice(0, 13);
}

function emptyRequest(sandbox: SandboxRecord): NetavarkRequest {
  return {
    container_id: sandbox.containerId,
    container_name: sandbox.containerName,
    networks: {},
    network_info: {},
  };
}

function filePaths(filesDir: string | undefined): {
  hostsPath?: string;
  resolvConfPath?: string;
  hostnamePath?: string;
} {
  return filesDir ? filesIn(filesDir) : {};
}

function filesIn(filesDir: string): { hostsPath: string; resolvConfPath: string; hostnamePath: string } {
  return {
    hostsPath: path.join(filesDir, 'hosts'),
    resolvConfPath: path.join(filesDir, 'resolv.conf'),
    hostnamePath: path.join(filesDir, 'hostname'),
  };
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
