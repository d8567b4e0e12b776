/**
 * The container service: Docker's container model on containerd containers
 * and tasks. A containerd container (holding the snapshot, key = container
 * ID) exists from create to rm; a task exists while the container runs.
 * berth's own record of each container lives under <data-root>/containers/
 * and is the source of truth for Docker-level state; containerd is the
 * source of truth for what runs.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { PathStat } from '../../archive/index.js';
import { conflict, notFound } from '../../common/errors.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { LogEntry } from '../../logs/index.js';
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
import { ContainerConnections } from './connections.js';
import type { ContainerContext } from './context.js';
import { ContainerCopy } from './copy.js';
import { ContainerCreator, type CreateOptions } from './create.js';
import type { ContainerServiceDeps, ResolvedImage } from './deps.js';
import { ContainerEntry } from './entry.js';
import { ContainerExits } from './exits.js';
import { ContainerIpc } from './ipc.js';
import { ContainerLifecycle, type StopOptions, type WaitCondition } from './lifecycle.js';
import type { ListFilters } from './list.js';
import { ContainerMounts } from './mounts.js';
import { NameRegistry, lookupId } from './names.js';
import { ContainerOutput, type AttachRequest, type LogsRequest } from './output.js';
import type { Container } from './record.js';
import { ContainerReconfigure } from './reconfigure.js';
import { ContainerRemoval, type RemoveOptions } from './removal.js';
import { ContainerRestore } from './restore.js';
import { ContainerRuntime } from './runtime.js';
import { ContainerSizes } from './sizes.js';
import { ContainerStarter } from './start.js';
import type { OutputSink } from './stdio.js';
import { ContainerStore } from './store.js';
import { ContainerViews, type ListRequest } from './views.js';

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
  private readonly restorer: ContainerRestore;

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
    this.removal = new ContainerRemoval(context, this.runtime, this.starter, this.lifecycle);
    this.exits = new ContainerExits(context, this.starter, (entry) => this.removal.autoRemove(entry));
    this.restorer = new ContainerRestore(context, {
      runtime: this.runtime,
      ipc: this.ipc,
      output: this.output,
      starter: this.starter,
      exits: this.exits,
      lifecycle: this.lifecycle,
      removal: this.removal,
    });
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
   * Loads every container and reconciles it with containerd (running tasks
   * reattached, exits while berthd was down recorded, orphans removed,
   * restart policies applied at boot).
   */
  restore(): Promise<void> {
    return this.restorer.restore();
  }

  /** Stops running containers, or leaves them for the next start with live-restore. */
  shutdown(): Promise<void> {
    this.shuttingDown = true;
    return this.restorer.shutdown();
  }
}

export type { StopOptions, WaitCondition } from './lifecycle.js';
export type { RemoveOptions } from './removal.js';
export type { AttachRequest, CreateOptions, ListRequest, LogsRequest, ResolvedImage, ResolvedUser };
