import { invalidParameter } from './errors.js';

/** A parsed daemon address, shared by berthd's -H and the CLI's DOCKER_HOST. */
export type HostAddress =
  | { proto: 'unix'; path: string }
  | { proto: 'tcp'; host: string; port: number }
  | { proto: 'fd'; fd?: number };

export const DEFAULT_TCP_PORT = 2375;
export const DEFAULT_TLS_PORT = 2376;

/**
 * Parses `unix:///path`, `tcp://host:port`, `fd://` or `fd://N` the way
 * dockerd's ParseHost does; a bare path is a unix socket.
 */
export function parseHostAddress(text: string, defaultUnixPath: string, tls = false): HostAddress {
  const value = text.trim();
  if (value === '') return { proto: 'unix', path: defaultUnixPath };
  if (value.startsWith('/')) return { proto: 'unix', path: value };
  const match = /^([a-z]+):\/\/(.*)$/.exec(value);
  if (!match) throw invalidParameter(`Invalid bind address format: ${text}`);
  const [, proto, rest] = match;
  switch (proto) {
    case 'unix':
      return { proto: 'unix', path: rest === '' ? defaultUnixPath : rest };
    case 'fd':
      if (rest === '') return { proto: 'fd' };
      if (!/^\d+$/.test(rest)) throw invalidParameter(`Invalid bind address format: ${text}`);
      return { proto: 'fd', fd: Number(rest) };
    case 'tcp':
      return parseTcp(rest, text, tls ? DEFAULT_TLS_PORT : DEFAULT_TCP_PORT);
    default:
      throw invalidParameter(`Invalid bind address format: ${text}`);
  }
}

function parseTcp(rest: string, original: string, defaultPort: number): HostAddress {
  const hostPort = rest.replace(/\/+$/, '');
  if (hostPort.includes('/')) throw invalidParameter(`Invalid bind address format: ${original}`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(.*))?$/.exec(hostPort);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else {
    const colon = hostPort.lastIndexOf(':');
    if (colon >= 0 && hostPort.indexOf(':') !== colon)
      throw invalidParameter(`Invalid bind address format: ${original}`);
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
  }
  if (portText !== undefined && !/^\d{1,5}$/.test(portText)) {
    throw invalidParameter(`Invalid bind address format: ${original}`);
  }
  const port = portText === undefined || portText === '' ? defaultPort : Number(portText);
  if (port < 1 || port > 65535) throw invalidParameter(`Invalid bind address format: ${original}`);
  return { proto: 'tcp', host: host === '' ? '127.0.0.1' : host, port };
}

export function formatHostAddress(address: HostAddress): string {
  switch (address.proto) {
    case 'unix':
      return `unix://${address.path}`;
    case 'fd':
      return address.fd === undefined ? 'fd://' : `fd://${address.fd}`;
    case 'tcp':
      return `tcp://${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
  }
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
