import type { EventQuery } from '../../../engine/events/service.js';
import type { EventMessage } from '../../../engine/events/types.js';

/** What the system routes need from the engine. */
export interface SystemBackend {
  info(): Promise<Record<string, unknown>>;
  version(): Promise<Record<string, unknown>>;
  subscribeEvents(query: EventQuery, onEvent: (event: EventMessage) => void): { past: EventMessage[]; unsubscribe: () => void };
}
