/**
 * The set of networks: stored records, lookup by Docker's rules (full ID,
 * then name, then unique ID prefix), the predefined networks, and the
 * firewall rules each bridge network carries for its whole life.
 */
import { invalidParameter, notFound } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { BerthFirewall, type FirewallNetwork } from '../../network/firewall.js';
import { readHostRoutes } from '../../network/host-routes.js';
import {
  formatAddress,
  formatPrefix,
  makePrefix,
  parsePrefix,
  prefixesOverlap,
  type Prefix,
} from '../../network/ip.js';
import { chooseSubnet, type AddressPool } from '../../network/ipam.js';
import type { NetworkRecord, NetworkStore } from '../../network/store.js';
import {
  OPTION_BRIDGE_NAME,
  OPTION_DEFAULT_BRIDGE,
  OPTION_HOST_BINDING_IPV4,
  OPTION_ICC,
  OPTION_MASQUERADE,
  OPTION_MTU,
  bridgeSettings,
  createdTimestamp,
  generateId,
  networkPrefixes,
} from './create.js';

export const DEFAULT_BRIDGE_NAME = 'berth0';

export interface DefaultBridgeConfig {
  /** Interface name of the default bridge. */
  bridge: string;
  /** `bip`: the bridge's address with prefix, e.g. 192.168.5.1/24. */
  bip?: string;
  pools: readonly AddressPool[];
  mtu?: number;
}

export class NetworkRegistry {
  private readonly networks = new Map<string, NetworkRecord>();

  constructor(
    private readonly store: NetworkStore,
    readonly firewall: BerthFirewall | undefined,
  ) {}

  load(records: readonly NetworkRecord[]): void {
    for (const record of records) this.networks.set(record.Id, record);
  }

  all(): NetworkRecord[] {
    return [...this.networks.values()];
  }

  byId(id: string): NetworkRecord | undefined {
    return this.networks.get(id);
  }

  /** Docker's FindNetwork: full ID, then exact name, then a unique ID prefix. */
  find(term: string): NetworkRecord {
    const found = this.lookup(term);
    if (!found) throw notFound(`network ${term} not found`);
    return found;
  }

  lookup(term: string): NetworkRecord | undefined {
    if (term === '') return undefined;
    const byId = this.networks.get(term);
    if (byId) return byId;
    const byName = this.all().filter((n) => n.Name === term);
    if (byName.length === 1) return byName[0];
    if (byName.length > 1)
      throw invalidParameter(`network ${term} is ambiguous (${byName.length} matches found based on name)`);
    const byPrefix = this.all().filter((n) => n.Id.startsWith(term));
    if (byPrefix.length > 1)
      throw invalidParameter(
        `network ${term} is ambiguous (${byPrefix.length} matches found based on ID prefix)`,
      );
    return byPrefix[0];
  }

  byName(name: string): NetworkRecord | undefined {
    return this.all().find((n) => n.Name === name);
  }

  async add(record: NetworkRecord): Promise<void> {
    await this.store.saveNetwork(record);
    this.networks.set(record.Id, record);
    try {
      await this.installFirewall(record);
    } catch (err) {
      this.networks.delete(record.Id);
      await this.store.deleteNetwork(record.Id);
      throw err;
    }
  }

  async remove(record: NetworkRecord): Promise<void> {
    // Gone from lookups at once, so no attachment can start on it meanwhile.
    this.networks.delete(record.Id);
    await this.uninstallFirewall(record);
    await this.store.deleteNetwork(record.Id);
  }

  /** Host routes that are not through berth's own bridges (those are ours, not conflicts). */
  async foreignRoutes(): Promise<Prefix[]> {
    const ours = new Set(this.all().map((n) => n.bridge));
    return (await readHostRoutes()).filter((r) => !ours.has(r.iface)).map((r) => r.prefix);
  }

