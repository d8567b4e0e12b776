/**
 * Address management for bridge networks: choosing a free subnet from the
 * address pools, and handing out container addresses inside a subnet. The
 * functions are pure; the caller supplies what is already in use.
 */
import { forbidden, invalidParameter } from '../common/errors.js';
import {
  formatAddress,
  formatPrefix,
  lastAddress,
  makePrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
  prefixesOverlap,
  type Address,
  type Family,
  type Prefix,
} from './ip.js';

export interface AddressPool {
  /** CIDR the subnets are carved from. */
  base: string;
  /** Prefix length of each subnet. */
  size: number;
}

/** dockerd's built-in pools: 172.17-31.0.0/16, then /20s out of 192.168.0.0/16. */
export const DOCKER_DEFAULT_POOLS: readonly AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

/** The first subnet of the pools that overlaps none of `avoid`. */
export function chooseSubnet(
  pools: readonly AddressPool[],
  avoid: readonly Prefix[],
  family: Family = 4,
): Prefix | undefined {
  for (const pool of pools) {
    const base = parsePrefix(pool.base);
    if (!base || base.family !== family || pool.size < base.bits) continue;
    const step = 1n << BigInt((family === 4 ? 32 : 128) - pool.size);
    const count = 1n << BigInt(pool.size - base.bits);
    for (let i = 0n; i < count; i++) {
      const candidate = makePrefix(family, base.network + i * step, pool.size);
      if (!avoid.some((taken) => prefixesOverlap(taken, candidate))) return candidate;
    }
  }
  return undefined;
}

/** One parsed IPAM.Config entry of a network. */
export interface SubnetPlan {
  subnet: Prefix;
  gateway?: Address;
  ipRange?: Prefix;
  auxAddresses: Record<string, Address>;
}

/** The Docker-shaped IPAM config entry as given by a client. */
export interface IpamConfigInput {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/**
 * Parses and validates one IPAM config entry with dockerd's messages. The
 * subnet must be given; the gateway defaults to the first address.
 */
export function parseSubnetPlan(config: IpamConfigInput): SubnetPlan {
  const errors: string[] = [];
  const subnetText = config.Subnet ?? '';
  const subnet = parsePrefix(subnetText);
  if (!subnet)
    throw invalidParameter(
      `invalid network config:\ninvalid subnet ${subnetText}: invalid CIDR address: ${subnetText}`,
    );
  if (subnet.network !== subnet.address) {
    errors.push(`invalid subnet ${subnetText}: it should be ${formatPrefix(subnet)}`);
  }
  let ipRange: Prefix | undefined;
  if (config.IPRange) {
    ipRange = parsePrefix(config.IPRange);
    if (!ipRange) errors.push(`invalid ip-range ${config.IPRange}: invalid CIDR address: ${config.IPRange}`);
    else if (ipRange.family !== subnet.family) {
      errors.push(`invalid ip-range ${config.IPRange}: parent subnet is an IPv${subnet.family} block`);
    } else {
      if (ipRange.bits < subnet.bits) {
        errors.push(
          `invalid ip-range ${config.IPRange}: CIDR block is bigger than its parent subnet ${subnetText}`,
        );
      }
      if (ipRange.network !== ipRange.address) {
        errors.push(`invalid ip-range ${config.IPRange}: it should be ${formatPrefix(ipRange)}`);
      }
      if (!prefixesOverlap(ipRange, subnet)) {
        errors.push(
          `invalid ip-range ${config.IPRange}: parent subnet ${subnetText} doesn't contain ip-range`,
        );
      }
    }
  }
  const checkAddress = (text: string, what: string): Address | undefined => {
    const address = parseAddress(text);
    if (!address) {
      errors.push(`invalid ${what} ${text}: ParseAddr(${JSON.stringify(text)}): unable to parse IP`);
      return undefined;
    }
    if (address.family !== subnet.family) {
      errors.push(`invalid ${what} ${text}: parent subnet is an IPv${subnet.family} block`);
    } else if (!prefixContains(subnet, address)) {
      errors.push(`invalid ${what} ${text}: parent subnet ${subnetText} doesn't contain this address`);
    }
    return address;
  };
  const gateway = config.Gateway ? checkAddress(config.Gateway, 'gateway') : undefined;
  const auxAddresses: Record<string, Address> = {};
  for (const [name, text] of Object.entries(config.AuxiliaryAddresses ?? {})) {
    const address = checkAddress(text, 'auxiliary address');
    if (address) auxAddresses[name] = address;
  }
  if (errors.length > 0) throw invalidParameter(`invalid network config:\n${errors.join('\n')}`);
  return {
    subnet,
    gateway: gateway ?? { family: subnet.family, value: subnet.network + 1n },
    ipRange,
    auxAddresses,
  };
}

/** The IPAM.Config entry a plan is shown as in network inspect. */
export function formatSubnetPlan(plan: SubnetPlan): IpamConfigInput {
  const entry: IpamConfigInput = { Subnet: formatPrefix(plan.subnet) };
  if (plan.ipRange) entry.IPRange = formatPrefix(plan.ipRange);
  if (plan.gateway) entry.Gateway = formatAddress(plan.gateway);
  const aux = Object.entries(plan.auxAddresses);
  if (aux.length > 0)
    entry.AuxiliaryAddresses = Object.fromEntries(aux.map(([k, v]) => [k, formatAddress(v)]));
  return entry;
}

/** Addresses of the subnet no container may take: network, broadcast, gateway, auxiliary. */
export function reservedAddresses(plan: SubnetPlan): Set<bigint> {
  const reserved = new Set<bigint>([plan.subnet.network]);
  if (plan.subnet.family === 4 && plan.subnet.bits < 31) reserved.add(lastAddress(plan.subnet));
  if (plan.gateway) reserved.add(plan.gateway.value);
  for (const aux of Object.values(plan.auxAddresses)) reserved.add(aux.value);
  return reserved;
}

/**
 * The next free address of the plan's range after `after` (wrapping), the way
 * dockerd hands addresses out serially rather than reusing a just-released one
 * at once. Undefined when the range is full.
 */
export function allocateAddress(
  plan: SubnetPlan,
  used: ReadonlySet<bigint>,
  after?: bigint,
): bigint | undefined {
  const range = plan.ipRange ?? plan.subnet;
  const first = range.network;
  const last = lastAddress(range);
  const size = last - first + 1n;
  const reserved = reservedAddresses(plan);
  const start = after !== undefined && after >= first && after <= last ? after - first + 1n : 0n;
  // Only used and reserved addresses can be skipped, so the loop ends quickly even in a /64.
  const limit = BigInt(used.size + reserved.size + 1);
  for (let i = 0n; i < size && i <= limit; i++) {
    const candidate = first + ((start + i) % size);
    if (!used.has(candidate) && !reserved.has(candidate)) return candidate;
  }
  return undefined;
}

/** Checks a requested static address against the plan: Docker's messages. */
export function checkStaticAddress(
  plans: readonly SubnetPlan[],
  text: string,
  used: ReadonlySet<bigint>,
): Address {
  const address = parseAddress(text);
  if (!address)
    throw invalidParameter(
      `invalid endpoint settings:\ninvalid IPv${text.includes(':') ? 6 : 4} address: ${text}`,
    );
  const plan = plans.find((p) => prefixContains(p.subnet, address));
  if (!plan)
    throw invalidParameter(`invalid endpoint settings:\nno configured subnet contains IP address ${text}`);
  if (used.has(address.value) || reservedAddresses(plan).has(address.value)) {
    throw forbidden('Address already in use');
  }
  return address;
}
