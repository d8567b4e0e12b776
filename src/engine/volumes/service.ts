/**
 * Volumes (Docker's volume service with the `local` driver): create, list,
 * inspect, remove, prune; mounting for containers, copy-up of image content
 * into new volumes, and disk usage for `/system/df`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatRFC3339, treeSize } from '../../archive/index.js';
import { closeFd, openTrustedDir, removeTreeAt } from '../../archive/fdops.js';
import { conflict, invalidParameter, notFound, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { readJsonIfExists, removeStaleTempFiles, writeJsonAtomic } from '../../store/atomic.js';
import type {
  Volume,
  VolumeCreateRequest,
  VolumeListResponse,
  VolumePruneResponse,
} from '../../types/volume.js';
import { copyUp } from './copyup.js';
import {
  boolFilter,
  LIST_FILTERS,
  matchLabelFilters,
  matchName,
  parseGoBool,
  PRUNE_FILTERS,
  validateFilters,
  type VolumeFilters,
} from './filters.js';
import {
  ANONYMOUS_LABEL,
  DATA_DIR_NAME,
  generateVolumeName,
  LOCAL_DRIVER,
  LocalDriver,
  mountsUnder,
  needsMount,
  validateVolumeName,
  validateVolumeOptions,
  type VolumeRecord,
} from './local.js';
import { VolumeSizes } from './sizes.js';

/** Supplied by the container service: which containers (any state) reference a volume. */
export interface VolumeUsage {
  containersUsing(name: string): string[];
}

/** Where volume events go (the daemon's EventsService fits). */
export interface VolumeEventSink {
  publish(type: string, action: string, id: string, attributes?: Record<string, string>): unknown;
}

export interface VolumeServiceOptions {
  dataRoot: string;
  events: VolumeEventSink;
  usage?: VolumeUsage;
}

/** How a container mounts a volume, for the `mount` event's attributes. */
export interface VolumeMountInfo {
  destination?: string;
  readWrite?: boolean;
  propagation?: string;
}

const USAGE_SETTLE_MS = 50;

