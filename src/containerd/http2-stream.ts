/**
 * A bidirectional gRPC call on a plain HTTP/2 session, for bulk uploads
 * (Content.Write). grpc-js copies every outgoing message into a new
 * length-prefixed frame; here the caller hands over frames it built itself,
 * prefix included, and may reuse their buffers once answered. For a 200 MB
 * pull that halves the large allocations and, with them, most of the
 * garbage collection.
 */
import { EventEmitter } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { Status } from './errors.js';

/** Length of the gRPC message prefix: compressed flag + 32-bit big-endian length. */
export const FRAME_PREFIX = 5;

/** Writes the uncompressed-message prefix for a `length`-byte message at `at`. */
export function writeFramePrefix(buffer: Buffer, at: number, length: number): void {
  buffer[at] = 0;
  buffer.writeUInt32BE(length, at + 1);
}

/** A message as one frame: prefix + bytes. */
export function framed(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_PREFIX + message.length);
  writeFramePrefix(frame, 0, message.length);
  frame.set(message, FRAME_PREFIX);
  return frame;
}

/** A gRPC status failure, shaped like grpc-js's (code, details) so errors.ts maps it alike. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${Status[code] ?? ''}: ${details}`);
  }
}

export interface Http2CallOptions {
  /** Request headers: gRPC metadata such as containerd-namespace. */
  headers: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The call, with grpc-js's duplex surface as far as callers use it:
 * write(frame) → false under backpressure, then 'drain'; 'data' per
 * decoded response; 'error' once on failure; 'end' when the server closes
 * with status OK.
 */
export class Http2DuplexCall<Res> extends EventEmitter {
  private received: Buffer = Buffer.alloc(0);
  private finished = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stream: http2.ClientHttp2Stream,
    private readonly deserialize: (message: Buffer) => Res,
    options: Http2CallOptions,
  ) {
    super();
    stream.on('response', (headers) => this.onStatus(headers, false));
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('trailers', (headers) => this.onStatus(headers, true));
    stream.on('drain', () => this.emit('drain'));
    stream.on('error', (err) => this.fail(Status.UNAVAILABLE, `containerd stream: ${err.message}`));
    stream.on('close', () => this.fail(Status.UNAVAILABLE, 'containerd closed the stream without a status'));
    if (options.timeoutMs !== undefined) {
      this.timer = setTimeout(
        () => this.fail(Status.DEADLINE_EXCEEDED, 'Deadline exceeded'),
        options.timeoutMs,
      );
    }
    const { signal } = options;
    if (signal) {
      const onAbort = (): void => this.fail(Status.CANCELLED, 'Cancelled on client');
      if (signal.aborted) setImmediate(onAbort);
      else signal.addEventListener('abort', onAbort, { once: true });
      this.once('finish', () => signal.removeEventListener('abort', onAbort));
    }
  }

  /** Sends one frame (prefix included); false means wait for 'drain'. */
  write(frame: Buffer): boolean {
    if (this.finished) return true;
    return this.stream.write(frame);
  }

  /** Half-closes: no more requests. */
  end(): void {
    if (!this.stream.closed && !this.stream.writableEnded) this.stream.end();
  }

  /** Abandons the call (containerd sees the stream reset). */
  cancel(): void {
    this.finish();
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  private onData(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    while (this.received.length >= FRAME_PREFIX) {
      const length = this.received.readUInt32BE(1);
      if (this.received.length < FRAME_PREFIX + length) break;
      const message = this.received.subarray(FRAME_PREFIX, FRAME_PREFIX + length);
      this.received = this.received.subarray(FRAME_PREFIX + length);
      if (!this.finished) this.emit('data', this.deserialize(message));
    }
  }

  /** Response headers may carry the status (trailers-only answer); trailers always do. */
  private onStatus(headers: http2.IncomingHttpHeaders, trailers: boolean): void {
    const status = headers['grpc-status'];
    if (status === undefined) {
      if (trailers) this.fail(Status.UNKNOWN, 'containerd sent no grpc-status');
      else if (Number(headers[':status']) !== 200) {
        this.fail(Status.UNAVAILABLE, `containerd answered HTTP ${String(headers[':status'])}`);
      }
      return;
    }
    const code = Number(status);
    if (code === Status.OK) {
      if (this.finished) return;
      this.finish();
      this.emit('end');
      return;
    }
    const raw = headers['grpc-message'];
    const message = typeof raw === 'string' ? raw : '';
    let details = message;
    try {
      details = decodeURIComponent(message);
    } catch {
      // Not percent-encoded after all: keep it as sent.
    }
    this.fail(code, details);
  }

  private fail(code: number, details: string): void {
    if (this.finished) return;
    this.finish();
    if (!this.stream.closed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    this.emit('error', new GrpcStatusError(code, details));
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.emit('finish');
  }
}

/**
 * One HTTP/2 session to containerd's socket, opened on first use and again
 * after it breaks (containerd restarted).
 */
export class Http2Transport {
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;

  constructor(private readonly socketPath: string) {}

  duplex<Res>(
    path: string,
    deserialize: (message: Buffer) => Res,
    options: Http2CallOptions,
  ): Http2DuplexCall<Res> {
    if (this.closed) throw new GrpcStatusError(Status.UNAVAILABLE, 'connection to containerd closed');
    const headers: http2.OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.headers,
    };
    if (options.timeoutMs !== undefined) headers['grpc-timeout'] = grpcTimeout(options.timeoutMs);
    return new Http2DuplexCall(this.request(headers), deserialize, options);
  }

  /** A new stream; a session that broke since its last use is replaced once. */
  private request(headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream {
    try {
      return this.open().request(headers);
    } catch {
      this.session?.destroy();
      this.session = undefined;
    }
    try {
      return this.open().request(headers);
    } catch (err) {
      throw new GrpcStatusError(Status.UNAVAILABLE, `containerd: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }

  private open(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect('http://localhost', {
      createConnection: () => net.connect(this.socketPath),
    });
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    // Stream errors reach each call; a session error only means: reconnect next time.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.session = session;
    return session;
  }
}

/** A grpc-timeout value: at most 8 digits, in milliseconds or, for long deadlines, seconds. */
function grpcTimeout(ms: number): string {
  const millis = Math.max(1, Math.ceil(ms));
  return millis < 1e8 ? `${millis}m` : `${Math.ceil(millis / 1000)}S`;
}

/** The socket path of a containerd address (a path or unix://path). */
export function socketPathOf(address: string): string {
  return address.replace(/^unix:(\/\/)?/, '');
}
