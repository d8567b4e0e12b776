/**
 * The on-disk record formats of the file-based drivers.
 *
 * json-file: Docker's `{"log","stream","attrs","time"}` line per message,
 * so tools that read Docker's <id>-json.log read berth's.
 *
 * local: Docker's compact format, a protobuf `LogEntry` (source=1,
 * time_nano=2, line=3, partial=4, partial_log_metadata=5 {last=1, id=2,
 * ordinal=3}) framed by its big-endian uint32 length before and after, so
 * the file can be walked backwards from its end.
 */
import { rfc3339Nano, rfc3339ToNanos } from '../engine/containers/record.js';
import { continuesLine, type LinePart } from './lines.js';
import type { LogEntry, StdStream } from './types.js';

/** One message to store. `line` excludes the newline; parts that do not end their line get none when read back. */
export interface Message {
  stream: StdStream;
  line: Buffer;
  part?: LinePart;
  nanos: bigint;
  attrs?: Record<string, string>;
}

/** The messages of one read of one stream: they share a time and attributes. */
export interface MessageBatch {
  stream: StdStream;
  nanos: bigint;
  attrs?: Record<string, string>;
  lines: Buffer[];
  /** Per line: which part of a split line it is (undefined for whole lines). */
  parts: (LinePart | undefined)[];
}

/** Records in one buffer, with where each ends (rotation cuts between records only). */
export interface EncodedBatch {
  data: Buffer;
  ends: number[];
}

/** A stored message as read back, with its time as epoch nanoseconds for filtering. */
export interface StoredEntry extends LogEntry {
  nanos: bigint;
  /** local: the part of a split line this message is, as stored. */
  part?: LinePart;
}

export interface LogFormat {
  readonly name: string;
  encode(message: Message): Buffer;
  /** All messages of a batch as one buffer of records (one allocation however many lines). */
  encodeBatch(batch: MessageBatch): EncodedBatch;
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

function singleBatch(message: Message): MessageBatch {
  return {
    stream: message.stream,
    nanos: message.nanos,
    attrs: message.attrs,
    lines: [message.line],
    parts: [message.part],
  };
}

/** Bytes JSON must escape (controls, quote, backslash), Go also escapes (<, >, &), or that need UTF-8 checks. */
function needsEscaping(line: Buffer): boolean {
  for (let i = 0; i < line.length; i++) {
    const b = line[i];
    if (b < 0x20 || b === 0x22 || b === 0x5c || b === 0x3c || b === 0x3e || b === 0x26 || b >= 0x80)
      return true;
  }
  return false;
}

const JSON_HEAD = Buffer.from('{"log":"');

/**
 * json-file records for a batch. Plain ASCII lines (nearly all output) are
 * copied as they are; others go through the JSON encoder.
 */
function encodeJsonBatch(batch: MessageBatch): EncodedBatch {
  const attrs =
    batch.attrs && Object.keys(batch.attrs).length > 0 ? `"attrs":${JSON.stringify(batch.attrs)},` : '';
  const rest = `","stream":"${batch.stream}",${attrs}"time":"${rfc3339Nano(batch.nanos)}"}\n`;
  const suffixWhole = Buffer.from('\\n' + rest);
  const suffixPartial = Buffer.from(rest);
  const escaped: (Buffer | undefined)[] = [];
  let size = 0;
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i];
    let body = line;
    if (needsEscaping(line)) {
      const json = goJsonString(line.toString('utf8'));
      body = Buffer.from(json.slice(1, -1));
      escaped[i] = body;
    }
    size +=
      JSON_HEAD.length +
      body.length +
      (continuesLine(batch.parts[i]) ? suffixPartial.length : suffixWhole.length);
  }
  const out = Buffer.allocUnsafe(size);
  const ends: number[] = [];
  let at = 0;
  for (let i = 0; i < batch.lines.length; i++) {
    at += JSON_HEAD.copy(out, at);
    at += (escaped[i] ?? batch.lines[i]).copy(out, at);
    at += (continuesLine(batch.parts[i]) ? suffixPartial : suffixWhole).copy(out, at);
    ends.push(at);
  }
  return { data: out, ends };
}

const STREAM_MARK = Buffer.from('","stream":"');
const TIME_MARK = Buffer.from('","time":"');
const STREAM_STDOUT = Buffer.from('stdout');
const STREAM_STDERR = Buffer.from('stderr');

/**
 * The common shape of a record berth (or Docker) wrote, read without the
 * JSON parser: `{"log":"<text without escapes but a final \n>","stream":"…","time":"…"}`.
 * Anything else (escapes, attrs, other key orders) goes to JSON.parse.
 */
