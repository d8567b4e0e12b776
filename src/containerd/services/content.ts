import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Transform } from 'node:stream';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { isEngineError } from '../../common/errors.js';
import { timestampToDate, type WireTimestamp } from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
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
  /** Largest WRITE message; default 1 MiB (containerd's limit is 16 MiB). */
  chunkSize?: number;
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
   * (STAT, sequential WRITEs respecting backpressure, COMMIT with expected
   * digest, size and labels). A blob that already exists counts as success.
   * On an early end (existing blob, error) a Readable source is destroyed.
   */
  async write(
    ref: string,
    source: ContentSource,
    opts: WriteContentOptions = {},
    options?: CallOptions,
  ): Promise<WriteContentResult> {
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const session = new WriteSession(
      this.conn.duplex<WireWriteRequest, WireWriteResponse>('content', 'Write', options),
    );
    const hash = createHash('sha256');
    let offset = 0;
    try {
      await session.request({ action: 'STAT', ref, total: opts.total ?? 0, expected: opts.expected ?? '' });
      // Raced against the session so a failed stream (deadline, containerd gone)
      // does not wait forever on a source that has stalled.
      const chunks = chunksOf(source, chunkSize)[Symbol.asyncIterator]();
      for (
        let next = await session.race(chunks.next());
        !next.done;
        next = await session.race(chunks.next())
      ) {
        hash.update(next.value);
        await session.send({ action: 'WRITE', ref, offset, data: next.value });
        offset += next.value.length;
      }
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
      const digest = opts.expected ?? `sha256:${hash.digest('hex')}`;
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

/** Splits any source into Buffers of at most `size` bytes. */
async function* chunksOf(source: ContentSource, size: number): AsyncGenerator<Buffer> {
  const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    source instanceof Uint8Array ? [source] : source;
  for await (const piece of iterable) {
    const buffer = Buffer.isBuffer(piece)
      ? piece
      : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    for (let start = 0; start < buffer.length; start += size) yield buffer.subarray(start, start + size);
  }
}

/**
 * One Content.Write stream. containerd answers every request in order, so
 * responses are matched to requests by position; WRITEs are pipelined and
 * only STAT/COMMIT answers are awaited.
 */
class WriteSession {
  private readonly pending: { resolve: (r: WireWriteResponse) => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;
  private readonly failed: Promise<never>;
  private rejectFailed!: (err: unknown) => void;

  constructor(private readonly call: ClientDuplexStream<WireWriteRequest, WireWriteResponse>) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
    call.on('data', (response: WireWriteResponse) => this.pending.shift()?.resolve(response));
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

  /** Sends a request without waiting for its answer; waits for 'drain' under backpressure. */
  async send(message: WireWriteRequest): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (message.action === 'WRITE') this.expectAnswer();
    if (!this.call.write(message)) await Promise.race([once(this.call, 'drain'), this.failed]);
    if (this.failure !== undefined) throw this.failure;
  }

  close(): void {
    this.call.end();
    this.call.cancel();
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
