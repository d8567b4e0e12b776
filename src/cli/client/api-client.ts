import http from 'node:http';
import type https from 'node:https';
import { createRequire } from 'node:module';
import type { Duplex, Readable } from 'node:stream';
import { MAX_API_VERSION, compareVersions } from '../../api/version.js';
import type { ConnectionSettings } from './connection.js';

/** node:https and tls cost every command start-up time; only TLS connections load them. */
const loadHttps = (): typeof https => createRequire(import.meta.url)('node:https') as typeof https;

/** An error the daemon answered with: its status and Docker's `message`. */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The daemon could not be reached at all. */
export class ConnectionError extends Error {}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** A raw request body (tar archives, stdin). */
  stream?: Readable;
  headers?: Record<string, string>;
}

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/**
 * The CLI's only way to the daemon: Engine API calls over unix, tcp or TLS,
 * with the docker CLI's version negotiation through /_ping.
 */
export class ApiClient {
  private version?: string;
  private readonly agent: http.Agent;

  constructor(readonly settings: ConnectionSettings) {
    const { address, tls } = settings;
    const agentOptions =
      address.proto === 'unix' ? { socketPath: address.path, keepAlive: true } : { keepAlive: true };
    if (tls) {
      this.agent = new (loadHttps().Agent)({
        ...agentOptions,
        ca: tls.ca,
        cert: tls.cert,
        key: tls.key,
        rejectUnauthorized: tls.verify,
      });
    } else {
      // Without TLS a server name is of no use, and working one out runs net.isIP,
      // whose first IPv6 regex compilation costs each CLI run about 4 ms.
      const plain: http.AgentOptions & { servername: string } = { ...agentOptions, servername: '' };
      this.agent = new http.Agent(plain);
    }
    this.version = settings.pinnedVersion;
  }

  close(): void {
    this.agent.destroy();
  }

  async apiVersion(): Promise<string> {
    if (!this.version) {
      const res = await this.raw('GET', '/_ping', {}, false);
      res.body.resume();
      const server = String(res.headers['api-version'] ?? MAX_API_VERSION);
      this.version = compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
    }
    return this.version;
  }

  /** Sends a request and returns the response as is, whatever its status. */
  async raw(
    method: string,
    path: string,
    options: RequestOptions = {},
    versioned = true,
  ): Promise<ApiResponse> {
    const prefix = versioned ? `/v${await this.apiVersion()}` : '';
    const req = this.createRequest(method, prefix + path + queryString(options.query), options);
    return new Promise((resolve, reject) => {
      req.on('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      req.on('error', (err) => reject(this.connectionError(err)));
      sendBody(req, options);
    });
  }

  /** Sends a request; a non-2xx answer becomes a DaemonError with the daemon's message. */
  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const res = await this.raw(method, path, options);
    if (res.status >= 400) throw await daemonError(res);
    return res;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, options);
    const text = await readAll(res.body);
    return (text.length === 0 ? undefined : JSON.parse(text.toString('utf8'))) as T;
  }

  /** Upgrades the connection (attach, exec start) and returns the raw duplex stream. */
  async hijack(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ socket: Duplex; head: Buffer; headers: http.IncomingHttpHeaders }> {
    const prefix = `/v${await this.apiVersion()}`;
    const req = this.createRequest(method, prefix + path + queryString(options.query), {
      ...options,
      headers: { ...options.headers, Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    return new Promise((resolve, reject) => {
      req.on('upgrade', (res, socket, head) => resolve({ socket, head, headers: res.headers }));
      req.on('response', (res) => {
        void daemonError({ status: res.statusCode ?? 0, headers: res.headers, body: res }).then(
          reject,
          reject,
        );
      });
      req.on('error', (err) => reject(this.connectionError(err)));
      sendBody(req, options);
    });
  }

  private createRequest(method: string, path: string, options: RequestOptions): http.ClientRequest {
    const { address, tls } = this.settings;
    const headers: Record<string, string> = { 'User-Agent': 'berth-cli', ...options.headers };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const base = { method, path, headers, agent: this.agent };
    if (address.proto === 'unix')
      return http.request({ ...base, socketPath: address.path, host: 'localhost' });
    const target = {
      ...base,
      host: address.proto === 'tcp' ? address.host : 'localhost',
      port: address.proto === 'tcp' ? address.port : undefined,
    };
    return tls ? loadHttps().request(target) : http.request(target);
  }

  private connectionError(err: Error & { code?: string }): Error {
    if (['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH'].includes(err.code ?? '')) {
      return new ConnectionError(
        `Cannot connect to the berth daemon at ${this.settings.display}. Is the berth daemon running?`,
      );
    }
    return err;
  }
}

function sendBody(req: http.ClientRequest, options: RequestOptions): void {
  if (options.stream) {
    options.stream.pipe(req);
    return;
  }
  if (options.body !== undefined) req.end(JSON.stringify(options.body));
  else req.end();
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function daemonError(res: ApiResponse): Promise<DaemonError> {
  const text = (await readAll(res.body)).toString('utf8');
  let message = text.trim();
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: keep the daemon's text as it is.
  }
  return new DaemonError(
    res.status,
    message || `${res.status} ${http.STATUS_CODES[res.status] ?? ''}`.trim(),
  );
}
