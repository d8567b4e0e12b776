/**
 * What a user does to a container's run: start, stop, kill, restart, pause
 * and unpause, and waiting for it to reach a state.
 */
import {
  conflict,
  errorMessage,
  isEngineError,
  notFound,
  notModified,
  systemError,
} from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerWaitResponse } from '../../types/container.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry } from './entry.js';
import { cancelRestart } from './restart.js';
import { withTimeout } from './runtime.js';
import { SIGKILL, parseSignal, stopSignalOf } from './signals.js';
import type { ContainerStarter } from './start.js';

const DEFAULT_STOP_TIMEOUT_S = 10;

export interface StopOptions {
  signal?: string;
  /** Seconds; negative waits forever. */
  timeout?: number;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

export class ContainerLifecycle {
  constructor(
    private readonly context: ContainerContext,
    private readonly starter: ContainerStarter,
  ) {}

  async start(term: string): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const state = entry.c.State;
      if (state.Paused) throw conflict('cannot start a paused container, try unpause instead');
      if (state.Running && !state.Restarting) throw notModified('Container already started');
      if (state.RemovalInProgress || state.Dead || entry.removed) {
        throw conflict('container is marked for removal and cannot be started');
      }
      await this.startManually(entry);
    });
  }

  /** A user's start: the restart policy's count and backoff begin afresh. */
  private async startManually(entry: ContainerEntry): Promise<void> {
    cancelRestart(entry);
    entry.restartCanceled = false;
    entry.restartBackoffMs = 0;
    entry.c.RestartCount = 0;
    entry.c.HasBeenManuallyStopped = false;
    await this.starter.startTask(entry);
  }

  async kill(term: string, signalName?: string): Promise<void> {
    const signal = signalName ? parseSignal(signalName) : SIGKILL;
    const entry = this.context.find(term);
    if (!entry.c.State.Running) throw conflict(`Container ${entry.id} is not running`);
    await this.signal(entry, signal);
    if (signal === SIGKILL) await withTimeout(entry.whenStopped(), 10_000);
  }

  /**
   * Sends a signal the way Docker's killWithSignal does: the stop signal or
   * SIGKILL also cancels the restart policy, any signal marks the container
   * manually stopped, a paused container is resumed so the signal lands.
   */
  async signal(entry: ContainerEntry, signal: number): Promise<void> {
    const c = entry.c;
    if (signal === SIGKILL || signal === stopSignalOf(c.Config.StopSignal)) {
      entry.restartCanceled = true;
      if (cancelRestart(entry)) {
        await this.context.save(entry);
        entry.changes.emit('stopped');
      }
    }
    if (!this.context.isShuttingDown()) {
      c.HasBeenManuallyStopped = true;
      await this.context.save(entry);
    }
    if (!c.State.Running || c.State.Restarting) return;
    try {
      await this.context.ctr().tasks.kill(c.ID, signal, { all: signal === SIGKILL });
    } catch (err) {
      if (!isEngineError(err, 'NotFound'))
        throw systemError(`Cannot kill container ${c.ID}: ${errorMessage(err)}`, err);
    }
    if (c.State.Paused)
      await this.context
        .ctr()
        .tasks.resume(c.ID)
        .catch(() => undefined);
    this.context.event(c, 'kill', { signal: String(signal) });
  }

  async stop(term: string, options: StopOptions = {}): Promise<void> {
    const entry = this.context.find(term);
    if (!entry.c.State.Running) throw notModified('Container already stopped');
    await this.stopEntry(entry, options);
  }

  async stopEntry(entry: ContainerEntry, options: StopOptions): Promise<void> {
    const c = entry.c;
    if (!c.State.Running) return;
    const signal = options.signal ? parseSignal(options.signal) : stopSignalOf(c.Config.StopSignal);
    const timeoutS = options.timeout ?? c.Config.StopTimeout ?? DEFAULT_STOP_TIMEOUT_S;
    let signalFailed = false;
    try {
      await this.signal(entry, signal);
      entry.restartCanceled = true;
      if (cancelRestart(entry)) {
        await this.context.save(entry);
        entry.changes.emit('stopped');
      }
    } catch (err) {
      signalFailed = true;
      log.warn('sending the stop signal failed', { container: c.ID, error: errorMessage(err) });
    }
    const graceMs = signalFailed ? 2000 : timeoutS < 0 ? Infinity : timeoutS * 1000;
    if (!(await withTimeout(entry.whenStopped(), graceMs))) {
      log.info('Container failed to exit within timeout of signal - using the force', {
        container: c.ID,
        signal,
      });
      await this.signal(entry, SIGKILL);
      if (!(await withTimeout(entry.whenStopped(), 10_000))) {
        throw systemError(
          `cannot stop container: ${c.ID}: tried to kill container, but did not receive an exit event`,
        );
      }
    }
    this.context.event(c, 'stop');
  }

  async restart(term: string, options: StopOptions = {}): Promise<void> {
    const entry = this.context.find(term);
    entry.manualRestart = true;
    try {
      if (entry.c.State.Running) await this.stopEntry(entry, options);
      await entry.lock(async () => {
        if (entry.removed) throw notFound(`No such container: ${term}`);
        if (entry.c.State.Running && !entry.c.State.Restarting) return;
        await this.startManually(entry);
      });
    } finally {
      entry.manualRestart = false;
    }
    this.context.event(entry.c, 'restart');
  }

  async pause(term: string): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const c = entry.c;
      if (!c.State.Running) throw conflict(`Container ${c.ID} is not running`);
      if (c.State.Paused) throw conflict(`Container ${c.ID} is already paused`);
      if (c.State.Restarting)
        throw conflict(`Container ${c.ID} is restarting, wait until the container is running`);
      await this.context.ctr().tasks.pause(c.ID);
      c.State.Paused = true;
      await this.context.save(entry);
      this.context.event(c, 'pause');
    });
  }

  async unpause(term: string): Promise<void> {
    const entry = this.context.find(term);
    await entry.lock(async () => {
      const c = entry.c;
      if (!c.State.Paused) throw conflict(`Container ${c.ID} is not paused`);
      await this.context.ctr().tasks.resume(c.ID);
      c.State.Paused = false;
      await this.context.save(entry);
      this.context.event(c, 'unpause');
    });
  }

  /**
   * Docker's wait: resolves with the exit status once the condition holds.
   * The promise is made before it returns, so a caller that answers HTTP
   * headers after calling this cannot miss the exit.
   */
  wait(
    term: string,
    condition: WaitCondition = 'not-running',
    signal?: AbortSignal,
  ): Promise<ContainerWaitResponse> {
    const entry = this.context.find(term);
    const response = (): ContainerWaitResponse => {
      const error = entry.c.State.Error;
      return error
        ? { StatusCode: entry.c.State.ExitCode, Error: { Message: error } }
        : { StatusCode: entry.c.State.ExitCode };
    };
    if (condition === 'not-running' && (!entry.c.State.Running || entry.removed))
      return Promise.resolve(response());
    if (condition === 'removed' && entry.removed) return Promise.resolve(response());
    const eventName = condition === 'next-exit' ? 'exit' : condition === 'removed' ? 'removed' : 'stopped';
    return new Promise((resolve, reject) => {
      const done = (): void => {
        cleanup();
        resolve(response());
      };
      const aborted = (): void => {
        cleanup();
        reject(signal?.reason ?? new Error('aborted'));
      };
      const cleanup = (): void => {
        entry.changes.off(eventName, done);
        if (condition === 'not-running') entry.changes.off('removed', done);
        signal?.removeEventListener('abort', aborted);
      };
      entry.changes.on(eventName, done);
      if (condition === 'not-running') entry.changes.on('removed', done);
      signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}
