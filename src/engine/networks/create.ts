/**
 * `POST /networks/create` as dockerd validates it: the request becomes a
 * stored network record with its subnets settled (given ones checked, missing
 * ones chosen from the address pools away from anything already routed).
 */
import { randomBytes } from 'node:crypto';
import { conflict, forbidden, invalidParameter, notFound } from '../../common/errors.js';
import { formatPrefix, parsePrefix, prefixesOverlap, type Prefix } from '../../network/ip.js';
import {
  chooseSubnet,
  formatSubnetPlan,
  parseSubnetPlan,
  type AddressPool,
  type SubnetPlan,
} from '../../network/ipam.js';
import type { NetworkRecord } from '../../network/store.js';
import type { NetworkCreateRequest } from '../../types/network.js';

export const PREDEFINED_NETWORKS = ['bridge', 'host', 'none'] as const;

export const isPredefined = (name: string): boolean =>
  (PREDEFINED_NETWORKS as readonly string[]).includes(name);

/** Bridge driver options dockerd understands (com.docker.network.*). */
export const OPTION_BRIDGE_NAME = 'com.docker.network.bridge.name';
export const OPTION_MASQUERADE = 'com.docker.network.bridge.enable_ip_masquerade';
export const OPTION_ICC = 'com.docker.network.bridge.enable_icc';
export const OPTION_HOST_BINDING_IPV4 = 'com.docker.network.bridge.host_binding_ipv4';
export const OPTION_MTU = 'com.docker.network.driver.mtu';
export const OPTION_DEFAULT_BRIDGE = 'com.docker.network.bridge.default_bridge';
export const OPTION_ENABLE_IPV6 = 'com.docker.network.enable_ipv6';

export const generateId = (): string => randomBytes(32).toString('hex');

