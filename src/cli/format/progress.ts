/**
 * Renders the Docker JSON message streams of pull, push, load, import and
 * build the way docker/cli's jsonmessage package does: on a terminal, one line
 * per layer id rewritten in place with a progress bar; elsewhere, only the
 * status lines without progress.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable, Writable } from 'node:stream';
import { sprintf } from './gofmt.js';
import { goDuration, humanSize } from './units.js';

export interface JsonProgress {
  current?: number;
  total?: number;
  /** Unix seconds when the operation started. */
  start?: number;
  hidecounts?: boolean;
  units?: string;
}

export interface JsonMessage {
  stream?: string;
  status?: string;
  progressDetail?: JsonProgress | null;
  /** The daemon's pre-rendered bar; docker/cli ignores it and renders its own. */
  progress?: string;
  id?: string;
  errorDetail?: { code?: number; message?: string } | null;
  /** Deprecated twin of errorDetail.message. */
  error?: string;
  aux?: unknown;
}

/** A stream's errorDetail, thrown as docker's CLI returns it. */
export class JsonMessageError extends Error {
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
    this.name = 'JsonMessageError';
  }
}

const ERASE_LINE = '\x1b[2K';
const cursorUp = (n: number): string => (n > 0 ? `\x1b[${n}A` : '');
const cursorDown = (n: number): string => (n > 0 ? `\x1b[${n}B` : '');

/** Go's Duration.Round(time.Second): halves round away from zero. */
function roundToSecond(ns: bigint): bigint {
  const second = 1_000_000_000n;
  const r = ns % second;
  if (ns < 0n) return -r + -r < second ? ns - r : ns - second - r;
  return r + r < second ? ns - r : ns + second - r;
}

/**
 * docker's progress text: "[=====>      ]  1.2MB/3.4MB 5s". The bar needs a
 * terminal wider than 110 columns, the time left one wider than 50.
 */
export function renderProgress(progress: JsonProgress, width: number, now: number = Date.now()): string {
  const current = Math.trunc(progress.current ?? 0);
  const total = Math.trunc(progress.total ?? 0);
  const units = progress.units ?? '';
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return units === '' ? sprintf('%8v', humanSize(current)) : `${current} ${units}`;

  const percentage = Math.min(Math.trunc(Math.trunc((current / total) * 100) / 2), 50);
  let bar = '';
  if (width > 110) {
    const filled = Math.max(percentage, 0);
    bar = `[${'='.repeat(filled)}>${' '.repeat(Math.max(50 - percentage, 0))}] `;
  }

  let numbers = '';
  if (progress.hidecounts) {
    numbers = '';
  } else if (units === '') {
    numbers =
      current > total
        ? sprintf('%8v', humanSize(current))
        : sprintf('%8v/%v', humanSize(current), humanSize(total));
  } else {
    numbers = current > total ? `${current} ${units}` : `${current}/${total} ${units}`;
  }

  let timeLeft = '';
  const start = Math.trunc(progress.start ?? 0);
  if (width > 50 && current > 0 && start > 0 && percentage < 50) {
    const fromStart = BigInt(Math.round(now)) * 1_000_000n - BigInt(start) * 1_000_000_000n;
    const perEntry = fromStart / BigInt(current);
    const left = BigInt(total - current) * perEntry;
    timeLeft = ' ' + goDuration(roundToSecond(left));
  }
  return bar + numbers + timeLeft;
}

function hasProgress(message: JsonMessage): message is JsonMessage & { progressDetail: JsonProgress } {
  return message.progressDetail !== undefined && message.progressDetail !== null;
}

function messageError(message: JsonMessage): JsonMessageError | undefined {
  if (message.errorDetail) {
    return new JsonMessageError(message.errorDetail.message ?? message.error ?? '', message.errorDetail.code);
  }
  if (message.error) return new JsonMessageError(message.error);
  return undefined;
}

/** The text docker's jsonmessage.Display writes for one message (empty when it shows nothing). */
export function renderMessage(message: JsonMessage, isTty: boolean, width: number, now?: number): string {
  let out = '';
  let endl = '';
  if (isTty && !message.stream && hasProgress(message)) {
    out += ERASE_LINE + '\r';
    endl = '\r';
  } else if (
    hasProgress(message) &&
    ((message.progressDetail.current ?? 0) > 0 || (message.progressDetail.total ?? 0) > 0)
  ) {
    return '';
  }
  if (message.id) out += `${message.id}: `;
  if (hasProgress(message) && isTty) {
    out += `${message.status ?? ''} ${renderProgress(message.progressDetail, width || 200, now)}${endl}`;
  } else if (message.stream) {
    out += message.stream + endl;
  } else {
    out += `${message.status ?? ''}${endl}\n`;
  }
  return out;
}

