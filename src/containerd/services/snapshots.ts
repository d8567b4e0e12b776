import { isEngineError } from '../../common/errors.js';
import { timestampToDate, type WireTimestamp } from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import { fieldMask, fromWireMount, labelPaths, type Labels, type Mount, type WireMount } from '../types.js';

export const DEFAULT_SNAPSHOTTER = 'overlayfs';

export type SnapshotKind = 'unknown' | 'view' | 'active' | 'committed';

export interface SnapshotInfo {
  name: string;
  /** Name of the committed parent snapshot, if any. */
  parent?: string;
  kind: SnapshotKind;
  createdAt?: Date;
  updatedAt?: Date;
  labels: Labels;
}

export interface SnapshotUsage {
  /** Bytes used by this snapshot's own layer (not its parents). */
  size: number;
  inodes: number;
}

interface WireSnapshotInfo {
  name: string;
  parent: string;
  kind: string;
  created_at: WireTimestamp | null;
  updated_at: WireTimestamp | null;
  labels: Labels;
}

function fromWireInfo(i: WireSnapshotInfo): SnapshotInfo {
  const info: SnapshotInfo = {
    name: i.name,
    kind: (i.kind ?? 'UNKNOWN').toLowerCase() as SnapshotKind,
    createdAt: timestampToDate(i.created_at),
    updatedAt: timestampToDate(i.updated_at),
    labels: i.labels,
  };
  if (i.parent) info.parent = i.parent;
  return info;
}

/** One snapshotter (overlayfs unless told otherwise) of containerd's Snapshots service. */
export class SnapshotsService {
  constructor(
    private readonly conn: Connection,
    readonly snapshotter: string = DEFAULT_SNAPSHOTTER,
  ) {}

  /** Creates an active (writable) snapshot `key` on top of committed `parent` ('' for none). */
  async prepare(key: string, parent = '', labels: Labels = {}, options?: CallOptions): Promise<Mount[]> {
    const request = { snapshotter: this.snapshotter, key, parent, labels };
    const res = await this.conn.unary<{ mounts: WireMount[] }>('snapshots', 'Prepare', request, options);
    return res.mounts.map(fromWireMount);
  }

  /** Creates a read-only view `key` of committed `parent`. */
  async view(key: string, parent: string, labels: Labels = {}, options?: CallOptions): Promise<Mount[]> {
    const request = { snapshotter: this.snapshotter, key, parent, labels };
    const res = await this.conn.unary<{ mounts: WireMount[] }>('snapshots', 'View', request, options);
    return res.mounts.map(fromWireMount);
  }

  async mounts(key: string, options?: CallOptions): Promise<Mount[]> {
    const request = { snapshotter: this.snapshotter, key };
    const res = await this.conn.unary<{ mounts: WireMount[] }>('snapshots', 'Mounts', request, options);
    return res.mounts.map(fromWireMount);
  }

  /** Commits active snapshot `key` as committed snapshot `name` (the active one is gone afterwards). */
  async commit(name: string, key: string, labels: Labels = {}, options?: CallOptions): Promise<void> {
    await this.conn.unary(
      'snapshots',
      'Commit',
      { snapshotter: this.snapshotter, name, key, labels },
      options,
    );
  }

  /**
   * Removes a snapshot. Returns false when it did not exist. A committed
   * snapshot with children fails with Conflict.
   */
  async remove(key: string, options?: CallOptions): Promise<boolean> {
    try {
      await this.conn.unary('snapshots', 'Remove', { snapshotter: this.snapshotter, key }, options);
      return true;
    } catch (err) {
      if (isEngineError(err, 'NotFound')) return false;
      throw err;
    }
  }

  async stat(key: string, options?: CallOptions): Promise<SnapshotInfo> {
    const request = { snapshotter: this.snapshotter, key };
    const res = await this.conn.unary<{ info: WireSnapshotInfo }>('snapshots', 'Stat', request, options);
    return fromWireInfo(res.info);
  }

  /** stat, or undefined when the snapshot does not exist. */
  async tryStat(key: string, options?: CallOptions): Promise<SnapshotInfo | undefined> {
    try {
      return await this.stat(key, options);
    } catch (err) {
      if (isEngineError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** Sets the given labels (an empty value removes a label); other labels are kept. */
  async setLabels(key: string, labels: Labels, options?: CallOptions): Promise<SnapshotInfo> {
    const request = {
      snapshotter: this.snapshotter,
      info: { name: key, labels },
      update_mask: fieldMask(labelPaths(labels)),
    };
    const res = await this.conn.unary<{ info: WireSnapshotInfo }>('snapshots', 'Update', request, options);
    return fromWireInfo(res.info);
  }

  /** Snapshots matching containerd filters (e.g. `parent==<name>`, `labels."x"==y`); all when empty. */
  async list(filters: string[] = [], options?: CallOptions): Promise<SnapshotInfo[]> {
    const request = { snapshotter: this.snapshotter, filters };
    const pages = await this.conn.collect<{ info: WireSnapshotInfo[] }>(
      'snapshots',
      'List',
      request,
      options,
    );
    return pages.flatMap((page) => page.info.map(fromWireInfo));
  }

  async usage(key: string, options?: CallOptions): Promise<SnapshotUsage> {
    const request = { snapshotter: this.snapshotter, key };
    const res = await this.conn.unary<{ size: string; inodes: string }>(
      'snapshots',
      'Usage',
      request,
      options,
    );
    return { size: Number(res.size), inodes: Number(res.inodes) };
  }

  /** Asks the snapshotter to reclaim space from removed snapshots. */
  async cleanup(options?: CallOptions): Promise<void> {
    await this.conn.unary('snapshots', 'Cleanup', { snapshotter: this.snapshotter }, options);
  }
}
