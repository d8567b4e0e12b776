/**
 * The container service: Docker's container model on containerd containers
 * and tasks. A containerd container (holding the snapshot, key = container
 * ID) exists from create to rm; a task exists while the container runs.
 * berth's own record of each container lives under <data-root>/containers/
 * and is the source of truth for Docker-level state; containerd is the
 * source of truth for what runs.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { conflict, errorMessage, notFound } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { PathStat } from '../../archive/index.js';
import type { ContainerdClient } from '../../containerd/client.js';
import { openFifoSet, type FifoSet } from '../../containerd/fifo.js';
import type { EventSubscription } from '../../containerd/services/events.js';
import { isEvent } from '../../containerd/services/events.js';
import type { ProcessState } from '../../containerd/services/tasks.js';
import type { ResolvedUser } from '../../oci/user.js';
import type {
  ContainerChange,
  ContainerCreateRequest,
  ContainerInspect,
  ContainerSummary,
  ContainerTopResponse,
  ContainerUpdateRequest,
  ContainerWaitResponse,
} from '../../types/container.js';
import { applyChanges } from '../images/changes.js';
import { commitContainer, type CommitRequest } from './commit.js';
import type { ContainerServiceDeps, ResolvedImage } from './deps.js';
import { ContainerEntry } from './entry.js';
import { ContainerIpc } from './ipc.js';
import { ContainerMounts } from './mounts.js';
import { ContainerSizes } from './sizes.js';
import type { LogEntry } from '../../logs/index.js';
import type { ListFilters } from './list.js';
import { NameRegistry, lookupId } from './names.js';
import { ZERO_TIME, nowRfc3339Nano, type Container } from './record.js';
import { cancelRestart, restartOnBoot } from './restart.js';
import { SIGKILL } from './signals.js';
import type { OutputSink } from './stdio.js';
import { ContainerStore } from './store.js';
import { ContainerViews, type ListRequest } from './views.js';
import { ContainerCopy } from './copy.js';
import { ContainerOutput, type AttachRequest, type LogsRequest } from './output.js';
import { ContainerReconfigure } from './reconfigure.js';
import { ContainerConnections } from './connections.js';
import { ContainerCreator, type CreateOptions } from './create.js';
import { ContainerRuntime, withTimeout } from './runtime.js';
import { ContainerStarter, EXIT_UNKNOWN } from './start.js';
import { ContainerExits } from './exits.js';
import { ContainerRemoval, type RemoveOptions } from './removal.js';
import { ContainerLifecycle, type StopOptions, type WaitCondition } from './lifecycle.js';
import type { ContainerContext } from './context.js';

export interface ContainerCounts {
  containers: number;
  running: number;
  paused: number;
  stopped: number;
}

export class ContainerService {
  private readonly entries = new Map<string, ContainerEntry>();
  private readonly names = new NameRegistry();
  private readonly store: ContainerStore;
  private subscription?: EventSubscription;
  private shuttingDown = false;
  private readonly mounts: ContainerMounts;
  private readonly ipc: ContainerIpc;
  private readonly layerSizes = new ContainerSizes({
    measure: async (id) => (await this.ctr.snapshots.usage(id)).size,
  });
  private readonly views: ContainerViews;
  private readonly runtime: ContainerRuntime;
  private readonly copy: ContainerCopy;
  private readonly output: ContainerOutput;
  private readonly reconfigure: ContainerReconfigure;
  private readonly connections: ContainerConnections;
  private readonly creator: ContainerCreator;
  private readonly starter: ContainerStarter;
  private readonly exits: ContainerExits;
  private readonly lifecycle: ContainerLifecycle;
  private readonly removal: ContainerRemoval;

  constructor(private readonly deps: ContainerServiceDeps) {
    this.store = new ContainerStore(deps.settings().dataRoot);
    this.mounts = new ContainerMounts(deps.volumes);
    this.ipc = new ContainerIpc(
      (id) => this.store.dir(id),
      (term) => this.find(term),
    );
    deps.networks?.setContainerHooks({
      connect: (container, network, endpoint) => this.connections.connect(container, network, endpoint),
      disconnect: (container, network, force) => this.connections.disconnect(container, network, force),
    });
    deps.volumes?.setUsage({ containersUsing: (name) => this.volumeUsers(name) });
    const context: ContainerContext = {
      deps,
      ctr: () => this.ctr,
      entries: this.entries,
      mounts: this.mounts,
      layerSizes: this.layerSizes,
      track: (container) => this.track(container),
      untrack: (id) => void this.entries.delete(id),
      find: (term) => this.find(term),
      event: (c, action, extra) => this.event(c, action, extra),
      scratchDir: () => this.scratchDir(),
      fifoDir: (id) => this.fifoDir(id),
      isShuttingDown: () => this.shuttingDown,
      dir: (id) => this.store.dir(id),
      save: (entry, what) => this.save(entry, what),
      names: this.names,
      store: this.store,
    };
    this.views = new ContainerViews(context);
    this.runtime = new ContainerRuntime(context);
    this.copy = new ContainerCopy(context, this.runtime);
    this.output = new ContainerOutput(context);
    this.reconfigure = new ContainerReconfigure(context, this.runtime.swapLimit);
    this.connections = new ContainerConnections(context);
    this.creator = new ContainerCreator(context, this.runtime);
    this.starter = new ContainerStarter(context, this.runtime, this.ipc, this.output, (entry) =>
      this.removal.autoRemove(entry),
    );
    this.lifecycle = new ContainerLifecycle(context, this.starter);
    this.removal = new ContainerRemoval(context, this.runtime, this.starter, this.lifecycle, this.output);
    this.exits = new ContainerExits(context, this.starter, this.output, (entry) =>
      this.removal.autoRemove(entry),
    );
  }

  private get ctr(): ContainerdClient {
    return this.deps.containerd();
  }

  private get execRoot(): string {
    return this.deps.settings().execRoot;
  }

  private fifoDir(id: string): string {
    return path.join(this.execRoot, 'fifo', id);
  }

  private scratchDir(): string {
    return path.join(this.execRoot, 'scratch');
  }

  // ---------------------------------------------------------------- lookup

  /** The entry for an ID, name or unique ID prefix; NotFound otherwise. */
  private find(term: string): ContainerEntry {
    const id = lookupId(term, this.entries.keys(), this.names);
    const entry = this.entries.get(id);
    if (!entry) throw notFound(`No such container: ${term}`);
    return entry;
  }

  /** The live entry of a container, for the engine's I/O services (exec, stats, health); never for routes. */
  entryOf(term: string): ContainerEntry {
    return this.find(term);
  }

  /** Where a container's stdio FIFOs live (its own and its execs'); removed with the container. */
  stdioDir(id: string): string {
    return this.fifoDir(id);
  }

  /** Persists a container's record: for state other services keep in it (State.Health). */
  async saveState(entry: ContainerEntry): Promise<void> {
    await this.save(entry);
  }

  /** Publishes a container event with the container's attributes (labels, image, name). */
  publishEvent(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.event(c, action, extra);
  }

  /** The full ID of a container reference. */
  resolveId(term: string): string {
    return this.find(term).id;
  }

  get(term: string): Container {
    return this.find(term).c;
  }

  counts(): ContainerCounts {
    const counts = { containers: 0, running: 0, paused: 0, stopped: 0 };
    for (const { c } of this.entries.values()) {
      counts.containers++;
      if (c.State.Paused) counts.paused++;
      else if (c.State.Running) counts.running++;
      else counts.stopped++;
    }
    return counts;
  }

  private attributes(c: Container, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(c.Config.Labels ?? {}), image: c.Config.Image ?? '', name: c.Name.slice(1), ...extra };
  }

  private event(c: Container, action: string, extra: Record<string, string> = {}): void {
    this.deps.events.publish('container', action, c.ID, this.attributes(c, extra));
  }

  private async save(entry: ContainerEntry, what: 'record' | 'all' = 'record'): Promise<void> {
    if (entry.removed) return;
    await entry.serializeSave(() =>
      what === 'all' ? this.store.save(entry.c) : this.store.saveRecord(entry.c),
    );
  }

  // ---------------------------------------------------------------- create

  async create(
    request: ContainerCreateRequest,
    options: CreateOptions = {},
  ): Promise<{ Id: string; Warnings: string[] }> {
    const { container, warnings } = await this.creator.create(request, options);
    this.track(container);
    this.layerSizes.created(container.ID);
    this.event(container, 'create');
    return { Id: container.ID, Warnings: warnings };
  }

  private track(container: Container): ContainerEntry {
    const entry: ContainerEntry = new ContainerEntry(container, () => this.ctr.tasks.closeIO(entry.id));
    this.entries.set(container.ID, entry);
    return entry;
  }

  // ---------------------------------------------------------------- run state

  start(term: string): Promise<void> {
    return this.lifecycle.start(term);
  }

  /** Signals the run (SIGKILL unless named); SIGKILL waits for the exit. */
  kill(term: string, signalName?: string): Promise<void> {
    return this.lifecycle.kill(term, signalName);
  }

  stop(term: string, options: StopOptions = {}): Promise<void> {
    return this.lifecycle.stop(term, options);
  }

  restart(term: string, options: StopOptions = {}): Promise<void> {
    return this.lifecycle.restart(term, options);
  }

  pause(term: string): Promise<void> {
    return this.lifecycle.pause(term);
  }

  unpause(term: string): Promise<void> {
    return this.lifecycle.unpause(term);
  }

  /** Docker's wait; the promise exists before this returns, so no exit is missed. */
  wait(
    term: string,
    condition: WaitCondition = 'not-running',
    signal?: AbortSignal,
  ): Promise<ContainerWaitResponse> {
    return this.lifecycle.wait(term, condition, signal);
  }

  // ---------------------------------------------------------------- volumes

  /** Containers (any state) whose mounts use a volume: the volume service's in-use check. */
  private volumeUsers(name: string): string[] {
    const users: string[] = [];
    for (const { c } of this.entries.values()) {
      if (c.MountPoints?.some((p) => p.Type === 'volume' && p.Name === name)) users.push(c.ID);
    }
    return users;
  }

  // ---------------------------------------------------------------- remove

  remove(term: string, options: RemoveOptions = {}): Promise<void> {
    return this.removal.remove(term, options);
  }

  prune(filters: ListFilters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    return this.removal.prune(filters);
  }

  // ---------------------------------------------------------------- rename, update

  rename(term: string, newName: string): Promise<void> {
    return this.reconfigure.rename(term, newName);
  }

  /** Resources (live when running) and the restart policy. */
  update(term: string, request: ContainerUpdateRequest): Promise<{ Warnings: string[] | null }> {
    return this.reconfigure.update(term, request);
  }

  // ---------------------------------------------------------------- views

  inspect(term: string, options: { size?: boolean } = {}): Promise<ContainerInspect> {
    return this.views.inspect(term, options);
  }

  list(request: ListRequest = {}): Promise<ContainerSummary[]> {
    return this.views.list(request);
  }

  /** Every container with its writable layer's size, for `/system/df`. */
  diskUsage(): Promise<ContainerSummary[]> {
    return this.views.diskUsage();
  }

  /** How many containers (any state) use each image. */
  imageContainerCounts(): Map<string, number> {
    return this.views.imageContainerCounts();
  }

  /** The container using an image (for rmi and image prune), preferring a running one. */
  imageUser(imageId: string): { containerId: string; running: boolean } | undefined {
    return this.views.imageUser(imageId);
  }

  top(term: string, psArgs: string): Promise<ContainerTopResponse> {
    return this.views.top(term, psArgs);
  }

  changes(term: string): Promise<ContainerChange[]> {
    return this.views.changes(term);
  }

  /** A tar stream of the container's filesystem; the event is emitted once it is fully written. */
  export(term: string): Promise<Readable> {
    return this.views.export(term);
  }

  // ---------------------------------------------------------------- archive (docker cp)

  /** `HEAD /containers/{id}/archive`: the path's stat, resolved inside the container. */
  archiveStat(term: string, containerPath: string): Promise<PathStat> {
    return this.copy.archiveStat(term, containerPath);
  }

  /** `GET /containers/{id}/archive`: the stat and a tar stream of the path. */
  archiveGet(term: string, containerPath: string): Promise<{ stat: PathStat; stream: Readable }> {
    return this.copy.archiveGet(term, containerPath);
  }

  /** `PUT /containers/{id}/archive`: extracts a tar into a directory of the container. */
  archivePut(
    term: string,
    containerPath: string,
    input: Readable,
    options: { noOverwriteDirNonDir?: boolean; copyUIDGID?: boolean } = {},
  ): Promise<void> {
    return this.copy.archivePut(term, containerPath, input, options);
  }

  // ---------------------------------------------------------------- streams

  async resize(term: string, height: number, width: number): Promise<void> {
    const entry = this.find(term);
    const c = entry.c;
    if (!c.State.Running || c.State.Restarting) throw conflict(`Container ${c.ID} is not running`);
    if (!c.Config.Tty || height <= 0 || width <= 0) return;
    await this.ctr.tasks.resizePty(c.ID, { width, height });
    this.event(c, 'resize', { height: String(height), width: String(width) });
  }

  /** docker commit; the container is paused meanwhile unless asked not to (and resumed even on failure). */
  async commit(request: CommitRequest): Promise<{ Id: string }> {
    const entry = this.find(request.container);
    const c = entry.c;
    const pause = request.pause && c.State.Running && !c.State.Paused && !c.State.Restarting;
    if (pause) await this.ctr.tasks.pause(c.ID);
    let result: { id: string; reference?: string };
    try {
      result = await commitContainer(
        { containerd: this.ctr, images: this.deps.images, applyChanges },
        c,
        request,
      );
    } finally {
      if (pause) await this.ctr.tasks.resume(c.ID).catch(() => undefined);
    }
    this.event(c, 'commit', {
      comment: request.comment,
      imageID: result.id,
      imageRef: result.reference ?? '',
    });
    return { Id: result.id };
  }

  /** Whether the container has a TTY (raw streams) or not (multiplexed). */
  isTty(term: string): boolean {
    return this.find(term).c.Config.Tty === true;
  }

  /**
   * Attaches a client: replays the log if asked, then streams output until
   * the run ends (or the client detaches). Resolves when streaming is over.
   */
  attach(term: string, request: AttachRequest, sink: OutputSink): Promise<void> {
    return this.output.attach(term, request, sink);
  }

  /** The container's log entries, optionally following until it stops. */
  logs(term: string, request: LogsRequest): { tty: boolean; batches: AsyncGenerator<LogEntry[]> } {
    return this.output.logs(term, request);
  }

  // ---------------------------------------------------------------- daemon lifecycle

  /**
   * Loads every container and reconciles it with containerd: running tasks
   * are reattached (FIFOs reopened at once, before their pipes fill), exits
   * that happened while berthd was down are recorded, containerd containers
   * without a record are removed, and containers whose restart policy says
   * so are started.
   */
  async restore(): Promise<void> {
    await this.store.init();
    await fs.rm(this.scratchDir(), { recursive: true, force: true });
    this.subscription = await this.ctr.events.subscribe({
      filters: ['topic=="/tasks/exit"', 'topic=="/tasks/oom"'],
    });
    this.subscription.on('event', (envelope) => {
      if (isEvent(envelope, '/tasks/exit')) {
        const e = envelope.event;
        if (e.id !== e.containerId) return;
        this.exits.onTaskExit(e.containerId, e.pid, {
          exitCode: e.exitStatus,
          exitedAt: e.exitedAt?.getTime() ?? Date.now(),
        });
      } else if (isEvent(envelope, '/tasks/oom')) {
        this.exits.onOom(envelope.event.containerId);
      }
    });
    this.subscription.on('reconnected', () => void this.reconcileTasks());

    const containers = await this.store.loadAll();
    const [records, tasks] = await Promise.all([this.ctr.containers.list(), this.ctr.tasks.list()]);
    const taskById = new Map(tasks.map((t) => [t.containerId, t]));
    const known = new Set(containers.map((c) => c.ID));
    for (const record of records) {
      if (!known.has(record.id)) await this.removeOrphan(record.id, taskById.get(record.id));
    }
    for (const container of containers) {
      this.track(container);
      this.names.reserve(container.Name, container.ID);
    }
    await Promise.all(
      [...this.entries.values()].map((entry) =>
        this.restoreEntry(entry, taskById.get(entry.id)).catch((err) =>
          log.error('restoring container failed', { container: entry.id, error: errorMessage(err) }),
        ),
      ),
    );
    await this.restoreRunResources();
    for (const id of this.entries.keys()) this.layerSizes.changed(id);
    for (const entry of [...this.entries.values()]) {
      const c = entry.c;
      if (c.State.Running || entry.removed) continue;
      if (c.HostConfig.AutoRemove && c.HasBeenStartedBefore) {
        void this.removal.autoRemove(entry);
        continue;
      }
      const runMs = Date.parse(c.State.FinishedAt) - Date.parse(c.State.StartedAt);
      if (!c.HasBeenStartedBefore || !restartOnBoot(c, runMs)) continue;
      void entry
        .lock(() => this.starter.startTask(entry))
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
      const entry = this.entries.get(id);
      return entry !== undefined && entry.c.State.Running && entry.currentPid !== 0;
    };
    for (const entry of this.entries.values()) {
      if (running(entry.id)) await this.mounts.restoreRun(entry.id, entry.c.MountPoints ?? []);
      else if (entry.c.HostConfig.IpcMode === 'shareable') await this.ipc.release(entry.id);
    }
    await this.deps.networks
      ?.restore(async (id) => running(id))
      .catch((err) => log.error('restoring container networking failed', { error: errorMessage(err) }));
  }

  private async removeOrphan(id: string, task: ProcessState | undefined): Promise<void> {
    log.warn('removing containerd container without a berth record', { container: id });
    try {
      if (task && task.status !== 'stopped') {
        await this.ctr.tasks.kill(id, SIGKILL, { all: true }).catch(() => undefined);
        await withTimeout(
          this.ctr.tasks.wait(id).then(() => undefined),
          10_000,
        );
      }
      if (task) await this.ctr.tasks.delete(id).catch(() => undefined);
      await this.runtime.removeContainerdContainer(id);
      await fs.rm(this.fifoDir(id), { recursive: true, force: true });
    } catch (err) {
      log.error('removing orphaned containerd container failed', { container: id, error: errorMessage(err) });
    }
  }

  private async restoreEntry(entry: ContainerEntry, task: ProcessState | undefined): Promise<void> {
    const c = entry.c;
    if (c.State.RemovalInProgress || c.State.Dead) {
      c.State.RemovalInProgress = false;
      await this.removal.removeEntry(entry, { force: true });
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
      await entry.lock(() => this.exits.handleExit(entry, task.pid, { exitCode: task.exitStatus, exitedAt }));
      return;
    }
    if (c.State.Running) {
      // No task at all: containerd lost it, or berthd died while deleting it (whose shim may
      // still be going away: a new task must not land in it).
      await this.runtime.waitForShimExit(c.ID);
      const wasRestarting = c.State.Restarting;
      c.State.Running = false;
      c.State.Restarting = false;
      c.State.Paused = false;
      c.State.Pid = 0;
      if (!wasRestarting) {
        c.State.ExitCode = EXIT_UNKNOWN;
        c.State.FinishedAt = nowRfc3339Nano();
      }
      await this.save(entry);
    }
  }

  /** Reopens a live task's FIFOs and takes it back as running. */
  private async reattach(entry: ContainerEntry, task: ProcessState): Promise<void> {
    const c = entry.c;
    const fifos: FifoSet = {
      dir: this.fifoDir(c.ID),
      terminal: task.terminal,
      stdin: task.stdin || undefined,
      stdout: task.stdout || undefined,
      stderr: task.stderr || undefined,
    };
    this.output.openLogger(entry);
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
      await this.save(entry);
    }
    // The exit may have happened between the listing and the subscription being consulted.
    const current = await this.ctr.tasks.get(c.ID).catch(() => undefined);
    if (!current || current.status === 'stopped') {
      this.exits.onTaskExit(c.ID, task.pid, {
        exitCode: current?.exitStatus ?? EXIT_UNKNOWN,
        exitedAt: current?.exitedAt?.getTime() ?? Date.now(),
      });
    }
  }

  /** After losing the event stream: any run whose task stopped meanwhile is recorded as exited. */
  private async reconcileTasks(): Promise<void> {
    const tasks = await this.ctr.tasks.list().catch(() => undefined);
    if (!tasks) return;
    const byId = new Map(tasks.map((t) => [t.containerId, t]));
    for (const entry of this.entries.values()) {
      if (entry.currentPid === 0) continue;
      const task = byId.get(entry.id);
      if (!task || task.status === 'stopped') {
        this.exits.onTaskExit(entry.id, entry.currentPid, {
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
    this.shuttingDown = true;
    for (const entry of this.entries.values()) cancelRestart(entry);
    const settings = this.deps.settings();
    if (!settings.liveRestore) {
      await Promise.all(
        [...this.entries.values()]
          .filter((entry) => entry.c.State.Running)
          .map((entry) =>
            this.lifecycle.stopEntry(entry, {}).catch((err) =>
              log.warn('stopping container at shutdown failed', {
                container: entry.id,
                error: errorMessage(err),
              }),
            ),
          ),
      );
    }
    this.subscription?.close();
    for (const entry of this.entries.values()) {
      entry.streams.endRun();
      await this.output.closeLogger(entry);
    }
  }
}

export type { StopOptions, WaitCondition } from './lifecycle.js';
export type { RemoveOptions } from './removal.js';
export type { AttachRequest, CreateOptions, ListRequest, LogsRequest, ResolvedImage, ResolvedUser };
