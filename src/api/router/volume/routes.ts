import { invalidParameter } from '../../../common/errors.js';
import type { VolumeCreateRequest } from '../../../types/volume.js';
import { boolParam, filtersParam, readJSON, sendJSON, sendNoContent } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import type { VolumeBackend } from './backend.js';

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/** Checks the create body's shape; Docker answers a mistyped field with 400. */
export function parseCreateRequest(body: unknown): VolumeCreateRequest {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw invalidParameter('invalid JSON: expected an object');
  const request = body as Record<string, unknown>;
  for (const key of ['Name', 'Driver'] as const) {
    if (request[key] !== undefined && request[key] !== null && typeof request[key] !== 'string') {
      throw invalidParameter(`invalid JSON: ${key} must be a string`);
    }
  }
  for (const key of ['DriverOpts', 'Labels'] as const) {
    if (request[key] !== undefined && request[key] !== null && !isStringMap(request[key])) {
      throw invalidParameter(`invalid JSON: ${key} must be an object of strings`);
    }
  }
  return {
    Name: (request.Name as string | null) ?? undefined,
    Driver: (request.Driver as string | null) ?? undefined,
    DriverOpts: request.DriverOpts as Record<string, string> | null | undefined,
    Labels: request.Labels as Record<string, string> | null | undefined,
  };
}

export function volumeRoutes(backend: VolumeBackend): Route[] {
  const create = async ({ req, res }: RouteContext): Promise<void> => {
    const request = parseCreateRequest(await readJSON<unknown>(req));
    sendJSON(res, 201, await backend.create(request));
  };
  return [
    {
      method: 'GET',
      path: '/volumes',
      handler: async ({ res, query }) => sendJSON(res, 200, backend.list(filtersParam(query))),
    },
    { method: 'POST', path: '/volumes/create', handler: create },
    {
      method: 'POST',
      path: '/volumes/prune',
      handler: async ({ res, query, version }) =>
        sendJSON(res, 200, await backend.prune(filtersParam(query), { apiVersion: version })),
    },
    {
      method: 'GET',
      path: '/volumes/{name}',
      handler: async ({ res, params, query }) =>
        sendJSON(res, 200, await backend.inspect(params.name, { withUsage: boolParam(query, 'size') })),
    },
    {
      method: 'DELETE',
      path: '/volumes/{name}',
      handler: async ({ res, params, query }) => {
        await backend.remove(params.name, { force: boolParam(query, 'force') });
        sendNoContent(res);
      },
    },
  ];
}
