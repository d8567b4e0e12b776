/**
 * The size of each container's writable layer (SizeRw), kept up to date in
 * the background so `/system/df` answers at once however many containers
 * there are. A layer only changes while its container runs or when berth
 * writes into it (docker cp), so a stopped container is measured once after
 * each change; a running one is measured again when its last measurement
 * is older than a few seconds.
 */
import { errorMessage } from '../../common/errors.js';
import { log } from '../../common/log.js';

interface Measurement {
  size: number;
  /** ms; 0 when never measured. */
  measuredAt: number;
  dirty: boolean;
}

export interface ContainerSizesOptions {
  /** The size of a container's writable layer (containerd's snapshot usage). */
  measure: (id: string) => Promise<number>;
  /** How old a running container's measurement may be before df measures again. */
  runningMaxAgeMs?: number;
  concurrency?: number;
}

export class ContainerSizes {
  private readonly sizes = new Map<string, Measurement>();
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private active = 0;
  private idle: (() => void)[] = [];

  constructor(private readonly options: ContainerSizesOptions) {}

  /** A new container: its layer is empty. */
  created(id: string): void {
    this.sizes.set(id, { size: 0, measuredAt: Date.now(), dirty: false });
  }

  /** The layer may have changed: measured again in the background. */
  changed(id: string): void {
    const entry = this.sizes.get(id) ?? { size: 0, measuredAt: 0, dirty: true };
    entry.dirty = true;
    this.sizes.set(id, entry);
    this.schedule(id);
  }

  forget(id: string): void {
    this.sizes.delete(id);
  }

  /** The last known size (0 before the first measurement). */
  get(id: string): number {
    return this.sizes.get(id)?.size ?? 0;
  }

  /**
   * Schedules what is out of date (`running` says which containers change
   * while we look) and waits at most `budgetMs` for the measurements.
   */
  async refresh(ids: Iterable<string>, running: (id: string) => boolean, budgetMs: number): Promise<void> {
    const now = Date.now();
    const maxAge = this.options.runningMaxAgeMs ?? 5000;
    for (const id of ids) {
      const entry = this.sizes.get(id);
      if (
        !entry ||
        entry.dirty ||
        entry.measuredAt === 0 ||
        (running(id) && now - entry.measuredAt > maxAge)
      ) {
        if (!entry) this.sizes.set(id, { size: 0, measuredAt: 0, dirty: true });
        this.schedule(id);
      }
    }
    if (this.active === 0 && this.queue.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, budgetMs))),
    ]);
    clearTimeout(timer);
  }

  private schedule(id: string): void {
    if (this.queued.has(id)) return;
    this.queued.add(id);
    this.queue.push(id);
    this.pump();
  }

  private pump(): void {
    const limit = this.options.concurrency ?? 8;
    while (this.active < limit && this.queue.length > 0) {
      const id = this.queue.shift()!;
      this.queued.delete(id);
      const entry = this.sizes.get(id);
      if (!entry) continue;
      entry.dirty = false;
      this.active++;
      void this.options
        .measure(id)
        .then(
          (size) => {
            const current = this.sizes.get(id);
            if (current) Object.assign(current, { size, measuredAt: Date.now() });
          },
          (err: unknown) =>
            log.debug('measuring a container layer failed', { container: id, error: errorMessage(err) }),
        )
        .finally(() => {
          this.active--;
          this.pump();
          if (this.active === 0 && this.queue.length === 0) {
            const waiting = this.idle;
            this.idle = [];
            for (const resolve of waiting) resolve();
          }
        });
    }
  }
}
