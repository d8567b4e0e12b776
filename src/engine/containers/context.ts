/**
 * What the parts of the container service share: the containers in memory,
 * the engine's services, and the few helpers every part needs.
 */
import type { ContainerdClient } from '../../containerd/client.js';
import type { ContainerServiceDeps } from './deps.js';
import type { ContainerEntry } from './entry.js';
import type { ContainerMounts } from './mounts.js';
import type { NameRegistry } from './names.js';
import type { Container } from './record.js';
import type { ContainerSizes } from './sizes.js';
import type { ContainerStore } from './store.js';

export interface ContainerContext {
  readonly deps: ContainerServiceDeps;
  /** containerd as connected now. */
  ctr(): ContainerdClient;
  /** Every container by full ID. */
  readonly entries: ReadonlyMap<string, ContainerEntry>;
  /** Adds a container to those in memory (created or loaded) and returns its entry. */
  track(container: Container): ContainerEntry;
  /** Drops a removed container from memory. */
  untrack(id: string): void;
  readonly mounts: ContainerMounts;
  /** Background measurements of writable layers. */
  readonly layerSizes: ContainerSizes;
  /** The entry for an ID, name or unique ID prefix; NotFound otherwise. */
  find(term: string): ContainerEntry;
  /** Publishes a container event with the container's attributes. */
  event(c: Container, action: string, extra?: Record<string, string>): void;
  /** A private directory for temporary mounts and copies, created on demand. */
  scratchDir(): string;
  /** Where a container's stdio FIFOs live (its own and its execs'). */
  fifoDir(id: string): string;
  /** berthd is stopping: exits are not restarted and signals are not the user's. */
  isShuttingDown(): boolean;
  /** The container's own directory under data-root (its record, /etc files, logs). */
  dir(id: string): string;
  /** Persists the container's record (and its HostConfig with `all`), in call order. */
  save(entry: ContainerEntry, what?: 'record' | 'all'): Promise<void>;
  /** Names taken, by container. */
  readonly names: NameRegistry;
  /** The records on disk. */
  readonly store: ContainerStore;
}
