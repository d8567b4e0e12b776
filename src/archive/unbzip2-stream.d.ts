/** unbzip2-stream ships no types: its block decoder and bit reader, as decompress.ts uses them. */
declare module 'unbzip2-stream/lib/bit_iterator.js' {
  export interface BitReader {
    (n: number | null): number;
    bytesRead: number;
  }
  export default function bitIterator(nextBuffer: () => Buffer | undefined): BitReader;
}

declare module 'unbzip2-stream/lib/bzip2.js' {
  import type { BitReader } from 'unbzip2-stream/lib/bit_iterator.js';
  const bzip2: {
    /** Reads a stream header; returns the block size in units of 100 kB. */
    header(bits: BitReader): number;
    /** Decodes one block into `write`; returns the running stream CRC, or null at the end of a stream. */
    decompress(
      bits: BitReader,
      write: (byte: number) => void,
      buf: Int32Array,
      bufsize: number,
      streamCrc: number | null,
    ): number | null;
  };
  export default bzip2;
}
