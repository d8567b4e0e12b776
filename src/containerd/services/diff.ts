import type { CallOptions, Connection } from '../connection.js';
import { toWireAny, type AnyMessage, type WireAny } from '../any.js';
import {
  fromWireDescriptor,
  toWireDescriptor,
  toWireMount,
  type Descriptor,
  type Labels,
  type Mount,
  type WireDescriptor,
} from '../types.js';

export interface DiffOptions {
  /** Media type of the produced layer; containerd's default is tar+gzip. */
  mediaType?: string;
  /** Content ingest ref used while writing the layer. */
  ref?: string;
  /** Labels set on the committed layer blob. */
  labels?: Labels;
}

export class DiffService {
  constructor(private readonly conn: Connection) {}

  /**
   * Applies a layer blob from the content store onto mounts (typically an
   * active snapshot). Returns the applied (uncompressed) descriptor, whose
   * digest is the layer's diffID.
   */
  async apply(
    layer: Descriptor,
    mounts: Mount[],
    payloads: Record<string, AnyMessage> = {},
    options?: CallOptions,
  ): Promise<Descriptor> {
    const request = {
      diff: toWireDescriptor(layer),
      mounts: mounts.map(toWireMount),
      payloads: Object.fromEntries(
        Object.entries(payloads).map(([k, v]): [string, WireAny] => [k, toWireAny(v)]),
      ),
    };
    const res = await this.conn.unary<{ applied: WireDescriptor }>('diff', 'Apply', request, options);
    return fromWireDescriptor(res.applied);
  }

  /** Computes the changes from `lower` to `upper` and writes them to the content store as a layer. */
  async diff(
    lower: Mount[],
    upper: Mount[],
    diffOptions: DiffOptions = {},
    options?: CallOptions,
  ): Promise<Descriptor> {
    const request = {
      left: lower.map(toWireMount),
      right: upper.map(toWireMount),
      media_type: diffOptions.mediaType ?? '',
      ref: diffOptions.ref ?? '',
      labels: diffOptions.labels ?? {},
    };
    const res = await this.conn.unary<{ diff: WireDescriptor }>('diff', 'Diff', request, options);
    return fromWireDescriptor(res.diff);
  }
}
