/**
 * A run ending: the exit recorded once its last output is read, the task
 * deleted, and the restart policy applied (a restart is scheduled with its
 * backoff, or the container stops and waiters are told).
 */
import { errorMessage, isEngineError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry, ExitInfo } from './entry.js';
import { dateToRfc3339 } from './record.js';
import { decideRestart } from './restart.js';
import type { ContainerStarter } from './start.js';

/** How long an exit waits for the last output to be read (Docker: 2 s). */
const DRAIN_TIMEOUT_MS = 2000;

export class ContainerExits {
  constructor(
    private readonly context: ContainerContext,
    private readonly starter: ContainerStarter,
    /** Removes an AutoRemove container once it has stopped for good. */
    private readonly autoRemove: (entry: ContainerEntry) => Promise<void>,
  ) {}

  /** A task of ours exited (containerd event, or found exited when reconciling). */
  onTaskExit(containerId: string, pid: number, exit: ExitInfo): void {
    const entry = this.context.entries.get(containerId);
    if (!entry) return;
    void entry
      .lock(() => this.handleExit(entry, pid, exit))
      .catch((err) =>
        log.error('handling container exit failed', { container: containerId, error: errorMessage(err) }),
      );
  }

  /**
   * Records an exit: waits (briefly) for the last output, deletes the task,
   * applies the restart policy, and tells waiters. Stale and duplicate exits
   * (another PID than the current run's) are ignored.
   */
  async handleExit(entry: ContainerEntry, pid: number, exit: ExitInfo): Promise<void> {
    const c = entry.c;
    if (entry.currentPid === 0 || (pid !== 0 && pid !== entry.currentPid) || !c.State.Running) {
      log.debug('ignoring a stale exit', {
        container: c.ID,
        pid,
        current: entry.currentPid,
        running: c.State.Running,
      });
      return;
    }
    entry.currentPid = 0;
    if (entry.drained) {
      await Promise.race([entry.drained, new Promise((resolve) => setTimeout(resolve, DRAIN_TIMEOUT_MS))]);
    }
    let exitCode = exit.exitCode;
    let exitedAt = exit.exitedAt;
    try {
      const deleted = await this.context.ctr().tasks.delete(c.ID, { timeoutMs: 30_000 });
      if (deleted.exitedAt) {
        exitCode = deleted.exitStatus;
        exitedAt = deleted.exitedAt.getTime();
      }
    } catch (err) {
      if (!isEngineError(err, 'NotFound'))
        log.warn('deleting the exited task failed', { container: c.ID, error: errorMessage(err) });
    }
    await this.starter.releaseRun(entry);
    this.context.layerSizes.changed(c.ID);

    const runMs = exitedAt - Date.parse(c.State.StartedAt);
    const decision = decideRestart({
      policy: c.HostConfig.RestartPolicy,
      exitCode,
      manuallyStopped: c.HasBeenManuallyStopped || this.context.isShuttingDown(),
      canceled: entry.restartCanceled || this.context.isShuttingDown(),
      restartCount: c.RestartCount,
      runMs,
      previousBackoffMs: entry.restartBackoffMs,
    });
    entry.restartBackoffMs = decision.backoffMs;
    const state = c.State;
    state.Pid = 0;
    state.Paused = false;
    state.ExitCode = exitCode;
    state.FinishedAt = dateToRfc3339(new Date(exitedAt));
    state.OOMKilled = entry.oomKilled;
    if (decision.restart) {
      c.RestartCount++;
      state.Restarting = true;
      state.Running = true;
    } else {
      state.Running = false;
      state.Restarting = false;
    }
    await this.context.save(entry);
    this.context.event(c, 'die', {
      exitCode: String(exitCode),
      execDuration: String(Math.max(0, Math.floor(runMs / 1000))),
    });
    entry.changes.emit('exit', { exitCode, exitedAt });
    if (decision.restart) {
      this.scheduleRestart(entry, decision.backoffMs);
      return;
    }
    entry.changes.emit('stopped');
    if (c.HostConfig.AutoRemove && !entry.manualRestart) void this.autoRemove(entry);
  }

  private scheduleRestart(entry: ContainerEntry, delayMs: number): void {
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      entry.cancelPendingRestart = undefined;
      void entry
        .lock(async () => {
          if (!entry.c.State.Restarting || entry.removed || entry.c.State.RemovalInProgress) return;
          try {
            await this.starter.startTask(entry);
          } catch (err) {
            log.warn('restarting container failed', { container: entry.id, error: errorMessage(err) });
            entry.changes.emit('stopped');
          }
        })
        .catch(() => undefined);
    }, delayMs);
    entry.cancelPendingRestart = () => {
      clearTimeout(entry.restartTimer);
      entry.restartTimer = undefined;
      entry.cancelPendingRestart = undefined;
    };
  }

  onOom(containerId: string): void {
    const entry = this.context.entries.get(containerId);
    if (!entry) return;
    entry.oomKilled = true;
    entry.c.State.OOMKilled = true;
    void this.context.save(entry).catch(() => undefined);
    entry.publishTaskEvent(() => this.context.event(entry.c, 'oom'));
  }
}
