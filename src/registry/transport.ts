/**
 * HTTP plumbing for registry calls on node:http/node:https: keep-alive
 * agents, redirects, timeouts, and the classification of failures worth a
 * retry. Knows nothing about the distribution API itself.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { EngineError } from '../common/errors.js';

export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** A Buffer, or a factory so the body can be sent again after a redirect or retry. */
  body?: Buffer | (() => Readable);
  /** Accept certificates that do not verify (insecure registries). */
  insecureTls?: boolean;
  signal?: AbortSignal;
  /** Follow 3xx answers (GET and HEAD only). */
  followRedirects?: boolean;
}

export interface TransportOptions {
  userAgent?: string;
  /** Socket inactivity limit before a request fails with ETIMEDOUT. */
  timeoutMs?: number;
  maxSockets?: number;
}

const MAX_REDIRECTS = 10;
const DEFAULT_TIMEOUT_MS = 60_000;

/** Error codes of failed connections or streams that a later attempt may not hit. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

// 429 is absent: a rate limit is reported (Docker Hub's toomanyrequests), not hammered.
const TRANSIENT_STATUSES = new Set([408, 425, 500, 502, 503, 504]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

export function isTransientError(err: unknown): boolean {
  if (err instanceof EngineError) return err.kind === 'Unavailable';
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && TRANSIENT_CODES.has(code);
}

/** Go's url.Error spelling of a method: "Get", "Head", "Put". */
export function methodWord(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

export function headerValues(headers: IncomingHttpHeaders, name: string): string[] {
  const value = headers[name.toLowerCase()];
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Reads a whole (small) response body, refusing more than `limit` bytes. */
export async function readBody(res: IncomingMessage, limit = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      res.destroy();
      throw new EngineError('System', `response from ${res.url || 'registry'} exceeds ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Throws away a response body so its socket can go back to the pool. */
export function discard(res: IncomingMessage): void {
  if (res.destroyed) return;
  // Even a complete response must be read to its 'end' before the agent reuses the socket.
  res.on('error', () => undefined);
  res.resume();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with jitter: ~200ms, 400ms, 800ms... capped at 10s. */
export function backoffDelay(attempt: number, baseMs = 200): number {
  const ceiling = Math.min(10_000, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly insecureHttpsAgent: https.Agent;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(options: TransportOptions = {}) {
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSockets ?? 16,
      scheduling: 'lifo' as const,
    };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.insecureHttpsAgent = new https.Agent({ ...agentOptions, rejectUnauthorized: false });
    this.userAgent = options.userAgent ?? 'berth';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Sends one request (following redirects when asked) and resolves with the response head. */
  async send(request: HttpRequest): Promise<IncomingMessage> {
    let current = request;
    for (let hop = 0; ; hop++) {
      const res = await this.sendOnce(current);
      const location = headerValue(res.headers, 'location');
      const redirected =
        current.followRedirects === true &&
        location !== undefined &&
        [301, 302, 303, 307, 308].includes(res.statusCode ?? 0);
      if (!redirected) return res;
      discard(res);
      if (hop >= MAX_REDIRECTS) {
        throw new EngineError(
          'System',
          `${methodWord(request.method)} "${request.url}": stopped after ${MAX_REDIRECTS} redirects`,
        );
      }
      const next = new URL(location, current.url);
      const headers = { ...current.headers };
      // Like Go's client: credentials stay with the host they were meant for.
      if (next.host !== current.url.host) delete headers.Authorization;
      current = { ...current, url: next, headers };
    }
  }

  private sendOnce(request: HttpRequest): Promise<IncomingMessage> {
    const { url } = request;
    const isHttps = url.protocol === 'https:';
    const agent = isHttps
      ? request.insecureTls
        ? this.insecureHttpsAgent
        : this.httpsAgent
      : this.httpAgent;
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...request.headers };
    let body: Buffer | Readable | undefined;
    if (Buffer.isBuffer(request.body)) {
      body = request.body;
      headers['Content-Length'] = String(body.length);
    } else if (request.body !== undefined) {
      body = request.body();
    } else if (['PUT', 'POST', 'PATCH'].includes(request.method)) {
      headers['Content-Length'] = '0';
    }
    const send = isHttps ? https.request : http.request;
    return new Promise((resolve, reject) => {
      const req = send(url, { method: request.method, headers, agent, signal: request.signal });
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        if (body instanceof Readable) body.destroy();
        reject(err);
      };
      req.setTimeout(this.timeoutMs, () => {
        const err = Object.assign(new Error(`${methodWord(request.method)} "${url}": timed out`), {
          code: 'ETIMEDOUT',
        });
        req.destroy(err);
      });
      req.on('error', fail);
      req.on('response', (res) => {
        settled = true;
        // The registry may answer (e.g. 401) before reading an upload: stop sending.
        if (body instanceof Readable && !body.readableEnded) {
          body.unpipe(req);
          body.destroy();
        }
        res.setTimeout(this.timeoutMs, () => {
          res.destroy(Object.assign(new Error(`reading "${url}": timed out`), { code: 'ETIMEDOUT' }));
        });
        resolve(res);
      });
      if (body instanceof Readable) {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else {
        req.end(body);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.insecureHttpsAgent.destroy();
  }
}

/** The target of `rel="next"` among Link header values. */
export function nextLink(values: string[]): string | undefined {
  for (const value of values) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
      if (match && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(match[2])) return match[1];
    }
  }
  return undefined;
}
