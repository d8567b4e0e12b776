/**
 * Taking over a connection for a container stream (exec start, attach):
 * `101 UPGRADED` with `Upgrade: tcp` when the client asked to upgrade (the
 * docker CLI always does), a plain 200 with the stream's content type
 * otherwise; then the raw socket carries the stream both ways.
 */
import type { Duplex } from 'node:stream';
import { invalidParameter } from '../../../common/errors.js';
import type { RouteContext } from '../../router.js';

const MAX_UPGRADE_BODY = 1024 * 1024;

export function beginHijack(ctx: RouteContext, contentType: string): Duplex {
  const socket = ctx.upgrade?.socket ?? ctx.req.socket;
  socket.write(
    ctx.upgrade
      ? `HTTP/1.1 101 UPGRADED\r\nContent-Type: ${contentType}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`
      : `HTTP/1.1 200 OK\r\nContent-Type: ${contentType}\r\nConnection: close\r\n\r\n`,
  );
  socket.on('error', () => undefined);
  return socket;
}

/**
 * The body of an upgrade request: Node stops parsing after the headers, so
 * the body's Content-Length bytes arrive on the raw socket (the first ones in
 * `head`). Returns the body and the bytes after it (the start of the stream).
 */
export async function readUpgradeBody(ctx: RouteContext): Promise<{ body: Buffer; rest: Buffer }> {
  const upgrade = ctx.upgrade!;
  const length = Number(ctx.req.headers['content-length'] ?? 0);
  if (!Number.isInteger(length) || length < 0 || length > MAX_UPGRADE_BODY)
    throw invalidParameter('invalid request body length');
  let received = upgrade.head;
  if (received.length < length) {
    const socket = upgrade.socket;
    const chunks: Buffer[] = [received];
    let size = received.length;
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= length) done();
      };
      const onEnd = (): void => {
        done();
        reject(invalidParameter('request body ended early'));
      };
      const done = (): void => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.pause();
        resolve();
      };
      socket.on('data', onData);
      socket.once('end', onEnd);
    });
    received = Buffer.concat(chunks);
  }
  return { body: received.subarray(0, length), rest: received.subarray(length) };
}

/** A JSON body; undefined when empty. */
export function parseJsonBody<T>(body: Buffer): T | undefined {
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw invalidParameter(`invalid JSON: ${(err as Error).message}`);
  }
}
