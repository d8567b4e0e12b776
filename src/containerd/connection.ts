/**
 * The gRPC plumbing under every service wrapper: one channel to containerd,
 * one client per service, and per-call metadata (namespace, lease), deadlines,
 * cancellation and error mapping.
 */
import * as grpc from '@grpc/grpc-js';
import { EngineError } from '../common/errors.js';
import { Status, toEngineError } from './errors.js';
import { GrpcStatusError, Http2Transport, socketPathOf, type Http2DuplexCall } from './http2-stream.js';
import { SERVICE_NAMES, serviceConstructor, type ServiceName } from './proto.js';

export interface CallOptions {
  /** Deadline for the call; none by default. */
  timeoutMs?: number;
  /** Cancels the call; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Queue the call while containerd is unreachable instead of failing UNAVAILABLE at once. */
  waitForReady?: boolean;
}

const MESSAGE_LIMIT = 16 * 1024 * 1024;

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  // containerd restarts in ~30 ms; the default 1 s initial backoff would
  // leave us disconnected for a second after every restart.
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
  'grpc.max_receive_message_length': MESSAGE_LIMIT,
  'grpc.max_send_message_length': MESSAGE_LIMIT,
};

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type UnaryMethod = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: Callback<unknown>,
) => grpc.ClientUnaryCall;
type ServerStreamMethod = (
  req: unknown,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
) => grpc.ClientReadableStream<unknown>;
type DuplexMethod = (md: grpc.Metadata, opts: grpc.CallOptions) => grpc.ClientDuplexStream<unknown, unknown>;

interface Shared {
  address: string;
  channel: grpc.Channel;
  clients: Record<ServiceName, grpc.Client>;
  /** Opened by the first framedDuplex call. */
  http2?: Http2Transport;
  closed: boolean;
}

/** A unix socket path or a unix:// address, as a gRPC target. */
export function grpcTarget(address: string): string {
  return address.startsWith('unix:') ? address : `unix://${address}`;
}

export class Connection {
  private constructor(
    private readonly shared: Shared,
    readonly namespace: string,
    readonly leaseId?: string,
  ) {}

  static open(address: string, namespace: string): Connection {
    const target = grpcTarget(address);
    const credentials = grpc.credentials.createInsecure();
    const channel = new grpc.Channel(target, credentials, CHANNEL_OPTIONS);
    const clients = Object.fromEntries(
      SERVICE_NAMES.map((name) => {
        const Client = serviceConstructor(name);
        return [name, new Client(target, credentials, { channelOverride: channel })];
      }),
    ) as unknown as Record<ServiceName, grpc.Client>;
    return new Connection({ address, channel, clients, closed: false }, namespace);
  }

  get address(): string {
    return this.shared.address;
  }

  /** The same channel with another namespace and/or lease (null drops the lease). */
  with(overrides: { namespace?: string; leaseId?: string | null }): Connection {
    const leaseId = overrides.leaseId === null ? undefined : (overrides.leaseId ?? this.leaseId);
    return new Connection(this.shared, overrides.namespace ?? this.namespace, leaseId);
  }

  /** Resolves once the channel is connected, rejects with Unavailable after timeoutMs. */
  waitForReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.shared.clients.version.waitForReady(Date.now() + timeoutMs, (err) => {
        if (err)
          reject(
            new EngineError('Unavailable', `containerd at ${this.address} is not reachable: ${err.message}`),
          );
        else resolve();
      });
    });
  }

  /** Whether the channel is currently connected. */
  isReady(): boolean {
    return this.shared.channel.getConnectivityState(false) === grpc.connectivityState.READY;
  }

  /** Whether close() was called (on this or any connection sharing the channel). */
  get isClosed(): boolean {
    return this.shared.closed;
  }

  close(): void {
    if (this.shared.closed) return;
    this.shared.closed = true;
    for (const client of Object.values(this.shared.clients)) client.close();
    this.shared.channel.close();
    this.shared.http2?.close();
  }

  metadata(options: CallOptions = {}): grpc.Metadata {
    const md = new grpc.Metadata(options.waitForReady ? { waitForReady: true } : undefined);
    md.set('containerd-namespace', this.namespace);
    if (this.leaseId) md.set('containerd-lease', this.leaseId);
    return md;
  }

  unary<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    options: CallOptions = {},
  ): Promise<Res> {
    const fn = this.method<UnaryMethod>(service, method);
    const { signal } = options;
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => call.cancel();
      const call = fn(request, this.metadata(options), callOptions(options), (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (err)
          reject(err.code === Status.CANCELLED && signal?.aborted ? signal.reason : toEngineError(err));
        else resolve(value as Res);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A server-streaming call; errors are emitted raw (map them with toEngineError). */
  serverStream<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    options: CallOptions = {},
  ): grpc.ClientReadableStream<Res> {
    const call = this.method<ServerStreamMethod>(service, method)(
      request,
      this.metadata(options),
      callOptions(options),
    );
    attachSignal(call, options.signal);
    return call as grpc.ClientReadableStream<Res>;
  }

  /** Every message of a server-streaming call. */
  async collect<Res>(
    service: ServiceName,
    method: string,
    request: unknown,
    options: CallOptions = {},
  ): Promise<Res[]> {
    const out: Res[] = [];
    try {
      for await (const message of this.serverStream<Res>(service, method, request, options))
        out.push(message);
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw toEngineError(err);
    }
    return out;
  }

  /** A bidirectional call; errors are emitted raw (map them with toEngineError). */
  duplex<Req, Res>(
    service: ServiceName,
    method: string,
    options: CallOptions = {},
  ): grpc.ClientDuplexStream<Req, Res> {
    const call = this.method<DuplexMethod>(service, method)(this.metadata(options), callOptions(options));
    attachSignal(call, options.signal);
    return call as grpc.ClientDuplexStream<Req, Res>;
  }

  /**
   * A bidirectional call whose requests the caller frames itself (see
   * http2-stream.ts), on a second, plain HTTP/2 connection; answers are
   * decoded as on the gRPC channel. Errors are emitted raw.
   */
  framedDuplex<Res>(service: ServiceName, method: string, options: CallOptions = {}): Http2DuplexCall<Res> {
    const client = this.shared.clients[service];
    const definition = (client.constructor as grpc.ServiceClientConstructor).service[method];
    if (!definition) throw new Error(`containerd ${service} has no method ${method}`);
    if (this.shared.closed) {
      throw toEngineError(new GrpcStatusError(Status.UNAVAILABLE, 'connection to containerd closed'));
    }
    this.shared.http2 ??= new Http2Transport(socketPathOf(this.shared.address));
    const headers: Record<string, string> = { 'containerd-namespace': this.namespace };
    if (this.leaseId) headers['containerd-lease'] = this.leaseId;
    return this.shared.http2.duplex(definition.path, definition.responseDeserialize as (b: Buffer) => Res, {
      headers,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
    });
  }

  private method<M>(service: ServiceName, method: string): M {
    const client = this.shared.clients[service] as unknown as Record<string, unknown>;
    const fn = client[method];
    if (typeof fn !== 'function') throw new Error(`containerd ${service} has no method ${method}`);
    return (fn as (...args: unknown[]) => unknown).bind(client) as M;
  }
}

function callOptions(options: CallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}

function attachSignal(call: grpc.Call, signal: AbortSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) {
    setImmediate(() => call.cancel());
    return;
  }
  const onAbort = (): void => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  call.on('status', () => signal.removeEventListener('abort', onAbort));
}
