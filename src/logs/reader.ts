/**
 * Reading a file-based log: since/until/tail are answered without scanning
 * the whole log. Generations are skipped by their first record's time;
 * within a file, since is found by binary search (json-file, whose records
 * can be resynchronised at any newline) or by walking back from the end
 * (local, whose records are framed by their length at both ends), and tail
 * by walking back from the end. Follow then continues on the current file
 * and across rotations, woken by the writer in-process.
 */
import { FdSource, openAll, type Source } from './files.js';
import type { LogFormat, StoredEntry } from './formats.js';
import { logSignals, releaseLogSignals } from './signals.js';
import type { LogEntry, ReadLogOptions } from './types.js';

const CHUNK = 256 * 1024;
/** A record longer than this cannot be in a well-formed log (16 KiB of text escaped, plus framing). */
const MAX_RECORD = 2 * 1024 * 1024;
/** Followers look again this often even without a signal (a writer in another process). */
const FOLLOW_POLL_MS = 1000;

interface Position {
  source: number;
  offset: number;
}

/** Complete records from `offset`, one chunk's worth (at least one record when one ends before `limit`). */
export async function readBatch(
  format: LogFormat,
  source: Source,
  offset: number,
  limit: number,
): Promise<{ entries: StoredEntry[]; next: number }> {
  let length = Math.min(CHUNK, limit - offset);
  for (;;) {
    if (length <= 0) return { entries: [], next: offset };
    const buf = await source.read(offset, length);
    const entries: StoredEntry[] = [];
    const consumed = format.decode(buf, 0, (entry) => {
      if (entry) entries.push(entry);
    });
    if (consumed > 0 || offset + length >= limit || length >= MAX_RECORD) {
      // A damaged run longer than any record: skip it rather than stall.
      const next = consumed > 0 ? offset + consumed : offset + length >= limit ? offset : offset + length;
      return { entries, next };
    }
    length = Math.min(length * 2, limit - offset);
  }
}

/** Walks a source's records backwards from `end`. */
export class BackwardReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart: number;
  private position: number;

  constructor(
    private readonly format: LogFormat,
    private readonly source: Source,
    end: number,
  ) {
    this.position = end;
    this.windowStart = end;
  }

  /** The record before the current position, or undefined at the start (or at damage that cannot be crossed). */
  async previous(): Promise<{ entry: StoredEntry | undefined; start: number; end: number } | undefined> {
    while (this.position > 0) {
      const held = this.window.subarray(0, this.position - this.windowStart);
      const start =
        held.length > 0 ? this.format.recordStartBefore(held, this.windowStart, this.position) : undefined;
      if (start !== undefined) {
        let entry: StoredEntry | undefined;
        this.format.decode(held.subarray(start - this.windowStart), 0, (e) => (entry = e));
        const end = this.position;
        this.position = start;
        return { entry, start, end };
      }
      if (this.windowStart === 0 || this.position - this.windowStart > MAX_RECORD) return undefined;
      const from = Math.max(0, this.windowStart - Math.max(CHUNK, held.length));
      const before = await this.source.read(from, this.windowStart - from);
      this.window = Buffer.concat([before, held]);
      this.windowStart = from;
    }
    return undefined;
  }
}

async function firstRecord(format: LogFormat, source: Source): Promise<StoredEntry | undefined> {
  let offset = 0;
  while (offset < source.size) {
    const { entries, next } = await readBatch(format, source, offset, source.size);
    if (entries.length > 0) return entries[0];
    if (next === offset) return undefined;
    offset = next;
  }
  return undefined;
}

/** The first record start at or after `at`, and that record (json-file: resync at the next newline). */
async function recordAt(
  format: LogFormat,
  source: Source,
  at: number,
  limit: number,
): Promise<{ start: number; end: number; entry: StoredEntry | undefined } | undefined> {
  let length = CHUNK;
  for (;;) {
    const from = at === 0 ? 0 : at - 1;
    const buf = await source.read(from, Math.min(length, limit - from));
    const start = format.nextRecordStart!(buf, from, at);
    if (start !== undefined && start >= limit) return undefined;
    if (start !== undefined) {
      let found: { start: number; end: number; entry: StoredEntry | undefined } | undefined;
      format.decode(buf.subarray(start - from), 0, (entry, _s, end) => {
        found ??= { start, end: start + end, entry };
      });
      if (found) return found;
    }
    if (from + length >= limit || length >= MAX_RECORD) return undefined;
    length *= 2;
  }
}

/** The offset of the first record at or after `since` (binary search over a seekable format). */
async function searchSince(format: LogFormat, source: Source, since: bigint): Promise<number> {
  let low = 0; // every record starting before low is older than since
  let high = source.size; // a record start (or the end) whose record is not older
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    const probe = await recordAt(format, source, Math.max(middle, low), high);
    if (!probe) {
      // No record starts in [middle, high): look at the one at low.
      const first = await recordAt(format, source, low, high);
      if (!first || (first.entry && first.entry.nanos >= since)) return low;
      low = first.end;
      continue;
    }
    if (!probe.entry || probe.entry.nanos < since) low = probe.end;
    else high = probe.start;
  }
  return low;
}

/** The same by walking back from the end (formats that cannot resync): cost follows what is returned. */
async function walkBackToSince(format: LogFormat, source: Source, since: bigint): Promise<number> {
  const reader = new BackwardReader(format, source, source.size);
  for (;;) {
    const record = await reader.previous();
    if (!record) return 0;
    if (record.entry && record.entry.nanos < since) return record.end;
  }
}

function matches(entry: StoredEntry, options: ReadLogOptions): boolean {
  return entry.stream === 'stdout' ? options.stdout : options.stderr;
}

