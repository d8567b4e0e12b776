/**
 * Fixtures for the image tests: the Engine API over a daemon's socket (with
 * JSON-lines streams), the test images (busybox, a multi-layer image sharing
 * its base, a two-platform index), a slow TCP proxy that can be cut mid-
 * transfer, and a containerd client on the daemon's own containerd.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { ContainerdClient } from '../../src/containerd/client.js';
import {
  buildImage,
  buildIndex,
  buildTar,
  busyboxLayer,
  type BuiltImage,
  type BuiltIndex,
} from './oci-image.js';
import type { TestDaemon } from './daemon.js';

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/** One Engine API request over the daemon's unix socket; the whole answer in memory. */
export function api(
  daemon: TestDaemon,
  method: string,
  urlPath: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; json?: unknown } = {},
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['Content-Type'] = 'application/json';
    }
    const req = http.request({ socketPath: daemon.socket, method, path: urlPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const all = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: all, text: all.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The messages of a JSON-lines stream. */
export function jsonLines<T = Record<string, unknown>>(text: string): T[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as T);
}

/** X-Registry-Auth for a username and password. */
export function registryAuth(
  username: string,
  password: string,
  serveraddress?: string,
): Record<string, string> {
  const auth = Buffer.from(JSON.stringify({ username, password, serveraddress })).toString('base64url');
  return { 'X-Registry-Auth': auth };
}

export interface ImageFixtures {
  /** One layer: busybox. */
  busybox: BuiltImage;
  /** busybox plus a layer with /hello.txt, so its base is shared. */
  multi: BuiltImage;
  /** An amd64 and an arm64 image in one OCI index. */
  index: BuiltIndex;
}

export async function imageFixtures(): Promise<ImageFixtures> {
  const base = await busyboxLayer();
  const busybox = buildImage({ layers: [base], config: { Labels: { 'org.berth.test': 'busybox' } } });
  const multi = buildImage({
    layers: [base, await buildTar([{ name: 'hello.txt', content: 'hello from multi\n' }])],
    config: { Cmd: ['cat', '/hello.txt'] },
    format: 'docker',
  });
  const amd64 = buildImage({
    layers: [base, await buildTar([{ name: 'arch', content: 'amd64\n' }])],
    platform: { os: 'linux', architecture: 'amd64' },
  });
  const arm64 = buildImage({
    layers: [await buildTar([{ name: 'arch', content: 'arm64\n' }])],
    platform: { os: 'linux', architecture: 'arm64' },
  });
  return { busybox, multi, index: buildIndex([amd64, arm64]) };
}

/** An image with one incompressible layer of `size` bytes (slow enough to interrupt). */
export async function bigImage(size: number): Promise<BuiltImage> {
  return buildImage({ layers: [await buildTar([{ name: 'big.bin', content: randomBytes(size) }])] });
}

/**
 * A TCP proxy to `target` that passes the answers on slowly
 * (`bytesPerTick` every 10 ms), and can be stopped (all connections cut)
 * and started again on the same port.
 */
export class SlowProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly bytesPerTick = 64 * 1024,
  ) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = net.createServer((client) => this.connect(client));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private connect(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.sockets.add(client).add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      const send = (rest: Buffer): void => {
        if (client.destroyed) return;
        client.write(rest.subarray(0, this.bytesPerTick));
        if (rest.length > this.bytesPerTick) setTimeout(() => send(rest.subarray(this.bytesPerTick)), 10);
        else setTimeout(() => upstream.resume(), 10);
      };
      send(chunk);
    });
  }

  /** Stops listening and cuts every connection: to a client, the registry is gone. */
  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A client of the daemon's supervised containerd, in berth's namespace unless told otherwise. */
export function containerdOf(daemon: TestDaemon, namespace = 'berth'): Promise<ContainerdClient> {
  return ContainerdClient.connect({
    address: path.join(daemon.execRoot, 'containerd', 'containerd.sock'),
    namespace,
  });
}
