/**
 * Docker's container stream formats: the multiplexed framing of non-TTY
 * streams (8-byte header: stream type, three zero bytes, big-endian size)
 * and the raw stream of TTY ones, written to a socket or response with
 * backpressure.
 */
import type { Writable } from 'node:stream';
import type { StdStream } from '../../../engine/containers/jsonlog.js';
import type { OutputSink } from '../../../engine/containers/stdio.js';

export const MEDIA_RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MEDIA_MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

const STREAM_TYPE: Record<StdStream, number> = { stdout: 1, stderr: 2 };

export function frameHeader(stream: StdStream | 'stdin' | 'system', size: number): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdin' ? 0 : stream === 'system' ? 3 : STREAM_TYPE[stream];
  header.writeUInt32BE(size, 4);
  return header;
}

/** Writes one chunk in the container's stream format; false when the destination is full. */
export function writeFrame(out: Writable, multiplexed: boolean, stream: StdStream, chunk: Buffer): boolean {
  if (chunk.length === 0) return true;
  if (!multiplexed) return out.write(chunk);
  out.write(frameHeader(stream, chunk.length));
  return out.write(chunk);
}

/** The content type of a container stream for an API version (1.42 named the multiplexed one). */
export function streamContentType(multiplexed: boolean, apiVersionAtLeast142: boolean): string {
  return multiplexed && apiVersionAtLeast142 ? MEDIA_MULTIPLEXED_STREAM : MEDIA_RAW_STREAM;
}

/** An OutputSink writing framed output to `out`; `end` runs once, when output ends or the client goes. */
export function socketSink(
  out: Writable,
  options: { stdout: boolean; stderr: boolean; multiplexed: boolean; onEnd: () => void },
): OutputSink {
  let ended = false;
  return {
    stdout: options.stdout,
    stderr: options.stderr,
    write: (stream, chunk) => (out.writable ? writeFrame(out, options.multiplexed, stream, chunk) : true),
    onceDrain: (callback) => {
      if (!out.writable) return callback();
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        callback();
      };
      out.once('drain', done);
      out.once('close', done);
    },
    end: () => {
      if (ended) return;
      ended = true;
      options.onEnd();
    },
  };
}
