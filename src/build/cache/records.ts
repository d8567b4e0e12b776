/**
 * The build cache: one record per executed step, keyed by what determines
 * its result (parent image, instruction, effective config, source digests),
 * holding the image the step produced. The index lives in
 * `<data-root>/build/cache.json` (written atomically) and the layers and
 * snapshots it needs are held by one containerd lease, so containerd's GC
 * keeps them across berthd restarts and collects them once pruned.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { errorMessage, isEngineError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import type { ContainerdClient } from '../../containerd/client.js';
import type { Descriptor } from '../../containerd/types.js';
import { chainIds } from '../../containerd/unpack.js';
import { SNAPSHOTTER } from '../../engine/images/content.js';
import { readJsonIfExists, writeJsonAtomic } from '../../store/atomic.js';
import type { ImageConfigFile } from '../../types/image.js';

export const CACHE_LEASE_ID = 'berth-build-cache';
const INDEX_VERSION = 1;

export interface CacheRecord {
  /** sha256 hex of the step's cache key. */
  key: string;
  /** The image the step ran on (its ID, or a scratch marker). */
  parent: string;
  /** The image the step produced. */
  id: string;
  config: ImageConfigFile;
  layers: Descriptor[];
  /** The step added a layer (else it only changed the config). */
  newLayer: boolean;
  /** What `docker system df -v` shows: the step's history line. */
  description: string;
  /** Bytes of the step's own layer on disk. */
  size: number;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

interface IndexFile {
  version: number;
  records: CacheRecord[];
}

export interface CachePruneOptions {
  /** Remove records shared with images too (not only dangling ones). */
  all: boolean;
  /** Only records last used before this time (epoch ms). */
  until?: number;
  /** Keep this many bytes of cache, removing least recently used records first. */
  keepStorage?: number;
}

export interface CachePruneResult {
  deleted: string[];
  reclaimed: number;
}

export interface ImageUsage {
  ids: Set<string>;
  chains: Set<string>;
}

export interface BuildCacheOptions {
  dir: string;
  containerd: () => ContainerdClient;
  /** IDs of the stored images and chain IDs of the snapshots they hold (records they use are "shared"). */
  imageUsage: () => ImageUsage;
}

export class BuildCache {
  private readonly records = new Map<string, CacheRecord>();
  /** Keys held by running builds: never pruned while in use. */
  private readonly inUse = new Map<string, number>();
  private saving: Promise<void> = Promise.resolve();
  private dirty = false;
  private readonly file: string;

  constructor(private readonly options: BuildCacheOptions) {
    this.file = path.join(options.dir, 'cache.json');
  }

  async start(): Promise<void> {
    await fs.mkdir(this.options.dir, { recursive: true, mode: 0o700 });
    const index = await readJsonIfExists<IndexFile>(this.file).catch((err: unknown) => {
      log.warn('unreadable build cache index; starting empty', { error: errorMessage(err) });
      return undefined;
    });
    if (index?.version === INDEX_VERSION)
      for (const record of index.records) this.records.set(record.key, record);
    await this.ensureLease();
  }

  private async ensureLease(): Promise<void> {
    const leases = this.options.containerd().leases;
    const existing = await leases.list([`id==${CACHE_LEASE_ID}`]);
    if (existing.length === 0) {
      try {
        await leases.create({ id: CACHE_LEASE_ID, labels: { 'io.berth.build-cache': 'true' } });
      } catch (err) {
        if (!isEngineError(err, 'Conflict')) throw err;
      }
    }
  }

  /** A record whose image is still intact (its top snapshot exists); stale ones are dropped. */
  async lookup(key: string): Promise<CacheRecord | undefined> {
    const record = this.records.get(key);
    if (!record) return undefined;
    const top = chainIds(record.config.rootfs.diff_ids).pop();
    if (top !== undefined && !(await this.options.containerd().snapshots.tryStat(top))) {
      log.debug('build cache record lost its snapshot', { key, snapshot: top });
      this.records.delete(key);
      this.scheduleSave();
      return undefined;
    }
    record.lastUsedAt = new Date().toISOString();
    record.usageCount++;
    this.scheduleSave();
    return record;
  }

  /** Records a step's result; the lease takes over its layers and snapshot. */
  async add(record: CacheRecord): Promise<void> {
    const client = this.options.containerd();
    const top = chainIds(record.config.rootfs.diff_ids).pop();
    if (top !== undefined) {
      await client.leases.addResource(CACHE_LEASE_ID, { id: top, type: `snapshots/${SNAPSHOTTER}` });
    }
    for (const layer of record.layers) {
      await client.leases.addResource(CACHE_LEASE_ID, { id: layer.digest, type: 'content' });
    }
    this.records.set(record.key, record);
    this.scheduleSave();
  }

