/**
 * The in-memory side of one container: its record, its streams, the lock
 * that serializes operations on it, and notifications of its state changes.
 */
import { EventEmitter } from 'node:events';
import type { Mount } from '../../containerd/types.js';
import type { LogWriter } from '../../logs/index.js';
import type { Container } from './record.js';
import { ContainerStreams } from './stdio.js';

export interface ExitInfo {
  exitCode: number;
  /** Epoch ms; now when unknown. */
  exitedAt: number;
}

export class ContainerEntry {
  readonly streams: ContainerStreams;
  /** 'exit' (ExitInfo) at every exit, 'stopped' when it is no longer running, 'removed'. */
  readonly changes = new EventEmitter();
  /** PID of the init process of the current run; 0 when none. Exit events for other PIDs are stale. */
  currentPid = 0;
  /** Output of the current run fully read (FIFO EOF). */
  drained?: Promise<void>;
  logger?: LogWriter;
  /** The snapshot's mounts: stable for the container's life, fetched once. */
  mounts?: Mount[];
  /** Restart-policy bookkeeping (Docker's restart manager). */
  restartBackoffMs = 0;
  restartCanceled = false;
  restartTimer?: NodeJS.Timeout;
  cancelPendingRestart?: () => void;
  /** docker restart in progress: its stop must not auto-remove the container. */
  manualRestart = false;
  /** OOM reported during the current run. */
  oomKilled = false;
  /**
   * Whether the current run's `start` event is out. containerd can report
   * a task event (oom) before the start call returns; such events wait in
   * `heldTaskEvents` so clients see start first, as on Docker.
   */
  startPublished = false;
  private heldTaskEvents: (() => void)[] = [];
  removed = false;
  private chain: Promise<unknown> = Promise.resolve();
  private saving: Promise<unknown> = Promise.resolve();

  constructor(
    public c: Container,
    closeStdin: () => Promise<void>,
  ) {
    this.changes.setMaxListeners(0);
    // As Docker: a client closing its input closes a TTY container's stdin never (its detach must not end the shell).
    this.streams = new ContainerStreams({
      stdinOnce: () => this.c.Config.StdinOnce === true && this.c.Config.Tty !== true,
      closeStdin,
    });
  }

  get id(): string {
    return this.c.ID;
  }

  /** Publishes a task event now, or once the current run's start is published. */
  publishTaskEvent(publish: () => void): void {
    if (this.startPublished) publish();
    else this.heldTaskEvents.push(publish);
  }

  /** A run begins: its task events wait for its start event. */
  runStarting(): void {
    this.startPublished = false;
    this.heldTaskEvents = [];
  }

  /** The start event is out (or, for a reattached run, needs none): held task events follow it. */
  runStartPublished(): void {
    this.startPublished = true;
    const held = this.heldTaskEvents;
    this.heldTaskEvents = [];
    for (const publish of held) publish();
  }

  /** Runs `fn` after every operation queued before it on this container. */
  lock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Serializes writes of this container's files, in call order. */
  serializeSave(write: () => Promise<void>): Promise<void> {
    const run = this.saving.then(write, write);
    this.saving = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the container is not running (now, or at its next stop). */
  whenStopped(): Promise<void> {
    if (!this.c.State.Running || this.removed) return Promise.resolve();
    return this.firstOf('stopped', 'removed');
  }

  /** Resolves at the first of the given `changes` events. */
  firstOf(...events: string[]): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        for (const event of events) this.changes.off(event, done);
        resolve();
      };
      for (const event of events) this.changes.on(event, done);
    });
  }
}