  /** Creates `bridge`, `host` and `none` when missing; re-addresses the default bridge when `bip` changed. */
  async ensurePredefined(config: DefaultBridgeConfig, defaultBridgeInUse: boolean): Promise<void> {
    for (const [name, driver] of [
      ['host', 'host'],
      ['none', 'null'],
    ] as const) {
      if (!this.byName(name)) await this.add(predefinedRecord(name, driver));
    }
    const current = this.byName('bridge');
    const wanted = config.bip ? parseBip(config.bip) : undefined;
    if (current && (!wanted || defaultBridgeInUse || sameSubnet(current, wanted))) {
      await this.installFirewall(current);
      return;
    }
    const avoid = [
      ...networkPrefixes(this.all().filter((n) => n.Name !== 'bridge')),
      ...(await this.foreignRoutes()),
    ];
    let subnet: { prefix: Prefix; gateway: string };
    if (wanted) subnet = wanted;
    else {
      const chosen = chooseSubnet(config.pools, avoid, 4);
      if (!chosen) throw new Error('could not find a free address pool for the default bridge network');
      subnet = { prefix: chosen, gateway: formatAddress({ family: 4, value: chosen.network + 1n }) };
    }
    if (current) await this.remove(current);
    const record = predefinedRecord('bridge', 'bridge');
    record.bridge = config.bridge;
    record.IPAM.Config = [{ Subnet: formatPrefix(subnet.prefix), Gateway: subnet.gateway }];
    record.Options = {
      [OPTION_DEFAULT_BRIDGE]: 'true',
      [OPTION_ICC]: 'true',
      [OPTION_MASQUERADE]: 'true',
      [OPTION_HOST_BINDING_IPV4]: '0.0.0.0',
      [OPTION_BRIDGE_NAME]: config.bridge,
      [OPTION_MTU]: String(config.mtu ?? 1500),
    };
    if (current) record.Id = current.Id;
    await this.add(record);
    log.info('default bridge network', { bridge: config.bridge, subnet: formatPrefix(subnet.prefix) });
  }

  /** Re-installs every network's firewall rules (daemon start, after the firewall's base chains exist). */
  async installAllFirewall(): Promise<void> {
    if (!this.firewall) return;
    for (const record of this.all()) await this.installFirewall(record);
  }

  private async installFirewall(record: NetworkRecord): Promise<void> {
    const rules = firewallNetwork(record);
    if (this.firewall && rules) await this.firewall.addNetwork(rules);
  }

  async uninstallFirewall(record: NetworkRecord): Promise<void> {
    const rules = firewallNetwork(record);
    if (!this.firewall || !rules) return;
    try {
      await this.firewall.removeNetwork(rules);
    } catch (err) {
      log.warn('could not remove firewall rules', { network: record.Name, error: String(err) });
    }
  }
}

export function firewallNetwork(record: NetworkRecord): FirewallNetwork | undefined {
  if (record.Driver !== 'bridge' || !record.bridge) return undefined;
  const settings = bridgeSettings(record);
  return {
    bridge: record.bridge,
    subnets: networkPrefixes([record]),
    internal: record.Internal,
    icc: settings.icc,
    masquerade: settings.masquerade,
  };
}

function predefinedRecord(name: string, driver: NetworkRecord['Driver']): NetworkRecord {
  return {
    Id: generateId(),
    Name: name,
    Created: createdTimestamp(),
    Driver: driver,
    Scope: 'local',
    EnableIPv4: true,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: null, Config: [] },
    Internal: false,
    Attachable: false,
    Options: {},
    Labels: {},
  };
}

/** `bip` 192.168.5.1/24: the bridge (gateway) address and its subnet. */
function parseBip(bip: string): { prefix: Prefix; gateway: string } {
  const parsed = parsePrefix(bip);
  if (!parsed || parsed.family !== 4) throw invalidParameter(`invalid bip: ${bip}`);
  const prefix = makePrefix(4, parsed.address, parsed.bits);
  if (parsed.address === prefix.network) {
    return { prefix, gateway: formatAddress({ family: 4, value: prefix.network + 1n }) };
  }
  return { prefix, gateway: formatAddress({ family: 4, value: parsed.address }) };
}

function sameSubnet(record: NetworkRecord, wanted: { prefix: Prefix; gateway: string }): boolean {
  const config = record.IPAM.Config?.[0];
  const subnet = parsePrefix(config?.Subnet ?? '');
  return (
    !!subnet &&
    prefixesOverlap(subnet, wanted.prefix) &&
    subnet.bits === wanted.prefix.bits &&
    config?.Gateway === wanted.gateway
  );
}
