import {
  fromWireAny,
  timestampToDate,
  toWireAny,
  type AnyMessage,
  type WireAny,
  type WireTimestamp,
} from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import { fieldMask, type Labels } from '../types.js';

export interface ContainerRuntime {
  /** e.g. "io.containerd.runc.v2" */
  name: string;
  options?: AnyMessage;
}

export interface Container {
  id: string;
  labels: Labels;
  image: string;
  runtime: ContainerRuntime;
  /** The OCI spec Any (JSON); see runtime.ts specFromAny. */
  spec?: AnyMessage;
  snapshotter: string;
  snapshotKey: string;
  createdAt?: Date;
  updatedAt?: Date;
  extensions: Record<string, AnyMessage>;
}

export interface NewContainer {
  id: string;
  labels?: Labels;
  image?: string;
  runtime: ContainerRuntime;
  spec: AnyMessage;
  snapshotter?: string;
  snapshotKey?: string;
  extensions?: Record<string, AnyMessage>;
}

interface WireContainer {
  id: string;
  labels: Labels;
  image: string;
  runtime: { name: string; options: WireAny | null } | null;
  spec: WireAny | null;
  snapshotter: string;
  snapshot_key: string;
  created_at: WireTimestamp | null;
  updated_at: WireTimestamp | null;
  extensions: Record<string, WireAny>;
}

function fromWireContainer(c: WireContainer): Container {
  const runtime: ContainerRuntime = { name: c.runtime?.name ?? '' };
  const runtimeOptions = fromWireAny(c.runtime?.options);
  if (runtimeOptions) runtime.options = runtimeOptions;
  const extensions: Record<string, AnyMessage> = {};
  for (const [key, value] of Object.entries(c.extensions ?? {})) {
    const any = fromWireAny(value);
    if (any) extensions[key] = any;
  }
  return {
    id: c.id,
    labels: c.labels,
    image: c.image,
    runtime,
    spec: fromWireAny(c.spec),
    snapshotter: c.snapshotter,
    snapshotKey: c.snapshot_key,
    createdAt: timestampToDate(c.created_at),
    updatedAt: timestampToDate(c.updated_at),
    extensions,
  };
}

function toWireContainer(c: Partial<NewContainer> & { id: string }): Record<string, unknown> {
  const extensions = Object.entries(c.extensions ?? {}).map(([k, v]): [string, WireAny] => [k, toWireAny(v)]);
  return {
    id: c.id,
    labels: c.labels ?? {},
    image: c.image ?? '',
    runtime: c.runtime
      ? { name: c.runtime.name, options: c.runtime.options ? toWireAny(c.runtime.options) : null }
      : null,
    spec: c.spec ? toWireAny(c.spec) : null,
    snapshotter: c.snapshotter ?? '',
    snapshot_key: c.snapshotKey ?? '',
    extensions: Object.fromEntries(extensions),
  };
}

export class ContainersService {
  constructor(private readonly conn: Connection) {}

  async get(id: string, options?: CallOptions): Promise<Container> {
    const res = await this.conn.unary<{ container: WireContainer }>('containers', 'Get', { id }, options);
    return fromWireContainer(res.container);
  }

  /** Containers matching containerd filters (e.g. `labels."io.berth.name"==web`); all when empty. */
  async list(filters: string[] = [], options?: CallOptions): Promise<Container[]> {
    const res = await this.conn.unary<{ containers: WireContainer[] }>(
      'containers',
      'List',
      { filters },
      options,
    );
    return res.containers.map(fromWireContainer);
  }

  async create(container: NewContainer, options?: CallOptions): Promise<Container> {
    const request = { container: toWireContainer(container) };
    const res = await this.conn.unary<{ container: WireContainer }>('containers', 'Create', request, options);
    return fromWireContainer(res.container);
  }

  /**
   * Updates the fields named by `fieldPaths` ("labels", "labels.<key>",
   * "spec", "snapshotkey", "image", "extensions.<name>"...); without paths
   * containerd replaces every mutable field from `container`.
   */
  async update(
    container: Partial<NewContainer> & { id: string },
    fieldPaths: string[] = [],
    options?: CallOptions,
  ): Promise<Container> {
    const request: Record<string, unknown> = { container: toWireContainer(container) };
    if (fieldPaths.length > 0) request.update_mask = fieldMask(fieldPaths);
    const res = await this.conn.unary<{ container: WireContainer }>('containers', 'Update', request, options);
    return fromWireContainer(res.container);
  }

  /**
   * Deletes the container record. Remove its snapshot first: once the record
   * is gone, GC may collect the snapshot before you do.
   */
  async delete(id: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('containers', 'Delete', { id }, options);
  }
}
