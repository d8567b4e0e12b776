/**
 * berthd starting and stopping, as containers see it. At start every record
 * is reconciled with what containerd still runs; at shutdown running
 * containers are stopped, or left running for the next start to take back
 * (live-restore).
 */
import { promises as fs } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { openFifoSet, type FifoSet } from '../../containerd/fifo.js';
import type { EventSubscription } from '../../containerd/services/events.js';
import { isEvent } from '../../containerd/services/events.js';
import type { ProcessState } from '../../containerd/services/tasks.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry } from './entry.js';
import type { ContainerExits } from './exits.js';
import type { ContainerIpc } from './ipc.js';
import type { ContainerLifecycle } from './lifecycle.js';
import type { ContainerOutput } from './output.js';
import { ZERO_TIME, nowRfc3339Nano } from './record.js';
import type { ContainerRemoval } from './removal.js';
import { cancelRestart, restartOnBoot } from './restart.js';
import { withTimeout, type ContainerRuntime } from './runtime.js';
import { SIGKILL } from './signals.js';
import { EXIT_UNKNOWN, type ContainerStarter } from './start.js';

/** Restoring replays what the other parts do at run time: starts, exits, stops and removals. */
export interface RestoreParts {
  runtime: ContainerRuntime;
  ipc: ContainerIpc;
  output: ContainerOutput;
  starter: ContainerStarter;
  exits: ContainerExits;
  lifecycle: ContainerLifecycle;
  removal: ContainerRemoval;
}

export class ContainerRestore {
  /** containerd's task exit and OOM events, from restore to shutdown. */
  private subscription?: EventSubscription;

  constructor(
    private readonly context: ContainerContext,
    private readonly parts: RestoreParts,
  ) {}

  /**
   * Loads every container and reconciles it with containerd: running tasks
   * are reattached (FIFOs reopened at once, before their pipes fill), exits
   * that happened while berthd was down are recorded, containerd containers
   * without a record are removed, and containers whose restart policy says
   * so are started.
   */
  async restore(): Promise<void> {
    await this.context.store.init();
    await fs.rm(this.context.scratchDir(), { recursive: true, force: true });
    this.subscription = await this.context.ctr().events.subscribe({
      filters: ['topic=="/tasks/exit"', 'topic=="/tasks/oom"'],
    });
    this.subscription.on('event', (envelope) => {
      if (isEvent(envelope, '/tasks/exit')) {
        const e = envelope.event;
        if (e.id !== e.containerId) return;
        this.parts.exits.onTaskExit(e.containerId, e.pid, {
          exitCode: e.exitStatus,
          exitedAt: e.exitedAt?.getTime() ?? Date.now(),
        });
      } else if (isEvent(envelope, '/tasks/oom')) {
        this.parts.exits.onOom(envelope.event.containerId);
      }
    });
    this.subscription.on('reconnected', () => void this.reconcileTasks());

    const containers = await this.context.store.loadAll();
    const [records, tasks] = await Promise.all([
      this.context.ctr().containers.list(),
      this.context.ctr().tasks.list(),
    ]);
    const taskById = new Map(tasks.map((t) => [t.containerId, t]));
    const known = new Set(containers.map((c) => c.ID));
    for (const record of records) {
      if (!known.has(record.id)) await this.removeOrphan(record.id, taskById.get(record.id));
    }
    for (const container of containers) {
      this.context.track(container);
      this.context.names.reserve(container.Name, container.ID);
    }
    await Promise.all(
      [...this.context.entries.values()].map((entry) =>
        this.restoreEntry(entry, taskById.get(entry.id)).catch((err) =>
          log.error('restoring container failed', { container: entry.id, error: errorMessage(err) }),
        ),
      ),
    );
    await this.restoreRunResources();
    for (const id of this.context.entries.keys()) this.context.layerSizes.changed(id);
    for (const entry of [...this.context.entries.values()]) {
      const c = entry.c;
      if (c.State.Running || entry.removed) continue;
      if (c.HostConfig.AutoRemove && c.HasBeenStartedBefore) {
        void this.parts.removal.autoRemove(entry);
        continue;
      }
      const runMs = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
      if (!c.HasBeenStartedBefore || !restartOnBoot(c, runMs)) continue;
      void entry
        .lock(() => this.parts.starter.startTask(entry))
        .catch((err) =>
          log.warn('starting container at boot failed', { container: c.ID, error: errorMessage(err) }),
        );
    }
  }

  /**
   * After a berthd restart: containers still running have their volumes
   * back in the books and their network checked and completed; what
   * containers that are gone held is released.
   */
  private async restoreRunResources(): Promise<void> {
    const running = (id: string): boolean => {
      const entry = this.context.entries.get(id);
      return entry !== undefined && entry.c.State.Running && entry.currentPid !== 0;
    };
    for (const entry of this.context.entries.values()) {
      if (running(entry.id)) await this.context.mounts.restoreRun(entry.id, entry.c.MountPoints ?? []);
      else if (entry.c.HostConfig.IpcMode === 'shareable') await this.parts.ipc.release(entry.id);
    }
    await this.context.deps.networks
      ?.restore(async (id) => running(id))
      .catch((err) => log.error('restoring container networking failed', { error: errorMessage(err) }));
  }

