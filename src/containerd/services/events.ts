import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { log } from '../../common/log.js';
import {
  fromWireAny,
  timestampToDate,
  toWireAny,
  tryDecodeAny,
  type AnyMessage,
  type WireAny,
  type WireTimestamp,
} from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import { toEngineError } from '../errors.js';
import type { Mount } from '../types.js';

/** Payloads of the events berth cares about, by topic (fields decoded to camelCase). */
export interface EventPayloads {
  '/tasks/create': {
    containerId: string;
    bundle: string;
    rootfs: Mount[];
    io?: { stdin: string; stdout: string; stderr: string; terminal: boolean };
    checkpoint: string;
    pid: number;
  };
  '/tasks/start': { containerId: string; pid: number };
  /** id is the exec id, or the container id for the init process. */
  '/tasks/exit': { containerId: string; id: string; pid: number; exitStatus: number; exitedAt?: Date };
  /** id is the exec id, or '' for the init process. */
  '/tasks/delete': { containerId: string; pid: number; exitStatus: number; exitedAt?: Date; id: string };
  '/tasks/oom': { containerId: string };
  '/tasks/exec-added': { containerId: string; execId: string };
  '/tasks/exec-started': { containerId: string; execId: string; pid: number };
  '/tasks/paused': { containerId: string };
  '/tasks/resumed': { containerId: string };
  '/tasks/checkpointed': { containerId: string; checkpoint: string };
  '/containers/create': { id: string; image: string; runtime?: { name: string; options?: unknown } };
  '/containers/update': { id: string; image: string; labels: Record<string, string>; snapshotKey: string };
  '/containers/delete': { id: string };
  '/images/create': { name: string; labels: Record<string, string> };
  '/images/update': { name: string; labels: Record<string, string> };
  '/images/delete': { name: string };
  '/content/delete': { digest: string };
  '/snapshot/prepare': { key: string; parent: string };
  '/snapshot/commit': { key: string; name: string };
  '/snapshot/remove': { key: string };
  '/namespaces/create': { name: string; labels: Record<string, string> };
  '/namespaces/update': { name: string; labels: Record<string, string> };
  '/namespaces/delete': { name: string };
}

export type EventTopic = keyof EventPayloads;

export interface EventEnvelope {
  timestamp?: Date;
  namespace: string;
  topic: string;
  /** Any type URL of the payload, e.g. "containerd.events.TaskExit". */
  typeUrl: string;
  /** The decoded payload; undefined for a type berth has no definition of. */
  event: unknown;
}

/** Narrows an envelope to a known topic, typing its payload. */
export function isEvent<T extends EventTopic>(
  envelope: EventEnvelope,
  topic: T,
): envelope is EventEnvelope & { topic: T; event: EventPayloads[T] } {
  return envelope.topic === topic && envelope.event !== undefined;
}

export type SubscriptionItem = { kind: 'event'; envelope: EventEnvelope } | { kind: 'reconnected' };

export interface SubscribeOptions {
  /**
   * containerd filters, OR'ed across entries, AND'ed by commas inside one
   * (e.g. `topic~="^/tasks/"`). Each is restricted to the client's namespace
   * unless allNamespaces is set. Empty: every event of the namespace.
   */
  filters?: string[];
  allNamespaces?: boolean;
  /** How long subscribe() waits for the subscription to be live; default 10 s. */
  timeoutMs?: number;
}

interface WireEnvelope {
  timestamp: WireTimestamp | null;
  namespace: string;
  topic: string;
  event: WireAny | null;
}

/** Topic prefix of the marker events berth publishes to learn that a subscription is live. */
const SYNC_TOPIC_PREFIX = '/berth/subscription-sync/';
const SYNC_TYPE_URL = 'berth.SubscriptionSync';
const SYNC_REPUBLISH_MS = 100;
const RESUBSCRIBE_BACKOFF_MS = { initial: 100, max: 2000 };

function fromWireEnvelope(e: WireEnvelope): EventEnvelope {
  const any = fromWireAny(e.event);
  return {
    timestamp: timestampToDate(e.timestamp),
    namespace: e.namespace,
    topic: e.topic,
    typeUrl: any?.typeUrl ?? '',
    event: any && tryDecodeAny(any),
  };
}

export class EventsService {
  constructor(private readonly conn: Connection) {}

  /**
   * Subscribes to containerd's event stream. Resolves once the subscription
   * is live on the server (verified with a marker event), so state read after
   * this point cannot miss a later event.
   */
  async subscribe(opts: SubscribeOptions = {}): Promise<EventSubscription> {
    const subscription = new EventSubscription(this.conn, opts);
    await subscription.open(opts.timeoutMs ?? 10_000);
    return subscription;
  }

  /** Publishes an event in the client's namespace (topic like "/berth/x", identifiers only). */
  async publish(topic: string, event: AnyMessage, options?: CallOptions): Promise<void> {
    await this.conn.unary('events', 'Publish', { topic, event: toWireAny(event) }, options);
  }
}

