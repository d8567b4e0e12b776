/**
 * The /images endpoints: parse and validate the request, call the image
 * backend, answer in Docker's shapes (version-dependent fields included).
 */
import { invalidParameter } from '../../../common/errors.js';
import { decodeRegistryAuth } from '../../../engine/images/registry-config.js';
import { parsePlatform, type PlatformSpec } from '../../../registry/platform.js';
import {
  isValidDigest,
  parseNormalizedNamed,
  withTag,
  type ParsedReference,
} from '../../../registry/reference.js';
import type { ImageInspect, ImageSummary } from '../../../types/image.js';
import { boolParam, filtersParam, sendJSON } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { compareVersions } from '../../version.js';
import type { ImageBackend } from './backend.js';
import { LazyJsonStream, clientGone } from './json-stream.js';

export function imageRoutes(backend: ImageBackend): Route[] {
  return [
    { method: 'POST', path: '/images/create', handler: (ctx) => createImage(ctx, backend) },
    { method: 'GET', path: '/images/json', handler: (ctx) => listImages(ctx, backend) },
    {
      method: 'GET',
      path: '/images/get',
      handler: (ctx) => saveImages(ctx, backend, ctx.query.getAll('names')),
    },
    { method: 'POST', path: '/images/load', handler: (ctx) => loadImages(ctx, backend) },
    { method: 'POST', path: '/images/prune', handler: (ctx) => pruneImages(ctx, backend) },
    {
      method: 'GET',
      path: '/images/{name:.*}/get',
      handler: (ctx) => saveImages(ctx, backend, [ctx.params.name]),
    },
    {
      method: 'GET',
      path: '/images/{name:.*}/history',
      handler: async ({ res, params }) => sendJSON(res, 200, await backend.history(params.name)),
    },
    { method: 'GET', path: '/images/{name:.*}/json', handler: (ctx) => inspectImage(ctx, backend) },
    { method: 'POST', path: '/images/{name:.*}/push', handler: (ctx) => pushImage(ctx, backend) },
    { method: 'POST', path: '/images/{name:.*}/tag', handler: (ctx) => tagImage(ctx, backend) },
    { method: 'DELETE', path: '/images/{name:.*}', handler: (ctx) => removeImage(ctx, backend) },
  ];
}

/**
 * The reference of `POST /images/create?fromImage=…&tag=…`, as moby reads it:
 * `tag` may be a tag or a digest; with neither in `tag` nor in `fromImage`,
 * the name alone means every tag (docker pull -a).
 */
export function pullReference(fromImage: string, tag: string): ParsedReference {
  // "pull -a" from old clients sends "name:" (moby keeps accepting it).
  const ref = parseNormalizedNamed(fromImage.replace(/:$/, ''));
  if (tag === '') return ref;
  const name = { domain: ref.domain, path: ref.path };
  return isValidDigest(tag) ? { ...name, digest: tag } : withTag(name, tag);
}

function platformParam(ctx: RouteContext): PlatformSpec | undefined {
  const value = ctx.query.get('platform');
  return value ? parsePlatform(value) : undefined;
}

function registryAuth(ctx: RouteContext): ReturnType<typeof decodeRegistryAuth> {
  const header = ctx.req.headers['x-registry-auth'];
  return decodeRegistryAuth(Array.isArray(header) ? header[0] : header);
}

async function createImage(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const { query, res, req } = ctx;
  const fromImage = query.get('fromImage') ?? '';
  const platform = platformParam(ctx);
  const stream = new LazyJsonStream(res);
  if (fromImage !== '') {
    const ref = pullReference(fromImage, query.get('tag') ?? '');
    const request = { ref, platform, credentials: registryAuth(ctx), signal: clientGone(res) };
    try {
      await backend.pull(request, stream.progress);
    } catch (err) {
      return stream.finish(err);
    }
    return stream.finish();
  }
  const fromSrc = query.get('fromSrc') ?? '';
  if (fromSrc !== '-') {
    throw invalidParameter(
      fromSrc === ''
        ? 'fromImage or fromSrc is required'
        : 'importing from a URL is not supported; use fromSrc=-',
    );
  }
  try {
    await backend.importImage(
      req,
      {
        repo: query.get('repo') ?? '',
        tag: query.get('tag') ?? '',
        message: query.get('message') ?? '',
        changes: query.getAll('changes'),
        platform,
      },
      stream.progress,
    );
  } catch (err) {
    return stream.finish(err);
  }
  stream.finish();
}