  private async removeOrphan(id: string, task: ProcessState | undefined): Promise<void> {
    log.warn('removing containerd container without a berth record', { container: id });
    try {
      if (task && task.status !== 'stopped') {
        await this.context
          .ctr()
          .tasks.kill(id, SIGKILL, { all: true })
          .catch(() => undefined);
        await withTimeout(
          this.context
            .ctr()
            .tasks.wait(id)
            .then(() => undefined),
          10_000,
        );
      }
      if (task)
        await this.context
          .ctr()
          .tasks.delete(id)
          .catch(() => undefined);
      await this.parts.runtime.removeContainerdContainer(id);
      await fs.rm(this.context.fifoDir(id), { recursive: true, force: true });
    } catch (err) {
      log.error('removing orphaned containerd container failed', { container: id, error: errorMessage(err) });
    }
  }

  private async restoreEntry(entry: ContainerEntry, task: ProcessState | undefined): Promise<void> {
    const c = entry.c;
    if (c.State.RemovalInProgress || c.State.Dead) {
      c.State.RemovalInProgress = false;
      await this.parts.removal.removeEntry(entry, { force: true });
      return;
    }
    if (task && (task.status === 'running' || task.status === 'paused' || task.status === 'pausing')) {
      await this.reattach(entry, task);
      return;
    }
    if (task) {
      // The task exited while berthd was away (or never got its state recorded).
      entry.currentPid = task.pid;
      c.State.Running = true;
      c.State.Restarting = false;
      const exitedAt = task.exitedAt?.getTime() ?? Date.now();
      await entry.lock(() =>
        this.parts.exits.handleExit(entry, task.pid, { exitCode: task.exitStatus, exitedAt }),
      );
      return;
    }
    if (c.State.Running) {
      // No task at all: containerd lost it, or berthd died while deleting it (whose shim may
      // still be going away: a new task must not land in it).
      await this.parts.runtime.waitForShimExit(c.ID);
      const wasRestarting = c.State.Restarting;
      c.State.Running = false;
      c.State.Restarting = false;
      c.State.Paused = false;
      c.State.Pid = 0;
      if (!wasRestarting) {
        c.State.ExitCode = EXIT_UNKNOWN;
        c.State.FinishedAt = nowRfc3339Nano();
      }
      await this.context.save(entry);
    }
  }

  /** Reopens a live task's FIFOs and takes it back as running. */
  private async reattach(entry: ContainerEntry, task: ProcessState): Promise<void> {
    const c = entry.c;
    const fifos: FifoSet = {
      dir: this.context.fifoDir(c.ID),
      terminal: task.terminal,
      stdin: task.stdin || undefined,
      stdout: task.stdout || undefined,
      stderr: task.stderr || undefined,
    };
    this.parts.output.openLogger(entry);
    try {
      entry.drained = entry.streams.beginRun(openFifoSet(fifos));
      entry.streams.processStarted();
    } catch (err) {
      log.warn('reopening container stdio failed; output is lost until it restarts', {
        container: c.ID,
        error: errorMessage(err),
      });
    }
    entry.currentPid = task.pid;
    entry.runStartPublished();
    const wasRunning = c.State.Running && !c.State.Restarting && c.State.Pid === task.pid;
    Object.assign(c.State, {
      Running: true,
      Restarting: false,
      Paused: task.status !== 'running',
      Pid: task.pid,
    });
    if (!wasRunning) {
      c.State.StartedAt = c.State.StartedAt === ZERO_TIME ? nowRfc3339Nano() : c.State.StartedAt;
      c.State.ExitCode = 0;
      c.HasBeenStartedBefore = true;
      await this.context.save(entry);
    }
    // The exit may have happened between the listing and the subscription being consulted.
    const current = await this.context
      .ctr()
      .tasks.get(c.ID)
      .catch(() => undefined);
    if (!current || current.status === 'stopped') {
      this.parts.exits.onTaskExit(c.ID, task.pid, {
        exitCode: current?.exitStatus ?? EXIT_UNKNOWN,
        exitedAt: current?.exitedAt?.getTime() ?? Date.now(),
      });
    }
  }

  /** After losing the event stream: any run whose task stopped meanwhile is recorded as exited. */
  private async reconcileTasks(): Promise<void> {
    const tasks = await this.context
      .ctr()
      .tasks.list()
      .catch(() => undefined);
    if (!tasks) return;
    const byId = new Map(tasks.map((t) => [t.containerId, t]));
    for (const entry of this.context.entries.values()) {
      if (entry.currentPid === 0) continue;
      const task = byId.get(entry.id);
      if (!task || task.status === 'stopped') {
        this.parts.exits.onTaskExit(entry.id, entry.currentPid, {
          exitCode: task?.exitStatus ?? EXIT_UNKNOWN,
          exitedAt: task?.exitedAt?.getTime() ?? Date.now(),
        });
      }
    }
  }

  /**
   * Daemon shutdown. Without live-restore, running containers are stopped
   * (each with its stop signal and timeout, all at once); with it they keep
   * running and are reattached on the next start.
   */
  async shutdown(): Promise<void> {
    for (const entry of this.context.entries.values()) cancelRestart(entry);
    const settings = this.context.deps.settings();
    if (!settings.liveRestore) {
      await Promise.all(
        [...this.context.entries.values()]
          .filter((entry) => entry.c.State.Running)
          .map((entry) =>
            this.parts.lifecycle.stopEntry(entry, {}).catch((err) =>
              log.warn('stopping container at shutdown failed', {
                container: entry.id,
                error: errorMessage(err),
              }),
            ),
          ),
      );
    }
    this.subscription?.close();
    for (const entry of this.context.entries.values()) {
      entry.streams.endRun();
      await this.parts.output.closeLogger(entry);
    }
  }
}