export interface DisplayOptions {
  /** Whether out is a terminal: progress lines are redrawn in place and bars shown. */
  isTty: boolean;
  /** Terminal width; defaults to out.columns, else 200. */
  width?: number;
  /** Receives messages with an aux field, which are not displayed. */
  onAux?: (message: JsonMessage) => void;
  /** Clock for the time-left estimate, in epoch milliseconds. */
  now?: () => number;
}

function isReadable(stream: unknown): stream is Readable {
  return typeof (stream as Readable)?.pipe === 'function' && typeof (stream as Readable)?.read === 'function';
}

/**
 * Splits concatenated JSON values (newline-delimited or not, as Go's
 * json.Decoder reads them) out of a byte stream. Chunks that are already
 * objects (from an object-mode stream) pass through as messages.
 */
export async function* parseJsonStream(
  stream: AsyncIterable<Buffer | string | object>,
): AsyncGenerator<JsonMessage> {
  const decoder = new StringDecoder('utf8');
  let buffer = '';
  let scan = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let valueStart = -1;
  const take = function* (): Generator<JsonMessage> {
    for (; scan < buffer.length; scan++) {
      const ch = buffer[scan];
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (depth === 0 && valueStart < 0) {
        if (ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n') continue;
        if (ch !== '{') throw new Error(`invalid character '${ch}' looking for beginning of value`);
        valueStart = scan;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          const text = buffer.slice(valueStart, scan + 1);
          valueStart = -1;
          yield JSON.parse(text) as JsonMessage;
        }
      }
    }
    // Keep only the unfinished value.
    const keep = valueStart < 0 ? buffer.length : valueStart;
    buffer = buffer.slice(keep);
    scan -= keep;
    if (valueStart >= 0) valueStart = 0;
  };
  for await (const chunk of stream) {
    if (typeof chunk === 'string') buffer += chunk;
    else if (chunk instanceof Uint8Array)
      buffer += decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    else {
      yield chunk as JsonMessage;
      continue;
    }
    yield* take();
  }
  buffer += decoder.end();
  yield* take();
  if (valueStart >= 0 || depth > 0) throw new Error('unexpected EOF');
}

function write(out: Writable, text: string): Promise<void> | undefined {
  if (text === '' || out.write(text)) return undefined;
  return new Promise((resolve) => out.once('drain', resolve));
}

/**
 * Displays a JSON message stream like docker/cli's DisplayJSONMessagesStream.
 * stream is either a byte stream of JSON messages or already-parsed messages.
 * Throws JsonMessageError on the first message carrying an error.
 */
export async function displayJsonMessages(
  stream: AsyncIterable<object> | Iterable<object> | Readable,
  out: Writable,
  options: DisplayOptions,
): Promise<void> {
  const { isTty } = options;
  const columns = (out as Writable & { columns?: number }).columns;
  const width = isTty ? (options.width ?? columns ?? 200) : 200;
  const messages: AsyncIterable<JsonMessage> | Iterable<JsonMessage> = isReadable(stream)
    ? parseJsonStream(stream as AsyncIterable<Buffer | string | object>)
    : (stream as AsyncIterable<JsonMessage> | Iterable<JsonMessage>);
  // Line of each progress id, counted from the first one; cleared by any other message.
  let lines = new Map<string, number>();
  for await (const message of messages) {
    if (message.aux !== undefined && message.aux !== null) {
      options.onAux?.(message);
      continue;
    }
    let text = '';
    let diff = 0;
    if (message.id && hasProgress(message)) {
      let line = lines.get(message.id);
      if (line === undefined) {
        line = lines.size;
        lines.set(message.id, line);
        if (isTty) text += '\n';
      }
      diff = lines.size - line;
      if (isTty) text += cursorUp(diff);
    } else {
      lines = new Map();
    }
    const error = messageError(message);
    if (!error) text += renderMessage(message, isTty, width, options.now?.());
    if (message.id && isTty) text += cursorDown(diff);
    await write(out, text);
    if (error) throw error;
  }
}
