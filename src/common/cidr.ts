import { isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** Parses `a.b.c.d/n` or an IPv6 CIDR; returns undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (isIPv4(address) && prefix <= 32) return { address, prefix, family: 4 };
  if (isIPv6(address) && prefix <= 128) return { address, prefix, family: 6 };
  return undefined;
}

export function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** True when an IPv4 address lies inside an IPv4 CIDR. */
export function ipv4InCidr(address: string, cidr: Cidr): boolean {
  if (cidr.family !== 4 || !isIPv4(address)) return false;
  const size = 2 ** (32 - cidr.prefix);
  const base = Math.floor(ipv4ToInt(cidr.address) / size) * size;
  const value = ipv4ToInt(address);
  return value >= base && value < base + size;
}