function decodeJsonFast(buf: Buffer, start: number, end: number): StoredEntry | undefined {
  if (end - start < 40 || buf.compare(JSON_HEAD, 0, JSON_HEAD.length, start, start + JSON_HEAD.length) !== 0)
    return undefined;
  const logStart = start + JSON_HEAD.length;
  const quote = buf.indexOf(0x22, logStart);
  if (quote < 0 || quote >= end) return undefined;
  let logEnd = quote;
  let newline = false;
  const backslash = buf.indexOf(0x5c, logStart);
  if (backslash >= 0 && backslash < quote) {
    // Only a final \n is taken here.
    if (backslash !== quote - 2 || buf[quote - 1] !== 0x6e) return undefined;
    logEnd = quote - 2;
    newline = true;
  }
  if (buf.compare(STREAM_MARK, 0, STREAM_MARK.length, quote, quote + STREAM_MARK.length) !== 0)
    return undefined;
  const streamAt = quote + STREAM_MARK.length;
  const isStdout = buf.compare(STREAM_STDOUT, 0, 6, streamAt, streamAt + 6) === 0;
  if (!isStdout && buf.compare(STREAM_STDERR, 0, 6, streamAt, streamAt + 6) !== 0) return undefined;
  const timeMark = streamAt + 6;
  if (buf.compare(TIME_MARK, 0, TIME_MARK.length, timeMark, timeMark + TIME_MARK.length) !== 0)
    return undefined;
  const timeStart = timeMark + TIME_MARK.length;
  // The record ends with `"}` before the newline at `end`.
  if (buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22) return undefined;
  const time = buf.toString('latin1', timeStart, end - 2);
  return {
    log: buf.toString('utf8', logStart, logEnd) + (newline ? '\n' : ''),
    stream: isStdout ? 'stdout' : 'stderr',
    time,
    nanos: timeNanos(time),
  };
}

let lastTime = '';
let lastNanos = 0n;

/** Consecutive records of a batch share their time: parse it once. */
function timeNanos(time: string): bigint {
  if (time !== lastTime) {
    lastNanos = rfc3339ToNanos(time);
    lastTime = time;
  }
  return lastNanos;
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
    return encodeJsonBatch(singleBatch(message)).data;
  },
  encodeBatch: encodeJsonBatch,
  decode(buf, start, each) {
    let at = start;
    for (;;) {
      const newline = buf.indexOf(0x0a, at);
      if (newline < 0) return at;
      const entry = decodeJsonFast(buf, at, newline) ?? decodeJsonLine(buf.toString('utf8', at, newline));
      each(entry, at, newline + 1);
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

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    length++;
  }
  return length;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/** PartialLogEntryMetadata as field 5 of a LogEntry, after partial=true (field 4). */
function encodeLinePart(part: LinePart): Buffer {
  const body: number[] = [];
  if (part.last) body.push(0x08, 0x01);
  const id = Buffer.from(part.id, 'latin1');
  if (id.length > 0) {
    body.push(0x12);
    varint(id.length, body);
    body.push(...id);
  }
  if (part.ordinal !== 0) {
    body.push(0x18);
    // int32: a negative value is sign-extended to ten bytes, as protobuf does.
    varint(BigInt.asUintN(64, BigInt(part.ordinal)), body);
  }
  const head = [0x20, 0x01, 0x2a];
  varint(body.length, head);
  return Buffer.from([...head, ...body]);
}

/** local records for a batch: the source and time fields are encoded once and copied into each. */
function encodeLocalBatch(batch: MessageBatch): EncodedBatch {
  const fixed: number[] = [0x0a];
  varint(batch.stream.length, fixed);
  fixed.push(...Buffer.from(batch.stream), 0x10);
  varint(batch.nanos, fixed);
  const common = Buffer.from(fixed);
  let size = 0;
  const bodies: number[] = [];
  const partFields: (Buffer | undefined)[] = [];
  for (let i = 0; i < batch.lines.length; i++) {
    const length = batch.lines[i].length;
    const part = batch.parts[i];
    const partField = part ? encodeLinePart(part) : undefined;
    partFields.push(partField);
    const body = common.length + 1 + varintLength(length) + length + (partField?.length ?? 0);
    bodies.push(body);
    size += body + 8;
  }
  const out = Buffer.allocUnsafe(size);
  const ends: number[] = [];
  let at = 0;
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i];
    out.writeUInt32BE(bodies[i], at);
    at += 4;
    at += common.copy(out, at);
    out[at++] = 0x1a;
    at = writeVarint(out, at, line.length);
    at += line.copy(out, at);
    const partField = partFields[i];
    if (partField) at += partField.copy(out, at);
    out.writeUInt32BE(bodies[i], at);
    at += 4;
    ends.push(at);
  }
  return { data: out, ends };
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

