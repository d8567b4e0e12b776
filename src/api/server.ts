import type { IncomingMessage } from 'node:http';
import { STATUS_CODES, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { errorMessage, invalidParameter, notFound } from '../common/errors.js';
import { log } from '../common/log.js';
import { statusForError } from './errors.js';
import { sendError } from './httputils.js';
import type { RouteContext, Router } from './router.js';
import { MAX_API_VERSION, checkApiVersion } from './version.js';

export interface ApiServerInfo {
  /** The engine version shown in the Server header. */
  engineVersion: string;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(\/.*)$/;

/**
 * The HTTP face of berthd: strips and checks the /vX.YY prefix, dispatches to
 * the router, and turns engine errors into Docker's error bodies.
 */
export class ApiServer {
  constructor(
    private readonly router: Router,
    private readonly info: ApiServerInfo,
  ) {}

  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.setCommonHeaders(res);
    void this.dispatch(req, res, undefined);
  };

  /** Requests with `Connection: Upgrade` (attach, exec) arrive here with the raw socket. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    void this.dispatch(req, undefined, { socket, head });
  };

  private setCommonHeaders(res: ServerResponse): void {
    res.setHeader('Api-Version', MAX_API_VERSION);
    res.setHeader('Docker-Experimental', 'false');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Server', `Docker/${this.info.engineVersion} (linux)`);
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse | undefined,
    upgrade: RouteContext['upgrade'],
  ): Promise<void> {
    const started = Date.now();
    const url = new URL(req.url ?? '/', 'http://berth');
    let path = url.pathname;
    let version = MAX_API_VERSION;
    try {
      const prefixed = VERSION_PREFIX.exec(path);
      if (prefixed) {
        version = prefixed[1];
        path = prefixed[2];
        const problem = checkApiVersion(version);
        if (problem) throw invalidParameter(problem);
      }
      const matched = this.router.match(req.method ?? 'GET', path);
      if (matched === undefined || matched === 'method') throw notFound('page not found');
      const response = res ?? upgradeResponse(req, upgrade!.socket);
      await matched.handler({
        req,
        res: response,
        params: matched.params,
        query: url.searchParams,
        version,
        upgrade,
      });
    } catch (err) {
      this.fail(req, res, upgrade, err);
    } finally {
      log.debug('API request', { method: req.method, path: url.pathname, ms: Date.now() - started });
    }
  }

  private fail(
    req: IncomingMessage,
    res: ServerResponse | undefined,
    upgrade: RouteContext['upgrade'],
    err: unknown,
  ): void {
    const status = statusForError(err);
    if (status >= 500)
      log.error('Handler for request returned an error', {
        method: req.method,
        path: req.url,
        error: errorMessage(err),
      });
    else
      log.debug('request refused', { method: req.method, path: req.url, status, error: errorMessage(err) });
    if (res) {
      if (!res.headersSent) sendError(res, err);
      else res.destroy();
      return;
    }
    const socket = upgrade!.socket;
    if (socket.writable) {
      const body = JSON.stringify({ message: errorMessage(err) }) + '\n';
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
  }
}

/**
 * Upgrade requests have no ServerResponse; handlers that do not hijack still
 * answer through a response object written straight onto the socket.
 */
function upgradeResponse(req: IncomingMessage, socket: Duplex): ServerResponse {
  const res = new ServerResponse(req);
  res.assignSocket(socket as Socket);
  res.shouldKeepAlive = false;
  return res;
}