async function listImages(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const { query, res, version } = ctx;
  const filters = filtersParam(query);
  // API < 1.28 had a bare `filter` parameter: a reference pattern.
  const legacy = query.get('filter');
  if (legacy) filters.set('reference', [...(filters.get('reference') ?? []), legacy]);
  const images = await backend.list({ all: boolParam(query, 'all'), filters });
  sendJSON(
    res,
    200,
    images.map((image) => listEntryForVersion(image, version)),
  );
}

function listEntryForVersion(image: ImageSummary, version: string): ImageSummary {
  const out: ImageSummary = { ...image };
  if (compareVersions(version, '1.43') < 0 && out.RepoTags.length === 0 && out.RepoDigests.length === 0) {
    out.RepoTags = ['<none>:<none>'];
    out.RepoDigests = ['<none>@<none>'];
  }
  if (compareVersions(version, '1.44') < 0) out.VirtualSize = out.Size;
  return out;
}

async function inspectImage(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const image: ImageInspect = await backend.inspect(ctx.params.name);
  if (compareVersions(ctx.version, '1.44') < 0) image.VirtualSize = image.Size;
  if (compareVersions(ctx.version, '1.45') >= 0 && !readsLegacyImageFields(ctx)) {
    delete image.Container;
    delete image.ContainerConfig;
  }
  sendJSON(ctx.res, 200, image);
}

/**
 * docker-compose 1.x negotiates the newest API version yet reads
 * ContainerConfig when it recreates a container (and fails with a KeyError
 * against Docker 26+); berth keeps the fields for it.
 */
function readsLegacyImageFields(ctx: RouteContext): boolean {
  return /^docker-compose\/1\./.test(ctx.req.headers['user-agent'] ?? '');
}

async function tagImage(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  await backend.tag(ctx.params.name, ctx.query.get('repo') ?? '', ctx.query.get('tag') ?? '');
  ctx.res.writeHead(201);
  ctx.res.end();
}

async function removeImage(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const deleted = await backend.remove(ctx.params.name, {
    force: boolParam(ctx.query, 'force'),
    prune: !boolParam(ctx.query, 'noprune'),
  });
  sendJSON(ctx.res, 200, deleted);
}

async function pruneImages(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  sendJSON(ctx.res, 200, await backend.prune(filtersParam(ctx.query)));
}

async function pushImage(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const stream = new LazyJsonStream(ctx.res);
  const request = {
    name: ctx.params.name,
    tag: ctx.query.get('tag') ?? '',
    credentials: registryAuth(ctx),
    signal: clientGone(ctx.res),
  };
  try {
    await backend.push(request, stream.progress);
  } catch (err) {
    return stream.finish(err);
  }
  stream.finish();
}

async function saveImages(ctx: RouteContext, backend: ImageBackend, names: string[]): Promise<void> {
  const write = await backend.exportImages(names);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await write(ctx.res);
  } catch (err) {
    // Headers are gone: cutting the connection is the only way left to say it failed.
    ctx.res.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  ctx.res.end();
}

async function loadImages(ctx: RouteContext, backend: ImageBackend): Promise<void> {
  const stream = new LazyJsonStream(ctx.res);
  try {
    await backend.load(ctx.req, boolParam(ctx.query, 'quiet'), stream.progress);
  } catch (err) {
    return stream.finish(err);
  }
  stream.finish();
}
