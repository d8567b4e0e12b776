/**
 * `GET /containers/{id}/attach/ws`: attach over a WebSocket (RFC 6455).
 * Output goes out as raw (never multiplexed) frames, binary from API 1.42
 * and text before, as Docker sends them; frames from the client are the
 * container's stdin.
 */
import { createHash } from 'node:crypto';
import { PassThrough, type Duplex } from 'node:stream';
import { errorMessage, invalidParameter } from '../../../common/errors.js';
import { log } from '../../../common/log.js';
import { parseDetachKeys } from '../../../engine/containers/detach-keys.js';
import type { OutputSink } from '../../../engine/containers/stdio.js';
import { boolParam } from '../../httputils.js';
import type { Route, RouteContext } from '../../router.js';
import { compareVersions } from '../../version.js';
import type { ContainerBackend } from './backend.js';

const HANDSHAKE_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** Client frames larger than this are refused (close 1009). */
const MAX_FRAME = 16 * 1024 * 1024;

export function websocketAcceptKey(key: string): string {
  return createHash('sha1')
    .update(key + HANDSHAKE_GUID)
    .digest('base64');
}

/** One server frame (servers never mask). */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.alloc(2) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  header[0] = 0x80 | opcode;
  if (length < 126) header[1] = length;
  else if (length < 65536) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

export interface DecodedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Reassembles frames from the client's bytes (masked, as RFC 6455 requires of clients). */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): DecodedFrame[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: DecodedFrame[] = [];
    for (;;) {
      const buf = this.pending;
      if (buf.length < 2) break;
      const masked = (buf[1] & 0x80) !== 0;
      let length = buf[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buf.length < 4) break;
        length = buf.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (buf.length < 10) break;
        const big = buf.readBigUInt64BE(2);
        if (big > BigInt(MAX_FRAME)) throw invalidParameter('websocket frame too large');
        length = Number(big);
        at = 10;
      }
      if (length > MAX_FRAME) throw invalidParameter('websocket frame too large');
      const maskAt = at;
      if (masked) at += 4;
      if (buf.length < at + length) break;
      const payload = Buffer.from(buf.subarray(at, at + length));
      if (masked) {
        for (let i = 0; i < payload.length; i++) payload[i] ^= buf[maskAt + (i & 3)];
      }
      frames.push({ fin: (buf[0] & 0x80) !== 0, opcode: buf[0] & 0x0f, payload });
      this.pending = buf.subarray(at + length);
    }
    return frames;
  }
}

/** An OutputSink sending each chunk as one data frame. */
function websocketSink(
  socket: Duplex,
  options: { stdout: boolean; stderr: boolean; opcode: number; onEnd: () => void },
): OutputSink {
  let ended = false;
  return {
    stdout: options.stdout,
    stderr: options.stderr,
    write: (_stream, chunk) => (socket.writable ? socket.write(encodeFrame(options.opcode, chunk)) : true),
    onceDrain: (callback) => {
      if (!socket.writable) return callback();
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        callback();
      };
      socket.once('drain', done);
      socket.once('close', done);
    },
    end: () => {
      if (ended) return;
      ended = true;
      options.onEnd();
    },
  };
}

async function attachWebSocket(ctx: RouteContext, backend: ContainerBackend): Promise<void> {
  const upgrade = ctx.upgrade;
  const key = ctx.req.headers['sec-websocket-key'];
  if (!upgrade || String(ctx.req.headers.upgrade).toLowerCase() !== 'websocket' || typeof key !== 'string') {
    throw invalidParameter('websocket: the client is not using the websocket protocol');
  }
  const term = ctx.params.name;
  backend.isTty(term); // NotFound before the handshake.
  const q = ctx.query;
  const request = {
    stream: boolParam(q, 'stream'),
    logs: boolParam(q, 'logs'),
    stdout: boolParam(q, 'stdout'),
    stderr: boolParam(q, 'stderr'),
    detachKeys: parseDetachKeys(q.get('detachKeys') || undefined),
  };
  const socket = upgrade.socket;
  socket.on('error', () => undefined);
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${websocketAcceptKey(key)}\r\n\r\n`,
  );
  const opcode = compareVersions(ctx.version, '1.42') >= 0 ? OPCODE.binary : OPCODE.text;
  let closed = false;
  const close = (code = 1000): void => {
    if (closed) return;
    closed = true;
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    if (socket.writable) socket.end(encodeFrame(OPCODE.close, payload));
  };
  const stdin = boolParam(q, 'stdin') ? new PassThrough() : undefined;
  const decoder = new FrameDecoder();
  const onBytes = (chunk: Buffer): void => {
    let frames: DecodedFrame[];
    try {
      frames = decoder.push(chunk);
    } catch {
      close(1009);
      return;
    }
    for (const frame of frames) {
      if (frame.opcode === OPCODE.close) {
        stdin?.end();
        close();
      } else if (frame.opcode === OPCODE.ping) {
        if (socket.writable) socket.write(encodeFrame(OPCODE.pong, frame.payload));
      } else if (frame.opcode !== OPCODE.pong && frame.payload.length > 0) {
        stdin?.write(frame.payload);
      }
    }
  };
  if (upgrade.head.length > 0) onBytes(upgrade.head);
  socket.on('data', onBytes);
  socket.once('end', () => stdin?.end());
  const sink = websocketSink(socket, {
    stdout: request.stdout,
    stderr: request.stderr,
    opcode,
    onEnd: () => close(),
  });
  socket.once('close', () => {
    closed = true;
    sink.end();
    stdin?.end();
  });
  try {
    await backend.attach(term, { ...request, stdin }, sink);
  } catch (err) {
    log.debug('websocket attach ended with an error', { container: term, error: errorMessage(err) });
    close(1011);
  }
}

export function containerWebSocketRoutes(backend: ContainerBackend): Route[] {
  return [
    { method: 'GET', path: '/containers/{name}/attach/ws', handler: (ctx) => attachWebSocket(ctx, backend) },
  ];
}
