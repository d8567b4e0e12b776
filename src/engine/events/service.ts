import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { log } from '../../common/log.js';
import { writeFileAtomic } from '../../store/atomic.js';
import { eventMatches } from './filter.js';
import type { EventFilters, EventMessage } from './types.js';

const HISTORY_LIMIT = 1024;

export interface EventQuery {
  /** Seconds (fractional allowed) since the epoch. */
  since?: number;
  until?: number;
  filters: EventFilters;
}

type Listener = (event: EventMessage) => void;

/**
 * The daemon's event bus. A bounded history is appended to a file under
 * data-root so `--since` reaches back across a berthd restart; a torn last
 * line from a crash is simply skipped when loading.
 */
export class EventsService {
  private history: EventMessage[] = [];
  private readonly listeners = new Set<Listener>();
  private appended = 0;
  private pending: string[] = [];
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<void> {
    await fs.mkdir(path.dirname(this.file), { recursive: true });
    try {
      const lines = createInterface({ input: createReadStream(this.file), crlfDelay: Infinity });
      for await (const line of lines) {
        try {
          this.history.push(JSON.parse(line) as EventMessage);
        } catch {
          // A line torn by a crash mid-append: the rest of the history is still good.
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.history = this.history.slice(-HISTORY_LIMIT);
  }

  publish(type: string, action: string, id: string, attributes: Record<string, string> = {}): EventMessage {
    const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const event: EventMessage = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      event.status = action;
      event.id = id;
      if (attributes.image) event.from = attributes.image;
    }
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    for (const listener of this.listeners) listener(event);
    this.persist(event);
    return event;
  }

  /**
   * Appends happen off the publishing path and coalesce: events published
   * while a write is under way go out together in the next one, so a burst
   * (an exec makes three) costs one file operation, not one each.
   */
  private persist(event: EventMessage): void {
    this.pending.push(JSON.stringify(event) + '\n');
    if (this.pending.length > 1) return;
    this.writing = this.writing
      .then(() => this.writePending())
      .catch((err: unknown) => log.warn('could not record event', { error: String(err) }));
  }

  private async writePending(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    this.appended += lines.length;
    if (this.appended > HISTORY_LIMIT) {
      this.appended = 0;
      await writeFileAtomic(this.file, this.history.map((e) => JSON.stringify(e) + '\n').join(''));
    } else {
      await fs.appendFile(this.file, lines.join(''));
    }
  }

  /** Past events matching the query, then live ones until `until` or unsubscribe. */
  subscribe(query: EventQuery, onEvent: Listener): { past: EventMessage[]; unsubscribe: () => void } {
    const inRange = (e: EventMessage): boolean =>
      (query.since === undefined || e.timeNano >= query.since * 1e9) &&
      (query.until === undefined || e.timeNano <= query.until * 1e9);
    const past =
      query.since === undefined
        ? []
        : this.history.filter((e) => inRange(e) && eventMatches(e, query.filters));
    const listener: Listener = (e) => {
      if (inRange(e) && eventMatches(e, query.filters)) onEvent(e);
    };
    this.listeners.add(listener);
    return { past, unsubscribe: () => this.listeners.delete(listener) };
  }

  async flush(): Promise<void> {
    await this.writing;
  }
}
