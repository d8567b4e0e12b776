/**
 * The on-disk record formats of the file-based drivers.
 *
 * json-file: Docker's `{"log","stream","attrs","time"}` line per message,
 * so tools that read Docker's <id>-json.log read berth's.
 *
 * local: Docker's compact format, a protobuf `LogEntry` (source=1,
 * time_nano=2, line=3, partial=4) framed by its big-endian uint32 length
 * before and after, so the file can be walked backwards from its end.
 */
import { rfc3339Nano, rfc3339ToNanos } from '../engine/containers/record.js';
import type { LogEntry, StdStream } from './types.js';

/** One message to store. `line` excludes the newline; partial lines get none when read back. */
export interface Message {
  stream: StdStream;
  line: Buffer;
  partial: boolean;
  nanos: bigint;
  attrs?: Record<string, string>;
}

/** A stored message as read back, with its time as epoch nanoseconds for filtering. */
export interface StoredEntry extends LogEntry {
  nanos: bigint;
}

export interface LogFormat {
  readonly name: string;
  encode(message: Message): Buffer;
  /**
   * Decodes the complete records of `buf` from `start`, calling `each` with
   * each record (undefined for a damaged one) and its byte range. Returns the
   * offset after the last complete record.
   */
  decode(
    buf: Buffer,
    start: number,
    each: (entry: StoredEntry | undefined, at: number, end: number) => void,
  ): number;
  /**
   * Where the record ending at `end` (exclusive) starts, looking only at
   * `buf` (which holds file bytes [bufStart, end)): the start offset, or
   * undefined when `buf` does not reach back far enough.
   */
  recordStartBefore(buf: Buffer, bufStart: number, end: number): number | undefined;
  /** True when a position inside a record can be resynchronised to the next record start (binary search). */
  readonly seekable: boolean;
  /** The start of the first record at or after `at` within buf (buf holds bytes from `bufStart`); undefined if not in buf. */
  nextRecordStart?(buf: Buffer, bufStart: number, at: number): number | undefined;
}

// ------------------------------------------------------------------ json-file

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;
const HTML_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** JSON string as Go's encoder writes it (HTML-unsafe characters escaped), as Docker's json-file has it. */
function goJsonString(text: string): string {
  const json = JSON.stringify(text);
  return HTML_UNSAFE.test(json) ? json.replace(HTML_UNSAFE, (c) => HTML_ESCAPES[c]) : json;
}

function decodeJsonLine(line: string): StoredEntry | undefined {
  try {
    const entry = JSON.parse(line) as LogEntry;
    if (typeof entry.log !== 'string' || typeof entry.time !== 'string') return undefined;
    const stored: StoredEntry = {
      log: entry.log,
      stream: entry.stream === 'stderr' ? 'stderr' : 'stdout',
      time: entry.time,
      nanos: rfc3339ToNanos(entry.time),
    };
    if (entry.attrs && Object.keys(entry.attrs).length > 0) stored.attrs = entry.attrs;
    return stored;
  } catch {
    return undefined;
  }
}

export const jsonFormat: LogFormat = {
  name: 'json-file',
  seekable: true,
  encode(message) {
    const log = message.line.toString('utf8') + (message.partial ? '' : '\n');
    let text = `{"log":${goJsonString(log)},"stream":"${message.stream}",`;
    if (message.attrs && Object.keys(message.attrs).length > 0)
      text += `"attrs":${JSON.stringify(message.attrs)},`;
    text += `"time":"${rfc3339Nano(message.nanos)}"}\n`;
    return Buffer.from(text);
  },
  decode(buf, start, each) {
    let at = start;
    for (;;) {
      const newline = buf.indexOf(0x0a, at);
      if (newline < 0) return at;
      each(decodeJsonLine(buf.toString('utf8', at, newline)), at, newline + 1);
      at = newline + 1;
    }
  },
  recordStartBefore(buf, bufStart, end) {
    // The record ends with the newline at end-1; it starts after the newline before it.
    const previous = buf.lastIndexOf(0x0a, end - bufStart - 2);
    if (previous >= 0) return bufStart + previous + 1;
    return bufStart === 0 ? 0 : undefined;
  },
  nextRecordStart(buf, bufStart, at) {
    if (at === 0) return 0;
    const newline = buf.indexOf(0x0a, at - 1 - bufStart);
    return newline < 0 ? undefined : bufStart + newline + 1;
  },
};

