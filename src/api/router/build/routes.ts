/**
 * `POST /build` (the classic builder API the docker CLI uses without
 * BuildKit), `POST /build/prune`, and berth's `GET /build/export` (the
 * filesystem of a built image as a tar, for `berth build --output`).
 */
import type { ServerResponse } from 'node:http';
import { errorMessage, invalidParameter, isEngineError, notImplemented } from '../../../common/errors.js';
import { parseTimestampFilter } from '../../../engine/images/filters.js';
import { StepExitError, type BuildRequest } from '../../../build/service.js';
import { BuildService } from '../../../build/service.js';
import type { RegistryCredentials } from '../../../registry/auth.js';
import type { JSONMessage } from '../../../types/image.js';
import { boolParam, filtersParam, sendJSON } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { clientGone } from '../image/json-stream.js';
import type { BuildBackend } from './backend.js';

/** Header carrying `berth build --secret` values: base64 of a JSON object of id to base64 content. */
export const SECRETS_HEADER = 'x-berth-build-secrets';

export function buildRoutes(backend: BuildBackend): Route[] {
  return [
    { method: 'POST', path: '/build', handler: (ctx) => postBuild(ctx, backend) },
    { method: 'POST', path: '/build/prune', handler: (ctx) => postPrune(ctx, backend) },
    {
      method: 'POST',
      path: '/build/cancel',
      handler: async ({ res }) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 0 });
        res.end();
      },
    },
    { method: 'GET', path: '/build/export', handler: (ctx) => getExport(ctx, backend) },
  ];
}

function jsonParam<T>(query: URLSearchParams, name: string, what: string): T | undefined {
  const text = query.get(name);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidParameter(`error reading ${what}: ${(err as Error).message}`);
  }
}

function int(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^-?\d+$/.test(text)) throw invalidParameter(`strconv.ParseInt: parsing "${text}": invalid syntax`);
  return Number(text);
}

function header(ctx: RouteContext, name: string): string | undefined {
  const value = ctx.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** X-Registry-Config: base64 (URL alphabet) JSON of registry to AuthConfig; unreadable means none. */
export function registryConfig(value: string | undefined): Record<string, RegistryCredentials> {
  if (!value) return {};
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, RegistryCredentials>) : {};
  } catch {
    return {};
  }
}

function secretsParam(value: string | undefined): Map<string, Buffer> {
  const secrets = new Map<string, Buffer>();
  if (!value) return secrets;
  let parsed: Record<string, string>;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, string>;
  } catch (err) {
    throw invalidParameter(`invalid build secrets: ${(err as Error).message}`);
  }
  for (const [id, content] of Object.entries(parsed)) secrets.set(id, Buffer.from(content, 'base64'));
  return secrets;
}

/** The build request of a `/build` query, validated before the context is read. */
export function buildRequestFromQuery(ctx: RouteContext): BuildRequest {
  const { query } = ctx;
  if (query.get('remote')) throw notImplemented('building from a remote context is not supported by berth');
  const version = query.get('version');
  if (version && version !== '1')
    throw invalidParameter(
      `BuildKit (builder version ${version}) is not available; berth serves the classic builder API`,
    );
  const tags = query.getAll('t');
  for (const tag of tags) BuildService.parseTag(tag);
  const outputs = jsonParam<{ Type?: string; type?: string }[]>(query, 'outputs', 'outputs') ?? [];
  const buildArgs = jsonParam<Record<string, string | null>>(query, 'buildargs', 'build args') ?? {};
  const labels = jsonParam<Record<string, string>>(query, 'labels', 'labels') ?? {};
  const cacheFrom = jsonParam<string[]>(query, 'cachefrom', 'cache-from') ?? [];
  const networkMode = query.get('networkmode') ?? '';
  return {
    dockerfile: query.get('dockerfile') ?? '',
    tags,
    buildArgs,
    target: query.get('target') ?? undefined,
    labels,
    noCache: boolParam(query, 'nocache'),
    pull: boolParam(query, 'pull'),
    platform: query.get('platform') ?? undefined,
    networkMode: networkMode === '' || networkMode === 'default' ? 'default' : networkMode,
    host: {
      memory: int(query, 'memory'),
      memorySwap: int(query, 'memswap'),
      cpuShares: int(query, 'cpushares'),
      cpuPeriod: int(query, 'cpuperiod'),
      cpuQuota: int(query, 'cpuquota'),
      cpusetCpus: query.get('cpusetcpus') ?? undefined,
      cpusetMems: query.get('cpusetmems') ?? undefined,
      cgroupParent: query.get('cgroupparent') ?? undefined,
      shmSize: int(query, 'shmsize'),
      extraHosts: query
        .getAll('extrahosts')
        .flatMap((h) => h.split(','))
        .filter(Boolean),
    },
    credentials: registryConfig(header(ctx, 'x-registry-config')),
    secrets: secretsParam(header(ctx, SECRETS_HEADER)),
    cacheFrom,
    storeImage: outputs.length === 0 || tags.length > 0,
    liveStages: query.get('progress') === 'stages',
  };
}

