/**
 * In-process decompression of uploaded archives, chosen by magic number as
 * Docker does (gzip, bzip2, xz, zstd). Every decoder is pure JS or WASM and
 * pulled by its consumer, so a large or hostile archive is never held whole
 * in memory; a decoding failure surfaces as an InvalidParameter error.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import unbzip2Stream from 'unbzip2-stream';
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
  gzip: (raw) => raw.pipe(createGunzip()),
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
// slices bounds what one pull can produce (a few MiB) however hostile the input.
const ZSTD_SLICE = 1024;

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

// unbzip2-stream decodes one whole block (at most 900 kB compressed, a few
// MB out) per write once enough input is buffered; slices keep it to one.
const BZIP2_SLICE = 64 * 1024;

async function* decodeBzip2(raw: Readable): AsyncGenerator<Buffer> {
  const pending: Buffer[] = [];
  let failure: Error | undefined;
  const decoder = unbzip2Stream();
  decoder.on('data', (chunk: Buffer) => pending.push(chunk));
  decoder.on('error', (err: Error) => {
    failure ??= err;
  });
  const drain = function* (): Generator<Buffer> {
    if (failure) throw failure;
    yield* pending.splice(0);
  };
  for await (const chunk of raw as AsyncIterable<Buffer>) {
    for (let at = 0; at < chunk.length; at += BZIP2_SLICE) {
      decoder.write(chunk.subarray(at, at + BZIP2_SLICE));
      yield* drain();
    }
  }
  decoder.end();
  yield* drain();
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