// ------------------------------------------------------------------ local

/** Docker's reader refuses records above this size: a damaged length. */
const MAX_LOCAL_RECORD = 1_000_000;

function varint(value: bigint | number, out: number[]): void {
  let v = BigInt(value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function field(tag: number, bytes: Buffer, out: Buffer[]): void {
  const header: number[] = [tag];
  varint(bytes.length, header);
  out.push(Buffer.from(header), bytes);
}

function encodeLocal(message: Message): Buffer {
  const parts: Buffer[] = [];
  field(0x0a, Buffer.from(message.stream), parts);
  const time: number[] = [0x10];
  varint(message.nanos, time);
  parts.push(Buffer.from(time));
  field(0x1a, message.line, parts);
  if (message.partial) parts.push(Buffer.from([0x20, 0x01]));
  const body = Buffer.concat(parts);
  const frame = Buffer.allocUnsafe(body.length + 8);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  frame.writeUInt32BE(body.length, body.length + 4);
  return frame;
}

function readVarint(buf: Buffer, at: number, end: number): { value: bigint; next: number } | undefined {
  let value = 0n;
  let shift = 0n;
  for (let i = at; i < end && shift < 70n; i++) {
    value |= BigInt(buf[i] & 0x7f) << shift;
    if ((buf[i] & 0x80) === 0) return { value, next: i + 1 };
    shift += 7n;
  }
  return undefined;
}

function decodeLocalBody(buf: Buffer, start: number, end: number): StoredEntry | undefined {
  let source = 'stdout';
  let nanos = 0n;
  let line: Buffer = Buffer.alloc(0);
  let partial = false;
  let at = start;
  while (at < end) {
    const key = readVarint(buf, at, end);
    if (!key) return undefined;
    at = key.next;
    const fieldNo = Number(key.value >> 3n);
    const wire = Number(key.value & 7n);
    if (wire === 0) {
      const v = readVarint(buf, at, end);
      if (!v) return undefined;
      at = v.next;
      if (fieldNo === 2) nanos = BigInt.asIntN(64, v.value);
      else if (fieldNo === 4) partial = v.value !== 0n;
    } else if (wire === 2) {
      const len = readVarint(buf, at, end);
      if (!len || len.next + Number(len.value) > end) return undefined;
      const value = buf.subarray(len.next, len.next + Number(len.value));
      at = len.next + Number(len.value);
      if (fieldNo === 1) source = value.toString('utf8');
      else if (fieldNo === 3) line = value;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return undefined;
  }
  return {
    log: line.toString('utf8') + (partial ? '' : '\n'),
    stream: source === 'stderr' ? 'stderr' : 'stdout',
    time: rfc3339Nano(nanos),
    nanos,
  };
}

export const localFormat: LogFormat = {
  name: 'local',
  seekable: false,
  encode: encodeLocal,
  decode(buf, start, each) {
    let at = start;
    while (at + 4 <= buf.length) {
      const size = buf.readUInt32BE(at);
      if (size > MAX_LOCAL_RECORD) {
        // A damaged frame: nothing after it can be trusted to be aligned.
        each(undefined, at, buf.length);
        return buf.length;
      }
      const end = at + 8 + size;
      if (end > buf.length) return at;
      each(decodeLocalBody(buf, at + 4, at + 4 + size), at, end);
      at = end;
    }
    return at;
  },
  recordStartBefore(buf, bufStart, end) {
    if (end - 4 < bufStart) return undefined;
    const size = buf.readUInt32BE(end - 4 - bufStart);
    if (size > MAX_LOCAL_RECORD) return undefined;
    const start = end - 8 - size;
    return start >= bufStart ? start : undefined;
  },
};
