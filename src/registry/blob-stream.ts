/**
 * A blob download as one Readable: verifies size and digest while the bytes
 * pass, and when a connection breaks mid-way asks again from the byte it got
 * to (Range), so a long layer download survives a reset.
 */
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Readable, finished } from 'node:stream';
import { errorMessage } from '../common/errors.js';
import { log } from '../common/log.js';
import { BlobVerificationError } from './errors.js';
import { backoffDelay, headerValue, isTransientError, sleep } from './transport.js';

export interface BlobDescriptor {
  digest: string;
  size: number;
  mediaType?: string;
  urls?: string[];
  annotations?: Record<string, string>;
}

export interface BlobStreamOptions {
  /** Reopens the blob from an absolute byte offset (sends Range when offset > 0). */
  reopen: (offset: number) => Promise<IncomingMessage>;
  maxRetries: number;
  retryBaseDelayMs: number;
  /** Where the first response starts; the digest can only be checked from 0. */
  startOffset: number;
  signal?: AbortSignal;
}

export function digestAlgorithm(digest: string): string {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  if (!['sha256', 'sha384', 'sha512'].includes(algorithm)) {
    throw new BlobVerificationError('digest', `unsupported digest algorithm in ${digest}`);
  }
  return algorithm;
}

export function computeDigest(data: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** First byte of a 206 answer's `Content-Range: bytes start-end/total`. */
function contentRangeStart(res: IncomingMessage): number | undefined {
  const match = /^bytes (\d+)-/.exec(headerValue(res.headers, 'content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

export class BlobStream extends Readable {
  /** Bytes of the blob delivered so far, counted from its start. */
  private position: number;
  private readonly hash: Hash | undefined;
  private current: IncomingMessage | undefined;
  /** Bytes of the current response to drop because the server ignored our Range. */
  private skip = 0;
  private attempts = 0;
  private generation = 0;
  private recovering = false;

  constructor(
    readonly descriptor: BlobDescriptor,
    first: IncomingMessage,
    private readonly options: BlobStreamOptions,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.position = options.startOffset;
    this.hash = options.startOffset === 0 ? createHash(digestAlgorithm(descriptor.digest)) : undefined;
    this.attach(first, options.startOffset);
  }

  /** How many bytes of the blob this stream has produced, including any starting offset. */
  get bytesRead(): number {
    return this.position;
  }

  override _read(): void {
    this.current?.resume();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.generation++;
    this.current?.destroy();
    this.current = undefined;
    callback(err);
  }

  private attach(res: IncomingMessage, offset: number): void {
    const generation = ++this.generation;
    this.current = res;
    this.skip = 0;
    if (offset > 0) {
      if (res.statusCode === 206) {
        const start = contentRangeStart(res);
        if (start !== offset) {
          res.destroy();
          this.destroy(
            new BlobVerificationError(
              'size',
              `registry resumed ${this.descriptor.digest} at byte ${start}, not ${offset}`,
            ),
          );
          return;
        }
      } else {
        // The server ignored Range and sends the blob from its start: skip what we have.
        this.skip = offset;
      }
    }
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      if (generation !== this.generation) return;
      received += chunk.length;
      this.onData(chunk, res);
    });
    finished(res, (err) => {
      if (generation !== this.generation || this.destroyed) return;
      if (err) this.recover(err);
      else if (this.position >= this.descriptor.size) this.complete();
      else if (answeredInFull(res, received)) this.fail(this.tooShort());
      else this.recover(prematureEnd(this.position, this.descriptor.size));
    });
  }

  private onData(chunk: Buffer, res: IncomingMessage): void {
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, chunk.length);
      this.skip -= dropped;
      chunk = chunk.subarray(dropped);
      if (chunk.length === 0) return;
    }
    if (this.position + chunk.length > this.descriptor.size) {
      this.fail(
        new BlobVerificationError(
          'size',
          `size mismatch: blob ${this.descriptor.digest} should be ${this.descriptor.size} bytes, the registry sent more`,
        ),
      );
      return;
    }
    this.position += chunk.length;
    this.hash?.update(chunk);
    if (!this.push(chunk)) res.pause();
  }

  private tooShort(): BlobVerificationError {
    return new BlobVerificationError(
      'size',
      `size mismatch: blob ${this.descriptor.digest} should be ${this.descriptor.size} bytes, the registry sent ${this.position}`,
    );
  }

  private complete(): void {
    if (this.hash) {
      const actual = `${digestAlgorithm(this.descriptor.digest)}:${this.hash.digest('hex')}`;
      if (actual !== this.descriptor.digest) {
        this.fail(
          new BlobVerificationError(
            'digest',
            `digest mismatch: blob ${this.descriptor.digest} has content with digest ${actual}`,
          ),
        );
        return;
      }
    }
    this.current = undefined;
    this.push(null);
  }

  private fail(err: Error): void {
    this.generation++;
    this.current?.destroy();
    this.destroy(err);
  }

  /** A broken download: ask again from where it stopped, with backoff, a few times. */
  private recover(err: unknown): void {
    if (this.recovering) return;
    if (!isTransientError(err) || this.attempts >= this.options.maxRetries) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.recovering = true;
    this.attempts++;
    this.generation++;
    this.current?.destroy();
    this.current = undefined;
    const offset = this.position;
    log.debug('blob download interrupted, resuming', {
      digest: this.descriptor.digest,
      offset,
      attempt: this.attempts,
      error: errorMessage(err),
    });
    void (async () => {
      try {
        await sleep(backoffDelay(this.attempts - 1, this.options.retryBaseDelayMs), this.options.signal);
        if (this.destroyed) return;
        const res = await this.options.reopen(offset);
        this.recovering = false;
        if (this.destroyed) {
          res.destroy();
          return;
        }
        this.attach(res, offset);
      } catch (reopenError) {
        this.recovering = false;
        if (!this.destroyed) this.recover(reopenError);
      }
    })();
  }
}

/**
 * Whether a response that ended cleanly delivered all it announced: then a
 * short blob is the registry's content, not a broken connection.
 */
function answeredInFull(res: IncomingMessage, received: number): boolean {
  const announced = Number(headerValue(res.headers, 'content-length'));
  return Number.isFinite(announced) && received >= announced;
}

function prematureEnd(received: number, size: number): Error {
  return Object.assign(new Error(`connection closed after ${received} of ${size} bytes`), {
    code: 'ERR_STREAM_PREMATURE_CLOSE',
  });
}
