import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Transform } from 'node:stream';
import type protobuf from 'protobufjs';
import { isEngineError } from '../../common/errors.js';
import { timestampToDate, type WireTimestamp } from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import { FRAME_PREFIX, framed, writeFramePrefix, type Http2DuplexCall } from '../http2-stream.js';
import { protoRoot } from '../proto.js';
import { Status, isGrpcCode, toEngineError } from '../errors.js';
import { fieldMask, labelPaths, type Labels } from '../types.js';

export interface ContentInfo {
  digest: string;
  size: number;
  createdAt?: Date;
  updatedAt?: Date;
  labels: Labels;
}

/** An unfinished write (ingest) in the content store. */
export interface IngestStatus {
  ref: string;
  offset: number;
  total: number;
  expected?: string;
  startedAt?: Date;
  updatedAt?: Date;
}

export interface WriteContentOptions {
  /** Digest the blob must have; lets containerd short-cut blobs it already holds. */
  expected?: string;
  /** Expected size in bytes, when known. */
  total?: number;
  /** Labels set on the committed blob (GC references, for instance). */
  labels?: Labels;
  /** Data bytes per WRITE message; default 1 MiB (containerd's limit is 16 MiB per message). */
  chunkSize?: number;
  /** Called as the source is consumed, with the bytes taken from it so far. */
  onProgress?: (bytes: number) => void;
}

export interface WriteContentResult {
  digest: string;
  size: number;
  /** The blob was already in the store; nothing was written (labels were not applied). */
  existed: boolean;
}

export type ContentSource = Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array>;

interface WireInfo {
  digest: string;
  size: string;
  created_at: WireTimestamp | null;
  updated_at: WireTimestamp | null;
  labels: Labels;
}

interface WireStatus {
  started_at: WireTimestamp | null;
  updated_at: WireTimestamp | null;
  ref: string;
  offset: string;
  total: string;
  expected: string;
}

type WriteAction = 'STAT' | 'WRITE' | 'COMMIT';

interface WireWriteRequest {
  action: WriteAction;
  ref: string;
  total?: number;
  expected?: string;
  offset?: number;
  data?: Buffer;
  labels?: Labels;
}

interface WireWriteResponse {
  action: WriteAction;
  offset: string;
  total: string;
  digest: string;
}

const DEFAULT_CHUNK_SIZE = 1024 * 1024;

function fromWireInfo(i: WireInfo): ContentInfo {
  return {
    digest: i.digest,
    size: Number(i.size),
    createdAt: timestampToDate(i.created_at),
    updatedAt: timestampToDate(i.updated_at),
    labels: i.labels,
  };
}

function fromWireStatus(s: WireStatus): IngestStatus {
  const status: IngestStatus = {
    ref: s.ref,
    offset: Number(s.offset),
    total: Number(s.total),
    startedAt: timestampToDate(s.started_at),
    updatedAt: timestampToDate(s.updated_at),
  };
  if (s.expected) status.expected = s.expected;
  return status;
}

export class ContentService {
  constructor(private readonly conn: Connection) {}

  async info(digest: string, options?: CallOptions): Promise<ContentInfo> {
    const res = await this.conn.unary<{ info: WireInfo }>('content', 'Info', { digest }, options);
    return fromWireInfo(res.info);
  }

