import { isEngineError } from '../../common/errors.js';
import { timestampToDate, type WireTimestamp } from '../any.js';
import type { CallOptions, Connection } from '../connection.js';
import {
  fieldMask,
  fromWireDescriptor,
  toWireDescriptor,
  type Descriptor,
  type Labels,
  type WireDescriptor,
} from '../types.js';

export interface Image {
  name: string;
  labels: Labels;
  target: Descriptor;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface NewImage {
  name: string;
  labels?: Labels;
  target: Descriptor;
}

interface WireImage {
  name: string;
  labels: Labels;
  target: WireDescriptor | null;
  created_at: WireTimestamp | null;
  updated_at: WireTimestamp | null;
}

function fromWireImage(i: WireImage): Image {
  return {
    name: i.name,
    labels: i.labels,
    target: fromWireDescriptor(i.target),
    createdAt: timestampToDate(i.created_at),
    updatedAt: timestampToDate(i.updated_at),
  };
}

function toWireImage(i: NewImage): Record<string, unknown> {
  return { name: i.name, labels: i.labels ?? {}, target: toWireDescriptor(i.target) };
}

export class ImagesService {
  constructor(private readonly conn: Connection) {}

  async get(name: string, options?: CallOptions): Promise<Image> {
    const res = await this.conn.unary<{ image: WireImage }>('images', 'Get', { name }, options);
    return fromWireImage(res.image);
  }

  /** Images matching containerd filters (e.g. `name==docker.io/library/busybox:latest`); all when empty. */
  async list(filters: string[] = [], options?: CallOptions): Promise<Image[]> {
    const res = await this.conn.unary<{ images: WireImage[] }>('images', 'List', { filters }, options);
    return res.images.map(fromWireImage);
  }

  /** Creates an image record; ALREADY_EXISTS surfaces as Conflict. */
  async create(image: NewImage, options?: CallOptions): Promise<Image> {
    const res = await this.conn.unary<{ image: WireImage }>(
      'images',
      'Create',
      { image: toWireImage(image) },
      options,
    );
    return fromWireImage(res.image);
  }

  /**
   * Updates the fields named by `fieldPaths` ("target", "labels",
   * "labels.<key>", "annotations"...); all mutable fields when omitted.
   */
  async update(image: NewImage, fieldPaths: string[] = [], options?: CallOptions): Promise<Image> {
    const request: Record<string, unknown> = { image: toWireImage(image) };
    if (fieldPaths.length > 0) request.update_mask = fieldMask(fieldPaths);
    const res = await this.conn.unary<{ image: WireImage }>('images', 'Update', request, options);
    return fromWireImage(res.image);
  }

  /** Creates the image, or replaces target and labels of an existing one. */
  async put(image: NewImage, options?: CallOptions): Promise<Image> {
    try {
      return await this.create(image, options);
    } catch (err) {
      if (!isEngineError(err, 'Conflict')) throw err;
      return this.update(image, ['target', 'labels'], options);
    }
  }

  /** Deletes the image record; with sync, waits for garbage collection. */
  async delete(name: string, opts: { sync?: boolean } = {}, options?: CallOptions): Promise<void> {
    await this.conn.unary('images', 'Delete', { name, sync: opts.sync ?? false }, options);
  }
}
