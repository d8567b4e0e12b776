/**
 * berth's client for containerd 1.6: one gRPC channel over the unix socket,
 * typed wrappers per service, namespace (and optionally lease) on every call.
 */
import { Connection, type CallOptions } from './connection.js';
import { ContainersService } from './services/containers.js';
import { ContentService } from './services/content.js';
import { DiffService } from './services/diff.js';
import { EventsService } from './services/events.js';
import { ImagesService } from './services/images.js';
import { IntrospectionService } from './services/introspection.js';
import { LeasesService } from './services/leases.js';
import { NamespacesService } from './services/namespaces.js';
import { DEFAULT_SNAPSHOTTER, SnapshotsService } from './services/snapshots.js';
import { TasksService } from './services/tasks.js';
import { VersionService } from './services/version.js';

export type { CallOptions };

export interface ConnectOptions {
  /** Socket path or unix:// address. */
  address: string;
  /** containerd namespace for every namespaced call (berth uses "berth"). */
  namespace: string;
  /** How long connect() waits for containerd to answer; default 10 s. */
  timeoutMs?: number;
}

export class ContainerdClient {
  readonly version: VersionService;
  readonly introspection: IntrospectionService;
  readonly namespaces: NamespacesService;
  readonly events: EventsService;
  readonly leases: LeasesService;
  readonly content: ContentService;
  readonly diff: DiffService;
  /** The overlayfs snapshotter; see snapshotter() for others. */
  readonly snapshots: SnapshotsService;
  readonly images: ImagesService;
  readonly containers: ContainersService;
  readonly tasks: TasksService;

  private constructor(readonly connection: Connection) {
    this.version = new VersionService(connection);
    this.introspection = new IntrospectionService(connection);
    this.namespaces = new NamespacesService(connection);
    this.events = new EventsService(connection);
    this.leases = new LeasesService(connection);
    this.content = new ContentService(connection);
    this.diff = new DiffService(connection);
    this.snapshots = new SnapshotsService(connection, DEFAULT_SNAPSHOTTER);
    this.images = new ImagesService(connection);
    this.containers = new ContainersService(connection);
    this.tasks = new TasksService(connection);
  }

  /** Opens the channel and waits until containerd answers Version (Unavailable after timeoutMs). */
  static async connect(opts: ConnectOptions): Promise<ContainerdClient> {
    const client = new ContainerdClient(Connection.open(opts.address, opts.namespace));
    const timeoutMs = opts.timeoutMs ?? 10_000;
    try {
      await client.connection.waitForReady(timeoutMs);
      await client.version.version({ timeoutMs, waitForReady: true });
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  get namespace(): string {
    return this.connection.namespace;
  }

  get address(): string {
    return this.connection.address;
  }

  /** The lease carried by this client's calls, if any. */
  get leaseId(): string | undefined {
    return this.connection.leaseId;
  }

  /**
   * A client on the same channel whose calls carry `containerd-lease`, so
   * content written and snapshots prepared are held by the lease. Closing it
   * closes the shared channel: close only the root client.
   */
  withLease(leaseId: string): ContainerdClient {
    return new ContainerdClient(this.connection.with({ leaseId }));
  }

  /** A client on the same channel without a lease. */
  withoutLease(): ContainerdClient {
    return new ContainerdClient(this.connection.with({ leaseId: null }));
  }

  /** A client on the same channel in another namespace. */
  withNamespace(namespace: string): ContainerdClient {
    return new ContainerdClient(this.connection.with({ namespace }));
  }

  /** Another snapshotter (e.g. "native") on this client's connection. */
  snapshotter(name: string): SnapshotsService {
    return new SnapshotsService(this.connection, name);
  }

  /** Waits until the channel is connected again (e.g. after a containerd restart). */
  waitForReady(timeoutMs: number): Promise<void> {
    return this.connection.waitForReady(timeoutMs);
  }

  close(): void {
    this.connection.close();
  }
}
