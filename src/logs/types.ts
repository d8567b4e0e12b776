/**
 * What the log drivers share: the streams a container writes, one log entry
 * as readers see it, the writer side the container's output hub feeds, and
 * the options of a read.
 */
export type StdStream = 'stdout' | 'stderr';

/** One log message: a line with its newline, or a part of a longer one (no newline). */
export interface LogEntry {
  log: string;
  stream: StdStream;
  /** RFC 3339 with nanoseconds. */
  time: string;
  /** Extra attributes (log-opts labels/env), shown by `logs --details`. */
  attrs?: Record<string, string>;
}

/** The writing side of a log driver: what a container's output goes through. */
export interface LogWriter {
  /** Returns false when the driver is behind: wait for onceDrain before writing more. */
  write(stream: StdStream, chunk: Buffer): boolean;
  onceDrain(callback: () => void): void;
  /** Writes what is left of partial lines (end of a run). */
  flushPartial(): void;
  /** Flushes and closes. */
  close(): Promise<void>;
}

export interface ReadLogOptions {
  stdout: boolean;
  stderr: boolean;
  /** Last N entries only; undefined or negative for all. */
  tail?: number;
  /** Epoch nanoseconds; entries before are skipped. */
  since?: bigint;
  /** Epoch nanoseconds; entries after are skipped. */
  until?: bigint;
  follow?: boolean;
  /** With follow: resolves when no more output will come (the container stopped). */
  stopped?: Promise<void>;
  signal?: AbortSignal;
}
