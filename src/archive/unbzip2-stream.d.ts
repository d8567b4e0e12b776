/** unbzip2-stream ships no types: a classic (through) stream, bzip2 in, raw bytes out. */
declare module 'unbzip2-stream' {
  import type { Duplex } from 'node:stream';
  export default function unbzip2Stream(): Duplex;
}