/** A varint below 2^53 (keys, lengths, flags), as a number; undefined when longer or cut. */
function readSmallVarint(buf: Buffer, at: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < end && i < at + 7; i++) {
    value += (buf[i] & 0x7f) * scale;
    if ((buf[i] & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

let lastTimeBytes: Buffer = Buffer.alloc(0);
let lastNanosLocal = 0n;
let lastTimeLocal = '';

/**
 * Decodes the time field at `at` into lastNanosLocal/lastTimeLocal and
 * returns the offset after it (undefined when cut). Records of one batch
 * share their time, so it is parsed once.
 */
function localTime(buf: Buffer, at: number, end: number): number | undefined {
  let stop = at;
  while (stop < end && buf[stop] & 0x80) stop++;
  if (stop >= end) return undefined;
  const length = stop + 1 - at;
  if (length !== lastTimeBytes.length || buf.compare(lastTimeBytes, 0, length, at, stop + 1) !== 0) {
    const v = readVarint(buf, at, end);
    if (!v) return undefined;
    lastNanosLocal = BigInt.asIntN(64, v.value);
    lastTimeLocal = rfc3339Nano(lastNanosLocal);
    lastTimeBytes = Buffer.from(buf.subarray(at, stop + 1));
  }
  return stop + 1;
}

/** What walkFields calls for each field of a protobuf message. */
interface FieldVisitor {
  /** A varint field whose value starts at `at`: returns the offset after it (undefined when damaged). */
  varint(field: number, at: number): number | undefined;
  /** A length-delimited field's bytes [from, to); false when damaged. */
  bytes(field: number, from: number, to: number): boolean;
}

/** Walks the fields of the protobuf message in buf[start, end); false when it is damaged. */
function walkFields(buf: Buffer, start: number, end: number, visitor: FieldVisitor): boolean {
  let at = start;
  while (at < end) {
    const key = readSmallVarint(buf, at, end);
    if (!key) return false;
    at = key.next;
    const field = Math.floor(key.value / 8);
    const wire = key.value % 8;
    if (wire === 0) {
      const next = visitor.varint(field, at);
      if (next === undefined) return false;
      at = next;
    } else if (wire === 2) {
      const len = readSmallVarint(buf, at, end);
      if (!len || len.next + len.value > end) return false;
      if (!visitor.bytes(field, len.next, len.next + len.value)) return false;
      at = len.next + len.value;
    } else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else return false;
  }
  return true;
}

/** PartialLogEntryMetadata (last=1, id=2, ordinal=3); undefined when damaged. */
function decodeLinePart(buf: Buffer, start: number, end: number): LinePart | undefined {
  const part: LinePart = { id: '', ordinal: 0, last: false };
  const whole = walkFields(buf, start, end, {
    varint(field, at) {
      const v = readVarint(buf, at, end);
      if (v && field === 1) part.last = v.value !== 0n;
      else if (v && field === 3) part.ordinal = Number(BigInt.asIntN(32, v.value));
      return v?.next;
    },
    bytes(field, from, to) {
      if (field === 2) part.id = buf.toString('utf8', from, to);
      return true;
    },
  });
  return whole ? part : undefined;
}

function decodeLocalBody(buf: Buffer, start: number, end: number): StoredEntry | undefined {
  let stderr = false;
  let nanos = 0n;
  let time = '';
  let lineStart = 0;
  let lineEnd = 0;
  let partial = false;
  let part: LinePart | undefined;
  const whole = walkFields(buf, start, end, {
    varint(field, at) {
      if (field === 2) {
        const next = localTime(buf, at, end);
        nanos = lastNanosLocal;
        time = lastTimeLocal;
        return next;
      }
      const v = readVarint(buf, at, end);
      if (v && field === 4) partial = v.value !== 0n;
      return v?.next;
    },
    bytes(field, from, to) {
      if (field === 1) stderr = buf.toString('latin1', from, to) === 'stderr';
      else if (field === 3) {
        lineStart = from;
        lineEnd = to;
      } else if (field === 5) {
        part = decodeLinePart(buf, from, to);
        return part !== undefined;
      }
      return true;
    },
  });
  if (!whole) return undefined;
  // A partial record without metadata (older writers) continues its line, as Docker reads it.
  if (partial) part ??= { id: '', ordinal: 0, last: false };
  else part = undefined;
  const entry: StoredEntry = {
    // Unlike Docker, whose reader leaves the newline off the last part too, the line comes back whole.
    log: buf.toString('utf8', lineStart, lineEnd) + (continuesLine(part) ? '' : '\n'),
    stream: stderr ? 'stderr' : 'stdout',
    time: time || rfc3339Nano(0n),
    nanos,
  };
  if (part) entry.part = part;
  return entry;
}

export const localFormat: LogFormat = {
  name: 'local',
  seekable: false,
  encode: (message) => encodeLocalBatch(singleBatch(message)).data,
  encodeBatch: encodeLocalBatch,
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
