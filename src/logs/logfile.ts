/**
 * The writing end of a file-based log: records are queued and written in
 * batches (one write while the previous one is in flight, so a fast
 * container costs few syscalls and a slow disk pushes back through the
 * queue bound), and the file is rotated by size: `<path>` → `<path>.1` → …,
 * keeping max-file files in all, the rotated ones gzip-compressed in the
 * background when asked.
 *
 * What a crash of berthd (kill -9) costs: output the container writes while
 * berthd is away waits in the FIFO (64 KiB), then the container blocks in
 * write() until the restarted berthd reopens the FIFO; none of it is lost.
 * What is lost is what berthd had already read but not yet written: its
 * socket buffer and this queue (64 KiB each, hence the small HIGH_WATER),
 * one read being encoded, and a line still waiting for its newline. The
 * integration test measures it: 0 to ~550 lines of 100 bytes over runs.
 */
import fs from 'node:fs';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { errorMessage } from '../common/errors.js';
import { log } from '../common/log.js';
import { generationPath } from './files.js';
import type { EncodedBatch, LogFormat } from './formats.js';
import { releaseLogSignals, logSignals } from './signals.js';

const writeAsync = promisify(fs.write);
const readAsync = promisify(fs.read);

/** Queued bytes above which writers are told to wait: small, so a crash loses little (see above). */
const HIGH_WATER = 64 * 1024;
/** One write at most this big. */
const MAX_BATCH = 1024 * 1024;

export interface RotationOptions {
  /** Bytes; 0 for no rotation. */
  maxSize: number;
  /** Files kept, the current one included (at least 1). */
  maxFiles: number;
  compress: boolean;
}

export class LogFile {
  private fd: number;
  private size: number;
  private queue: EncodedBatch[] = [];
  private queuedBytes = 0;
  private flushing?: Promise<void>;
  private compressing: Promise<void> = Promise.resolve();
  private drainWaiters: (() => void)[] = [];
  private closed = false;
  private readonly signals;

  constructor(
    readonly path: string,
    private readonly format: LogFormat,
    private readonly rotation: RotationOptions,
  ) {
    this.fd = fs.openSync(path, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o640);
    this.size = fs.fstatSync(this.fd).size;
    this.signals = logSignals(path);
    if (this.size > 0) this.flushing = this.repairTail().finally(() => this.afterFlush());
  }

  /** Queues records; false when the queue is full (wait for onceDrain). */
  append(records: EncodedBatch): boolean {
    if (this.closed || records.data.length === 0) return true;
    this.queue.push(records);
    this.queuedBytes += records.data.length;
    this.flushing ??= this.flush().finally(() => this.afterFlush());
    return this.queuedBytes < HIGH_WATER;
  }

  onceDrain(callback: () => void): void {
    if (this.queuedBytes < HIGH_WATER) callback();
    else this.drainWaiters.push(callback);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    await this.compressing;
    fs.closeSync(this.fd);
    this.releaseWaiters();
    releaseLogSignals(this.path);
  }

