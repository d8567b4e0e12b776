/**
 * Stdio FIFOs between berth and a containerd shim. Node cannot mkfifo, so one
 * `mkfifo` process creates all FIFOs of a process (~2 ms). Read ends are opened
 * non-blocking (the shim's O_WRONLY open blocks until a reader exists, so open
 * them before Tasks.create/exec); the stdin end is opened O_RDWR so the open
 * neither blocks nor fails with ENXIO while the shim has no reader yet.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { systemError } from '../common/errors.js';

const execFileAsync = promisify(execFile);

export interface FifoSet {
  /** Directory holding the FIFOs. */
  dir: string;
  stdin?: string;
  stdout?: string;
  /** Absent in terminal mode: the pty merges stderr into stdout. */
  stderr?: string;
  terminal: boolean;
}

export interface FifoSetOptions {
  stdin?: boolean;
  /** Default true. Non-terminal processes need both stdout and stderr, or neither. */
  stdout?: boolean;
  /** Default true unless terminal. */
  stderr?: boolean;
  terminal?: boolean;
}

/**
 * Opened ends of a FifoSet: stdin writable, stdout/stderr readable (EOF when
 * the process's side closes). The shim keeps its own write end of the stdin
 * FIFO open, so ending our stdin does not reach the process: end it, then call
 * tasks.closeIO(containerId, execId) (data still in the pipe is delivered first).
 * Input written before the shim opened the FIFO (at Tasks.create/exec) waits
 * in the pipe, as long as our end stays open until then.
 */
export interface FifoStreams {
  stdin?: net.Socket;
  stdout?: net.Socket;
  stderr?: net.Socket;
  /** Destroys every opened end. */
  close(): void;
}

/**
 * Creates the FIFOs `<dir>/<id>-stdin|stdout|stderr` (mode 0600), creating
 * `dir` (mode 0700) if needed. Existing FIFOs of the same names are reused.
 */
export async function createFifoSet(dir: string, id: string, opts: FifoSetOptions = {}): Promise<FifoSet> {
  const terminal = opts.terminal ?? false;
  const set: FifoSet = { dir, terminal };
  if (opts.stdin) set.stdin = path.join(dir, `${id}-stdin`);
  if (opts.stdout ?? true) set.stdout = path.join(dir, `${id}-stdout`);
  if (opts.stderr ?? !terminal) set.stderr = path.join(dir, `${id}-stderr`);
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  const missing = [];
  for (const fifo of fifoPaths(set)) {
    if (!(await isFifo(fifo))) missing.push(fifo);
  }
  if (missing.length > 0) {
    try {
      await execFileAsync('mkfifo', ['-m', '0600', '--', ...missing]);
    } catch (err) {
      throw systemError(`creating stdio FIFOs in ${dir}: ${(err as { stderr?: string }).stderr || err}`, err);
    }
  }
  return set;
}

/** Opens the FIFOs of `set` without blocking. */
export function openFifoSet(set: FifoSet): FifoStreams {
  const streams: FifoStreams = {
    close() {
      for (const stream of [streams.stdin, streams.stdout, streams.stderr]) stream?.destroy();
    },
  };
  try {
    if (set.stdout) streams.stdout = openReader(set.stdout);
    if (set.stderr) streams.stderr = openReader(set.stderr);
    if (set.stdin) streams.stdin = openWriter(set.stdin);
  } catch (err) {
    streams.close();
    throw systemError(`opening stdio FIFOs in ${set.dir}: ${(err as Error).message}`, err);
  }
  return streams;
}

/** Removes the FIFOs of `set`, and its directory if that leaves it empty. */
export async function removeFifoSet(set: FifoSet): Promise<void> {
  await Promise.all(fifoPaths(set).map((fifo) => fs.promises.rm(fifo, { force: true })));
  try {
    await fs.promises.rmdir(set.dir);
  } catch {
    // Not empty (other processes' FIFOs) or already gone.
  }
}

export function fifoPaths(set: FifoSet): string[] {
  return [set.stdin, set.stdout, set.stderr].filter((p): p is string => p !== undefined);
}

function openReader(fifo: string): net.Socket {
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: true, writable: false });
}

function openWriter(fifo: string): net.Socket {
  const fd = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}

async function isFifo(file: string): Promise<boolean> {
  try {
    return (await fs.promises.lstat(file)).isFIFO();
  } catch {
    return false;
  }
}
