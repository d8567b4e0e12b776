/**
 * In-process decompression of uploaded archives, chosen by magic number as
 * Docker does (gzip, bzip2, xz, zstd). Every decoder is pure JS or WASM and
 * pulled by its consumer, so a large or hostile archive is never held whole
 * in memory; a decoding failure surfaces as an InvalidParameter error.
 */
import { pipeline, Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import bzip2 from 'unbzip2-stream/lib/bzip2.js';
import bitIterator, { type BitReader } from 'unbzip2-stream/lib/bit_iterator.js';
import xzDecompress from 'xz-decompress';
import { errorMessage, invalidParameter, isEngineError } from '../common/errors.js';

export type Compression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'zstd';

const MAGIC: [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

export function detectCompression(head: Buffer): Compression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((byte, i) => head[i] === byte)) return kind;
  }
  return 'none';
}

/** Reads the first bytes, then returns a stream of the whole input, decompressed if it was compressed. */
export async function decompressStream(input: Readable): Promise<Readable> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 6) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head = Buffer.concat([head, Buffer.from(next.value)]);
  }
  async function* whole(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield Buffer.from(next.value);
    }
  }
  const compression = detectCompression(head);
  const raw = Readable.from(whole(), { objectMode: false });
  if (compression === 'none') return raw;
  const decoded = DECODERS[compression](raw);
  return withInvalidParameterErrors(decoded, compression, () => {
    raw.destroy();
    input.destroy();
  });
}

const DECODERS: Record<Exclude<Compression, 'none'>, (raw: Readable) => Readable> = {
  gzip: (raw) => pipeline(raw, createGunzip(), () => undefined),
  bzip2: (raw) => Readable.from(decodeBzip2(raw), { objectMode: false }),
  zstd: (raw) => Readable.from(decodeZstd(raw), { objectMode: false }),
  xz: decodeXz,
};

/** Re-emits a decoder's failure as the client's fault (400), naming the format. */
function withInvalidParameterErrors(
  decoded: Readable,
  compression: Compression,
  releaseInput: () => void,
): Readable {
  const output = new Readable({
    read: () => {
      decoded.resume();
    },
    destroy: (err, callback) => {
      decoded.destroy();
      releaseInput();
      callback(err);
    },
  });
  decoded.on('data', (chunk: Buffer) => {
    if (!output.push(chunk)) decoded.pause();
  });
  decoded.on('end', () => output.push(null));
  decoded.on('error', (err) => {
    releaseInput();
    output.destroy(
      isEngineError(err)
        ? err
        : invalidParameter(`failed to decompress ${compression} archive: ${errorMessage(err)}`),
    );
  });
  return output;
}

// A zstd RLE block turns 4 input bytes into 128 KiB: feeding the decoder small
// slices bounds what one pull can produce (8 MiB) however hostile the input.
const ZSTD_SLICE = 256;

async function* decodeZstd(raw: Readable): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  let finished = false;
  const decoder = new ZstdDecompress((chunk, final) => {
    if (chunk.length > 0) pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    if (final) finished = true;
  });
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at += ZSTD_SLICE) {
      decoder.push(chunk.subarray(at, at + ZSTD_SLICE));
      yield* pending.splice(0);
    }
  }
  decoder.push(new Uint8Array(0), true);
  yield* pending.splice(0);
  if (!finished) throw new Error('unexpected end of zstd data');
}

// The bzip2 block decoder of unbzip2-stream, driven here rather than through
// its stream wrapper, which gathers a block's output one number per byte in a
// JS array (a 900 kB block of runs expands to 45 MB: gigabytes of heap).
// Its output goes into 64 KiB buffers instead; a block is decoded once the
// largest compressed block size is buffered after it, or at the end.
const BZIP2_MAX_BLOCK = 25_000;
const BZIP2_OUT_CHUNK = 64 * 1024;

async function* decodeBzip2(raw: Readable): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let buffered = 0;
  // The bit reader takes its first buffer when made: it is made with the first chunk.
  let bits: BitReader | undefined;
  let blockSize = 0; // in units of 100 kB, from the stream header; 0 before it
  let streamCrc: number | null = null;
  const out = new ByteSink(BZIP2_OUT_CHUNK);
  const readyFor = (): number => (blockSize ? BZIP2_MAX_BLOCK + 100_000 * blockSize : 4);
  /** Decodes one stream header or one block. */
  const step = (bits: BitReader): void => {
    if (!blockSize) {
      blockSize = bzip2.header(bits);
      streamCrc = 0;
      return;
    }
    const size = 100_000 * blockSize;
    streamCrc = bzip2.decompress(bits, out.write, new Int32Array(size), size, streamCrc);
    if (streamCrc === null) blockSize = 0; // end of this stream; another may follow
  };
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    queue.push(chunk);
    buffered += chunk.length;
    bits ??= bitIterator(() => queue.shift());
    while (buffered - bits.bytesRead + 1 >= readyFor()) {
      step(bits);
      yield* out.take();
    }
  }
  while (bits && buffered > bits.bytesRead) {
    step(bits);
    yield* out.take();
  }
  if (streamCrc !== null || buffered === 0) throw new Error('unexpected end of bzip2 data');
  yield* out.take(true);
}

/** Collects bytes one at a time into fixed-size buffers. */
class ByteSink {
  private current: Buffer;
  private used = 0;
  private full: Buffer[] = [];
  constructor(private readonly size: number) {
    this.current = Buffer.allocUnsafe(size);
  }
  write = (byte: number): void => {
    this.current[this.used++] = byte;
    if (this.used === this.size) {
      this.full.push(this.current);
      this.current = Buffer.allocUnsafe(this.size);
      this.used = 0;
    }
  };
  /** The filled buffers, and with `all` the partly filled one too. */
  take(all = false): Buffer[] {
    const taken = this.full.splice(0);
    if (all && this.used > 0) {
      taken.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafe(this.size);
      this.used = 0;
    }
    return taken;
  }
}

// xz-decompress serialises every stream of the process through one lock held
// for a stream's whole life, so one stalled upload would stall all others.
// Its decoder contexts are independent of each other: let each stream have one.
const xzStreams = xzDecompress.XzReadableStream as unknown as { _contextMutex?: unknown };
if (xzStreams._contextMutex !== undefined) {
  xzStreams._contextMutex = { acquire: async () => undefined, release: () => undefined };
}

/** The WASM decoder pulls from a web stream; cancelling it on destroy frees its context. */
function decodeXz(raw: Readable): Readable {
  const decoded = new xzDecompress.XzReadableStream(
    pullOnDemand(raw),
  ) as unknown as WebReadableStream<Uint8Array>;
  return Readable.fromWeb(decoded, { highWaterMark: 64 * 1024 });
}

/** A web stream that reads `raw` only when its reader asks (no read-ahead queue). */
function pullOnDemand(raw: Readable): ReadableStream<Uint8Array> {
  const chunks = (raw as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = await chunks.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await chunks.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
