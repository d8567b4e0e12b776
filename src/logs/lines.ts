/**
 * Splits one stream's output into log messages the way Docker's copier does:
 * at newlines, and into 16 KiB parts when a line grows longer without one.
 * The parts of one line share an id and count up from ordinal 1; the one
 * that ends the line (at its newline) is marked last. Works on bytes, so a
 * UTF-8 character split across reads stays whole within its line.
 */
import { randomBytes } from 'node:crypto';

export const MAX_MESSAGE = 16 * 1024;

/** Docker's PartialLogMetaData: which part of a split line a message is. */
export interface LinePart {
  /** 64 hex characters, the same for every part of the line. */
  id: string;
  /** 1 for the first part. */
  ordinal: number;
  /** The part that ends the line (a newline follows it). */
  last: boolean;
}

/** True when a message does not end its line: it is stored and read back without a newline. */
export function continuesLine(part: LinePart | undefined): boolean {
  return part !== undefined && !part.last;
}

/** `line` excludes the newline; `part` is set for the parts of a line longer than MAX_MESSAGE. */
export type EmitMessage = (line: Buffer, part?: LinePart) => void;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The line being split, once its first part went out. */
  private split?: { id: string; ordinal: number };

  push(chunk: Buffer, emit: EmitMessage): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      let piece = chunk.subarray(start, end);
      while (this.pendingBytes + piece.length >= MAX_MESSAGE) {
        // As Docker's copier: a full buffer goes out as a partial message even when a newline follows.
        const take = MAX_MESSAGE - this.pendingBytes;
        emit(this.take(piece.subarray(0, take)), this.nextPart(false));
        piece = piece.subarray(take);
      }
      if (newline < 0) {
        if (piece.length > 0) {
          // Copied: the chunk's buffer may be reused by the stream.
          this.pending.push(Buffer.from(piece));
          this.pendingBytes += piece.length;
        }
        return;
      }
      emit(this.take(piece), this.split ? this.nextPart(true) : undefined);
      start = newline + 1;
    }
  }

  /** Emits what is left as a partial message (the stream ended without a newline). */
  flush(emit: EmitMessage): void {
    if (this.pendingBytes > 0) emit(this.take(Buffer.alloc(0)), this.nextPart(false));
    // A later run of the container starts new lines.
    this.split = undefined;
  }

  private nextPart(last: boolean): LinePart {
    this.split ??= { id: randomBytes(32).toString('hex'), ordinal: 0 };
    const part = { id: this.split.id, ordinal: ++this.split.ordinal, last };
    if (last) this.split = undefined;
    return part;
  }

  private take(last: Buffer): Buffer {
    if (this.pendingBytes === 0) return last;
    const line = Buffer.concat([...this.pending, last]);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}
