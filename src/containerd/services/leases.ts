import { randomBytes } from 'node:crypto';
import { isEngineError } from '../../common/errors.js';
import { timestampToDate, type WireTimestamp } from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import type { Labels } from '../types.js';

/** Lease label: containerd's GC drops the lease after this RFC 3339 time. */
export const LEASE_EXPIRE_LABEL = 'containerd.io/gc.expire';

export interface Lease {
  id: string;
  createdAt?: Date;
  labels: Labels;
}

export type LeaseResourceType = 'content' | 'ingests' | `snapshots/${string}`;

export interface LeaseResource {
  id: string;
  type: LeaseResourceType;
}

export interface CreateLeaseOptions {
  /** Defaults to a random "berth-<hex>" id. */
  id?: string;
  labels?: Labels;
  /** Sets the gc.expire label: a safety net so a crash cannot leak the lease. */
  expiresInMs?: number;
}

interface WireLease {
  id: string;
  created_at: WireTimestamp | null;
  labels: Labels;
}

function fromWireLease(l: WireLease): Lease {
  return { id: l.id, createdAt: timestampToDate(l.created_at), labels: l.labels };
}

export class LeasesService {
  constructor(private readonly conn: Connection) {}

  async create(opts: CreateLeaseOptions = {}, options?: CallOptions): Promise<Lease> {
    const labels: Labels = { ...opts.labels };
    if (opts.expiresInMs !== undefined) {
      labels[LEASE_EXPIRE_LABEL] = new Date(Date.now() + opts.expiresInMs).toISOString();
    }
    const id = opts.id ?? `berth-${randomBytes(8).toString('hex')}`;
    const res = await this.conn.unary<{ lease: WireLease }>('leases', 'Create', { id, labels }, options);
    return fromWireLease(res.lease);
  }

  /**
   * Deletes the lease; with sync, resolves only after containerd's garbage
   * collection has run. A lease that is already gone is fine.
   */
  async delete(id: string, opts: { sync?: boolean } = {}, options?: CallOptions): Promise<void> {
    try {
      await this.conn.unary('leases', 'Delete', { id, sync: opts.sync ?? false }, options);
    } catch (err) {
      if (!isEngineError(err, 'NotFound')) throw err;
    }
  }

  async list(filters: string[] = [], options?: CallOptions): Promise<Lease[]> {
    const res = await this.conn.unary<{ leases: WireLease[] }>('leases', 'List', { filters }, options);
    return res.leases.map(fromWireLease);
  }

  async addResource(id: string, resource: LeaseResource, options?: CallOptions): Promise<void> {
    await this.conn.unary('leases', 'AddResource', { id, resource }, options);
  }

  async deleteResource(id: string, resource: LeaseResource, options?: CallOptions): Promise<void> {
    await this.conn.unary('leases', 'DeleteResource', { id, resource }, options);
  }

  async listResources(id: string, options?: CallOptions): Promise<LeaseResource[]> {
    const res = await this.conn.unary<{ resources: LeaseResource[] }>(
      'leases',
      'ListResources',
      { id },
      options,
    );
    return res.resources.map((r) => ({ id: r.id, type: r.type }));
  }
}
