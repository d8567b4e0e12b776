/**
 * Changing a container after create: its name (mirrored in containerd and on
 * its networks) and, with docker update, its resources (live through
 * containerd when it runs) and restart policy.
 */
import { errorMessage, invalidParameter, systemError } from '../../common/errors.js';
import { log } from '../../common/log.js';
import { linuxResourcesAny } from '../../containerd/runtime.js';
import { containerResources, validateResources } from '../../oci/resources.js';
import { serializeSpec, type OciResources } from '../../oci/types.js';
import type { ContainerUpdateRequest, HostConfig } from '../../types/container.js';
import type { ContainerContext } from './context.js';
import { validateRestartPolicy } from './create-config.js';
import { cpuCount } from './host.js';
import { normalizeName } from './names.js';
import { LABEL_NAME } from './runtime.js';

export class ContainerReconfigure {
  constructor(
    private readonly context: ContainerContext,
    /** Whether the host accounts swap. */
    private readonly swapLimit: boolean,
  ) {}

  async rename(term: string, newName: string): Promise<void> {
    const entry = this.context.find(term);
    if (!newName) throw invalidParameter('Neither old nor new names may be empty');
    const name = (() => {
      try {
        return normalizeName(newName);
      } catch (err) {
        throw invalidParameter(`Error when allocating new name: ${errorMessage(err)}`);
      }
    })();
    await entry.lock(async () => {
      const c = entry.c;
      const oldName = c.Name;
      if (name === oldName)
        throw invalidParameter('Renaming a container with the same name as its current name');
      this.context.names.reserve(name, c.ID);
      c.Name = name;
      try {
        await this.context.save(entry);
      } catch (err) {
        c.Name = oldName;
        this.context.names.release(name, c.ID);
        throw err;
      }
      this.context.names.release(oldName, c.ID);
      await this.context
        .ctr()
        .containers.update({ id: c.ID, labels: { [LABEL_NAME]: name.slice(1) } }, [`labels.${LABEL_NAME}`])
        .catch((err) =>
          log.warn('mirroring the new name in containerd failed', { error: errorMessage(err) }),
        );
      await this.context.deps.networks
        ?.renameContainer(c.ID, name.slice(1))
        .catch((err) =>
          log.warn('renaming the container on its networks failed', { error: errorMessage(err) }),
        );
      this.context.event(c, 'rename', { oldName });
    });
  }

  async update(term: string, request: ContainerUpdateRequest): Promise<{ Warnings: string[] | null }> {
    const entry = this.context.find(term);
    return entry.lock(async () => {
      const c = entry.c;
      const { RestartPolicy: restartPolicy, ...resources } = request;
      const next: HostConfig = { ...c.HostConfig };
      for (const [key, value] of Object.entries(resources)) {
        if (value === undefined || value === null) continue;
        // Zero means "leave as is" for Docker's update, except where it is a real value.
        if (value === 0 && !['MemorySwappiness', 'OomKillDisable'].includes(key)) continue;
        (next as Record<string, unknown>)[key] = value;
      }
      if (
        resources.Memory &&
        resources.Memory > 0 &&
        !resources.MemorySwap &&
        (c.HostConfig.MemorySwap ?? 0) > 0
      ) {
        // Docker keeps swap unlimited relative to the new limit when only memory changes.
        next.MemorySwap = -1;
      }
      if (restartPolicy) {
        validateRestartPolicy(restartPolicy, c.HostConfig.AutoRemove);
        next.RestartPolicy = {
          Name: restartPolicy.Name || 'no',
          MaximumRetryCount: restartPolicy.MaximumRetryCount ?? 0,
        };
      }
      const warnings = validateResources(next, { ncpu: cpuCount(), update: true });
      if (c.State.Running && !c.State.Restarting) {
        const oci: OciResources = containerResources(next, { swapLimit: this.swapLimit });
        delete oci.devices;
        try {
          await this.context
            .ctr()
            .tasks.update(c.ID, linuxResourcesAny(JSON.parse(serializeSpec(oci)) as object));
        } catch (err) {
          throw systemError(`Cannot update container ${c.ID}: ${errorMessage(err)}`, err);
        }
      }
      c.HostConfig = next;
      await this.context.save(entry, 'all');
      this.context.event(c, 'update');
      return { Warnings: warnings.length ? warnings : null };
    });
  }
}
