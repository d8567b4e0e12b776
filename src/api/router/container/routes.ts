/**
 * The /containers endpoints (and /commit): parse and validate, call the
 * container backend, answer in Docker's shapes, hijack for attach.
 */
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { invalidParameter } from '../../../common/errors.js';
import { errorMessage } from '../../../common/errors.js';
import { log } from '../../../common/log.js';
import { parseDetachKeys } from '../../../engine/containers/detach-keys.js';
import type { WaitCondition } from '../../../engine/containers/service.js';
import type {
  ContainerConfig,
  ContainerCreateRequest,
  ContainerUpdateRequest,
} from '../../../types/container.js';
import {
  boolParam,
  boolParamOr,
  filtersParam,
  intParam,
  readJSON,
  sendJSON,
  sendNoContent,
} from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { compareVersions } from '../../version.js';
import type { ContainerBackend } from './backend.js';
import { beginHijack, readUpgradeBody } from './hijack.js';
import { frameHeader, socketSink, streamContentType, writeFrame } from './streams.js';

export function containerRoutes(backend: ContainerBackend): Route[] {
  const id = (ctx: RouteContext): string => ctx.params.name;
  return [
    { method: 'POST', path: '/containers/create', handler: (ctx) => create(ctx, backend) },
    { method: 'GET', path: '/containers/json', handler: (ctx) => list(ctx, backend) },
    { method: 'POST', path: '/containers/prune', handler: (ctx) => prune(ctx, backend) },
    {
      method: 'GET',
      path: '/containers/{name}/json',
      handler: async (ctx) =>
        sendJSON(ctx.res, 200, await backend.inspect(id(ctx), { size: boolParam(ctx.query, 'size') })),
    },
    {
      method: 'POST',
      path: '/containers/{name}/start',
      handler: async (ctx) => {
        if (ctx.query.get('checkpoint')) throw invalidParameter('checkpoints are not supported');
        await backend.start(id(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/stop',
      handler: async (ctx) => {
        await backend.stop(id(ctx), stopOptions(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/restart',
      handler: async (ctx) => {
        await backend.restart(id(ctx), stopOptions(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/kill',
      handler: async (ctx) => {
        await backend.kill(id(ctx), ctx.query.get('signal') || undefined);
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/pause',
      handler: async (ctx) => {
        await backend.pause(id(ctx));
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/unpause',
      handler: async (ctx) => {
        await backend.unpause(id(ctx));
        sendNoContent(ctx.res);
      },
    },
    { method: 'POST', path: '/containers/{name}/wait', handler: (ctx) => wait(ctx, backend) },
    {
      method: 'DELETE',
      path: '/containers/{name}',
      handler: async (ctx) => {
        await backend.remove(id(ctx), {
          force: boolParam(ctx.query, 'force'),
          removeVolumes: boolParam(ctx.query, 'v'),
          link: boolParam(ctx.query, 'link'),
        });
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/rename',
      handler: async (ctx) => {
        await backend.rename(id(ctx), ctx.query.get('name') ?? '');
        sendNoContent(ctx.res);
      },
    },
    {
      method: 'POST',
      path: '/containers/{name}/update',
      handler: async (ctx) => {
        const body = (await readJSON<ContainerUpdateRequest>(ctx.req)) ?? {};
        sendJSON(ctx.res, 200, await backend.update(id(ctx), body));
      },
    },
    {
      method: 'GET',
      path: '/containers/{name}/top',
      handler: async (ctx) =>
        sendJSON(ctx.res, 200, await backend.top(id(ctx), ctx.query.get('ps_args') ?? '')),
    },
    {
      method: 'GET',
      path: '/containers/{name}/changes',
      handler: async (ctx) => {
        const changes = await backend.changes(id(ctx));
        sendJSON(ctx.res, 200, changes.length ? changes : null);
      },
    },
    { method: 'GET', path: '/containers/{name}/export', handler: (ctx) => exportContainer(ctx, backend) },
    {
      method: 'POST',
      path: '/containers/{name}/resize',
      handler: async (ctx) => {
        await backend.resize(id(ctx), intParam(ctx.query, 'h', 0), intParam(ctx.query, 'w', 0));
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
        ctx.res.end();
      },
    },
    { method: 'POST', path: '/containers/{name}/attach', handler: (ctx) => attach(ctx, backend) },
    { method: 'GET', path: '/containers/{name}/logs', handler: (ctx) => logs(ctx, backend) },
    { method: 'POST', path: '/commit', handler: (ctx) => commit(ctx, backend) },
  ];
}

function stopOptions(ctx: RouteContext): { signal?: string; timeout?: number } {
  const t = ctx.query.get('t');
  return {
    signal: ctx.query.get('signal') || undefined,
    timeout: t === null || t === '' ? undefined : intParam(ctx.query, 't', 0),
  };
}

async function create(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const body = await readJSON<ContainerCreateRequest>(ctx.req);
  if (!body) throw invalidParameter('config cannot be empty in order to create a container');
  const name = ctx.query.get('name') || undefined;
  const platform = ctx.query.get('platform') || body.Platform || undefined;
  sendJSON(ctx.res, 201, await backend.create(body, { name, platform }));
}

async function list(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const filters = filtersParam(ctx.query);
  // API < 1.24 sent before/since as their own parameters.
  for (const legacy of ['before', 'since']) {
    const value = ctx.query.get(legacy);
    if (value) filters.set(legacy, [value]);
  }
  const containers = await backend.list({
    all: boolParam(ctx.query, 'all'),
    limit: intParam(ctx.query, 'limit', -1),
    size: boolParam(ctx.query, 'size'),
    filters,
  });
  sendJSON(ctx.res, 200, containers);
}

async function prune(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  sendJSON(ctx.res, 200, await backend.prune(filtersParam(ctx.query)));
}

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

/** Headers go out at once (the client then knows the wait is registered); the body when the condition holds. */
async function wait(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const condition = (ctx.query.get('condition') || 'not-running') as WaitCondition;
  if (!WAIT_CONDITIONS.includes(condition)) throw invalidParameter(`invalid condition: "${condition}"`);
  const abort = new AbortController();
  const waiting = backend.wait(ctx.params.name, condition, abort.signal);
  waiting.catch(() => undefined);
  ctx.res.on('close', () => abort.abort());
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  try {
    const result = await waiting;
    ctx.res.end(JSON.stringify(result) + '\n');
  } catch {
    ctx.res.destroy();
  }
}

async function exportContainer(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const archive = await backend.export(ctx.params.name);
  ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
  try {
    await pipeline(archive, ctx.res);
  } catch (err) {
    log.debug('export stream ended early', { error: errorMessage(err) });
    ctx.res.destroy();
  }
}

const atLeast = (version: string, wanted: string): boolean => compareVersions(version, wanted) >= 0;

/**
 * Hijacks the connection: `101 UPGRADED` when the client asked to upgrade
 * (the docker CLI always does), then Docker's stream format both ways.
 */
async function attach(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const term = ctx.params.name;
  const tty = backend.isTty(term);
  const q = ctx.query;
  const wantStdin = boolParam(q, 'stdin');
  const request = {
    stream: boolParam(q, 'stream'),
    logs: boolParam(q, 'logs'),
    stdout: boolParam(q, 'stdout'),
    stderr: boolParam(q, 'stderr'),
    detachKeys: parseDetachKeys(q.get('detachKeys') || undefined),
  };
  // Docker ignores an attach request's body (dockerode sends its options
  // there too); only the bytes after it are the container's stdin.
  const early = ctx.upgrade ? (await readUpgradeBody(ctx)).rest : Buffer.alloc(0);
  const socket = beginHijack(ctx, streamContentType(!tty, atLeast(ctx.version, '1.42')));
  let stdin: PassThrough | undefined;
  if (wantStdin && ctx.upgrade) {
    stdin = new PassThrough();
    if (early.length > 0) stdin.write(early);
    socket.on('data', (chunk: Buffer) => stdin!.write(chunk));
    socket.resume();
    socket.once('end', () => stdin!.end());
  }
  const sink = socketSink(socket, {
    stdout: request.stdout,
    stderr: request.stderr,
    multiplexed: !tty,
    onEnd: () => socket.end(),
  });
  socket.once('close', () => {
    sink.end();
    stdin?.end();
  });
  try {
    await backend.attach(term, { ...request, stdin }, sink);
  } catch (err) {
    log.debug('attach ended with an error', { container: term, error: errorMessage(err) });
    if (socket.writable && !tty)
      writeFrame(socket, true, 'stderr', Buffer.from(`Error: ${errorMessage(err)}\n`));
    socket.end();
  }
}

/** since/until: Unix seconds with an optional fraction (what the CLI sends) or RFC 3339, as epoch nanoseconds. */
function timeParam(value: string | null, name: string): bigint | undefined {
  if (value === null || value === '' || value === '0') return undefined;
  const seconds = /^(\d+)(?:\.(\d{1,9}))?$/.exec(value);
  if (seconds) return BigInt(seconds[1]) * 1_000_000_000n + BigInt((seconds[2] ?? '').padEnd(9, '0') || '0');
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalidParameter(`invalid value for ${name}: ${value}`);
  return BigInt(ms) * 1_000_000n;
}

/** RFC 3339 with exactly nine fraction digits, as `docker logs -t` prints timestamps. */
export function fixedNanoTime(time: string): string {
  const match = /^(.*?)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (!match) return time;
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}${match[3]}`;
}

/** `logs --details`: the entry's extra attributes as Docker prints them (sorted, query-escaped, comma-separated). */
export function attributesText(attrs: Record<string, string> | undefined): string {
  return Object.keys(attrs ?? {})
    .sort()
    .map((key) => new URLSearchParams({ [key]: attrs![key] }).toString())
    .join(',');
}

async function logs(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const q = ctx.query;
  const stdout = boolParam(q, 'stdout');
  const stderr = boolParam(q, 'stderr');
  if (!stdout && !stderr) throw invalidParameter('Bad parameters: you must choose at least one stream');
  const tailText = q.get('tail');
  let tail: number | undefined;
  if (tailText && tailText !== 'all') {
    if (!/^-?\d+$/.test(tailText)) throw invalidParameter(`invalid value for tail: ${tailText}`);
    tail = Number(tailText);
  }
  const abort = new AbortController();
  ctx.res.on('close', () => abort.abort());
  const { tty, batches } = backend.logs(ctx.params.name, {
    follow: boolParam(q, 'follow'),
    stdout,
    stderr,
    tail,
    since: timeParam(q.get('since'), 'since'),
    until: timeParam(q.get('until'), 'until'),
    signal: abort.signal,
  });
  const timestamps = boolParamOr(q, 'timestamps', false);
  const details = boolParam(q, 'details');
  ctx.res.writeHead(200, { 'Content-Type': streamContentType(!tty, atLeast(ctx.version, '1.42')) });
  ctx.res.flushHeaders();
  for await (const batch of batches) {
    if (abort.signal.aborted) break;
    // One write per batch read from the log: a frame (or raw bytes) per entry.
    const parts: Buffer[] = [];
    for (const entry of batch) {
      const line = details ? `${attributesText(entry.attrs)} ${entry.log}` : entry.log;
      const payload = Buffer.from(timestamps ? `${fixedNanoTime(entry.time)} ${line}` : line);
      if (payload.length === 0) continue;
      if (!tty) parts.push(frameHeader(entry.stream, payload.length));
      parts.push(payload);
    }
    if (parts.length > 0 && !ctx.res.write(Buffer.concat(parts))) {
      await new Promise<void>((resolve) => {
        ctx.res.once('drain', resolve);
        ctx.res.once('close', resolve);
      });
    }
  }
  ctx.res.end();
}

async function commit(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const q = ctx.query;
  const container = q.get('container') ?? '';
  if (!container) throw invalidParameter('container is required');
  const config = await readJSON<ContainerConfig>(ctx.req);
  const result = await backend.commit({
    container,
    repo: q.get('repo') ?? '',
    tag: q.get('tag') ?? '',
    comment: q.get('comment') ?? '',
    author: q.get('author') ?? '',
    pause: boolParamOr(q, 'pause', true),
    changes: q
      .getAll('changes')
      .flatMap((c) => c.split('\n'))
      .filter((c) => c.trim() !== ''),
    config: config ?? undefined,
  });
  sendJSON(ctx.res, 201, result);
}
