import type { EventQuery } from '../../../engine/events/service.js';
import type { EventMessage } from '../../../engine/events/types.js';
import type { SystemDataUsage } from '../../../types/system.js';

/** What the system routes need from the engine. */
export interface SystemBackend {
  info(): Promise<Record<string, unknown>>;
  version(): Promise<Record<string, unknown>>;
  /** `GET /system/df`; `types` empty means every kind. */
  diskUsage?(types: string[]): Promise<SystemDataUsage>;
  subscribeEvents(
    query: EventQuery,
    onEvent: (event: EventMessage) => void,
  ): { past: EventMessage[]; unsubscribe: () => void };
}