  /** info, or undefined when the blob is not in the store. */
  async tryInfo(digest: string, options?: CallOptions): Promise<ContentInfo | undefined> {
    try {
      return await this.info(digest, options);
    } catch (err) {
      if (isEngineError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** Sets the given labels (an empty value removes a label); other labels are kept. */
  async setLabels(digest: string, labels: Labels, options?: CallOptions): Promise<ContentInfo> {
    const request = { info: { digest, labels }, update_mask: fieldMask(labelPaths(labels)) };
    const res = await this.conn.unary<{ info: WireInfo }>('content', 'Update', request, options);
    return fromWireInfo(res.info);
  }

  /** Replaces all labels of the blob. */
  async replaceLabels(digest: string, labels: Labels, options?: CallOptions): Promise<ContentInfo> {
    const request = { info: { digest, labels }, update_mask: fieldMask(['labels']) };
    const res = await this.conn.unary<{ info: WireInfo }>('content', 'Update', request, options);
    return fromWireInfo(res.info);
  }

  /** Blobs matching containerd filters (e.g. `labels."containerd.io/gc.root"`); all when empty. */
  async list(filters: string[] = [], options?: CallOptions): Promise<ContentInfo[]> {
    const pages = await this.conn.collect<{ info: WireInfo[] }>('content', 'List', { filters }, options);
    return pages.flatMap((page) => page.info.map(fromWireInfo));
  }

  async delete(digest: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('content', 'Delete', { digest }, options);
  }

  /**
   * The blob's bytes as a stream, from `offset` for `size` bytes (0: to the
   * end). Destroying the stream cancels the read.
   */
  read(digest: string, range: { offset?: number; size?: number } = {}, options?: CallOptions): Readable {
    const request = { digest, offset: range.offset ?? 0, size: range.size ?? 0 };
    const call = this.conn.serverStream<{ data: Buffer }>('content', 'Read', request, options);
    const bytes = new Transform({
      writableObjectMode: true,
      transform(message: { data: Buffer }, _encoding, callback) {
        callback(null, message.data);
      },
    });
    call.on('error', (err) => bytes.destroy(toEngineError(err)));
    bytes.on('close', () => call.cancel());
    return call.pipe(bytes);
  }

  /** The whole blob in memory; for manifests, configs and indexes. */
  async readAll(digest: string, opts: { maxBytes?: number } = {}, options?: CallOptions): Promise<Buffer> {
    const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.read(digest, {}, options)) {
      length += (chunk as Buffer).length;
      if (length > maxBytes)
        throw toEngineError(new Error(`blob ${digest} is larger than ${maxBytes} bytes`));
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks, length);
  }

  /**
   * Streams `source` into the content store under ingest `ref` and commits it
   * (STAT, sequential WRITEs of `chunkSize` bytes, COMMIT with expected
   * digest, size and labels). A blob that already exists counts as success.
   * On an early end (existing blob, error) a Readable source is destroyed.
   * containerd checks `expected` itself on COMMIT, so the bytes are hashed
   * here only when no digest is given.
   */
  async write(
    ref: string,
    source: ContentSource,
    opts: WriteContentOptions = {},
    options?: CallOptions,
  ): Promise<WriteContentResult> {
    let call: Http2DuplexCall<WireWriteResponse>;
    try {
      call = this.conn.framedDuplex<WireWriteResponse>('content', 'Write', options);
    } catch (err) {
      throw toEngineError(err);
    }
    const session = new WriteSession(call);
    const messages = new WriteMessages(ref, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
    const hash = opts.expected === undefined ? createHash('sha256') : undefined;
    let offset = 0;
    let consumed = 0;
    const flush = async (): Promise<void> => {
      const { frame, length, release } = messages.take(offset);
      offset += length;
      await session.sendWrite(frame, release);
    };
    const pieces = piecesOf(source);
    try {
      await session.request({ action: 'STAT', ref, total: opts.total ?? 0, expected: opts.expected ?? '' });
      // Raced against the session so a failed stream (deadline, containerd gone)
      // does not wait forever on a source that has stalled.
      for (
        let next = await session.race(pieces.next());
        !next.done;
        next = await session.race(pieces.next())
      ) {
        hash?.update(next.value);
        consumed += next.value.length;
        opts.onProgress?.(consumed);
        for (let rest = messages.fill(next.value); messages.full; rest = messages.fill(rest)) await flush();
      }
      if (messages.filled > 0) await flush();
      const commit: WireWriteRequest = {
        action: 'COMMIT',
        ref,
        offset,
        total: offset,
        expected: opts.expected ?? '',
      };
      if (opts.labels) commit.labels = opts.labels;
      const res = await session.request(commit);
      return { digest: res.digest, size: offset, existed: false };
    } catch (err) {
      if (source instanceof Readable) source.destroy();
      if (!isGrpcCode(err, Status.ALREADY_EXISTS)) throw toEngineError(err);
      const digest = opts.expected ?? `sha256:${hash!.digest('hex')}`;
      const size = opts.total ?? (await this.info(digest, options)).size;
      return { digest, size, existed: true };
    } finally {
      session.close();
    }
  }

  /** Drops an unfinished write. */
  async abort(ref: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('content', 'Abort', { ref }, options);
  }

  async status(ref: string, options?: CallOptions): Promise<IngestStatus> {
    const res = await this.conn.unary<{ status: WireStatus }>('content', 'Status', { ref }, options);
    return fromWireStatus(res.status);
  }

  /** Unfinished writes (e.g. left by a crash), matching filters such as `ref~=^berth-`. */
  async listStatuses(filters: string[] = [], options?: CallOptions): Promise<IngestStatus[]> {
    const res = await this.conn.unary<{ statuses: WireStatus[] }>(
      'content',
      'ListStatuses',
      { filters },
      options,
    );
    return res.statuses.map(fromWireStatus);
  }
}

/** Any source as a sequence of Buffers, as they come; a Readable is listened to at once. */
function piecesOf(source: ContentSource): AsyncIterator<Buffer> {
  if (source instanceof Readable) return new ReadablePieces(source);
  const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    source instanceof Uint8Array ? [source] : source;
  return (async function* () {
    for await (const piece of iterable) {
      yield Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    }
  })();
}

/** Bytes a Readable may queue ahead of the writer before it is paused. */
const READ_AHEAD = 1024 * 1024;

/**
 * A Readable's chunks exactly as pushed. Its own async iterator calls
 * read(), which concatenates whatever is buffered: one more copy of every
 * byte. Listening from construction also means an error while the STAT is
 * in flight is caught, not thrown at the process.
 */
class ReadablePieces implements AsyncIterator<Buffer> {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: unknown;
  private wake: (() => void) | undefined;

  constructor(private readonly stream: Readable) {
    stream.on('data', this.onData).once('end', this.onEnd).once('close', this.onEnd);
    stream.once('error', this.onError);
  }

  async next(): Promise<IteratorResult<Buffer>> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        this.queued -= chunk.length;
        if (this.stream.isPaused() && this.queued < READ_AHEAD) this.stream.resume();
        return { done: false, value: chunk };
      }
      if (this.failure !== undefined) throw this.failure;
      if (this.ended) {
        this.detach();
        if (!this.stream.readableEnded) throw new Error('content source closed before its end');
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (this.queued >= READ_AHEAD) this.stream.pause();
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private readonly onError = (err: unknown): void => {
    this.failure = err;
    this.onEnd();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private detach(): void {
    this.stream.off('data', this.onData).off('end', this.onEnd).off('close', this.onEnd);
  }
}

let writeRequestType: protobuf.Type | undefined;

/** A STAT or COMMIT as a frame; WRITEs are framed by WriteMessages. */
function framedRequest(request: WireWriteRequest): Buffer {
  writeRequestType ??= protoRoot().lookupType('containerd.services.content.v1.WriteContentRequest');
  return framed(writeRequestType.encode(writeRequestType.fromObject(request)).finish());
}

/** Protobuf wire tags of WriteContentRequest: (field << 3) | wire type. */
const TAG = { action: 0x08, ref: 0x12, offset: 0x28, data: 0x32 } as const;
const WRITE_ACTION = 1;

function varintSize(value: number): number {
  let size = 1;
  for (; value >= 0x80; value = Math.floor(value / 0x80)) size++;
  return size;
}

/** Writes `value` (a non-negative safe integer) as a protobuf varint at `at`; returns the end. */
function writeVarint(buffer: Buffer, at: number, value: number): number {
  for (; value >= 0x80; value = Math.floor(value / 0x80)) buffer[at++] = (value % 0x80) | 0x80;
  buffer[at++] = value;
  return at;
}

/**
 * WRITE requests encoded and framed by hand, the data copied once, straight
 * from the source's pieces into the frame: no regrouping, no protobufjs
 * copy, no framing copy. A buffer is reused once containerd has answered
 * its WRITE, so a blob of any size needs only a few of them; fewer large
 * allocations mean far fewer garbage collections.
 */
export class WriteMessages {
  private readonly ref: Buffer;
  /** Bytes kept free before the data for the header (tags, ref, offset, length). */
  private readonly headerRoom: number;
  private readonly spare: Buffer[] = [];
  private current: Buffer | undefined;
  filled = 0;

  constructor(
    ref: string,
    private readonly chunkSize: number,
  ) {
    this.ref = Buffer.from(ref);
    // frame prefix 5 + action 2 + ref tag 1 + ref length ≤ 5 + offset 1+10 + data tag 1 + data length ≤ 5
    this.headerRoom = FRAME_PREFIX + this.ref.length + 25;
  }

  get full(): boolean {
    return this.filled === this.chunkSize;
  }

  /** Copies as much of `data` as fits into the message being filled; returns the rest. */
  fill(data: Buffer): Buffer {
    if (data.length === 0) return data;
    this.current ??= this.spare.pop() ?? Buffer.allocUnsafe(this.headerRoom + this.chunkSize);
    const length = Math.min(data.length, this.chunkSize - this.filled);
    data.copy(this.current, this.headerRoom + this.filled, 0, length);
    this.filled += length;
    return data.subarray(length);
  }

  /** The filled message as a framed WRITE at `offset`; call `release` once containerd has answered it. */
  take(offset: number): { frame: Buffer; length: number; release: () => void } {
    const buffer = this.current!;
    const length = this.filled;
    const refLength = this.ref.length;
    const headerLength =
      3 + varintSize(refLength) + refLength + 1 + varintSize(offset) + 1 + varintSize(length);
    const start = this.headerRoom - headerLength - FRAME_PREFIX;
    writeFramePrefix(buffer, start, headerLength + length);
    let at = start + FRAME_PREFIX;
    buffer[at++] = TAG.action;
    buffer[at++] = WRITE_ACTION;
    buffer[at++] = TAG.ref;
    at = writeVarint(buffer, at, refLength);
    at += this.ref.copy(buffer, at);
    buffer[at++] = TAG.offset;
    at = writeVarint(buffer, at, offset);
    buffer[at++] = TAG.data;
    writeVarint(buffer, at, length);
    this.current = undefined;
    this.filled = 0;
    return {
      frame: buffer.subarray(start, this.headerRoom + length),
      length,
      release: () => this.spare.push(buffer),
    };
  }
}

/** Unanswered WRITEs allowed on one stream: enough to keep containerd busy, few buffers. */
const WRITES_IN_FLIGHT = 4;

/**
 * One Content.Write stream. containerd answers every request in order, so
 * responses are matched to requests by position; WRITEs are pipelined (up
 * to WRITES_IN_FLIGHT) and only STAT/COMMIT answers are awaited.
 */
class WriteSession {
  private readonly pending: { resolve: (r: WireWriteResponse) => void; reject: (e: unknown) => void }[] = [];
  private writesInFlight = 0;
  private onAnswer: (() => void) | undefined;
  private failure: unknown;
  private readonly failed: Promise<never>;
  private rejectFailed!: (err: unknown) => void;

  constructor(private readonly call: Http2DuplexCall<WireWriteResponse>) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
    call.on('data', (response: WireWriteResponse) => {
      this.pending.shift()?.resolve(response);
      const wake = this.onAnswer;
      this.onAnswer = undefined;
      wake?.();
    });
    call.on('error', (err) => this.fail(err));
    call.on('end', () => this.fail(new Error('containerd closed the content write stream early')));
  }

  /** `promise`, or the session's failure if that comes first. */
  race<T>(promise: Promise<T>): Promise<T> {
    promise.catch(() => undefined);
    return Promise.race([promise, this.failed]);
  }

  /** Sends a request and waits for its answer. */
  async request(message: WireWriteRequest): Promise<WireWriteResponse> {
    const answer = this.expectAnswer();
    await this.send(message);
    return answer;
  }

  /** Sends a framed WRITE without waiting for its answer; `release` runs when it comes. */
  async sendWrite(frame: Buffer, release: () => void): Promise<void> {
    while (this.writesInFlight >= WRITES_IN_FLIGHT) {
      await this.race(new Promise<void>((resolve) => (this.onAnswer = resolve)));
    }
    this.writesInFlight++;
    void this.expectAnswer().then(() => {
      this.writesInFlight--;
      release();
    });
    await this.send(frame);
  }

  close(): void {
    this.call.end();
    this.call.cancel();
  }

  /** Writes under backpressure: waits for 'drain' when the stream buffers. */
  private async send(message: WireWriteRequest | Buffer): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const frame = Buffer.isBuffer(message) ? message : framedRequest(message);
    if (!this.call.write(frame)) await Promise.race([once(this.call, 'drain'), this.failed]);
    if (this.failure !== undefined) throw this.failure;
  }

  private expectAnswer(): Promise<WireWriteResponse> {
    const answer =
      this.failure !== undefined
        ? Promise.reject(this.failure)
        : new Promise<WireWriteResponse>((resolve, reject) => this.pending.push({ resolve, reject }));
    answer.catch(() => undefined);
    return answer;
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.rejectFailed(err);
    for (const waiter of this.pending.splice(0)) waiter.reject(err);
  }
}
