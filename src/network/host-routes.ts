/**
 * The host's routed prefixes, read from /proc: a subnet chosen for a new
 * network must not overlap any of them (another engine's bridge, a VPN, the
 * LAN), or containers would shadow real destinations.
 */
import { promises as fs } from 'node:fs';
import { makePrefix, type Prefix } from './ip.js';

export interface HostRoute {
  prefix: Prefix;
  iface: string;
}

/** Parses /proc/net/route (IPv4 main table; addresses in host byte order, little-endian here). */
export function parseIPv4Routes(text: string): HostRoute[] {
  const routes: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [iface, destination, , , , , , mask] = fields;
    const bits = popCount(littleEndianHex(mask));
    if (bits === 0) continue; // The default route overlaps everything; it is not a conflict.
    routes.push({ iface, prefix: makePrefix(4, littleEndianHex(destination), bits) });
  }
  return routes;
}

/** Parses /proc/net/ipv6_route, skipping default, loopback, link-local and multicast routes. */
export function parseIPv6Routes(text: string): HostRoute[] {
  const routes: HostRoute[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    const bits = parseInt(fields[1], 16);
    const network = BigInt(`0x${fields[0]}`);
    const iface = fields[9];
    if (bits === 0 || iface === 'lo' || network >> 118n === 0x3fan || network >> 120n === 0xffn) continue;
    routes.push({ iface, prefix: makePrefix(6, network, bits) });
  }
  return routes;
}

function littleEndianHex(hex: string): bigint {
  const bytes = hex.match(/../g) ?? [];
  return BigInt(`0x${bytes.reverse().join('') || '0'}`);
}

function popCount(value: bigint): number {
  let count = 0;
  for (let v = value; v > 0n; v >>= 1n) count += Number(v & 1n);
  return count;
}

async function readIfExists(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return '';
  }
}

/** Every IPv4 and IPv6 prefix the host routes, with the interface it goes through. */
export async function readHostRoutes(): Promise<HostRoute[]> {
  const [v4, v6] = await Promise.all([readIfExists('/proc/net/route'), readIfExists('/proc/net/ipv6_route')]);
  return [...parseIPv4Routes(v4), ...parseIPv6Routes(v6)];
}
