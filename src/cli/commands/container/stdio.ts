/**
 * The client side of container streams: splitting Docker's multiplexed
 * frames into stdout and stderr, and pumping a hijacked attach connection
 * both ways (stdin half-closed at EOF, a TTY put in raw mode).
 */
import type { Duplex, Readable, Writable } from 'node:stream';
import { DetachKeyScanner } from '../../../engine/containers/detach-keys.js';

/** Splits multiplexed frames (8-byte header: stream, 0, 0, 0, size) into the two outputs. */
export class Demultiplexer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(
    private readonly stdout: Writable,
    private readonly stderr: Writable,
  ) {}

  /** Returns false when an output is full. */
  push(chunk: Buffer): boolean {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let ok = true;
    while (this.pending.length >= 8) {
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      const target = this.pending[0] === 2 ? this.stderr : this.stdout;
      if (payload.length > 0) ok = target.write(payload) && ok;
      this.pending = this.pending.subarray(8 + size);
    }
    return ok;
  }
}

/** Copies a container stream (framed or raw) to the outputs; resolves at its end. */
export function copyOutput(
  source: Readable,
  options: { tty: boolean; stdout: Writable; stderr: Writable; head?: Buffer },
): Promise<void> {
  const demux = options.tty ? undefined : new Demultiplexer(options.stdout, options.stderr);
  const write = (chunk: Buffer): boolean => (demux ? demux.push(chunk) : options.stdout.write(chunk));
  if (options.head?.length) write(options.head);
  return new Promise((resolve) => {
    if (source.readableEnded || source.destroyed) return resolve();
    source.on('data', (chunk: Buffer) => {
      if (!write(chunk)) {
        source.pause();
        const target = options.stdout;
        target.once('drain', () => source.resume());
      }
    });
    source.once('end', resolve);
    source.once('close', resolve);
    source.once('error', () => resolve());
  });
}

/**
 * Sends the client's stdin to a hijacked connection and half-closes it at
 * EOF (the daemon then closes the container's stdin). A TTY is switched to
 * raw mode while attached. With detach keys, their sequence is kept from the
 * container and `onDetach` is called instead (as the docker CLI does, so it
 * detaches at once whatever the daemon does).
 */
export function forwardStdin(
  socket: Duplex,
  stdin: NodeJS.ReadStream,
  tty: boolean,
  detach?: { keys: Buffer; onDetach: () => void },
): () => void {
  const rawMode = tty && stdin.isTTY === true;
  if (rawMode) stdin.setRawMode(true);
  const scanner = detach ? new DetachKeyScanner(detach.keys) : undefined;
  const onData = (chunk: Buffer): void => {
    const scanned = scanner?.feed(chunk) ?? { data: chunk, detached: false };
    if (scanned.data.length > 0 && !socket.write(scanned.data)) {
      stdin.pause();
      socket.once('drain', () => stdin.resume());
    }
    if (scanned.detached) {
      stdin.off('data', onData);
      detach!.onDetach();
    }
  };
  const onEnd = (): void => {
    (socket as Duplex & { end: () => void }).end();
  };
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    if (rawMode) stdin.setRawMode(false);
    stdin.pause();
  };
}

/** Sends the terminal's size now and whenever it changes (SIGWINCH); returns a function that stops. */
export function followTerminalSize(resize: (height: number, width: number) => Promise<unknown>): () => void {
  const out = process.stdout;
  if (!out.isTTY) return () => undefined;
  const send = (): void => {
    if (out.rows > 0 && out.columns > 0) void resize(out.rows, out.columns).catch(() => undefined);
  };
  send();
  out.on('resize', send);
  return () => out.off('resize', send);
}