/** RFC 3339 with nanoseconds, as Go prints time.Time. */
export function createdTimestamp(date = new Date()): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 19)}.${iso.slice(20, 23)}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}Z`;
}

/** What creation needs to know about the daemon's current state. */
export interface CreateContext {
  existing: readonly NetworkRecord[];
  /** Prefixes routed on the host through interfaces berth does not own. */
  hostRoutes: readonly Prefix[];
  pools: readonly AddressPool[];
}

function parseBoolOption(options: Record<string, string>, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined || value === '') return fallback;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw invalidParameter(`failed to parse ${key} value: invalid boolean: ${value}`);
}

export interface BridgeSettings {
  icc: boolean;
  masquerade: boolean;
  mtu?: number;
  hostBindingIpv4: string;
}

/** The bridge options of a stored network, parsed. */
export function bridgeSettings(network: NetworkRecord): BridgeSettings {
  const options = network.Options;
  const mtuText = options[OPTION_MTU];
  let mtu: number | undefined;
  if (mtuText !== undefined && mtuText !== '' && mtuText !== '0') {
    mtu = Number(mtuText);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)
      throw invalidParameter(`invalid MTU number: ${mtuText}`);
  }
  return {
    icc: parseBoolOption(options, OPTION_ICC, true),
    masquerade: parseBoolOption(options, OPTION_MASQUERADE, true),
    mtu,
    hostBindingIpv4: options[OPTION_HOST_BINDING_IPV4] || '0.0.0.0',
  };
}

export function subnetPlans(network: NetworkRecord): SubnetPlan[] {
  return (network.IPAM.Config ?? []).map((c) => parseSubnetPlan(c));
}

/** Every prefix in use by berth's networks (for overlap checks). */
export function networkPrefixes(networks: readonly NetworkRecord[]): Prefix[] {
  return networks.flatMap((n) =>
    (n.IPAM.Config ?? []).map((c) => parsePrefix(c.Subnet ?? '')).filter((p): p is Prefix => !!p),
  );
}

/** A random ULA /64 (fd00::/8) for an IPv6 network created without a subnet, clear of `avoid`. */
function randomUlaSubnet(avoid: readonly Prefix[]): string {
  for (;;) {
    const bytes = randomBytes(5);
    const groups = [0xfd00 | bytes[0], (bytes[1] << 8) | bytes[2], (bytes[3] << 8) | bytes[4]];
    const text = `${groups.map((g) => g.toString(16)).join(':')}::/64`;
    const prefix = parsePrefix(text)!;
    if (!avoid.some((p) => prefixesOverlap(p, prefix))) return text;
  }
}

/** Validates a create request and builds the network record (not yet stored). */
export function buildNetworkRecord(request: NetworkCreateRequest, context: CreateContext): NetworkRecord {
  const name = request.Name ?? '';
  if (name.trim() === '') throw invalidParameter('invalid name: name is empty');
  if (isPredefined(name)) throw forbidden(`operation is not permitted on predefined ${name} network `);
  if (context.existing.some((n) => n.Name === name)) throw conflictName(name);
  const driver = request.Driver || 'bridge';
  if (driver === 'host' || driver === 'null')
    throw forbidden(`only one instance of "${driver}" network is allowed`);
  if (driver !== 'bridge') throw notFound(`plugin "${driver}" not found`);
  if (request.Scope && request.Scope !== 'local')
    throw invalidParameter(`invalid scope "${request.Scope}": the bridge driver only supports local scope`);
  if (request.ConfigOnly || request.ConfigFrom?.Network)
    throw invalidParameter('config-only networks are not supported');
  if (request.Ingress) throw forbidden('ingress networks need swarm mode, which berth does not provide');
  const ipamDriver = request.IPAM?.Driver || 'default';
  if (ipamDriver !== 'default') throw notFound(`plugin "${ipamDriver}" not found`);

  const options = { ...(request.Options ?? {}) };
  const enableIPv6 = request.EnableIPv6 ?? parseBoolOption(options, OPTION_ENABLE_IPV6, false);
  delete options[OPTION_ENABLE_IPV6];
  if (request.EnableIPv4 === false) throw invalidParameter('IPv6-only networks are not supported by berth');

  const id = generateId();
  const record: NetworkRecord = {
    Id: id,
    Name: name,
    Created: createdTimestamp(),
    Driver: 'bridge',
    Scope: 'local',
    EnableIPv4: true,
    EnableIPv6: enableIPv6,
    IPAM: { Driver: 'default', Options: request.IPAM?.Options ?? {}, Config: [] },
    Internal: Boolean(request.Internal),
    Attachable: Boolean(request.Attachable),
    Options: options,
    Labels: { ...(request.Labels ?? {}) },
    bridge: options[OPTION_BRIDGE_NAME] || `br-${id.slice(0, 12)}`,
  };
  bridgeSettings(record);
  checkBridgeName(record, context.existing);
  record.IPAM.Config = settleSubnets(request.IPAM?.Config ?? [], enableIPv6, context);
  return record;
}

function checkBridgeName(record: NetworkRecord, existing: readonly NetworkRecord[]): void {
  const bridge = record.bridge!;
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(bridge)) throw invalidParameter(`invalid bridge name: ${bridge}`);
  const clash = existing.find((n) => n.bridge === bridge);
  if (clash) {
    throw forbidden(
      `cannot create network ${record.Id} (${bridge}): conflicts with network ${clash.Id} (${clash.bridge}): networks have same bridge name`,
    );
  }
}

export function conflictName(name: string): Error {
  return conflict(`network with name ${name} already exists`);
}

/**
 * The IPAM config entries the network ends up with: the given ones checked
 * against each other and berth's other networks, plus a pool subnet for each
 * family the network needs but got none for.
 */
function settleSubnets(
  given: NonNullable<NetworkRecord['IPAM']['Config']>,
  enableIPv6: boolean,
  context: CreateContext,
): NonNullable<NetworkRecord['IPAM']['Config']> {
  const plans: SubnetPlan[] = [];
  for (const entry of given) {
    if (!entry.Subnet) {
      if (entry.IPRange || entry.Gateway)
        throw invalidParameter(
          'invalid network config:\nsubnet is required when ip-range or gateway is given',
        );
      continue;
    }
    const plan = parseSubnetPlan(entry);
    if (plan.subnet.family === 6 && !enableIPv6) continue;
    plans.push(plan);
  }
  for (const family of [4, 6] as const) {
    if (plans.filter((p) => p.subnet.family === family).length > 1) {
      throw invalidParameter(`berth supports one IPv${family} subnet per network`);
    }
  }
  const taken = networkPrefixes(context.existing);
  for (const plan of plans) {
    const overlapping = [...taken, ...plans.filter((p) => p !== plan).map((p) => p.subnet)].find((t) =>
      prefixesOverlap(t, plan.subnet),
    );
    if (overlapping)
      throw forbidden('invalid pool request: Pool overlaps with other one on this address space');
  }
  if (!plans.some((p) => p.subnet.family === 4)) {
    const subnet = chooseSubnet(context.pools, [...taken, ...context.hostRoutes], 4);
    if (!subnet) {
      throw forbidden(
        'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
      );
    }
    plans.unshift(parseSubnetPlan({ Subnet: formatPrefix(subnet) }));
  }
  if (enableIPv6 && !plans.some((p) => p.subnet.family === 6)) {
    plans.push(parseSubnetPlan({ Subnet: randomUlaSubnet([...taken, ...context.hostRoutes]) }));
  }
  return plans.map(formatSubnetPlan);
}
