/**
 * Host ports for published container ports. berthd remembers which ports its
 * containers hold and, like docker-proxy, keeps each one bound on the host
 * while the container runs: a port another program already listens on is
 * refused at start, and no program can take a published port afterwards.
 * Traffic never reaches these sockets (the firewall's DNAT rewrites it first);
 * anything that does arrive is dropped.
 */
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { systemError, type EngineError } from '../common/errors.js';
import type { PortRequest, PublishedPort } from './ports.js';

export const DEFAULT_EPHEMERAL_RANGE = { start: 32768, end: 60999 };

/** The kernel's ephemeral port range (/proc/sys/net/ipv4/ip_local_port_range). */
export async function readEphemeralRange(): Promise<{ start: number; end: number }> {
  try {
    const [start, end] = (await fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))
      .trim()
      .split(/\s+/)
      .map(Number);
    if (start > 0 && end >= start && end <= 65535) return { start, end };
  } catch {
    // Not Linux, or /proc not mounted: Docker's defaults.
  }
  return DEFAULT_EPHEMERAL_RANGE;
}

interface Holding {
  owner: string;
  port: PublishedPort;
  socket?: net.Server | dgram.Socket;
}

const isUnspecified = (ip: string): boolean => ip === '0.0.0.0' || ip === '::';

export class HostPortAllocator {
  private readonly holdings: Holding[] = [];

  constructor(private ephemeral: { start: number; end: number } = DEFAULT_EPHEMERAL_RANGE) {}

  setEphemeralRange(range: { start: number; end: number }): void {
    this.ephemeral = range;
  }

  /** Ports held for an owner (a container). */
  heldBy(owner: string): PublishedPort[] {
    return this.holdings.filter((h) => h.owner === owner).map((h) => h.port);
  }

  /**
   * Finds and reserves a host port for each request, all or nothing. A taken
   * port fails with Docker's "Bind for IP:PORT failed: port is already allocated".
   */
  async allocate(owner: string, requests: readonly PortRequest[]): Promise<PublishedPort[]> {
    const taken: Holding[] = [];
    try {
      for (const request of requests) taken.push(await this.allocateOne(owner, request));
    } catch (err) {
      await Promise.all(taken.map((h) => this.drop(h)));
      throw err;
    }
    return taken.map((h) => h.port);
  }

  /** Re-reserves ports a container already had (after a berthd restart); failures are returned, not thrown. */
  async restore(owner: string, ports: readonly PublishedPort[]): Promise<Error[]> {
    const errors: Error[] = [];
    for (const port of ports) {
      if (this.conflict(port)) continue;
      const holding: Holding = { owner, port };
      this.holdings.push(holding);
      try {
        holding.socket = await bindPort(port);
      } catch (err) {
        errors.push(err as Error);
      }
    }
    return errors;
  }

  async release(owner: string): Promise<void> {
    await Promise.all(this.holdings.filter((h) => h.owner === owner).map((h) => this.drop(h)));
  }

  private async allocateOne(owner: string, request: PortRequest): Promise<Holding> {
    const { containerPort, protocol, hostIp } = request;
    if (request.hostPortStart === request.hostPortEnd && request.hostPortStart !== 0) {
      const port = { containerPort, protocol, hostIp, hostPort: request.hostPortStart };
      if (this.conflict(port)) throw alreadyAllocated(port);
      return this.hold(owner, port);
    }
    const range =
      request.hostPortStart === 0
        ? this.ephemeral
        : { start: request.hostPortStart, end: request.hostPortEnd };
    const size = range.end - range.start + 1;
    // Random ports start anywhere in the ephemeral range; an explicit range is tried in order.
    const offset = request.hostPortStart === 0 ? Math.floor(Math.random() * size) : 0;
    let lastError: Error | undefined;
    for (let i = 0; i < size; i++) {
      const port = { containerPort, protocol, hostIp, hostPort: range.start + ((offset + i) % size) };
      if (this.conflict(port)) continue;
      try {
        return await this.hold(owner, port);
      } catch (err) {
        lastError = err as Error;
      }
    }
    if (request.hostPortStart !== 0 && lastError) throw lastError;
    throw systemError(
      `Bind for ${hostIp}:${request.hostPortStart === 0 ? 0 : `${range.start}-${range.end}`} failed: port is already allocated`,
    );
  }

  private conflict(port: PublishedPort): boolean {
    return this.holdings.some(
      (h) =>
        h.port.protocol === port.protocol &&
        h.port.hostPort === port.hostPort &&
        (h.port.hostIp === port.hostIp || isUnspecified(h.port.hostIp) || isUnspecified(port.hostIp)),
    );
  }

  private async hold(owner: string, port: PublishedPort): Promise<Holding> {
    // Claimed before the bind so a concurrent allocation cannot pick the same port.
    const holding: Holding = { owner, port };
    this.holdings.push(holding);
    try {
      holding.socket = await bindPort(port);
    } catch (err) {
      this.forget(holding);
      throw err;
    }
    return holding;
  }

  private forget(holding: Holding): void {
    const index = this.holdings.indexOf(holding);
    if (index >= 0) this.holdings.splice(index, 1);
  }

  private async drop(holding: Holding): Promise<void> {
    this.forget(holding);
    await closeSocket(holding.socket);
  }
}

function alreadyAllocated(port: PublishedPort): EngineError {
  return systemError(`Bind for ${port.hostIp}:${port.hostPort} failed: port is already allocated`);
}

/** The error docker gives when the host refuses a bind (userland proxy wording). */
function bindError(port: PublishedPort, err: NodeJS.ErrnoException): EngineError {
  const family = net.isIPv6(port.hostIp) ? '6' : '4';
  const host = net.isIPv6(port.hostIp) ? `[${port.hostIp}]` : port.hostIp;
  const reason =
    err.code === 'EADDRINUSE'
      ? 'address already in use'
      : err.code === 'EADDRNOTAVAIL'
        ? 'cannot assign requested address'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.message;
  return systemError(
    `Error starting userland proxy: listen ${port.protocol}${family} ${host}:${port.hostPort}: bind: ${reason}`,
  );
}

/** Binds the host side of a published port; SCTP is not reserved (Node has no SCTP sockets). */
function bindPort(port: PublishedPort): Promise<net.Server | dgram.Socket | undefined> {
  if (port.protocol === 'sctp') return Promise.resolve(undefined);
  return port.protocol === 'tcp' ? bindTcp(port) : bindUdp(port);
}

function bindTcp(port: PublishedPort): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => socket.destroy());
    server.once('error', (err) => reject(bindError(port, err)));
    server.listen(
      { host: port.hostIp, port: port.hostPort, exclusive: true, ipv6Only: net.isIPv6(port.hostIp) },
      () => {
        server.removeAllListeners('error');
        server.on('error', () => undefined);
        server.unref();
        resolve(server);
      },
    );
  });
}

function bindUdp(port: PublishedPort): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket({
      type: net.isIPv6(port.hostIp) ? 'udp6' : 'udp4',
      ipv6Only: net.isIPv6(port.hostIp),
    });
    socket.once('error', (err) => {
      socket.close();
      reject(bindError(port, err));
    });
    socket.bind({ address: port.hostIp, port: port.hostPort, exclusive: true }, () => {
      socket.removeAllListeners('error');
      socket.on('error', () => undefined);
      socket.on('message', () => undefined);
      socket.unref();
      resolve(socket);
    });
  });
}

function closeSocket(socket: net.Server | dgram.Socket | undefined): Promise<void> {
  if (!socket) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      if (socket instanceof net.Server) socket.close(() => resolve());
      else socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
