/**
 * Volume disk usage kept incrementally, so `/system/df` never walks volumes
 * while the client waits (Docker walks every volume on each request).
 *
 * A size is known exactly when berth made the change itself (a new empty
 * volume is 0, a copy-up adds what it copied); otherwise the volume is marked
 * stale and measured in the background, one volume at a time: when the last
 * container using it stops, after a `docker cp` into it, and, for volumes
 * mounted by running containers, at most every LIVE_REFRESH_MS when usage is
 * asked for. Sizes survive restarts in one small file.
 */
import { log } from '../../common/log.js';
import { readJsonIfExists, writeJsonAtomic } from '../../store/atomic.js';

const LIVE_REFRESH_MS = 10_000;
const PERSIST_DELAY_MS = 1_000;

interface SizeEntry {
  size: number;
  measuredAt: number;
}

export class VolumeSizes {
  private readonly entries = new Map<string, SizeEntry>();
  private readonly stale = new Set<string>();
  private readonly live = new Set<string>();
  private scanning: Promise<void> | undefined;
  private persistTimer: NodeJS.Timeout | undefined;
  private persisting: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly measure: (name: string) => Promise<number>,
  ) {}

  async load(names: Iterable<string>): Promise<void> {
    const saved = (await readJsonIfExists<Record<string, number>>(this.file).catch(() => undefined)) ?? {};
    for (const name of names) {
      if (typeof saved[name] === 'number')
        this.entries.set(name, { size: saved[name], measuredAt: Date.now() });
      else this.stale.add(name);
    }
    this.schedule();
  }

  /** The last known size, or undefined when never measured. */
  get(name: string): number | undefined {
    return this.entries.get(name)?.size;
  }

  /** A size berth knows exactly (it made the change). */
  set(name: string, size: number): void {
    this.entries.set(name, { size, measuredAt: Date.now() });
    this.stale.delete(name);
    this.persistSoon();
  }

  add(name: string, bytes: number): void {
    const entry = this.entries.get(name);
    if (entry && !this.stale.has(name)) this.set(name, entry.size + bytes);
    else this.invalidate(name);
  }

  /** The volume changed in ways berth did not count: measure it again in the background. */
  invalidate(name: string): void {
    this.stale.add(name);
    this.schedule();
  }

  /** Running containers may be writing to it: refresh it now and then while usage is asked for. */
  setLive(name: string, live: boolean): void {
    if (live) this.live.add(name);
    else this.live.delete(name);
  }

  forget(name: string): void {
    this.entries.delete(name);
    this.stale.delete(name);
    this.live.delete(name);
    this.persistSoon();
  }

  /** Asks for refreshes of live volumes measured long ago; never waits for them. */
  refreshLive(): void {
    const now = Date.now();
    for (const name of this.live) {
      const entry = this.entries.get(name);
      if (!entry || now - entry.measuredAt > LIVE_REFRESH_MS) this.stale.add(name);
    }
    this.schedule();
  }

  /** Waits for background measurements, at most `timeoutMs`. */
  async settle(timeoutMs: number): Promise<void> {
    if (!this.scanning) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.scanning,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private schedule(): void {
    if (this.scanning || this.stale.size === 0 || this.closed) return;
    this.scanning = this.scanAll().finally(() => {
      this.scanning = undefined;
      if (this.stale.size > 0) this.schedule();
    });
  }

  private async scanAll(): Promise<void> {
    while (this.stale.size > 0 && !this.closed) {
      const name = this.stale.values().next().value as string;
      this.stale.delete(name);
      try {
        const size = await this.measure(name);
        // A change noted while measuring leaves the name stale for another pass.
        this.entries.set(name, { size, measuredAt: Date.now() });
        this.persistSoon();
      } catch (err) {
        log.debug('could not measure volume', { volume: name, error: String(err) });
      }
    }
  }

  private persistSoon(): void {
    if (this.persistTimer || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      this.persisting = this.persist();
    }, PERSIST_DELAY_MS);
    this.persistTimer.unref();
  }

  private async persist(): Promise<void> {
    const snapshot: Record<string, number> = {};
    for (const [name, entry] of this.entries) snapshot[name] = entry.size;
    await writeJsonAtomic(this.file, snapshot).catch((err: unknown) =>
      log.warn('could not record volume sizes', { error: String(err) }),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      this.persistTimer = undefined;
    }
    await this.scanning;
    await this.persisting;
    await this.persist();
  }
}