  private afterFlush(): void {
    this.flushing = undefined;
    if (this.queue.length > 0) this.flushing = this.flush().finally(() => this.afterFlush());
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      let bytes = 0;
      let count = 0;
      let rotate = false;
      const { maxSize } = this.rotation;
      for (let i = 0; i < this.queue.length; i++) {
        const item = this.queue[i];
        const room = maxSize > 0 ? maxSize - (this.size + bytes) : Infinity;
        if (item.data.length > room) {
          // Take the records that still fit (a record bigger than max-size goes alone into a new file).
          let cut = 0;
          for (const end of item.ends) if (end <= room) cut = end;
          if (cut === 0 && this.size + bytes === 0) cut = item.ends[0] ?? item.data.length;
          if (cut > 0 && cut < item.data.length) {
            this.queue.splice(i, 1, splitBatch(item, 0, cut), splitBatch(item, cut, item.data.length));
            bytes += cut;
            count++;
          } else if (cut === item.data.length) {
            bytes += cut;
            count++;
          }
          rotate = true;
          break;
        }
        bytes += item.data.length;
        count++;
        if (bytes >= MAX_BATCH) break;
      }
      const batch = this.queue.splice(0, count).map((item) => item.data);
      if (count > 0) {
        await this.writeBatch(batch.length === 1 ? batch[0] : Buffer.concat(batch, bytes));
        this.queuedBytes -= bytes;
        this.signals.emit('data');
      }
      if (rotate) await this.rotate();
      if (this.queuedBytes < HIGH_WATER) this.releaseWaiters();
    }
  }

  private async writeBatch(data: Buffer): Promise<void> {
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await writeAsync(this.fd, data, written, data.length - written);
        written += bytesWritten;
      }
      this.size += data.length;
    } catch (err) {
      // Docker drops messages it cannot write rather than stopping the container.
      log.error('writing container log failed; messages dropped', {
        file: this.path,
        error: errorMessage(err),
      });
      this.size = fs.fstatSync(this.fd).size;
    }
  }

  private releaseWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  /**
   * Shifts the generations and starts a new current file. The oldest beyond
   * max-file goes; with max-file 1 the current file is simply unlinked, so a
   * follower holding it still reads it to its end.
   */
  private async rotate(): Promise<void> {
    const { maxFiles, compress } = this.rotation;
    await this.compressing;
    try {
      fs.closeSync(this.fd);
      if (maxFiles <= 1) {
        await fs.promises.rm(this.path, { force: true });
      } else {
        for (const gz of [false, true]) {
          await fs.promises.rm(generationPath(this.path, maxFiles - 1, gz), { force: true });
        }
        for (let index = maxFiles - 2; index >= 1; index--) {
          for (const gz of [false, true])
            await renameIfExists(
              generationPath(this.path, index, gz),
              generationPath(this.path, index + 1, gz),
            );
        }
        await fs.promises.rename(this.path, generationPath(this.path, 1));
      }
    } catch (err) {
      log.error('rotating container log failed', { file: this.path, error: errorMessage(err) });
    }
    this.fd = fs.openSync(
      this.path,
      fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT,
      0o640,
    );
    this.size = fs.fstatSync(this.fd).size;
    this.signals.emit('rotated');
    if (compress && maxFiles > 1) this.compressing = compressGeneration(generationPath(this.path, 1));
  }

  /**
   * A crash may have torn the last record. json-file: the torn line is ended
   * with a newline (readers skip it as damaged). local: the file is cut back
   * to the last whole record, or the framing would be lost for what follows.
   */
  private async repairTail(): Promise<void> {
    try {
      if (this.format.name === 'json-file') {
        const last = await readAt(this.path, this.size - 1, 1);
        if (last[0] !== 0x0a) await this.writeBatch(Buffer.from('\n'));
        return;
      }
      const good = await lastWholeRecordEnd(this.path, this.format, this.size);
      if (good !== this.size) {
        log.warn('cutting a torn record off the container log', { file: this.path, bytes: this.size - good });
        fs.ftruncateSync(this.fd, good);
        this.size = good;
      }
    } catch (err) {
      log.warn('checking the end of the container log failed', { file: this.path, error: errorMessage(err) });
    }
  }
}

/** The records of `batch` between two of its record boundaries. */
function splitBatch(batch: EncodedBatch, from: number, to: number): EncodedBatch {
  return {
    data: batch.data.subarray(from, to),
    ends: batch.ends.filter((end) => end > from && end <= to).map((end) => end - from),
  };
}

async function readAt(file: string, position: number, length: number): Promise<Buffer> {
  const handle = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    await handle.read(buf, 0, length, position);
    return buf;
  } finally {
    await handle.close();
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Compresses `<file>` to `<file>.gz` (through a temporary name), then removes `<file>`. */
async function compressGeneration(file: string): Promise<void> {
  const temporary = `${file}.gz.tmp`;
  try {
    await pipeline(fs.createReadStream(file), createGzip(), fs.createWriteStream(temporary, { mode: 0o640 }));
    await fs.promises.rename(temporary, `${file}.gz`);
    await fs.promises.rm(file, { force: true });
  } catch (err) {
    log.warn('compressing a rotated container log failed', { file, error: errorMessage(err) });
    await fs.promises.rm(temporary, { force: true });
  }
}

/** The end of the last complete record: checked from the end first, walked from the start when damaged. */
async function lastWholeRecordEnd(file: string, format: LogFormat, size: number): Promise<number> {
  const fd = fs.openSync(file, 'r');
  try {
    const tailLength = Math.min(size, 64 * 1024);
    const tail = Buffer.alloc(tailLength);
    await readAsync(fd, tail, 0, tailLength, size - tailLength);
    const start = format.recordStartBefore(tail, size - tailLength, size);
    if (start !== undefined) {
      let whole = false;
      format.decode(tail, start - (size - tailLength), (entry, _at, end) => {
        whole = entry !== undefined && end === tail.length;
      });
      if (whole) return size;
    }
    // Walk the file from its start.
    let goodEnd = 0;
    let carry = Buffer.alloc(0);
    let position = 0;
    let damaged = false;
    while (position < size && !damaged) {
      const chunk = Buffer.alloc(Math.min(1024 * 1024, size - position));
      const { bytesRead } = await readAsync(fd, chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      const base = position - carry.length;
      position += bytesRead;
      const buf = carry.length
        ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
        : chunk.subarray(0, bytesRead);
      const consumed = format.decode(buf, 0, (entry, _at, end) => {
        if (!entry) damaged = true;
        if (!damaged) goodEnd = base + end;
      });
      carry = Buffer.from(buf.subarray(consumed));
    }
    return goodEnd;
  } finally {
    fs.closeSync(fd);
  }
}
