/**
 * `RUN --mount=type=cache` directories: persisted under
 * `<data-root>/build/cache-mounts/`, one per cache id, reused by every build
 * until pruned. Sharing follows BuildKit: `shared` lets concurrent steps use
 * the same directory, `locked` makes them take turns, `private` gives a
 * concurrent step a fresh directory of its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { treeSize } from '../../archive/size.js';
import { readJsonIfExists, writeJsonAtomic } from '../../store/atomic.js';
import type { CacheSharing } from '../dockerfile/mount.js';

interface CacheMountMeta {
  id: string;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

interface CacheMountEntry {
  dir: string;
  meta: CacheMountMeta;
  users: number;
  /** Tail of the queue of `locked` users. */
  lock: Promise<void>;
}

export interface AcquiredCacheMount {
  /** Host directory to bind at the mount target. */
  path: string;
  release(): Promise<void>;
}

export interface CacheMountInfo {
  key: string;
  id: string;
  size: number;
  inUse: boolean;
  createdAt: string;
  lastUsedAt: string;
  usageCount: number;
}

export class CacheMountStore {
  private readonly entries = new Map<string, CacheMountEntry>();

  constructor(private readonly dir: string) {}

  async start(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await fs.readdir(this.dir)) {
      const dir = path.join(this.dir, name);
      if (name.startsWith('tmp-')) {
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      const meta = await readJsonIfExists<CacheMountMeta>(path.join(dir, 'meta.json')).catch(() => undefined);
      if (meta) this.entries.set(name, { dir, meta, users: 0, lock: Promise.resolve() });
    }
  }

  private keyOf(id: string): string {
    return createHash('sha256').update(id).digest('hex').slice(0, 32);
  }

  /**
   * The directory of cache `id`. A new cache directory gets `mode` (0755)
   * and `uid`/`gid` (0) for its root.
   */
  async acquire(
    id: string,
    sharing: CacheSharing,
    init: { mode?: number; uid?: number; gid?: number } = {},
  ): Promise<AcquiredCacheMount> {
    const key = this.keyOf(id);
    let entry = this.entries.get(key);
    if (!entry) {
      const dir = path.join(this.dir, key);
      await fs.mkdir(path.join(dir, 'data'), { recursive: true, mode: 0o755 });
      await prepareRoot(path.join(dir, 'data'), init);
      const now = new Date().toISOString();
      entry = {
        dir,
        meta: { id, createdAt: now, lastUsedAt: now, usageCount: 0 },
        users: 0,
        lock: Promise.resolve(),
      };
      this.entries.set(key, entry);
    }
    const current = entry;
    if (sharing === 'private' && current.users > 0) {
      // Someone is using it: this step gets a scratch copy of its own, dropped afterwards.
      const scratch = path.join(this.dir, `tmp-${randomBytes(8).toString('hex')}`);
      await fs.mkdir(scratch, { mode: 0o755 });
      await prepareRoot(scratch, init);
      return { path: scratch, release: () => fs.rm(scratch, { recursive: true, force: true }) };
    }
    let unlock = (): void => undefined;
    if (sharing === 'locked') {
      const previous = current.lock;
      current.lock = new Promise<void>((resolve) => (unlock = resolve));
      await previous;
    }
    current.users++;
    current.meta.lastUsedAt = new Date().toISOString();
    current.meta.usageCount++;
    await this.saveMeta(current);
    let released = false;
    return {
      path: path.join(current.dir, 'data'),
      release: async () => {
        if (released) return;
        released = true;
        current.users--;
        unlock();
      },
    };
  }

  private async saveMeta(entry: CacheMountEntry): Promise<void> {
    await writeJsonAtomic(path.join(entry.dir, 'meta.json'), entry.meta).catch((err: unknown) =>
      log.warn('writing cache mount metadata failed', { error: errorMessage(err) }),
    );
  }

  async list(): Promise<CacheMountInfo[]> {
    const out: CacheMountInfo[] = [];
    for (const [key, entry] of this.entries) {
      out.push({
        key,
        id: entry.meta.id,
        size: await treeSize(path.join(entry.dir, 'data')).catch(() => 0),
        inUse: entry.users > 0,
        createdAt: entry.meta.createdAt,
        lastUsedAt: entry.meta.lastUsedAt,
        usageCount: entry.meta.usageCount,
      });
    }
    return out;
  }

  /** Removes unused cache directories last used before `until` (epoch ms), if given. */
  async prune(until?: number): Promise<{ deleted: string[]; reclaimed: number }> {
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const info of await this.list()) {
      if (info.inUse) continue;
      if (until !== undefined && Date.parse(info.lastUsedAt) >= until) continue;
      const entry = this.entries.get(info.key);
      if (!entry || entry.users > 0) continue;
      this.entries.delete(info.key);
      await fs.rm(entry.dir, { recursive: true, force: true });
      deleted.push(info.key);
      reclaimed += info.size;
    }
    return { deleted, reclaimed };
  }
}

async function prepareRoot(dir: string, init: { mode?: number; uid?: number; gid?: number }): Promise<void> {
  await fs.chmod(dir, init.mode ?? 0o755);
  await fs.chown(dir, init.uid ?? 0, init.gid ?? 0);
}