/**
 * A live event subscription. Emits 'event' (EventEnvelope), 'disconnected'
 * (Error) when containerd goes away, and 'reconnected' once a fresh
 * subscription is live again: events in between are lost, so reconcile state
 * (Tasks.list/get) and re-issue waits then. Also async-iterable, yielding
 * SubscriptionItems in order.
 */
export class EventSubscription extends EventEmitter {
  private readonly syncTopic = `${SYNC_TOPIC_PREFIX}${randomBytes(8).toString('hex')}`;
  private readonly filters: string[];
  private stream?: ClientReadableStream<WireEnvelope>;
  private closed = false;
  private onSynced?: () => void;

  constructor(
    private readonly conn: Connection,
    opts: SubscribeOptions,
  ) {
    super();
    const scope = opts.allNamespaces ? '' : `namespace==${JSON.stringify(conn.namespace)}`;
    const userFilters = opts.filters?.length ? opts.filters : [''];
    this.filters = userFilters.map((f) => [scope, f].filter(Boolean).join(',')).filter(Boolean);
    // The marker is always let through so open() can see it, whatever the filters.
    if (this.filters.length > 0) this.filters.push(`topic==${JSON.stringify(this.syncTopic)}`);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens the stream and waits until our own marker event comes back through it. */
  async open(timeoutMs: number): Promise<void> {
    const stream = this.conn.serverStream<WireEnvelope>('events', 'Subscribe', { filters: this.filters });
    this.stream = stream;
    let live = false;
    stream.on('data', (wire: WireEnvelope) => this.receive(wire));
    const ended = new Promise<never>((_, reject) => {
      const gone = (err: Error): void => {
        if (live && this.stream === stream) this.lost(err);
        else reject(toEngineError(err));
      };
      stream.on('error', gone);
      stream.on('end', () => gone(new Error('containerd ended the event stream')));
    });
    ended.catch(() => undefined);
    try {
      await Promise.race([this.sync(timeoutMs), ended]);
    } catch (err) {
      stream.cancel();
      if (this.stream === stream) this.stream = undefined;
      throw err;
    }
    live = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream?.cancel();
    this.stream = undefined;
    this.emit('close');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<SubscriptionItem> {
    const queue: SubscriptionItem[] = [];
    let wake: (() => void) | undefined;
    const push = (item: SubscriptionItem): void => {
      queue.push(item);
      wake?.();
    };
    const onEvent = (envelope: EventEnvelope): void => push({ kind: 'event', envelope });
    const onReconnected = (): void => push({ kind: 'reconnected' });
    const onClose = (): void => wake?.();
    this.on('event', onEvent).on('reconnected', onReconnected).on('close', onClose);
    try {
      while (!this.closed || queue.length > 0) {
        const item = queue.shift();
        if (item) yield item;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      this.off('event', onEvent).off('reconnected', onReconnected).off('close', onClose);
    }
  }

  private receive(wire: WireEnvelope): void {
    if (wire.topic.startsWith(SYNC_TOPIC_PREFIX)) {
      if (wire.topic === this.syncTopic) this.onSynced?.();
      return;
    }
    this.emit('event', fromWireEnvelope(wire));
  }

  /** Publishes the marker until it comes back (the server registers subscribers asynchronously). */
  private async sync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const synced = new Promise<void>((resolve) => (this.onSynced = resolve));
    let done = false;
    void synced.then(() => (done = true));
    const marker = { typeUrl: SYNC_TYPE_URL, value: Buffer.alloc(0) };
    while (!done) {
      if (Date.now() > deadline) throw toEngineError(new Error('timed out subscribing to containerd events'));
      if (this.closed) return;
      await this.conn.unary(
        'events',
        'Publish',
        { topic: this.syncTopic, event: toWireAny(marker) },
        {
          timeoutMs: Math.max(1, deadline - Date.now()),
          waitForReady: true,
        },
      );
      await Promise.race([synced, new Promise((resolve) => setTimeout(resolve, SYNC_REPUBLISH_MS))]);
    }
    this.onSynced = undefined;
  }

  private lost(err: unknown): void {
    this.stream = undefined;
    if (this.closed) return;
    if (this.conn.isClosed) {
      this.close();
      return;
    }
    this.emit('disconnected', err instanceof Error ? err : new Error(String(err)));
    void this.resubscribe();
  }

  private async resubscribe(): Promise<void> {
    let backoff = RESUBSCRIBE_BACKOFF_MS.initial;
    while (!this.closed) {
      await new Promise((resolve) => setTimeout(resolve, backoff));
      if (this.conn.isClosed) this.close();
      if (this.closed) return;
      try {
        await this.conn.waitForReady(10_000);
        await this.open(10_000);
        if (this.closed) return;
        this.emit('reconnected');
        return;
      } catch (err) {
        log.debug('containerd event re-subscription failed; retrying', { error: (err as Error).message });
        backoff = Math.min(backoff * 2, RESUBSCRIBE_BACKOFF_MS.max);
      }
    }
  }
}