  /** Marks keys as used by a running build until the returned function is called. */
  hold(keys: Iterable<string>): () => void {
    const held = [...keys];
    for (const key of held) this.inUse.set(key, (this.inUse.get(key) ?? 0) + 1);
    return () => {
      for (const key of held) {
        const count = (this.inUse.get(key) ?? 1) - 1;
        if (count <= 0) this.inUse.delete(key);
        else this.inUse.set(key, count);
      }
    };
  }

  isInUse(key: string): boolean {
    return this.inUse.has(key);
  }

  all(): CacheRecord[] {
    return [...this.records.values()];
  }

  /** The record that produced image `id`, if any. */
  byImageId(id: string): CacheRecord | undefined {
    for (const record of this.records.values()) if (record.id === id) return record;
    return undefined;
  }

  /** The record made an image that exists, or a layer one uses. */
  isShared(record: CacheRecord, usage: ImageUsage): boolean {
    if (usage.ids.has(record.id)) return true;
    const top = chainIds(record.config.rootfs.diff_ids).pop();
    return record.newLayer && top !== undefined && usage.chains.has(top);
  }

  imageUsage(): ImageUsage {
    return this.options.imageUsage();
  }

  /** Shared records and every record on the way to them (so a rebuild of an image stays cached). */
  private keptWithoutAll(usage: ImageUsage): Set<string> {
    const byId = new Map<string, CacheRecord[]>();
    for (const record of this.records.values()) {
      const list = byId.get(record.id) ?? [];
      list.push(record);
      byId.set(record.id, list);
    }
    const kept = new Set<string>();
    const keep = (record: CacheRecord): void => {
      if (kept.has(record.key)) return;
      kept.add(record.key);
      for (const parent of byId.get(record.parent) ?? []) keep(parent);
    };
    for (const record of this.records.values()) if (this.isShared(record, usage)) keep(record);
    return kept;
  }

  async prune(options: CachePruneOptions): Promise<CachePruneResult> {
    const usage = this.options.imageUsage();
    const kept = options.all ? new Set<string>() : this.keptWithoutAll(usage);
    const candidates = this.all()
      .filter((r) => !this.inUse.has(r.key))
      .filter((r) => !kept.has(r.key))
      .filter((r) => options.until === undefined || Date.parse(r.lastUsedAt) < options.until)
      .sort((a, b) => Date.parse(a.lastUsedAt) - Date.parse(b.lastUsedAt));
    let remaining = this.all().reduce((sum, r) => sum + r.size, 0);
    const doomed: CacheRecord[] = [];
    for (const record of candidates) {
      if (options.keepStorage !== undefined && options.keepStorage > 0 && remaining <= options.keepStorage)
        break;
      doomed.push(record);
      remaining -= record.size;
    }
    if (doomed.length === 0) return { deleted: [], reclaimed: 0 };
    for (const record of doomed) this.records.delete(record.key);
    const reclaimed = doomed.filter((r) => !this.isShared(r, usage)).reduce((sum, r) => sum + r.size, 0);
    await this.releaseUnreferenced();
    this.scheduleSave();
    await this.flush();
    return { deleted: doomed.map((r) => r.key), reclaimed };
  }

  /** Lets go of lease resources no record needs any more, then has containerd collect them. */
  private async releaseUnreferenced(): Promise<void> {
    const client = this.options.containerd();
    const wanted = new Set<string>();
    for (const record of this.records.values()) {
      const top = chainIds(record.config.rootfs.diff_ids).pop();
      if (top !== undefined) wanted.add(`snapshots/${SNAPSHOTTER}:${top}`);
      for (const layer of record.layers) wanted.add(`content:${layer.digest}`);
    }
    for (const resource of await client.leases.listResources(CACHE_LEASE_ID)) {
      if (wanted.has(`${resource.type}:${resource.id}`)) continue;
      await client.leases.deleteResource(CACHE_LEASE_ID, resource).catch((err: unknown) => {
        log.warn('releasing a build cache resource failed', { id: resource.id, error: errorMessage(err) });
      });
    }
    // A throwaway lease deleted with sync runs containerd's garbage collection now.
    const gc = await client.leases.create({ expiresInMs: 60_000 });
    await client.leases.delete(gc.id, { sync: true });
  }

  private scheduleSave(): void {
    this.dirty = true;
    this.saving = this.saving.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const index: IndexFile = { version: INDEX_VERSION, records: this.all() };
      await writeJsonAtomic(this.file, index).catch((err: unknown) => {
        log.warn('writing the build cache index failed', { error: errorMessage(err) });
      });
    });
  }

  /** Resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.saving;
  }
}
