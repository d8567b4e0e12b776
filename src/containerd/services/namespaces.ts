import { isEngineError } from '../../common/errors.js';
import type { CallOptions, Connection } from '../connection.js';
import { fieldMask, labelPaths, type Labels } from '../types.js';

export interface NamespaceInfo {
  name: string;
  labels: Labels;
}

interface WireNamespace {
  name: string;
  labels: Labels;
}

export class NamespacesService {
  constructor(private readonly conn: Connection) {}

  /** Creates the namespace; an existing one is fine (its labels are then left alone). */
  async create(name: string, labels: Labels = {}, options?: CallOptions): Promise<void> {
    try {
      await this.conn.unary('namespaces', 'Create', { namespace: { name, labels } }, options);
    } catch (err) {
      if (!isEngineError(err, 'Conflict')) throw err;
    }
  }

  async get(name: string, options?: CallOptions): Promise<NamespaceInfo> {
    const res = await this.conn.unary<{ namespace: WireNamespace }>('namespaces', 'Get', { name }, options);
    return { name: res.namespace.name, labels: res.namespace.labels };
  }

  async list(options?: CallOptions): Promise<NamespaceInfo[]> {
    const res = await this.conn.unary<{ namespaces: WireNamespace[] }>('namespaces', 'List', {}, options);
    return res.namespaces.map((n) => ({ name: n.name, labels: n.labels }));
  }

  /** Sets the given labels (an empty value removes a label). */
  async setLabels(name: string, labels: Labels, options?: CallOptions): Promise<NamespaceInfo> {
    const request = { namespace: { name, labels }, update_mask: fieldMask(labelPaths(labels)) };
    const res = await this.conn.unary<{ namespace: WireNamespace }>('namespaces', 'Update', request, options);
    return { name: res.namespace.name, labels: res.namespace.labels };
  }

  /** Deletes an empty namespace (FAILED_PRECONDITION → Conflict while it holds objects). */
  async delete(name: string, options?: CallOptions): Promise<void> {
    await this.conn.unary('namespaces', 'Delete', { name }, options);
  }
}