/** Serialises operations per volume name. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

function noSuchVolume(name: string): Error {
  return notFound(`get ${name}: no such volume`);
}

export class VolumeService {
  readonly root: string;
  private readonly driver: LocalDriver;
  private readonly records = new Map<string, VolumeRecord>();
  /** Containers that currently have each volume mounted (running, or being set up). */
  private readonly mountRefs = new Map<string, Set<string>>();
  private readonly sizes: VolumeSizes;
  private readonly locks = new KeyedLock();
  private usageSource: VolumeUsage | undefined;
  private pruneRunning = false;

  constructor(private readonly options: VolumeServiceOptions) {
    this.root = path.join(options.dataRoot, 'volumes');
    this.driver = new LocalDriver(this.root);
    this.usageSource = options.usage;
    this.sizes = new VolumeSizes(path.join(this.root, 'sizes.json'), (name) => this.measure(name));
  }

  /** The container service registers itself once it exists. */
  setUsage(usage: VolumeUsage): void {
    this.usageSource = usage;
  }

  /** Loads every volume under data-root/volumes (a directory without metadata is adopted as a plain local volume). */
  async start(): Promise<void> {
    await fs.mkdir(this.root, { recursive: true, mode: 0o701 });
    await removeStaleTempFiles(this.root);
    for (const entry of await fs.readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const record = await this.loadRecord(entry.name);
      if (record) this.records.set(record.name, record);
    }
    await this.sizes.load(this.records.keys());
  }

  async close(): Promise<void> {
    await this.sizes.close();
  }

  private async loadRecord(name: string): Promise<VolumeRecord | undefined> {
    try {
      const saved = await readJsonIfExists<VolumeRecord>(this.driver.metadataPath(name));
      if (saved) {
        await removeStaleTempFiles(this.driver.volumeDir(name));
        return saved;
      }
      const st = await fs.stat(this.driver.dataPath(name));
      const record: VolumeRecord = {
        name,
        driver: LOCAL_DRIVER,
        labels: null,
        options: null,
        createdAtNs: String(BigInt(Math.round(st.ctimeMs)) * 1_000_000n),
      };
      await writeJsonAtomic(this.driver.metadataPath(name), record);
      return record;
    } catch (err) {
      log.warn('ignoring unreadable volume directory', { volume: name, error: String(err) });
      return undefined;
    }
  }

  /** Containers referencing the volume, plus any that have it mounted right now. */
  users(name: string): string[] {
    const users = new Set(this.usageSource?.containersUsing(name) ?? []);
    for (const id of this.mountRefs.get(name) ?? []) users.add(id);
    return [...users];
  }

  has(name: string): boolean {
    return this.records.has(name);
  }

  /** Host path of the volume's data (its mountpoint). */
  dataPath(name: string): string {
    return this.driver.dataPath(name);
  }

  private toApi(record: VolumeRecord, withUsage = false): Volume {
    const volume: Volume = {
      CreatedAt: formatRFC3339(BigInt(record.createdAtNs)),
      Driver: record.driver,
      Labels: sortedMap(record.labels),
      Mountpoint: this.driver.dataPath(record.name),
      Name: record.name,
      Options: sortedMap(record.options),
      Scope: 'local',
    };
    if (withUsage) {
      volume.UsageData = {
        Size: this.sizes.get(record.name) ?? -1,
        RefCount: this.users(record.name).length,
      };
    }
    return volume;
  }

  private record(name: string): VolumeRecord {
    const record = this.records.get(name);
    if (!record) throw noSuchVolume(name);
    return record;
  }

  /**
   * `POST /volumes/create`. No name makes an anonymous volume (64 hex
   * characters, labelled com.docker.volume.anonymous); an existing name
   * returns that volume unchanged, as Docker does.
   */
  async create(request: VolumeCreateRequest = {}): Promise<Volume> {
    const anonymous = !request.Name;
    const name = request.Name || generateVolumeName();
    const driver = request.Driver || LOCAL_DRIVER;
    if (driver !== LOCAL_DRIVER) {
      throw notFound(
        `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`,
      );
    }
    try {
      validateVolumeName(name);
      validateVolumeOptions(request.DriverOpts);
    } catch (err) {
      throw invalidParameter(`create ${name}: ${(err as Error).message}`);
    }
    const labels = anonymous
      ? { ...(request.Labels ?? {}), [ANONYMOUS_LABEL]: '' }
      : (request.Labels ?? null);
    return this.locks.run(name, async () => {
      const existing = this.records.get(name);
      if (existing) return this.toApi(existing);
      const record: VolumeRecord = {
        name,
        driver: LOCAL_DRIVER,
        labels,
        options: request.DriverOpts && request.DriverOpts !== null ? { ...request.DriverOpts } : null,
        createdAtNs: String(BigInt(Date.now()) * 1_000_000n),
      };
      const dir = this.driver.volumeDir(name);
      try {
        await fs.mkdir(dir, { mode: 0o755 });
        await fs.mkdir(path.join(dir, DATA_DIR_NAME), { mode: 0o755 });
        await writeJsonAtomic(this.driver.metadataPath(name), record);
      } catch (err) {
        await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        throw systemError(`create ${name}: ${(err as Error).message}`, err);
      }
      this.records.set(name, record);
      this.sizes.set(name, 0);
      this.options.events.publish('volume', 'create', name, { driver: LOCAL_DRIVER });
      return this.toApi(record);
    });
  }

  /** `GET /volumes/{name}`; `withUsage` adds UsageData (a berth extension, `?size=1`). */
  async inspect(name: string, options: { withUsage?: boolean } = {}): Promise<Volume> {
    if (options.withUsage) await this.sizes.settle(USAGE_SETTLE_MS);
    return this.toApi(this.record(name), options.withUsage);
  }

  /** `GET /volumes` with filters dangling, name, driver, label. */
  list(filters: VolumeFilters = new Map()): VolumeListResponse {
    validateFilters(filters, LIST_FILTERS);
    const dangling = filters.has('dangling') ? boolFilter(filters, 'dangling', false) : undefined;
    const drivers = filters.get('driver') ?? [];
    const volumes: Volume[] = [];
    for (const record of this.records.values()) {
      if (drivers.length > 0 && !drivers.includes(record.driver)) continue;
      if (!matchName(filters, 'name', record.name)) continue;
      if (!matchLabelFilters(filters, record.labels)) continue;
      if (dangling !== undefined && (this.users(record.name).length === 0) !== dangling) continue;
      volumes.push(this.toApi(record));
    }
    return { Volumes: volumes, Warnings: null };
  }

  /**
   * `DELETE /volumes/{name}`. A volume in use is refused with Docker's 409;
   * `force` only makes a missing volume not an error (Docker's purge-on-error).
   */
  async remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    await this.locks.run(name, async () => {
      const record = this.records.get(name);
      if (!record) {
        if (options.force) return;
        throw noSuchVolume(name);
      }
      const users = this.users(name);
      if (users.length > 0) throw conflict(`remove ${name}: volume is in use - [${users.join(', ')}]`);
      await this.destroy(record);
    });
  }

  private async destroy(record: VolumeRecord): Promise<void> {
    const dir = this.driver.volumeDir(record.name);
    if (needsMount(record)) await this.driver.unmount(record);
    const mounted = await mountsUnder(dir);
    if (mounted.length > 0) {
      throw systemError(`remove ${record.name}: volume data is still mounted at ${mounted.join(', ')}`);
    }
    const parentFd = await openTrustedDir(this.root);
    try {
      await removeTreeAt(parentFd, record.name);
    } catch (err) {
      throw systemError(`remove ${record.name}: ${(err as Error).message}`, err);
    } finally {
      await closeFd(parentFd);
    }
    this.records.delete(record.name);
    this.mountRefs.delete(record.name);
    this.sizes.forget(record.name);
    this.options.events.publish('volume', 'destroy', record.name, { driver: record.driver });
  }

  /**
   * `POST /volumes/prune`: unused local volumes without mount options,
   * anonymous ones only unless the `all` filter is true (API < 1.42 always
   * prunes all, as Docker does), narrowed by `label` / `label!`.
   */
  async prune(
    filters: VolumeFilters = new Map(),
    options: { apiVersion?: string } = {},
  ): Promise<VolumePruneResponse> {
    validateFilters(filters, PRUNE_FILTERS);
    const allValues = filters.get('all') ?? [];
    if (allValues.length > 1)
      throw invalidParameter(`invalid filter 'all=[${allValues.join(' ')}]': only one value is expected`);
    let all = false;
    if (allValues.length === 1) {
      const parsed = parseGoBool(allValues[0]);
      if (parsed === undefined) {
        throw invalidParameter(
          `invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(allValues[0])}: invalid syntax`,
        );
      }
      all = parsed;
    }
    if (options.apiVersion && compareApiVersions(options.apiVersion, '1.42') < 0) all = true;
    if (this.pruneRunning) throw conflict('a prune operation is already running');
    this.pruneRunning = true;
    try {
      const report: VolumePruneResponse = { VolumesDeleted: [], SpaceReclaimed: 0 };
      for (const record of [...this.records.values()]) {
        if (record.driver !== LOCAL_DRIVER || (record.options && Object.keys(record.options).length > 0))
          continue;
        if (!all && !Object.hasOwn(record.labels ?? {}, ANONYMOUS_LABEL)) continue;
        if (!matchLabelFilters(filters, record.labels)) continue;
        const removed = await this.locks.run(record.name, async () => {
          if (!this.records.has(record.name) || this.users(record.name).length > 0) return undefined;
          // Measured now, as Docker does: the space reclaimed must be exact, and prune is not latency-bound.
          const size = await this.measure(record.name).catch(() => 0);
          try {
            await this.destroy(record);
          } catch (err) {
            log.warn('could not prune volume', { volume: record.name, error: String(err) });
            return undefined;
          }
          return size;
        });
        if (removed === undefined) continue;
        report.VolumesDeleted!.push(record.name);
        report.SpaceReclaimed += removed;
      }
      this.options.events.publish('volume', 'prune', '', { reclaimed: String(report.SpaceReclaimed) });
      return report;
    } finally {
      this.pruneRunning = false;
    }
  }

  /**
   * Called by the container service when a container starts using a volume:
   * mounts it if it has mount options and nobody has it mounted yet, records
   * the container, emits `mount`, and returns the host path to bind.
   */
  async mountForContainer(name: string, containerId: string, info: VolumeMountInfo = {}): Promise<string> {
    return this.locks.run(name, async () => {
      const record = this.record(name);
      const refs = this.mountRefs.get(name) ?? new Set<string>();
      if (refs.size === 0 && needsMount(record)) await this.driver.mount(record);
      refs.add(containerId);
      this.mountRefs.set(name, refs);
      this.sizes.setLive(name, true);
      this.options.events.publish('volume', 'mount', name, {
        driver: record.driver,
        container: containerId,
        destination: info.destination ?? '',
        'read/write': String(info.readWrite ?? true),
        propagation: info.propagation ?? '',
      });
      return this.driver.dataPath(name);
    });
  }

  /**
   * After a berthd restart, records that a still-running container has the
   * volume mounted (no event; mounts again only if the mount is gone).
   */
  async restoreMount(name: string, containerId: string): Promise<string> {
    return this.locks.run(name, async () => {
      const record = this.record(name);
      if (needsMount(record)) await this.driver.mount(record);
      const refs = this.mountRefs.get(name) ?? new Set<string>();
      refs.add(containerId);
      this.mountRefs.set(name, refs);
      this.sizes.setLive(name, true);
      return this.driver.dataPath(name);
    });
  }

  /** Called when the container stops using the volume: unmounts after the last user, emits `unmount`. */
  async unmountForContainer(name: string, containerId: string): Promise<void> {
    await this.locks.run(name, async () => {
      const record = this.records.get(name);
      const refs = this.mountRefs.get(name);
      if (!record || !refs?.delete(containerId)) return;
      if (refs.size === 0) {
        this.mountRefs.delete(name);
        this.sizes.setLive(name, false);
        if (needsMount(record)) await this.driver.unmount(record);
      }
      this.sizes.invalidate(name);
      this.options.events.publish('volume', 'unmount', name, {
        driver: record.driver,
        container: containerId,
      });
    });
  }

  /**
   * Docker's copy-up: fills the volume with the image's content at
   * `containerPath` of `rootfs` (resolved inside rootfs) if the volume is
   * empty, keeping ownership, modes and symlinks. Returns whether anything
   * was copied.
   */
  async copyUp(name: string, rootfs: string, containerPath: string): Promise<boolean> {
    return this.locks.run(name, async () => {
      const record = this.record(name);
      const mountedHere = needsMount(record) && !this.mountRefs.get(name)?.size;
      if (mountedHere) await this.driver.mount(record);
      try {
        const result = await copyUp(rootfs, containerPath, this.driver.dataPath(name));
        if (result.copied) this.sizes.add(name, result.bytes);
        return result.copied;
      } finally {
        if (mountedHere) await this.driver.unmount(record);
      }
    });
  }

  /** Something outside berth's accounting wrote into the volume (e.g. `docker cp`): re-measure it. */
  noteChanged(name: string): void {
    if (this.records.has(name)) this.sizes.invalidate(name);
  }

  /**
   * Volumes for `/system/df`: local volumes without mount options, with
   * UsageData from the incremental size cache (waits at most a few ms for a
   * measurement already under way).
   */
  async usage(): Promise<Volume[]> {
    this.sizes.refreshLive();
    await this.sizes.settle(USAGE_SETTLE_MS);
    const volumes: Volume[] = [];
    for (const record of this.records.values()) {
      if (record.driver !== LOCAL_DRIVER || (record.options && Object.keys(record.options).length > 0))
        continue;
      volumes.push(this.toApi(record, true));
    }
    return volumes;
  }

  private async measure(name: string): Promise<number> {
    if (!this.records.has(name)) return 0;
    return treeSize(this.driver.dataPath(name));
  }
}

/** Go marshals maps with sorted keys. */
function sortedMap(map: Record<string, string> | null): Record<string, string> | null {
  if (!map) return map;
  return Object.fromEntries(Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Compares "1.41"-style API versions. */
function compareApiVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
