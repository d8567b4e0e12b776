/** Docker's event message, as /events streams it. */
export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
  /** Legacy fields Docker still sends for container and image events. */
  status?: string;
  id?: string;
  from?: string;
}

export type EventFilters = Map<string, string[]>;
