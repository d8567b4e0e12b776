import { invalidParameter } from '../../../common/errors.js';
import type {
  NetworkConnectRequest,
  NetworkCreateRequest,
  NetworkDisconnectRequest,
} from '../../../types/network.js';
import { filtersParam, readJSON, sendJSON, sendNoContent } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { compareVersions } from '../../version.js';
import type { NetworkBackend } from './backend.js';

export function networkRoutes(backend: NetworkBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/networks',
      // From API 1.28 the list leaves the attached containers out (only inspect has them), as dockerd does.
      handler: async ({ res, query, version }) => {
        const networks = backend.list(filtersParam(query));
        const detailed = compareVersions(version, '1.28') < 0;
        sendJSON(res, 200, detailed ? networks : networks.map((n) => ({ ...n, Containers: {} })));
      },
    },
    {
      method: 'GET',
      path: '/networks/{id}',
      handler: async ({ res, params, query }) => {
        const verbose = query.get('verbose');
        if (
          verbose !== null &&
          !['', '0', '1', 'true', 'false', 't', 'f', 'TRUE', 'FALSE', 'True', 'False'].includes(verbose)
        ) {
          throw invalidParameter(`invalid value for verbose: ${verbose}`);
        }
        sendJSON(res, 200, backend.inspect(params.id, query.get('scope') || undefined));
      },
    },
    { method: 'POST', path: '/networks/create', handler: createNetwork(backend) },
    {
      method: 'DELETE',
      path: '/networks/{id}',
      handler: async ({ res, params }) => {
        await backend.remove(params.id);
        sendNoContent(res);
      },
    },
    {
      method: 'POST',
      path: '/networks/prune',
      handler: async ({ res, query }) => sendJSON(res, 200, await backend.prune(filtersParam(query))),
    },
    {
      method: 'POST',
      path: '/networks/{id}/connect',
      handler: async ({ req, res, params }) => {
        const body = await requireBody<NetworkConnectRequest>(req);
        if (!body.Container) throw invalidParameter('no container specified');
        await backend.connect(params.id, body.Container, body.EndpointConfig);
        sendOk(res);
      },
    },
    {
      method: 'POST',
      path: '/networks/{id}/disconnect',
      handler: async ({ req, res, params }) => {
        const body = await requireBody<NetworkDisconnectRequest>(req);
        if (!body.Container) throw invalidParameter('no container specified');
        await backend.disconnect(params.id, body.Container, Boolean(body.Force));
        sendOk(res);
      },
    },
  ];
}

function createNetwork(backend: NetworkBackend) {
  return async ({ req, res, version }: RouteContext): Promise<void> => {
    const body = await requireBody<NetworkCreateRequest>(req);
    // EnableIPv4 arrived in API 1.48; older clients cannot have meant it.
    if (compareVersions(version, '1.48') < 0) delete body.EnableIPv4;
    sendJSON(res, 201, await backend.create(body));
  };
}

async function requireBody<T extends object>(req: RouteContext['req']): Promise<T> {
  const body = await readJSON<T>(req);
  if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidParameter('invalid JSON: expected an object in the request body');
  }
  return body;
}

/** connect/disconnect answer 200 with no body, as dockerd does. */
function sendOk(res: RouteContext['res']): void {
  res.writeHead(200, { 'Content-Length': 0 });
  res.end();
}
