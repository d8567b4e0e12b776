/**
 * Published ports: the `-p` syntax (as the docker CLI turns it into
 * ExposedPorts and PortBindings) and the daemon's reading of PortBindings into
 * concrete host-port requests.
 */
import { isIP } from 'node:net';
import { invalidParameter } from '../common/errors.js';
import type { PortBinding, PortMap } from '../types/container.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';
const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];

export interface PortRange {
  start: number;
  end: number;
}

/** "80" or "8000-8010"; Docker's ParsePortRange. */
export function parsePortRange(text: string): PortRange | undefined {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return { start, end };
}

/** "80/udp" -> { port: "80", proto: "udp" }; tcp when no protocol is given. */
export function splitProtoPort(text: string): { port: string; proto: string } {
  const slash = text.indexOf('/');
  if (slash < 0) return { port: text, proto: 'tcp' };
  return { port: text.slice(0, slash), proto: text.slice(slash + 1) || 'tcp' };
}

/** A port key of ExposedPorts / PortBindings ("80/tcp"). */
export function parsePortKey(key: string): { port: number; protocol: Protocol } {
  const { port, proto } = splitProtoPort(key);
  const range = parsePortRange(port);
  if (!range || range.start !== range.end || range.start === 0)
    throw invalidParameter(`invalid port specification: "${key}"`);
  const protocol = proto.toLowerCase();
  if (!PROTOCOLS.includes(protocol)) throw invalidParameter(`invalid proto: ${proto}`);
  return { port: range.start, protocol: protocol as Protocol };
}

export interface PortMappingSpec {
  /** "80/tcp" */
  port: string;
  binding: { HostIp: string; HostPort: string };
}

function splitParts(spec: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = spec.split(':');
  const containerPort = parts[parts.length - 1];
  switch (parts.length) {
    case 1:
      return { ip: '', hostPort: '', containerPort };
    case 2:
      return { ip: '', hostPort: parts[0], containerPort };
    case 3:
      return { ip: parts[0], hostPort: parts[1], containerPort };
    default:
      return { ip: parts.slice(0, -2).join(':'), hostPort: parts[parts.length - 2], containerPort };
  }
}

/**
 * One `-p` value as the docker CLI reads it: `[ip:][hostPort:]containerPort[/proto]`,
 * with ranges on either side; a host range against a single container port is
 * kept as a range for the daemon to pick a free port from.
 */
export function parsePublishSpec(spec: string): PortMappingSpec[] {
  const split = splitParts(spec);
  let { ip } = split;
  const { hostPort } = split;
  const { port: containerPort, proto: rawProto } = splitProtoPort(split.containerPort);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw invalidParameter(`invalid IP address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && isIP(ip) === 0) throw invalidParameter(`invalid IP address: ${ip}`);
  if (containerPort === '') throw invalidParameter(`no port specified: ${spec}<empty>`);
  const container = parsePortRange(containerPort);
  if (!container) throw invalidParameter(`invalid containerPort: ${containerPort}`);
  let host: PortRange | undefined;
  if (hostPort !== '') {
    host = parsePortRange(hostPort);
    if (!host) throw invalidParameter(`invalid hostPort: ${hostPort}`);
    if (container.end - container.start !== host.end - host.start && container.end !== container.start) {
      throw invalidParameter(
        `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
      );
    }
  }
  const proto = rawProto.toLowerCase();
  if (!PROTOCOLS.includes(proto)) throw invalidParameter(`invalid proto: ${proto}`);
  const count = container.end - container.start + 1;
  const mappings: PortMappingSpec[] = [];
  for (let i = 0; i < count; i++) {
    let hostText = '';
    if (host) {
      hostText = String(host.start + i);
      if (count === 1 && host.start !== host.end) hostText += `-${host.end}`;
    }
    mappings.push({ port: `${container.start + i}/${proto}`, binding: { HostIp: ip, HostPort: hostText } });
  }
  return mappings;
}

/** Several `-p` values into the ExposedPorts and PortBindings of a create request. */
export function parsePublishSpecs(specs: readonly string[]): {
  exposedPorts: Record<string, Record<string, never>>;
  portBindings: PortMap;
} {
  const exposedPorts: Record<string, Record<string, never>> = {};
  const portBindings: PortMap = {};
  for (const spec of specs) {
    for (const { port, binding } of parsePublishSpec(spec)) {
      exposedPorts[port] = {};
      (portBindings[port] ??= []).push(binding);
    }
  }
  return { exposedPorts, portBindings };
}

/** One host port the daemon must find (and reserve) for a container port. */
export interface PortRequest {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  /** Both 0 for a random port from the ephemeral range. */
  hostPortStart: number;
  hostPortEnd: number;
}

/**
 * The host ports a container asks for: every PortBindings entry, plus (with
 * PublishAllPorts, `-P`) a random port for each exposed port without one.
 * `defaultHostIp` stands in for an empty HostIp.
 */
export function portRequests(
  portBindings: PortMap | null | undefined,
  exposedPorts: Record<string, unknown> | null | undefined,
  publishAll: boolean,
  defaultHostIp = '0.0.0.0',
): PortRequest[] {
  const requests: PortRequest[] = [];
  const bound = new Set<string>();
  for (const [key, bindings] of Object.entries(portBindings ?? {})) {
    const { port, protocol } = parsePortKey(key);
    for (const binding of bindings ?? []) {
      bound.add(`${port}/${protocol}`);
      requests.push({ containerPort: port, protocol, ...hostSide(binding, defaultHostIp) });
    }
  }
  if (publishAll) {
    for (const key of Object.keys(exposedPorts ?? {})) {
      const { port, protocol } = parsePortKey(key);
      if (bound.has(`${port}/${protocol}`)) continue;
      requests.push({
        containerPort: port,
        protocol,
        hostIp: defaultHostIp,
        hostPortStart: 0,
        hostPortEnd: 0,
      });
    }
  }
  return requests;
}

function hostSide(
  binding: PortBinding,
  defaultHostIp: string,
): Omit<PortRequest, 'containerPort' | 'protocol'> {
  const hostIp = binding.HostIp ? binding.HostIp : defaultHostIp;
  if (isIP(hostIp) === 0) throw invalidParameter(`invalid IP address: ${hostIp}`);
  const hostPort = binding.HostPort ?? '';
  if (hostPort === '' || hostPort === '0') return { hostIp, hostPortStart: 0, hostPortEnd: 0 };
  const range = parsePortRange(hostPort);
  if (!range) throw invalidParameter(`invalid port specification: "${hostPort}"`);
  return { hostIp, hostPortStart: range.start, hostPortEnd: range.end };
}

export interface PublishedPort {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

/**
 * NetworkSettings.Ports: every exposed or bound port, with its host bindings
 * or null when it is not published.
 */
export function portMapOf(
  published: readonly PublishedPort[],
  exposedPorts: Record<string, unknown> | null | undefined,
  portBindings: PortMap | null | undefined,
): PortMap {
  const map: PortMap = {};
  for (const key of [...Object.keys(exposedPorts ?? {}), ...Object.keys(portBindings ?? {})]) {
    const { port, protocol } = parsePortKey(key);
    map[`${port}/${protocol}`] = null;
  }
  for (const p of published) {
    const key = `${p.containerPort}/${p.protocol}`;
    (map[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  return map;
}
