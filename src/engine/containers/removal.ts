/**
 * Removing containers: docker rm (killing a running one with force), the
 * AutoRemove of a stopped --rm container, and container prune.
 */
import { promises as fs } from 'node:fs';
import { conflict, errorMessage, invalidParameter, isEngineError, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { parseTimestampFilter } from '../images/filters.js';
import type { ContainerContext } from './context.js';
import type { ContainerEntry } from './entry.js';
import type { ContainerLifecycle } from './lifecycle.js';
import { labelsMatch, type ListFilters } from './list.js';
import { rfc3339ToNanos, statusOf } from './record.js';
import { cancelRestart } from './restart.js';
import { withTimeout, type ContainerRuntime } from './runtime.js';
import { SIGKILL } from './signals.js';
import type { ContainerStarter } from './start.js';

export interface RemoveOptions {
  force?: boolean;
  removeVolumes?: boolean;
  link?: boolean;
}

export class ContainerRemoval {
  constructor(
    private readonly context: ContainerContext,
    private readonly runtime: ContainerRuntime,
    private readonly starter: ContainerStarter,
    private readonly lifecycle: ContainerLifecycle,
  ) {}

  async remove(term: string, options: RemoveOptions = {}): Promise<void> {
    const entry = this.context.find(term);
    if (options.link)
      throw invalidParameter('Conflict, cannot remove the default link name of the container');
    const c = entry.c;
    if (c.State.RemovalInProgress) throw conflict(`removal of container ${term} is already in progress`);
    if (c.State.Running && !options.force) {
      const reason = c.State.Paused
        ? 'container is paused and must be unpaused first'
        : `container is ${statusOf(c.State)}: stop the container before removing or force remove`;
      throw conflict(`cannot remove container "${term}": ${reason}`);
    }
    try {
      await this.removeEntry(entry, options);
    } catch (err) {
      if (isEngineError(err)) throw err;
      throw systemError(`cannot remove container "${term}": ${errorMessage(err)}`, err);
    }
  }

  /**
   * Kills the container if it runs, then removes its task, snapshot,
   * containerd record, files and name. Marked RemovalInProgress first, so
   * nothing starts it meanwhile; a start already under way is waited for and
   * its run killed too. A failed removal leaves the container as it was.
   */
  async removeEntry(entry: ContainerEntry, options: RemoveOptions): Promise<void> {
    const c = entry.c;
    if (entry.removed || c.State.RemovalInProgress) return;
    entry.restartCanceled = true;
    c.State.RemovalInProgress = true;
    try {
      for (;;) {
        if (cancelRestart(entry)) entry.changes.emit('stopped');
        if (c.State.Running) {
          await this.lifecycle.signal(entry, SIGKILL);
          if (!(await withTimeout(entry.whenStopped(), 10_000))) {
            throw systemError('could not kill container: it did not exit after SIGKILL');
          }
        }
        await this.context.save(entry);
        const removed = await entry.lock(async () => {
          if (c.State.Running) return false;
          await this.context
            .ctr()
            .tasks.delete(c.ID)
            .catch(() => undefined);
          await this.starter.releaseRun(entry);
          await this.runtime.removeContainerdContainer(c.ID);
          await fs.rm(this.context.fifoDir(c.ID), { recursive: true, force: true });
          c.State.Dead = true;
          entry.removed = true;
          await this.context.store.remove(c.ID);
          this.context.untrack(c.ID);
          this.context.names.release(c.Name, c.ID);
          return true;
        });
        if (removed) break;
      }
    } catch (err) {
      if (!entry.removed) {
        c.State.RemovalInProgress = false;
        await this.context.save(entry).catch(() => undefined);
      }
      throw err;
    }
    this.context.layerSizes.forget(c.ID);
    if (options.removeVolumes) {
      const anonymous = (c.MountPoints ?? []).filter((p) => p.Type === 'volume' && p.Anonymous && p.Name);
      await this.context.mounts.removeVolumes(anonymous.map((p) => p.Name!));
    }
    this.context.event(c, 'destroy');
    entry.changes.emit('removed');
  }

  async prune(filters: ListFilters): Promise<{ ContainersDeleted: string[] | null; SpaceReclaimed: number }> {
    for (const key of filters.keys()) {
      if (key !== 'until' && key !== 'label' && key !== 'label!')
        throw invalidParameter(`invalid filter '${key}'`);
    }
    const until = filters
      .get('until')
      ?.map((value) => BigInt(Math.round(parseTimestampFilter(value))) * 1_000_000n);
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const entry of [...this.context.entries.values()]) {
      const c = entry.c;
      if (c.State.Running || c.State.RemovalInProgress) continue;
      if (until && !until.every((limit) => rfc3339ToNanos(c.Created) < limit)) continue;
      const labels = c.Config.Labels ?? {};
      if (filters.get('label') && !labelsMatch(filters.get('label')!, labels)) continue;
      if (filters.get('label!') && filters.get('label!')!.some((v) => labelsMatch([v], labels))) continue;
      const size = await this.context
        .ctr()
        .snapshots.usage(c.ID)
        .then(
          (u) => u.size,
          () => 0,
        );
      try {
        await this.removeEntry(entry, {});
        deleted.push(c.ID);
        reclaimed += size;
      } catch (err) {
        log.warn('pruning container failed', { container: c.ID, error: errorMessage(err) });
      }
    }
    this.context.deps.events.publish('container', 'prune', '', { reclaimed: String(reclaimed) });
    return { ContainersDeleted: deleted.length ? deleted : null, SpaceReclaimed: reclaimed };
  }

  async autoRemove(entry: ContainerEntry): Promise<void> {
    try {
      await this.removeEntry(entry, { force: true, removeVolumes: true });
    } catch (err) {
      log.error('auto-removing container failed', { container: entry.id, error: errorMessage(err) });
    }
  }
}