/** A JSON message stream whose headers go out with the first message (so early failures are plain HTTP errors). */
class BuildStream {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  get hasStarted(): boolean {
    return this.started;
  }

  write(message: JSONMessage): void {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, { 'Content-Type': 'application/json' });
    }
    this.res.write(JSON.stringify(message) + '\r\n');
  }

  end(): void {
    if (!this.started) this.res.writeHead(200, { 'Content-Type': 'application/json' });
    this.res.end();
  }
}

function errorMessageOf(err: unknown): JSONMessage {
  const message = errorMessage(err);
  if (err instanceof StepExitError) return { errorDetail: { code: err.exitCode, message }, error: message };
  return { errorDetail: { message }, error: message };
}

async function postBuild(ctx: RouteContext, backend: BuildBackend): Promise<void> {
  const { req, res, query } = ctx;
  let request: BuildRequest;
  try {
    request = buildRequestFromQuery(ctx);
  } catch (err) {
    req.resume();
    throw err;
  }
  const quiet = boolParam(query, 'q');
  const stream = new BuildStream(res);
  const held: JSONMessage[] = [];
  const sink = quiet
    ? (message: JSONMessage) => void held.push(message)
    : (message: JSONMessage) => stream.write(message);
  let id: string;
  try {
    ({ id } = await backend.build(req, request, sink, clientGone(res)));
  } catch (err) {
    req.resume();
    if (quiet) for (const message of held) stream.write(message);
    // Nothing written yet: a plain HTTP error, as Docker answers a build that fails before any output.
    if (!stream.hasStarted) {
      if (isEngineError(err)) throw err;
      throw invalidParameter(errorMessage(err));
    }
    stream.write(errorMessageOf(err));
    stream.end();
    return;
  }
  if (quiet) {
    // A multi-platform build's aux names each platform's image (for `berth build -q --output`).
    const platforms = held.find((m) => (m.aux as { Platforms?: unknown } | undefined)?.Platforms);
    if (platforms) stream.write(platforms);
    stream.write({ stream: `${id}\n` });
  }
  stream.end();
}

async function postPrune(ctx: RouteContext, backend: BuildBackend): Promise<void> {
  const { query, res } = ctx;
  const filters = filtersParam(query);
  let until: number | undefined;
  for (const [key, values] of filters) {
    if (key !== 'until' && key !== 'unused-for') throw invalidParameter(`invalid filter '${key}'`);
    for (const value of values) until = parseTimestampFilter(value);
  }
  const bytes = (name: string): number | undefined => {
    const text = query.get(name);
    if (text === null || text === '') return undefined;
    if (!/^\d+$/.test(text))
      throw invalidParameter(`${name} is in bytes and expects an integer, got ${text}`);
    return Number(text);
  };
  const keepStorage = bytes('reserved-space') ?? bytes('keep-storage');
  sendJSON(res, 200, await backend.prune({ all: boolParam(query, 'all'), until, keepStorage }));
}

async function getExport(ctx: RouteContext, backend: BuildBackend): Promise<void> {
  const id = ctx.query.get('id');
  if (!id) throw invalidParameter('id is required');
  const write = await backend.exportFilesystem(id);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await write(ctx.res);
  } catch {
    ctx.res.destroy();
  }
}
