/**
 * The json-file log: one JSON object per line, `{"log","stream","time"}`,
 * exactly as Docker writes <id>-json.log, so tools reading Docker's logs read
 * berth's. Output is split into lines; a line longer than 16 KiB is written
 * in 16 KiB parts, and a last line without a newline is written as it is.
 */
import { createReadStream, createWriteStream, promises as fs, watch, type WriteStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { nowRfc3339Nano, rfc3339ToNanos } from './record.js';

export type StdStream = 'stdout' | 'stderr';

export interface LogEntry {
  log: string;
  stream: StdStream;
  time: string;
}

const MAX_LINE = 16 * 1024;

/** Splits one stream's chunks into lines (with their newline), decoding UTF-8 across chunk borders. */
class LineSplitter {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');

  push(chunk: Buffer, emit: (line: string) => void): void {
    this.pending += this.decoder.write(chunk);
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      this.emitLong(this.pending.slice(0, newline + 1), emit);
      this.pending = this.pending.slice(newline + 1);
    }
    while (this.pending.length >= MAX_LINE) {
      emit(this.pending.slice(0, MAX_LINE));
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  flush(emit: (line: string) => void): void {
    this.pending += this.decoder.end();
    if (this.pending) this.emitLong(this.pending, emit);
    this.pending = '';
  }

  private emitLong(line: string, emit: (line: string) => void): void {
    for (let at = 0; at < line.length; at += MAX_LINE) emit(line.slice(at, at + MAX_LINE));
  }
}

/** Appends a container's output to its json-file log. */
export class JsonFileWriter {
  private readonly file: WriteStream;
  private readonly splitters: Record<StdStream, LineSplitter> = {
    stdout: new LineSplitter(),
    stderr: new LineSplitter(),
  };

  constructor(readonly path: string) {
    this.file = createWriteStream(path, { flags: 'a', mode: 0o640 });
    this.file.on('error', () => undefined);
  }

  /** Returns false when the file is behind: wait for onceDrain before writing more. */
  write(stream: StdStream, chunk: Buffer): boolean {
    let ok = true;
    this.splitters[stream].push(chunk, (line) => {
      ok = this.append(stream, line) && ok;
    });
    return ok;
  }

  onceDrain(callback: () => void): void {
    this.file.once('drain', callback);
  }

  /** Writes what is left of partial lines (end of a run). */
  flushPartial(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      this.splitters[stream].flush((line) => this.append(stream, line));
    }
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    this.flushPartial();
    return new Promise((resolve) => this.file.end(resolve));
  }

  private append(stream: StdStream, line: string): boolean {
    const entry: LogEntry = { log: line, stream, time: nowRfc3339Nano() };
    return this.file.write(JSON.stringify(entry) + '\n');
  }
}

export interface ReadLogOptions {
  stdout: boolean;
  stderr: boolean;
  /** Last N entries only; undefined or negative for all. */
  tail?: number;
  /** Epoch nanoseconds; entries before are skipped. */
  since?: bigint;
  until?: bigint;
  follow?: boolean;
  /** With follow: resolves when no more output will come (the container stopped). */
  stopped?: Promise<void>;
  signal?: AbortSignal;
}

function parseEntry(line: string): LogEntry | undefined {
  try {
    const entry = JSON.parse(line) as LogEntry;
    return typeof entry.log === 'string' ? entry : undefined;
  } catch {
    return undefined;
  }
}

function wanted(entry: LogEntry, options: ReadLogOptions): boolean {
  if (entry.stream === 'stdout' ? !options.stdout : !options.stderr) return false;
  if (options.since !== undefined || options.until !== undefined) {
    const at = rfc3339ToNanos(entry.time);
    if (options.since !== undefined && at < options.since) return false;
    if (options.until !== undefined && at > options.until) return false;
  }
  return true;
}

/** Reads complete lines from `start`; returns them and the offset after the last complete line. */
async function readLines(file: string, start: number): Promise<{ lines: string[]; end: number }> {
  const lines: string[] = [];
  let offset = start;
  let rest = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(file, { start }) as AsyncIterable<Buffer>) {
      let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      let newline: number;
      while ((newline = data.indexOf(0x0a)) >= 0) {
        lines.push(data.subarray(0, newline).toString('utf8'));
        offset += newline + 1;
        data = data.subarray(newline + 1);
      }
      rest = Buffer.from(data);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { lines, end: offset };
}

/**
 * Yields the log's entries by the options; with follow, keeps yielding new
 * ones as they are appended until `stopped` resolves and the file is read to
 * its end, or the signal aborts.
 */
export async function* readJsonLog(file: string, options: ReadLogOptions): AsyncGenerator<LogEntry> {
  const first = await readLines(file, 0);
  let entries = first.lines
    .map(parseEntry)
    .filter((e): e is LogEntry => e !== undefined && wanted(e, options));
  if (options.tail !== undefined && options.tail >= 0)
    entries = options.tail === 0 ? [] : entries.slice(-options.tail);
  yield* entries;
  if (!options.follow) return;

  let offset = first.end;
  let stopped = false;
  let wake: (() => void) | undefined;
  const poke = (): void => {
    wake?.();
    wake = undefined;
  };
  void options.stopped?.then(() => {
    stopped = true;
    poke();
  });
  options.signal?.addEventListener('abort', poke, { once: true });
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(file, poke);
  } catch {
    watcher = undefined;
  }
  try {
    while (!options.signal?.aborted) {
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const wasStopped = stopped;
      const next = await readLines(file, offset);
      offset = next.end;
      for (const line of next.lines) {
        const entry = parseEntry(line);
        if (entry && wanted(entry, options)) yield entry;
      }
      if (wasStopped) return;
      // Without inotify, look again now and then.
      await Promise.race([woken, new Promise((resolve) => setTimeout(resolve, watcher ? 5000 : 250))]);
    }
  } finally {
    watcher?.close();
  }
}

/** Truncates nothing, removes the file: used when the container goes. */
export async function removeLog(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
