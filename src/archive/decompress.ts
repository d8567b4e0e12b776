/**
 * In-process decompression of uploaded archives, chosen by magic number as
 * Docker does. node:zlib gives gzip; bzip2, xz and zstd are recognised and
 * refused with a clear message rather than handed to a host tool.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { invalidParameter } from '../common/errors.js';

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
  switch (compression) {
    case 'none':
      return raw;
    case 'gzip': {
      const gunzip = createGunzip();
      pipeline(raw, gunzip, () => undefined);
      return gunzip;
    }
    default:
      raw.destroy();
      input.destroy();
      throw invalidParameter(
        `unsupported archive compression ${compression}: send a plain or gzip-compressed tar`,
      );
  }
}
