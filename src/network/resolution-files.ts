/**
 * A container's /etc/hosts and /etc/resolv.conf, written the way dockerd
 * writes them: hosts gets the loopback entries, `--add-host` entries and the
 * container's own addresses; resolv.conf is the host's, filtered for a network
 * without embedded DNS or pointed at the network's DNS server otherwise.
 */
import { isIP } from 'node:net';
import { invalidParameter } from '../common/errors.js';
import { isLoopbackAddress } from './ip.js';

export interface HostsRecord {
  ip: string;
  names: string;
}

const LOOPBACK_RECORDS_V4: HostsRecord[] = [{ ip: '127.0.0.1', names: 'localhost' }];
const LOOPBACK_RECORDS_V6: HostsRecord[] = [
  { ip: '::1', names: 'localhost ip6-localhost ip6-loopback' },
  { ip: 'fe00::', names: 'ip6-localnet' },
  { ip: 'ff00::', names: 'ip6-mcastprefix' },
  { ip: 'ff02::1', names: 'ip6-allnodes' },
  { ip: 'ff02::2', names: 'ip6-allrouters' },
];

/** The special `--add-host` address that stands for the host (the default bridge's gateway). */
export const HOST_GATEWAY = 'host-gateway';

/**
 * Parses ExtraHosts entries ("name:ip", "name=ip"); `host-gateway` becomes
 * the given host addresses (one record per address).
 */
export function parseExtraHosts(
  entries: readonly string[],
  hostGatewayIps: readonly string[],
): HostsRecord[] {
  const records: HostsRecord[] = [];
  for (const entry of entries) {
    const separator = /[:=]/.exec(entry);
    if (!separator) throw invalidParameter(`invalid extra host entry '${entry}': expected 'host:ip'`);
    const name = entry.slice(0, separator.index);
    let ip = entry.slice(separator.index + 1);
    if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    if (ip === HOST_GATEWAY) {
      if (hostGatewayIps.length === 0)
        throw invalidParameter('unable to derive the IP value for host-gateway');
      for (const gateway of hostGatewayIps) records.push({ ip: gateway, names: name });
      continue;
    }
    if (name === '' || isIP(ip) === 0) throw invalidParameter(`invalid IP address in add-host: "${ip}"`);
    records.push({ ip, names: name });
  }
  return records;
}

/** The names a container's own addresses carry: the FQDN then the bare hostname. */
export function ownHostNames(hostname: string, domainname = ''): string {
  let names = domainname ? `${hostname}.${domainname}` : hostname;
  const dot = names.indexOf('.');
  if (dot > 0) names += ` ${names.slice(0, dot)}`;
  return names;
}

export interface HostsFileOptions {
  hostname: string;
  domainname?: string;
  /** The container's addresses on all its networks. */
  addresses: readonly string[];
  extraHosts?: readonly HostsRecord[];
  /** False drops IPv6 entries (the container has IPv6 disabled). */
  ipv6?: boolean;
}

export function buildHostsFile(options: HostsFileOptions): string {
  const ipv6 = options.ipv6 ?? true;
  const own = options.addresses.map((ip) => ({
    ip,
    names: ownHostNames(options.hostname, options.domainname),
  }));
  const records = [
    ...LOOPBACK_RECORDS_V4,
    ...(ipv6 ? LOOPBACK_RECORDS_V6 : []),
    ...(options.extraHosts ?? []),
    ...own,
  ].filter((r) => ipv6 || isIP(r.ip) !== 6);
  return records.map((r) => `${r.ip}\t${r.names}\n`).join('');
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
  /** Lines other than nameserver/search/domain/options, kept as they are. */
  other: string[];
}

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = { nameservers: [], search: [], options: [], other: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (line === '') continue;
    const [keyword, ...values] = line.split(/\s+/);
    switch (keyword) {
      case 'nameserver':
        if (values[0] && isIP(values[0].split('%')[0]) !== 0) conf.nameservers.push(values[0]);
        break;
      case 'search':
      case 'domain':
        // The last search or domain line wins, as in the resolver.
        conf.search = values;
        break;
      case 'options':
        conf.options.push(...values);
        break;
      default:
        conf.other.push(line);
    }
  }
  return conf;
}

