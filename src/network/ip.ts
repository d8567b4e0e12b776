/**
 * IPv4 and IPv6 addresses and prefixes as bigints, so one set of helpers
 * serves both families (IPAM, route overlap checks, static address checks).
 */
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface Address {
  family: Family;
  value: bigint;
}

/** A CIDR block. `address` keeps the address as written (it may have host bits set). */
export interface Prefix {
  family: Family;
  /** The network address (host bits cleared). */
  network: bigint;
  bits: number;
  address: bigint;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

export function parseAddress(text: string): Address | undefined {
  if (isIPv4(text)) {
    const value = text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
    return { family: 4, value };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let groups: string[];
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two groups.
    tailV4 = parseAddress(text.slice(lastColon + 1))?.value;
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const wanted = tailV4 === undefined ? 8 : 6;
  if (head.includes('::')) {
    const [left, right] = head.split('::');
    const l = left === '' ? [] : left.split(':');
    const r = right === '' ? [] : right.split(':');
    groups = [...l, ...Array<string>(wanted - l.length - r.length).fill('0'), ...r];
  } else {
    groups = head.split(':');
  }
  let value = groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
  if (tailV4 !== undefined) value = (value << 32n) | tailV4;
  return { family: 6, value };
}

export function formatAddress(address: Address): string {
  const { family, value } = address;
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function hostMask(family: Family, bits: number): bigint {
  return (1n << BigInt(familyBits(family) - bits)) - 1n;
}

export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > familyBits(address.family)) return undefined;
  return makePrefix(address.family, address.value, bits);
}

export function makePrefix(family: Family, address: bigint, bits: number): Prefix {
  return { family, network: address & ~hostMask(family, bits), bits, address };
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress({ family: prefix.family, value: prefix.network })}/${prefix.bits}`;
}

export function prefixContains(prefix: Prefix, address: Address): boolean {
  return (
    address.family === prefix.family &&
    (address.value & ~hostMask(prefix.family, prefix.bits)) === prefix.network
  );
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const bits = Math.min(a.bits, b.bits);
  const mask = ~hostMask(a.family, bits);
  return (a.network & mask) === (b.network & mask);
}

/** The last address of a prefix (the IPv4 broadcast address). */
export function lastAddress(prefix: Prefix): bigint {
  return prefix.network | hostMask(prefix.family, prefix.bits);
}

export function isLoopbackAddress(text: string): boolean {
  const address = parseAddress(text);
  if (!address) return false;
  return address.family === 4 ? address.value >> 24n === 127n : address.value === 1n;
}