/** Where reading starts for since and tail. */
/** The first record at or after `at` (epoch ns): the generation holding it, and its offset there. */
async function positionOf(format: LogFormat, sources: Source[], at: bigint): Promise<Position> {
  let found: Position = { source: 0, offset: 0 };
  for (let i = sources.length - 1; i >= 0; i--) {
    const first = await firstRecord(format, sources[i]);
    if (first && first.nanos <= at) {
      found = { source: i, offset: 0 };
      break;
    }
  }
  const source = sources[found.source];
  if (!source) return found;
  const offset = format.seekable
    ? await searchSince(format, source, at)
    : await walkBackToSince(format, source, at);
  return { source: found.source, offset };
}

/** Where reading starts for since and tail (tail counted back from until, found the same way as since). */
async function startPosition(
  format: LogFormat,
  sources: Source[],
  options: ReadLogOptions,
): Promise<Position> {
  const { since, until, tail } = options;
  const start: Position =
    since !== undefined ? await positionOf(format, sources, since) : { source: 0, offset: 0 };
  if (tail === undefined || tail < 0) return start;
  const last = sources.length - 1;
  if (last < 0) return start;
  if (tail === 0) return { source: last, offset: sources[last].size };
  const end: Position =
    until !== undefined
      ? await positionOf(format, sources, until + 1n)
      : { source: last, offset: sources[last].size };
  let counted = 0;
  for (let i = Math.min(end.source, last); i >= start.source; i--) {
    const from = i === end.source && until !== undefined ? end.offset : sources[i].size;
    const reader = new BackwardReader(format, sources[i], from);
    for (;;) {
      const record = await reader.previous();
      if (!record || (i === start.source && record.start < start.offset)) break;
      const entry = record.entry;
      if (!entry || !matches(entry, options)) continue;
      if (until !== undefined && entry.nanos > until) continue;
      if (++counted === tail) return { source: i, offset: record.start };
    }
  }
  return start;
}

/** The entries of a decoded batch the options want; done once past `until`. */
function selectBatch(
  entries: StoredEntry[],
  options: ReadLogOptions,
  checkSince: boolean,
): { batch: LogEntry[]; done: boolean } {
  const batch: LogEntry[] = [];
  for (const entry of entries) {
    if (options.until !== undefined && entry.nanos > options.until) return { batch, done: true };
    if (!matches(entry, options)) continue;
    if (checkSince && options.since !== undefined && entry.nanos < options.since) continue;
    batch.push(publicEntry(entry));
  }
  return { batch, done: false };
}

/** The log's entries one by one (see readLogBatches). */
export async function* readLogFiles(
  format: LogFormat,
  logPath: string,
  options: ReadLogOptions,
): AsyncGenerator<LogEntry> {
  for await (const batch of readLogBatches(format, logPath, options)) yield* batch;
}

/**
 * Yields the log's entries by the options, in batches as they are read; with
 * follow, keeps yielding new ones until `stopped` resolves and the current
 * file is read to its end, or the signal aborts.
 */
export async function* readLogBatches(
  format: LogFormat,
  logPath: string,
  options: ReadLogOptions,
): AsyncGenerator<LogEntry[]> {
  const signals = options.follow ? logSignals(logPath) : undefined;
  const rotated: FdSource[] = [];
  let wake: (() => void) | undefined;
  const poke = (): void => {
    wake?.();
    wake = undefined;
  };
  const onRotated = (): void => {
    try {
      rotated.push(FdSource.openSync(logPath));
    } catch {
      // Gone again already: the next rotation or poll finds the file.
    }
    poke();
  };
  signals?.on('data', poke);
  signals?.on('rotated', onRotated);
  let sources: Source[] = [];
  try {
    sources = await openAll(logPath);
    const start = await startPosition(format, sources, options);
    let current: Source | undefined;
    let offset = 0;
    for (let i = start.source; i < sources.length; i++) {
      current = sources[i];
      offset = i === start.source ? start.offset : 0;
      for (;;) {
        const { entries, next } = await readBatch(format, current, offset, current.size);
        if (next === offset) break;
        offset = next;
        const { batch, done } = selectBatch(entries, options, true);
        if (batch.length > 0) yield batch;
        if (done) return;
      }
    }
    if (!options.follow || !(current instanceof FdSource)) return;
    let followed: FdSource = current;

    let stopped = false;
    void options.stopped?.then(() => {
      stopped = true;
      poke();
    });
    options.signal?.addEventListener('abort', poke, { once: true });
    while (!options.signal?.aborted) {
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const wasStopped = stopped;
      const hadRotation = rotated.length > 0;
      await followed.refresh();
      for (;;) {
        const { entries, next } = await readBatch(format, followed, offset, followed.size);
        if (next === offset) break;
        offset = next;
        const { batch, done } = selectBatch(entries, options, false);
        if (batch.length > 0) yield batch;
        if (done) return;
      }
      if (hadRotation) {
        // The writer finished the old file before rotating: it is read to its end now.
        const nextSource = rotated.shift()!;
        if (nextSource.inode() === followed.inode()) {
          nextSource.close();
        } else {
          followed.close();
          sources.push(nextSource);
          followed = nextSource;
          offset = 0;
        }
        continue;
      }
      if (wasStopped) return;
      await wakeOrTimeout(woken, FOLLOW_POLL_MS);
    }
  } finally {
    signals?.off('data', poke);
    signals?.off('rotated', onRotated);
    releaseLogSignals(logPath);
    for (const source of [...sources, ...rotated]) source.close();
  }
}

function publicEntry(entry: StoredEntry): LogEntry {
  const out: LogEntry = { log: entry.log, stream: entry.stream, time: entry.time };
  if (entry.attrs) out.attrs = entry.attrs;
  return out;
}

async function wakeOrTimeout(woken: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([woken, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
