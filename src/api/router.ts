import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Everything a route handler gets: the request, its parsed path and query, and the API version in force. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The API version the client asked for (from the /vX.YY prefix), or the server's own. */
  version: string;
  /** Present when the client sent `Connection: Upgrade`; the handler then owns the raw socket. */
  upgrade?: { socket: Duplex; head: Buffer };
}

export type RouteHandler = (ctx: RouteContext) => Promise<void>;

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

export interface Route {
  method: Method;
  path: string;
  handler: RouteHandler;
}

interface CompiledRoute {
  method: Method;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * Matches moby-style paths: `{id}` is one segment, `{name:.*}` may span
 * slashes (image names such as `host:5000/ns/repo:tag` arrive unescaped).
 */
export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(routes: readonly Route[]): void {
    for (const route of routes) this.routes.push(compile(route));
  }

  /** Returns the handler and params, 'method' when only the method is wrong, or undefined. */
  match(
    method: string,
    path: string,
  ): { handler: RouteHandler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const route of this.routes) {
      const found = route.pattern.exec(path);
      if (!found) continue;
      pathMatched = true;
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => {
        params[name] = decodeURIComponent(found[i + 1]);
      });
      return { handler: route.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
    .replace(/\{(\w+)(?::\\\.\\\*)?\}/g, (whole, name) => {
      names.push(name);
      return whole.includes(':') ? '(.+)' : '([^/]+)';
    });
  return { method: route.method, pattern: new RegExp(`^${source}/?$`), names, handler: route.handler };
}
