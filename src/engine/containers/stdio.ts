/**
 * A container's streams: what its process writes (read from containerd's
 * FIFOs) goes to the log and to every attached client, and what attached
 * clients type goes to its stdin. This object lives as long as the
 * container; each run plugs its FIFOs in and out of it.
 */
import type { Readable, Writable } from 'node:stream';
import { log } from '../../common/log.js';
import type { FifoStreams } from '../../containerd/fifo.js';
import { DetachKeyScanner } from './detach-keys.js';
import type { LogWriter, StdStream } from '../../logs/index.js';

/** One attached client's output side. */
export interface OutputSink {
  stdout: boolean;
  stderr: boolean;
  /** Returns false when the client is behind; output then pauses until onceDrain. */
  write(stream: StdStream, chunk: Buffer): boolean;
  onceDrain(callback: () => void): void;
  /** The run's output ended (the process exited) or the client was detached. */
  end(): void;
}

/** Bound on stdin typed before the process runs (docker run -i attaches before it starts). */
const MAX_PENDING_STDIN = 1024 * 1024;

interface Run {
  fifos: FifoStreams;
  drained: Promise<void>;
}

export class ContainerStreams {
  private readonly sinks = new Set<OutputSink>();
  private run?: Run;
  private logger?: LogWriter;
  private pendingStdin: Buffer[] = [];
  private pendingStdinBytes = 0;
  private stdinClosed = false;
  /** The client closed stdin before the process started: close it once it runs. */
  private stdinEndRequested = false;
  /** The current run's process was started (its stdin FIFO is open on the shim's side). */
  private started = false;
  private paused = 0;
  /** Resumes owed to each consumer that made the output pause. */
  private readonly holds = new Map<object, (() => void)[]>();
  private sources: Readable[] = [];

  /**
   * @param closeStdin called when stdin must be closed for the process
   * (StdinOnce and the attached client closed its input): tells containerd.
   */
  constructor(private readonly options: { stdinOnce: () => boolean; closeStdin: () => Promise<void> }) {}

  get running(): boolean {
    return this.run !== undefined;
  }

  setLogger(logger: LogWriter | undefined): void {
    this.logger = logger;
  }

  /**
   * Plugs a run's FIFOs in. Resolves `drained` once both output FIFOs
   * reached EOF (the process and everything holding its stdio is gone) and
   * the log has the last partial lines; attached clients are ended then.
   */
  beginRun(fifos: FifoStreams): Promise<void> {
    this.stdinClosed = false;
    const outputs: [StdStream, Readable | undefined][] = [
      ['stdout', fifos.stdout],
      ['stderr', fifos.stderr],
    ];
    this.sources = outputs.map(([, source]) => source).filter((s): s is Readable => s !== undefined);
    const ended = outputs.map(([stream, source]) =>
      source
        ? new Promise<void>((resolve) => {
            source.on('data', (chunk: Buffer) => this.dispatch(stream, chunk));
            source.once('end', resolve);
            source.once('close', resolve);
            source.once('error', (err) => {
              log.debug('container output stream failed', { stream, error: err.message });
              resolve();
            });
          })
        : Promise.resolve(),
    );
    const drained = Promise.all(ended).then(() => {
      this.logger?.flushPartial();
      for (const sink of this.sinks) sink.end();
      this.sinks.clear();
    });
    this.run = { fifos, drained };
    if (fifos.stdin) {
      fifos.stdin.on('error', () => undefined);
      for (const chunk of this.pendingStdin) fifos.stdin.write(chunk);
    }
    this.pendingStdin = [];
    this.pendingStdinBytes = 0;
    return drained;
  }

  /**
   * The process runs: a stdin close asked for before it started is done
   * now (earlier, the shim would not have opened the FIFO yet and the input
   * written so far would be lost with it).
   */
  processStarted(): void {
    this.started = true;
    if (!this.stdinEndRequested) return;
    this.stdinEndRequested = false;
    void this.closeStdin();
  }

  /** Unplugs the run: closes berth's ends of its FIFOs. */
  endRun(): void {
    this.started = false;
    this.run?.fifos.close();
    this.run = undefined;
    this.sources = [];
    this.paused = 0;
  }

  /** Attaches a client's output; returns a detach function. */
  attachOutput(sink: OutputSink): () => void {
    this.sinks.add(sink);
    return () => {
      if (!this.sinks.delete(sink)) return;
      for (const resume of this.holds.get(sink) ?? []) resume();
      this.holds.delete(sink);
      sink.end();
    };
  }

  /**
   * Forwards a client's input to the process. When it ends and the
   * container is StdinOnce, the process's stdin is closed.
   */
  attachInput(input: Readable, detach?: { keys: Buffer; onDetach: () => void }): void {
    const scanner = detach ? new DetachKeyScanner(detach.keys) : undefined;
    let detached = false;
    const onData = (chunk: Buffer): void => {
      if (detached) return;
      const scanned = scanner?.feed(chunk) ?? { data: chunk, detached: false };
      if (scanned.data.length > 0 && !this.writeStdin(scanned.data)) {
        // The process is not reading: stop reading the client until it does.
        input.pause();
        this.run?.fifos.stdin?.once('drain', () => input.resume());
      }
      if (scanned.detached) {
        // Detaching leaves the process's stdin open, unlike the client closing it.
        detached = true;
        input.off('data', onData);
        detach!.onDetach();
      }
    };
    input.on('data', onData);
    input.once('end', () => {
      if (!detached && this.options.stdinOnce()) void this.closeStdin();
    });
    input.on('error', () => undefined);
  }

  /** False when the process's stdin pipe is full. */
  private writeStdin(chunk: Buffer): boolean {
    if (this.stdinClosed) return true;
    const stdin: Writable | undefined = this.run?.fifos.stdin;
    if (stdin) return stdin.write(chunk);
    if (this.pendingStdinBytes + chunk.length > MAX_PENDING_STDIN) return true;
    this.pendingStdin.push(chunk);
    this.pendingStdinBytes += chunk.length;
    return true;
  }

  private async closeStdin(): Promise<void> {
    if (this.stdinClosed) return;
    if (!this.run || !this.started) {
      this.stdinEndRequested = true;
      return;
    }
    this.stdinClosed = true;
    const stdin = this.run.fifos.stdin;
    if (stdin) await new Promise<void>((resolve) => stdin.end(resolve));
    try {
      await this.options.closeStdin();
    } catch (err) {
      log.debug('closing container stdin failed', { error: (err as Error).message });
    }
  }

  private dispatch(stream: StdStream, chunk: Buffer): void {
    const logger = this.logger;
    if (logger && !logger.write(stream, chunk)) this.hold(logger, (resume) => logger.onceDrain(resume));
    for (const sink of this.sinks) {
      if (!sink[stream]) continue;
      if (!sink.write(stream, chunk)) this.hold(sink, (resume) => sink.onceDrain(resume));
    }
  }

  /** Pauses the FIFOs until a slow consumer drains: the process blocks on a full pipe, nothing buffers. */
  private hold(consumer: object, waitForDrain: (resume: () => void) => void): void {
    if (this.paused++ === 0) for (const source of this.sources) source.pause();
    let resumed = false;
    const resume = (): void => {
      if (resumed) return;
      resumed = true;
      const owed = this.holds.get(consumer);
      owed?.splice(owed.indexOf(resume), 1);
      if (--this.paused === 0) for (const source of this.sources) source.resume();
    };
    this.holds.set(consumer, [...(this.holds.get(consumer) ?? []), resume]);
    waitForDrain(resume);
  }
}
