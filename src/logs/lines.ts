/**
 * Splits one stream's output into log messages the way Docker's copier does:
 * at newlines, and into 16 KiB parts when a line grows longer without one
 * (each part then marked partial). Works on bytes, so a UTF-8 character split
 * across reads stays whole within its line.
 */
export const MAX_MESSAGE = 16 * 1024;

/** `line` excludes the newline; `partial` says the line goes on in the next message. */
export type EmitMessage = (line: Buffer, partial: boolean) => void;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer, emit: EmitMessage): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      let piece = chunk.subarray(start, end);
      while (this.pendingBytes + piece.length >= MAX_MESSAGE) {
        // As Docker's copier: a full buffer goes out as a partial message even when a newline follows.
        const take = MAX_MESSAGE - this.pendingBytes;
        emit(this.take(piece.subarray(0, take)), true);
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
      emit(this.take(piece), false);
      start = newline + 1;
    }
  }

  /** Emits what is left as a partial message (the stream ended without a newline). */
  flush(emit: EmitMessage): void {
    if (this.pendingBytes > 0) emit(this.take(Buffer.alloc(0)), true);
  }

  private take(last: Buffer): Buffer {
    if (this.pendingBytes === 0) return last;
    const line = Buffer.concat([...this.pending, last]);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}
