/**
 * The exec endpoints: create an exec in a container, start it (hijacked,
 * multiplexed without a TTY and raw with one, or detached), resize its TTY,
 * inspect it.
 */
import { PassThrough } from 'node:stream';
import { errorMessage } from '../../../common/errors.js';
import { log } from '../../../common/log.js';
import type { ExecStartRequest } from '../../../engine/containers/exec.js';
import type { ExecConfig, ExecInspect, ExecStartConfig } from '../../../types/container.js';
import { intParam, readJSON, sendJSON, sendNoContent } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { compareVersions } from '../../version.js';
import { beginHijack, parseJsonBody, readUpgradeBody } from '../container/hijack.js';
import { socketSink, streamContentType, writeFrame } from '../container/streams.js';

/** What the exec routes need from the engine (moby's exec backend). */
export interface ExecBackend {
  create(container: string, config: ExecConfig): { Id: string };
  start(id: string, request: ExecStartRequest): Promise<void>;
  resize(id: string, height: number, width: number): Promise<void>;
  inspect(id: string): ExecInspect;
  isTty(id: string): boolean;
  attached(id: string): { stdin: boolean; stdout: boolean; stderr: boolean };
}

export function execRoutes(backend: ExecBackend): Route[] {
  return [
    {
      method: 'POST',
      path: '/containers/{name}/exec',
      handler: async (ctx) => {
        const config = (await readJSON<ExecConfig>(ctx.req)) ?? {};
        sendJSON(ctx.res, 201, backend.create(ctx.params.name, normalizeExecConfig(config)));
      },
    },
    { method: 'POST', path: '/exec/{id}/start', handler: (ctx) => start(ctx, backend) },
    {
      method: 'POST',
      path: '/exec/{id}/resize',
      handler: async (ctx) => {
        await backend.resize(ctx.params.id, intParam(ctx.query, 'h', 0), intParam(ctx.query, 'w', 0));
        ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': 0 });
        ctx.res.end();
      },
    },
    {
      method: 'GET',
      path: '/exec/{id}/json',
      handler: async (ctx) => sendJSON(ctx.res, 200, backend.inspect(ctx.params.id)),
    },
  ];
}

/** Cmd may come as one string, as for containers. */
function normalizeExecConfig(config: ExecConfig): ExecConfig {
  const cmd = config.Cmd as unknown;
  return typeof cmd === 'string' ? { ...config, Cmd: [cmd] } : config;
}

async function start(ctx: RouteContext, backend: ExecBackend): Promise<void> {
  const id = ctx.params.id;
  let body: ExecStartConfig | undefined;
  let rest: Buffer = Buffer.alloc(0);
  if (ctx.upgrade) {
    const read = await readUpgradeBody(ctx);
    body = parseJsonBody<ExecStartConfig>(read.body);
    rest = read.rest;
  } else {
    body = await readJSON<ExecStartConfig>(ctx.req);
  }
  const consoleSize = body?.ConsoleSize ?? undefined;
  // Unknown execs are refused before the connection is taken over.
  const tty = backend.isTty(id);
  if (body?.Detach) {
    await backend.start(id, { detach: true, consoleSize });
    sendNoContent(ctx.res, 200);
    return;
  }
  const attached = backend.attached(id);
  const multiplexed = !tty;
  const socket = beginHijack(ctx, streamContentType(multiplexed, compareVersions(ctx.version, '1.42') >= 0));
  let stdin: PassThrough | undefined;
  if (attached.stdin && ctx.upgrade) {
    stdin = new PassThrough();
    if (rest.length > 0) stdin.write(rest);
    socket.on('data', (chunk: Buffer) => stdin!.write(chunk));
    socket.once('end', () => stdin!.end());
    socket.resume();
  }
  socket.once('close', () => stdin?.end());
  const sink = socketSink(socket, {
    stdout: attached.stdout,
    stderr: attached.stderr,
    multiplexed,
    onEnd: () => undefined,
  });
  try {
    await backend.start(id, { detach: false, consoleSize, stdin, sink });
  } catch (err) {
    log.debug('exec start failed', { exec: id, error: errorMessage(err) });
    // The headers are gone: Docker writes the error into the stream.
    if (socket.writable) writeFrame(socket, multiplexed, 'stdout', Buffer.from(`${errorMessage(err)}\r\n`));
  }
  socket.end();
}