/** Docker's fallback resolvers when none of the host's can be used from a container. */
export const DEFAULT_NAMESERVERS_V4 = ['8.8.8.8', '8.8.4.4'];
export const DEFAULT_NAMESERVERS_V6 = ['2001:4860:4860::8888', '2001:4860:4860::8844'];

export interface ResolvConfOptions {
  /** The host's resolv.conf, parsed. */
  host: ResolvConf;
  hostPath?: string;
  /** `--dns`, `--dns-search`, `--dns-option` (HostConfig.Dns, DnsSearch, DnsOptions). */
  dns?: readonly string[];
  dnsSearch?: readonly string[];
  dnsOptions?: readonly string[];
  /**
   * The addresses of the embedded DNS servers (aardvark-dns on each DNS-enabled
   * network's gateway); empty for a network without DNS (the default bridge).
   */
  internalNameservers?: readonly string[];
  ipv6?: boolean;
  /** Host networking: the host's loopback resolvers work as they are. */
  keepLoopback?: boolean;
}

/**
 * The container's resolv.conf. With an embedded DNS server the container asks
 * it alone (it forwards outside names to the host's resolvers or `--dns`);
 * without one it gets the host's resolvers minus the loopback ones.
 */
export function buildResolvConf(options: ResolvConfOptions): string {
  const { host } = options;
  const internal = options.internalNameservers ?? [];
  const dnsOverride = options.dns !== undefined && options.dns.length > 0;
  const external = dnsOverride ? [...options.dns!] : host.nameservers;
  let search =
    options.dnsSearch !== undefined && options.dnsSearch.length > 0 ? [...options.dnsSearch] : host.search;
  if (search.length === 1 && search[0] === '.') search = [];
  let dnsOptions =
    options.dnsOptions !== undefined && options.dnsOptions.length > 0
      ? [...options.dnsOptions]
      : host.options;
  const warnings: string[] = [];
  let nameservers: string[];
  let transform: string;
  if (internal.length > 0) {
    nameservers = [...internal];
    transform = 'internal resolver';
    if (!dnsOptions.some((o) => /^ndots:\d+$/.test(o)))
      dnsOptions = [...dnsOptions.filter((o) => !o.startsWith('ndots:')), 'ndots:0'];
  } else {
    transform = options.keepLoopback ? 'host' : 'legacy';
    nameservers =
      dnsOverride || options.keepLoopback
        ? external
        : external.filter(
            (ns) => !isLoopbackAddress(ns.split('%')[0]) && (options.ipv6 || isIP(ns.split('%')[0]) !== 6),
          );
    if (nameservers.length === 0) {
      nameservers = [...DEFAULT_NAMESERVERS_V4, ...(options.ipv6 ? DEFAULT_NAMESERVERS_V6 : [])];
      warnings.push('Used default nameservers.');
    }
  }
  const lines = ['# Generated by berth.', '# Edits made here last until the container is restarted.', ''];
  for (const ns of nameservers) lines.push(`nameserver ${ns}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (dnsOptions.length > 0) lines.push(`options ${dnsOptions.join(' ')}`);
  lines.push(...host.other, '');
  lines.push(`# Based on host file: '${options.hostPath ?? '/etc/resolv.conf'}' (${transform})`);
  for (const warning of warnings) lines.push(`# ${warning}`);
  if (internal.length > 0 && external.length > 0) lines.push(`# ExtServers: [${external.join(' ')}]`);
  const overrides = [
    dnsOverride ? 'nameservers' : '',
    options.dnsSearch?.length ? 'search' : '',
    options.dnsOptions?.length ? 'options' : '',
  ].filter(Boolean);
  lines.push(`# Overrides: [${overrides.join(' ')}]`);
  return lines.join('\n') + '\n';
}
